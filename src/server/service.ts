/**
 * `oplog serve`: one node as a service (DESIGN.md "The service"). It assembles the
 * node from its config — stores, the served state machine, snapshots, the node
 * supervisor, the HTTP API — and runs its life:
 *
 * - **Every node starts as a standby** and applies the log into its state: with role
 *   `primary` it promotes itself once caught up (its state is the whole log, and the
 *   promotion fences any older writer); `standby` waits for `POST /v1/promote`; `auto`
 *   campaigns for the etcd leader key. A writing node applies what its writer acknowledges
 *   (just before the ack), so reads, the change stream and state checks work on every
 *   node, and a read on the primary after an ack sees the write.
 * - **Bootstrap**: before following, a node installs its newest local snapshot, or, with
 *   none and a peer configured, the peer's (`GET /v1/snapshot`), checked like a local one.
 * - **Shutdown** (stop()): watch streams are cut with a reason, the listener stops
 *   taking requests and lets those in flight finish, then the node stops (the writer
 *   drains: nothing acknowledged is failed, nothing undurable acknowledged).
 *
 * Over 350 lines because those steps share the node's parts (supervisor, stores, state,
 * snapshots, listener); what does not is apart: the node's options (node-options.ts),
 * the status and readiness (node-report.ts), the routes (http-api.ts), the stores
 * (open-stores.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compression } from '../core/compression.js';
import { ClosedError, ConfigError, LockedError, TruncatedError } from '../core/errors.js';
import type { Logger } from '../core/telemetry.js';
import { seq as asSeq } from '../core/types.js';
import type { OplogConfig } from '../config/types.js';
import { OplogNode } from '../node/node.js';
import { backfillEntries } from './backfill.js';
import { nodeOptions } from './node-options.js';
import { NodeLogger } from './node-logger.js';
import { notReadyReason, statusDocument } from './node-report.js';
import type { PrimaryWriter } from '../primary/primary-writer.js';
import { FileSnapshotStore, snapshotsDir, type SnapshotManifest } from '../snapshot/snapshot-store.js';
import { PidLock } from '../stores/file/pid-lock.js';
import { EtcdElection } from '../stores/etcd/election.js';
import { AppliedFeed } from './applied-feed.js';
import type { CheckpointMismatch, CheckpointValue } from './checkpoints.js';
import { encodeCheckpoint } from './checkpoints.js';
import { buildHttpApi, type HttpApi, type ServiceApi } from './http-api.js';
import { fetchPeerSnapshot } from './peer-snapshot.js';
import { openNodeStores, type NodeStores, type SecretReader } from './open-stores.js';
import { promMetrics, type PromMetrics } from './prom-metrics.js';
import { ServedState } from './served-state.js';

export interface ServiceDeps {
  readonly config: OplogConfig;
  readonly compression: Compression;
  readonly logger: Logger;
  readonly readSecret: SecretReader;
  readonly version: string;
}

export class OplogService {
  private stopping: Promise<void> | undefined;
  private promoteLoop: Promise<void> | undefined;
  private divergence: CheckpointMismatch | undefined;

  private constructor(
    private readonly deps: ServiceDeps,
    private readonly logger: NodeLogger,
    private readonly stores: NodeStores,
    private readonly state: ServedState,
    private readonly feed: AppliedFeed,
    private readonly snapshots: FileSnapshotStore,
    private readonly node: OplogNode,
    private readonly election: EtcdElection | undefined,
    private readonly metrics: PromMetrics,
    private readonly snapshotLock: PidLock,
    private http: HttpApi | undefined,
    /** `http://host:port` once listening. */
    public url: string,
  ) {}

  static async start(given: ServiceDeps): Promise<OplogService> {
    const { config } = given;
    // Every line of the node carries its role and epoch; repeated warnings fold.
    const logger = new NodeLogger(given.logger, { warningIntervalMs: config.logging.warningIntervalMs });
    const deps = { ...given, logger };
    // Two nodes on one machine must not share a snapshot directory: their writes would
    // interleave. The lock says which node holds it.
    const snapshotLock = await lockSnapshotDir(config);
    let stores: NodeStores;
    try {
      stores = await openNodeStores(config, deps.readSecret, logger);
    } catch (error) {
      await snapshotLock.release();
      logger.close();
      throw error;
    }
    const feed = new AppliedFeed({ ringEntriesMax: 10_000, ringBytesMax: 64 * 1024 * 1024 });
    const metrics = promMetrics();
    const mismatches = metrics.counter(
      'oplog_checkpoint_mismatches_total',
      "Checkpoint entries whose state digest differs from this node's",
    );
    mismatches.inc({}, 0);
    // The state's hooks reach the service, which is built from the state: late bound.
    const late: { service?: OplogService } = {};
    const state = new ServedState(feed, config.checkpoints.everyEntries, {
      // Due inside an apply, which on a writing node runs inside the writer's ack:
      // appended just after it, never from within.
      checkpointDue: (value) => queueMicrotask(() => late.service?.appendCheckpoint(value)),
      mismatch: (mismatch) => {
        mismatches.inc({});
        late.service?.checkpointMismatch(mismatch);
      },
    });
    const snapshots = new FileSnapshotStore(
      { dataDir: config.snapshots.dir, clusterId: config.clusterId },
      deps.compression,
    );
    metrics
      .gauge('oplog_build_info', 'Build of this node (always 1)', ['version', 'node'])
      .set({ version: deps.version, node: config.nodeId }, 1);
    const election =
      stores.etcd === undefined
        ? undefined
        : new EtcdElection(stores.etcd, { leaseTtlS: config.failover.leaseTtlS, nodeId: config.nodeId });
    const node = new OplogNode(
      nodeOptions(config, {
        stores,
        state,
        snapshots,
        metrics,
        election,
        compression: deps.compression,
        logger,
      }),
    );
    logger.bind(() => {
      const writer = node.writer;
      return writer?.state === 'running' ? { role: 'primary', epoch: writer.epoch } : { role: 'standby' };
    });
    const service = new OplogService(
      deps,
      logger,
      stores,
      state,
      feed,
      snapshots,
      node,
      election,
      metrics,
      snapshotLock,
      undefined,
      '',
    );
    late.service = service;
    try {
      service.logEvents();
      await service.bootstrap();
      await node.start();
      await service.listen();
    } catch (error) {
      await service.stop().catch(() => undefined);
      throw error;
    }
    if (config.role === 'primary') service.promoteLoop = service.promoteWhenCaughtUp();
    return service;
  }

  /**
   * Stops the service (idempotent): new requests are refused (503, nothing written),
   * watches cut, the node stopped — its writer drains and answers every append in
   * flight, which lets the listener finish those requests — then the stores closed.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.http?.cutWatches('shutting_down');
      const listenerClosed = this.http?.app.close();
      await this.node.stop();
      await listenerClosed;
      await this.promoteLoop?.catch(() => undefined);
      if (this.deps.config.role !== 'auto') await this.election?.close().catch(() => undefined);
      await this.stores.close();
      await this.snapshotLock.release();
      this.logger.close();
      this.deps.logger.info({}, 'stopped');
    })();
    return this.stopping;
  }

  get status() {
    return this.node.status;
  }

  /** The node's logger: the root's lines stamped with role and epoch, warnings folded. */
  get log(): Logger {
    return this.logger;
  }

  private get standby() {
    return this.node.standby!;
  }

  private async listen(): Promise<void> {
    const { server } = this.deps.config;
    const token =
      this.deps.config.auth.tokenFile === undefined
        ? undefined
        : await this.deps.readSecret(this.deps.config.auth.tokenFile);
    const https =
      server.tls === undefined
        ? undefined
        : {
            cert: await this.deps.readSecret(server.tls.certFile),
            key: await this.deps.readSecret(server.tls.keyFile),
          };
    this.http = buildHttpApi(this.api(), {
      bodyLimitBytes: server.bodyLimitBytes,
      readWaitMsMax: server.readWaitMsMax,
      watchBufferEntries: server.watchBufferEntries,
      ...(token === undefined ? {} : { token }),
      ...(https === undefined ? {} : { https }),
      onWatchEnd: (reason, resumeFromSeq) => {
        if (reason !== undefined && reason !== 'shutting_down')
          this.deps.logger.warn({ reason, resumeFromSeq: resumeFromSeq.toString() }, 'watch stream cut');
      },
    });
    const { host, port } = splitHostPort(server.http);
    const address = await this.http.app.listen({ host, port });
    this.url = address.replace('[::1]', 'localhost');
    this.deps.logger.info({ url: this.url, configuredRole: this.deps.config.role }, 'listening');
  }

  /** Installs the newest local snapshot, or a peer's when there is none here. */
  private async bootstrap(): Promise<void> {
    const { logger, config } = this.deps;
    const scan = await this.snapshots.scan();
    for (const refused of scan.refused)
      logger.warn({ path: refused.path, reason: refused.reason }, 'snapshot refused');
    let installed = false;
    for (const manifest of [...scan.manifests].reverse()) {
      try {
        await this.install(manifest);
        logger.info({ lastSeq: manifest.lastSeq.toString(), source: 'local' }, 'snapshot installed');
        installed = true;
        break;
      } catch (error) {
        logger.warn(
          { lastSeq: manifest.lastSeq.toString(), cause: String(error) },
          'local snapshot not usable, trying an older one',
        );
      }
    }
    const peer = config.bootstrap.peer;
    if (peer === undefined) return;
    if (installed && !(await this.belowRetention())) return;
    const token =
      config.auth.tokenFile === undefined ? undefined : await this.deps.readSecret(config.auth.tokenFile);
    let fetched: SnapshotManifest | undefined;
    try {
      fetched = await fetchPeerSnapshot(peer, this.snapshots, config.clusterId, token);
    } catch (error) {
      // The log may still hold everything from seq 1; if it does not, following fails
      // closed with TruncatedError, which the status then shows.
      logger.warn({ peer, cause: String(error) }, 'peer snapshot unavailable: replaying the log');
      return;
    }
    if (fetched === undefined) {
      logger.info({ peer }, 'the peer has no snapshot: replaying the log');
      return;
    }
    await this.install(fetched);
    logger.info({ lastSeq: fetched.lastSeq.toString(), source: peer }, 'snapshot installed');
  }

  /** Whether the log no longer holds the next seq this node needs (retention removed it). */
  private async belowRetention(): Promise<boolean> {
    const next = asSeq(this.standby.appliedSeq + 1n);
    try {
      for await (const record of this.stores.source.read(next, 1)) void record;
      return false;
    } catch (error) {
      return error instanceof TruncatedError;
    }
  }

  private async install(manifest: SnapshotManifest): Promise<void> {
    await this.standby.installSnapshot(() => this.snapshots.load(manifest));
    this.feed.restored(manifest.lastSeq);
  }

  /** Role primary: once following has caught up, promote (retrying while refused). */
  private async promoteWhenCaughtUp(): Promise<void> {
    let delayMs = 100;
    while (this.stopping === undefined) {
      const state = this.node.status.state;
      if (state === 'watching') {
        try {
          const writer = await this.node.promote();
          this.deps.logger.info({ epoch: writer.epoch.toString() }, 'promoted: this node is the primary');
          await this.holdLeadership();
          return;
        } catch (error) {
          if (this.stopping !== undefined) return;
          this.deps.logger.warn({ cause: String(error) }, 'promotion at start failed; retrying');
        }
      }
      if (state === 'primary' || state === 'stopped' || state === 'failed') return;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }

  /**
   * With etcd, a writing node holds the leader key, so that `auto` standbys do not
   * campaign against the writer this node is (after a start as primary or a manual
   * promotion; automatic failover takes the key itself before promoting).
   */
  private async holdLeadership(): Promise<void> {
    if (this.election === undefined) return;
    await this.election
      .campaign({ force: true })
      .catch((error: unknown) =>
        this.deps.logger.warn({ cause: String(error) }, 'could not take the leader key'),
      );
  }

  private appendCheckpoint(value: CheckpointValue): void {
    const writer = this.node.writer;
    if (writer === undefined || writer.state !== 'running') return;
    writer.append({ type: 'checkpoint', key: '', value: encodeCheckpoint(value) }).then(
      (seq) =>
        this.deps.logger.debug({ atSeq: value.atSeq.toString(), seq: seq.toString() }, 'checkpoint appended'),
      (error: unknown) =>
        this.deps.logger.warn(
          { atSeq: value.atSeq.toString(), cause: String(error) },
          'checkpoint not appended',
        ),
    );
  }

  /** Every mismatching checkpoint; the status keeps the first, which dates the divergence. */
  private checkpointMismatch(mismatch: CheckpointMismatch): void {
    this.divergence ??= mismatch;
    this.standby.markDivergent(
      `checkpoint at seq ${mismatch.checkpointSeq}: state digest at seq ${mismatch.atSeq} is ${mismatch.found}, the primary's is ${mismatch.expected}`,
    );
    this.deps.logger.error(
      {
        atSeq: mismatch.atSeq.toString(),
        checkpointSeq: mismatch.checkpointSeq.toString(),
        expected: mismatch.expected,
        found: mismatch.found,
      },
      'checkpoint mismatch: this node is divergent',
    );
  }

  private logEvents(): void {
    const { logger } = this.deps;
    const events = this.node.events;
    events.on('state-changed', (e) =>
      logger.info({ from: e.from, to: e.to, event: e.event }, 'state changed'),
    );
    events.on('range-skipped', (e) =>
      logger.warn({ fromSeq: e.fromSeq.toString(), toSeq: e.toSeq.toString() }, 'range skipped'),
    );
    events.on('fenced', (e) =>
      logger.warn({ byEpoch: e.epoch.toString(), cause: String(e.error) }, 'fenced by a newer epoch'),
    );
    events.on('record-corrupt', (e) =>
      logger.warn(
        { store: e.store, ...(e.seq === undefined ? {} : { seq: e.seq.toString() }), cause: String(e.error) },
        'corrupt record',
      ),
    );
    events.on('loop-failed', (e) =>
      logger.warn(
        {
          loop: e.loop,
          outcome: e.outcome,
          ...(e.range === undefined
            ? {}
            : { fromSeq: e.range.fromSeq.toString(), toSeq: e.range.toSeq.toString() }),
          cause: String(e.error),
        },
        'loop failed',
      ),
    );
    // A writer that stopped (fenced, failed, closed) gives the leader key up at once, so
    // that an `auto` standby can take over without waiting out the lease.
    events.on('writer-stopped', () => void this.election?.resign());
    events.on('writer-stopped', (e) =>
      (e.error instanceof ClosedError ? logger.info : logger.warn).call(
        logger,
        { epoch: e.epoch.toString(), cause: String(e.error) },
        'writer stopped',
      ),
    );
  }

  private api(): ServiceApi {
    const node = this.node;
    const { config } = this.deps;
    return {
      nodeId: config.nodeId,
      clusterId: config.clusterId,
      status: () => node.status,
      statusDocument: () =>
        statusDocument(this.node.status, {
          config,
          version: this.deps.version,
          stores: this.stores.byKind,
          checkpointsChecked: this.state.checkpoints.checked,
          mismatch: this.divergence,
        }),
      get appliedSeq() {
        return node.standby!.appliedSeq;
      },
      writer: (): PrimaryWriter | undefined => node.writer,
      primaryEpoch: () => this.stores.source.currentEpoch(),
      read: (key) => this.standby.read(() => this.state.kv.get(key)).value,
      waitForApplied: (seq, timeoutMs) => this.waitForApplied(seq, timeoutMs),
      isStopping: () => this.stopping !== undefined,
      promote: async (force) => {
        const writer = await node.promote({ force });
        await this.holdLeadership();
        return writer.epoch;
      },
      feed: this.feed,
      backfill: (fromSeq, toSeq) => backfillEntries(this.stores, this.deps.compression, { fromSeq, toSeq }),
      newestSnapshot: async () => {
        const manifest = await this.snapshots.latest();
        return manifest === undefined
          ? undefined
          : { manifest, bodyPath: this.snapshots.bodyPath(manifest.lastSeq) };
      },
      notReadyReason: () => notReadyReason(this.node.status, config),
      metricsText: () => this.metrics.text(),
    };
  }

  private waitForApplied(seq: bigint, timeoutMs: number): Promise<boolean> {
    if (this.standby.appliedSeq >= seq) return Promise.resolve(true);
    if (timeoutMs === 0) return Promise.resolve(false);
    return this.standby.waitForApplied(seq, AbortSignal.timeout(timeoutMs)).then(
      () => true,
      () => false,
    );
  }
}

/** Takes `<snapshots.dir>/<cluster>/snapshots/LOCK` (a pid lock, taken over from a dead holder). */
async function lockSnapshotDir(config: OplogConfig): Promise<PidLock> {
  const dir = snapshotsDir(config.snapshots.dir, config.clusterId);
  await mkdir(dir, { recursive: true });
  try {
    return await PidLock.acquire(join(dir, 'LOCK'));
  } catch (error) {
    if (error instanceof LockedError)
      throw new ConfigError(
        'snapshots.dir',
        config.snapshots.dir,
        `another live node uses it (${error.message}); give each node its own --snapshot-dir`,
      );
    throw error;
  }
}

function splitHostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
}
