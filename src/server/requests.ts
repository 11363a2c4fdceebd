/**
 * What the HTTP API accepts (DESIGN.md "Interfaces"): request bodies checked against
 * the JSON Schemas in schemas/ (compiled once), then the rules a schema cannot say —
 * UTF-8 byte limits, the value cap, reserved types — on the decoded entries, and the
 * u64 query parameters. Every refusal is an HttpError naming the field; nothing here
 * writes anything, so a refused request has written nothing.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { InvalidInputError, OplogError, TooLargeError } from '../core/errors.js';
import { validateOp } from '../core/entry-codec.js';
import type { Op } from '../core/types.js';
import { U64_MAX } from '../core/types.js';
import appendSchema from '../../schemas/append.schema.json' with { type: 'json' };
import promoteSchema from '../../schemas/promote.schema.json' with { type: 'json' };

/** A refusal with its HTTP status and the JSON body `{code, message, field}` (+ extras). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.field === undefined ? {} : { field: this.field }),
      ...this.extra,
    };
  }
}

const ajv = new Ajv2020({ allErrors: false, strict: true });
const checkAppend = ajv.compile(appendSchema);
const checkPromote = ajv.compile(promoteSchema);

/** Entry types only the service writes. */
export function isReservedType(type: string): boolean {
  return type === 'checkpoint' || type.startsWith('oplog.');
}

/** The ops of a `POST /v1/append` body, checked all before any is appended. */
export function parseAppend(body: unknown): Op[] {
  if (!checkAppend(body)) throw schemaError(checkAppend.errors ?? [], body);
  const b = body as unknown as { entries?: RawEntry[] } & RawEntry;
  const raw = b.entries ?? [b];
  const prefix = b.entries === undefined ? '' : 'entries/';
  return raw.map((entry, i) => {
    const at = (name: string) => `${prefix}${b.entries === undefined ? '' : `${i}/`}${name}`;
    if (isReservedType(entry.type))
      throw new HttpError(
        400,
        'OPLOG_INVALID_INPUT',
        `type ${entry.type} is reserved for the service`,
        at('type'),
      );
    if (entry.type === 'put' && entry.value === undefined)
      throw new HttpError(400, 'OPLOG_INVALID_INPUT', 'a put needs a value', at('value'));
    if (entry.type === 'delete' && entry.value !== undefined && entry.value !== '')
      throw new HttpError(400, 'OPLOG_INVALID_INPUT', 'a delete takes no value', at('value'));
    const op: Op = { type: entry.type, key: entry.key, value: decodeBase64(entry.value ?? '', at('value')) };
    try {
      validateOp(op);
    } catch (error) {
      if (!(error instanceof OplogError)) throw error;
      const field =
        error instanceof InvalidInputError
          ? error.field
          : error instanceof TooLargeError
            ? error.what
            : undefined;
      throw new HttpError(
        error.code === 'OPLOG_TOO_LARGE' ? 413 : 400,
        error.code,
        error.message,
        at(field ?? 'entry'),
      );
    }
    return op;
  });
}

/**
 * Standard base64 with padding (RFC 4648 §4), and canonical: Node's decoder skips what
 * is not in the alphabet and takes the URL-safe one too, so the bytes must encode back
 * to exactly the text sent. (Cheaper than a regular expression over the text: native
 * decode and encode of a 512-byte value take well under a microsecond.)
 */
function decodeBase64(text: string, field: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (text.length % 4 !== 0 || bytes.toString('base64') !== text)
    throw new HttpError(
      400,
      'OPLOG_INVALID_INPUT',
      `${field} must be standard base64 with padding (RFC 4648 §4)`,
      field,
    );
  return bytes;
}

interface RawEntry {
  readonly type: string;
  readonly key: string;
  readonly value?: string;
}

export function parsePromote(body: unknown): { force: boolean } {
  const value = body ?? {};
  if (!checkPromote(value)) throw schemaError(checkPromote.errors ?? [], value);
  return { force: (value as { force?: boolean }).force === true };
}

/** A u64 query parameter as decimal digits; `fallback` when absent. */
export function parseU64(name: string, raw: unknown, fallback: bigint): bigint {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(raw) || BigInt(raw) > U64_MAX)
    throw new HttpError(400, 'OPLOG_INVALID_INPUT', `${name} must be a decimal u64`, name);
  return BigInt(raw);
}

/** A bounded integer query parameter (milliseconds and counts). */
export function parseBoundedInt(name: string, raw: unknown, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^[0-9]{1,9}$/.test(raw) || Number(raw) > max)
    throw new HttpError(400, 'OPLOG_INVALID_INPUT', `${name} must be an integer 0..${max}`, name);
  return Number(raw);
}

/** The most specific schema error: a oneOf over the two body shapes is explained by the one it meant. */
function schemaError(errors: readonly ErrorObject[], body: unknown): HttpError {
  const meant = errors.filter((e) => e.keyword !== 'oneOf');
  const first =
    (typeof body === 'object' && body !== null && 'entries' in body
      ? meant.find((e) => e.schemaPath.startsWith('#/oneOf/0'))
      : meant.find((e) => !e.schemaPath.startsWith('#/oneOf/0'))) ??
    meant[0] ??
    errors[0];
  if (first === undefined) return new HttpError(400, 'OPLOG_INVALID_INPUT', 'invalid body', '');
  let field = first.instancePath.replace(/^\//, '');
  let message = first.message ?? 'is invalid';
  if (first.keyword === 'additionalProperties') {
    const extra = String((first.params as { additionalProperty: string }).additionalProperty);
    field = field === '' ? extra : `${field}/${extra}`;
    message = 'is not a known field';
  } else if (first.keyword === 'required') {
    const missing = String((first.params as { missingProperty: string }).missingProperty);
    field = field === '' ? missing : `${field}/${missing}`;
    message = 'is required';
  }
  return new HttpError(400, 'OPLOG_INVALID_INPUT', `${field === '' ? 'body' : field} ${message}`, field);
}
