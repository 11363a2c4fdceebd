/**
 * The HTTP API of `oplog serve` (DESIGN.md "Interfaces"), on fastify 5: routes only.
 * Each route reads or drives the service through the small ServiceApi below, so the
 * assembly (service.ts) and the routes are read apart. Errors are JSON
 * `{code, message, field}` with a 4xx, 5xx only for our own faults; a refused request
 * wrote nothing. Every answer carries `Oplog-Applied-Seq`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  ClosedError,
  FencedError,
  InvalidClusterIdError,
  InvalidInputError,
  InvalidStateError,
  LockedError,
  MalformedError,
  OplogError,
  OverloadedError,
  PromotionRefusedError,
  StaleReadError,
  StoreUnavailableError,
  TooLargeError,
  UnknownOutcomeError,
} from '../core/errors.js';
import { KEY_BYTES_MAX } from '../core/limits.js';
import type { Entry, Op } from '../core/types.js';
import type { NodeStatus } from '../node/node-status.js';
import type { PrimaryWriter } from '../primary/primary-writer.js';
import type { SnapshotManifest } from '../snapshot/snapshot-store.js';
import type { AppliedFeed } from './applied-feed.js';
import { HttpError, parseAppend, parseBoundedInt, parsePromote, parseU64 } from './requests.js';
import { serveWatch, type CutReason } from './watch.js';

/** What the routes need of the running service. */
export interface ServiceApi {
  readonly nodeId: string;
  readonly clusterId: string;
  status(): NodeStatus;
  /** The full status document of `GET /v1/status`. */
  statusDocument(): Promise<Record<string, unknown>>;
  readonly appliedSeq: bigint;
  writer(): PrimaryWriter | undefined;
  /** The epoch of the log's current writer, for a standby's refusal of an append. */
  primaryEpoch(): Promise<bigint | undefined>;
  /** Reads `key` under the standby's freshness rule (StaleReadError when stale). */
  read(key: string): Uint8Array | undefined;
  waitForApplied(seq: bigint, timeoutMs: number): Promise<boolean>;
  promote(force: boolean): Promise<bigint>;
  readonly feed: AppliedFeed;
  /** Set once stop() began: every new request is refused (503, nothing written). */
  isStopping(): boolean;
  backfill(fromSeq: bigint, toSeq: bigint): AsyncIterable<Entry>;
  newestSnapshot(): Promise<{ manifest: SnapshotManifest; bodyPath: string } | undefined>;
  /** Why the node is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
  metricsText(): Promise<string>;
}

export interface HttpApiOptions {
  readonly bodyLimitBytes: number;
  readonly readWaitMsMax: number;
  readonly watchBufferEntries: number;
  /** Value bytes a watch may hold unsent. Default 64 MiB. */
  readonly watchBufferBytes?: number;
  /** Concurrent watch streams; one more is refused with 503. Default 256. */
  readonly watchersMax?: number;
  readonly watchHeartbeatMs?: number;
  /** Bearer token guarding the mutating endpoints and snapshots; none: open. */
  readonly token?: string;
  readonly https?: { readonly cert: string; readonly key: string };
  readonly onWatchEnd?: (reason: CutReason | undefined, resumeFromSeq: bigint) => void;
}

export interface HttpApi {
  readonly app: FastifyInstance;
  /** Ends every watch stream with `reason`, e.g. before shutdown. */
  cutWatches(reason: CutReason): void;
}

const json = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

export function buildHttpApi(service: ServiceApi, options: HttpApiOptions): HttpApi {
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes,
    logger: false,
    // A key is up to 4 KiB of UTF-8: up to 12 KiB percent-encoded in the path.
    routerOptions: { maxParamLength: 3 * KEY_BYTES_MAX + 16 },
    // Idle keep-alive sockets are closed at shutdown; requests in flight finish.
    forceCloseConnections: 'idle',
    // Refused by our own hook instead (below), in our error format.
    return503OnClosing: false,
    // Bodies are JSON.parse'd without secure-json-parse's scan of the text (its two
    // regular expressions over every 70 KB body cost more than the parse): the body
    // schemas refuse unknown fields, `__proto__` and `constructor` among them, and no
    // body is merged into another object.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    ...(options.https === undefined ? {} : { https: options.https }),
  });
  const watches = new Set<(reason: CutReason) => void>();
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('oplog-applied-seq', service.appliedSeq.toString());
    return payload;
  });
  app.setErrorHandler((error, _request, reply) => {
    const refused = toHttpError(error);
    void reply.status(refused.status).type('application/json').send(json(refused.body()));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .type('application/json')
      .send(json({ code: 'OPLOG_NOT_FOUND', message: `no route ${request.method} ${request.url}` }));
  });

  // Before anything else (the body is not even read): a stopping node takes no request.
  app.addHook('onRequest', async () => {
    if (service.isStopping())
      throw new HttpError(503, 'OPLOG_CLOSED', 'the node is shutting down', undefined, { outcome: 'failed' });
  });
  /** Route hook of the guarded endpoints: runs before the body is read or parsed. */
  const guard = async (request: FastifyRequest) => {
    if (tokenDigest === undefined) return;
    const match = /^bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    // Digests have one length, so the comparison's time says nothing of the token.
    if (match === null || !timingSafeEqual(digest(match[1]!), tokenDigest))
      throw new HttpError(401, 'OPLOG_UNAUTHORIZED', 'a valid bearer token is required', 'authorization');
  };

  app.post('/v1/append', { onRequest: guard }, async (request, reply) => {
    const ops = parseAppend(request.body);
    const writer = service.writer();
    if (writer === undefined || writer.state !== 'running') {
      const primaryEpoch = await service.primaryEpoch().catch(() => undefined);
      throw new HttpError(409, 'OPLOG_NOT_PRIMARY', `node ${service.nodeId} is not the primary`, undefined, {
        ...(primaryEpoch === undefined ? {} : { primaryEpoch: primaryEpoch.toString() }),
      });
    }
    return sendAppend(reply, writer, ops);
  });

  app.get('/v1/status', async (_request, reply) => {
    void reply.type('application/json').send(json(await service.statusDocument()));
    return reply;
  });

  app.get<{ Params: { key: string }; Querystring: Record<string, unknown> }>(
    '/v1/kv/:key',
    async (request, reply) => {
      const query = request.query;
      const minSeq = parseU64('minSeq', query.minSeq, 0n);
      const waitMs = parseBoundedInt('waitMs', query.waitMs, options.readWaitMsMax, options.readWaitMsMax);
      if (!(await service.waitForApplied(minSeq, waitMs)))
        throw new HttpError(
          503,
          'OPLOG_NOT_APPLIED',
          `seq ${minSeq} is not applied here within ${waitMs} ms`,
          'minSeq',
          {
            appliedSeq: service.appliedSeq.toString(),
          },
        );
      const key = request.params.key;
      const value = service.read(key);
      if (value === undefined)
        throw new HttpError(404, 'OPLOG_NO_SUCH_KEY', `no key ${JSON.stringify(key)}`, 'key', {
          appliedSeq: service.appliedSeq.toString(),
        });
      return reply
        .type('application/json')
        .send(
          json({ key, value: Buffer.from(value).toString('base64'), seq: service.appliedSeq.toString() }),
        );
    },
  );

  app.get<{ Querystring: Record<string, unknown> }>('/v1/watch', (request, reply) => {
    const fromSeq = parseU64('fromSeq', request.query.fromSeq, service.appliedSeq + 1n);
    if (fromSeq === 0n) throw new HttpError(400, 'OPLOG_INVALID_INPUT', 'fromSeq starts at 1', 'fromSeq');
    const watchersMax = options.watchersMax ?? 256;
    if (watches.size >= watchersMax)
      throw new HttpError(
        503,
        'OPLOG_OVERLOADED',
        `${watchersMax} watch streams are open already`,
        undefined,
        {
          outcome: 'failed',
        },
      );
    reply.hijack();
    reply.raw.setHeader('oplog-applied-seq', service.appliedSeq.toString());
    const cut = serveWatch(service.feed, reply.raw, {
      fromSeq,
      bufferEntriesMax: options.watchBufferEntries,
      bufferBytesMax: options.watchBufferBytes ?? 64 * 1024 * 1024,
      heartbeatMs: options.watchHeartbeatMs ?? 15_000,
      backfill: (from, to) => service.backfill(from, to),
      onEnd: (reason, resumeFromSeq) => {
        watches.delete(cut);
        options.onWatchEnd?.(reason, resumeFromSeq);
      },
    });
    watches.add(cut);
  });

  app.post('/v1/promote', { onRequest: guard }, async (request, reply) => {
    const { force } = parsePromote(request.body);
    const epoch = await service.promote(force);
    return reply.type('application/json').send(json({ promoted: true, epoch: epoch.toString() }));
  });

  app.get('/v1/snapshot', { onRequest: guard }, async (_request, reply) => {
    const newest = await service.newestSnapshot();
    if (newest === undefined)
      throw new HttpError(404, 'OPLOG_NO_SNAPSHOT', `node ${service.nodeId} holds no snapshot`);
    return reply
      .header('oplog-snapshot-manifest', json(newest.manifest))
      .type('application/octet-stream')
      .send(createReadStream(newest.bodyPath));
  });

  app.get('/healthz', async (_request, reply) => reply.type('application/json').send(json({ ok: true })));

  app.get('/readyz', async (_request, reply) => {
    const reason = service.notReadyReason();
    const status = service.status();
    if (reason !== undefined)
      return reply
        .status(503)
        .type('application/json')
        .send(json({ ready: false, reason, state: status.state }));
    return reply.type('application/json').send(json({ ready: true, state: status.state }));
  });

  app.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(await service.metricsText()),
  );

  return {
    app,
    cutWatches(reason) {
      for (const cut of [...watches]) cut(reason);
    },
  };
}

/** Appends `ops` and answers with what became of them (DESIGN.md: unknown is never "failed"). */
async function sendAppend(
  reply: FastifyReply,
  writer: PrimaryWriter,
  ops: readonly Op[],
): Promise<FastifyReply> {
  // All or none is queued (appendAll throws the refusal before any op has a seq).
  const results = await Promise.allSettled(writer.appendAll(ops));
  const seqs = results.map((r) => (r.status === 'fulfilled' ? r.value.toString() : undefined));
  if (results.every((r) => r.status === 'fulfilled'))
    return reply.type('application/json').send(json({ seqs, epoch: writer.epoch.toString() }));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  const unknown = errors.filter(
    (e) => e instanceof UnknownOutcomeError || (e instanceof FencedError && e.mayHaveLanded),
  );
  const someOk = results.some((r) => r.status === 'fulfilled');
  const first = errors[0];
  if (unknown.length > 0 || someOk) {
    // Part of the request may be (or is) in the log: never report it as failed.
    const given = results.map((r) =>
      r.status === 'fulfilled'
        ? { seq: r.value.toString(), outcome: 'ok' }
        : r.reason instanceof UnknownOutcomeError
          ? { seq: r.reason.seq.toString(), outcome: 'unknown' }
          : {
              outcome: r.reason instanceof FencedError && r.reason.mayHaveLanded ? 'unknown' : 'failed',
              code: (r.reason as OplogError).code,
            },
    );
    return reply
      .status(503)
      .type('application/json')
      .send(
        json({
          code: unknown.length > 0 ? 'OPLOG_UNKNOWN_OUTCOME' : 'OPLOG_PARTIAL',
          message:
            unknown.length > 0
              ? `the writer stopped while this request was in flight, some entries may be in the log: ${describe(first)}`
              : `some entries are in the log, the others were refused: ${describe(first)}`,
          outcome: unknown.length > 0 ? 'unknown' : 'partial',
          seqs: given.flatMap((g) => ('seq' in g ? [g.seq] : [])),
          entries: given,
        }),
      );
  }
  throw first;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Maps anything a route threw to its HTTP answer: 4xx for the caller's faults and refusals, 5xx for ours. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof PromotionRefusedError)
    return new HttpError(409, error.code, error.message, undefined, { reasons: error.blockers });
  if (error instanceof FencedError)
    return new HttpError(409, error.code, error.message, undefined, { epoch: error.epoch.toString() });
  if (error instanceof InvalidStateError || error instanceof LockedError)
    return new HttpError(409, error.code, error.message);
  if (error instanceof TooLargeError) return new HttpError(413, error.code, error.message, error.what);
  if (error instanceof InvalidInputError) return new HttpError(400, error.code, error.message, error.field);
  if (error instanceof MalformedError || error instanceof InvalidClusterIdError)
    return new HttpError(400, error.code, error.message);
  // Refused before anything was queued: safe to retry.
  if (error instanceof OverloadedError || error instanceof ClosedError)
    return new HttpError(503, error.code, error.message, undefined, { outcome: 'failed' });
  if (error instanceof StaleReadError || error instanceof StoreUnavailableError)
    return new HttpError(503, error.code, error.message);
  if (error instanceof OplogError) return new HttpError(500, error.code, error.message);
  const fastify = error as { statusCode?: number; code?: string; message?: string };
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    const code =
      fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'OPLOG_BODY_TOO_LARGE'
        : fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'OPLOG_UNSUPPORTED_MEDIA_TYPE'
          : 'OPLOG_MALFORMED_REQUEST';
    return new HttpError(fastify.statusCode, code, fastify.message ?? 'bad request', 'body');
  }
  return new HttpError(500, 'OPLOG_INTERNAL', describe(error));
}
