/**
 * The two kinds of failure, never mixed (shared/STYLE.md "Errors"):
 *
 * - {@link InvariantViolation}: our bug. Thrown by {@link assert}; the process must not
 *   carry on as if nothing happened.
 * - {@link OplogError} subclasses: expected operating errors, each with a `code` from the
 *   closed list {@link ErrorCode}, a `retryable` flag, typed context fields and `cause`.
 *
 * One file for every error class on purpose (~430 lines of small classes): the closed
 * list of codes and the classes that carry them are read and changed together.
 */

export const ERROR_CODES = [
  'OPLOG_CHECKSUM_MISMATCH',
  'OPLOG_TOO_LARGE',
  'OPLOG_MALFORMED',
  'OPLOG_UNSUPPORTED_VERSION',
  'OPLOG_INVALID_CLUSTER_ID',
  'OPLOG_INVALID_INPUT',
  'OPLOG_FENCED',
  'OPLOG_CONFLICT',
  'OPLOG_NOT_CONTIGUOUS',
  'OPLOG_OVERLOADED',
  'OPLOG_STORE_UNAVAILABLE',
  'OPLOG_STORE_AUTH',
  'OPLOG_INTEGRITY',
  'OPLOG_CORRUPT_STORE',
  'OPLOG_CLOSED',
  'OPLOG_CONFIG',
  'OPLOG_TRUNCATED',
  'OPLOG_LOCKED',
  'OPLOG_PROMOTION_REFUSED',
  'OPLOG_STALE_READ',
  'OPLOG_INVALID_STATE',
  'OPLOG_UNKNOWN_OUTCOME',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface OplogErrorOptions extends ErrorOptions {
  readonly retryable?: boolean;
}

/** Base of every operating error. `code` is stable API; `message` is for humans. */
export class OplogError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: OplogErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** A bug in oplog: a broken internal invariant. Never caught to carry on. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantViolation';
  }
}

/** Throws {@link InvariantViolation} when `condition` is false. Put the numbers in `message`. */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === 'function' ? message() : message);
}

/** An xxh64 over stored or transported bytes did not match: corruption, never applied. */
export class ChecksumMismatchError extends OplogError {
  static readonly code = 'OPLOG_CHECKSUM_MISMATCH';
  constructor(
    readonly what: 'record-header' | 'record-body' | 'entry' | 'snapshot-body',
    readonly seq: bigint | undefined,
    readonly expected: bigint,
    readonly actual: bigint,
    options?: OplogErrorOptions,
  ) {
    super(
      ChecksumMismatchError.code,
      `${what} checksum mismatch${seq === undefined ? '' : ` at seq ${seq}`}: expected ${hex64(expected)}, got ${hex64(actual)}`,
      { retryable: false, ...options },
    );
  }
}

/** A value, key, type, record or request exceeds its documented bound. */
export class TooLargeError extends OplogError {
  static readonly code = 'OPLOG_TOO_LARGE';
  constructor(
    readonly what: string,
    readonly bytes: number,
    readonly bytesMax: number,
    options?: OplogErrorOptions,
  ) {
    super(TooLargeError.code, `${what} is ${bytes} bytes, over the limit of ${bytesMax} bytes`, {
      retryable: false,
      ...options,
    });
  }
}

/** Bytes that do not parse as the documented format (truncated, garbage, bad fields). */
export class MalformedError extends OplogError {
  static readonly code = 'OPLOG_MALFORMED';
  constructor(
    readonly what: string,
    readonly offset?: number,
    options?: OplogErrorOptions,
  ) {
    super(MalformedError.code, `malformed ${what}${offset === undefined ? '' : ` at byte ${offset}`}`, {
      retryable: false,
      ...options,
    });
  }
}

/** A record written by a format version or codec this build does not read. */
export class UnsupportedVersionError extends OplogError {
  static readonly code = 'OPLOG_UNSUPPORTED_VERSION';
  constructor(
    readonly what: 'format' | 'codec',
    readonly found: number,
    options?: OplogErrorOptions,
  ) {
    super(UnsupportedVersionError.code, `unsupported record ${what} ${found}`, {
      retryable: false,
      ...options,
    });
  }
}

/** A cluster id that could escape its namespace in etcd keys, topic names or paths. */
export class InvalidClusterIdError extends OplogError {
  static readonly code = 'OPLOG_INVALID_CLUSTER_ID';
  constructor(
    readonly clusterId: string,
    options?: OplogErrorOptions,
  ) {
    super(
      InvalidClusterIdError.code,
      `invalid cluster id ${JSON.stringify(clusterId.slice(0, 200))}: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$ and not contain ".."`,
      { retryable: false, ...options },
    );
  }
}

/** Caller input that breaks a documented rule other than size (e.g. an empty type). */
export class InvalidInputError extends OplogError {
  static readonly code = 'OPLOG_INVALID_INPUT';
  constructor(
    readonly field: string,
    reason: string,
    options?: OplogErrorOptions,
  ) {
    super(InvalidInputError.code, `invalid ${field}: ${reason}`, { retryable: false, ...options });
  }
}

/** The caller's epoch is no longer current: a newer writer exists. Terminal for a writer. */
export class FencedError extends OplogError {
  static readonly code = 'OPLOG_FENCED';
  /**
   * The refused write may have landed all the same: the fence came while it was being
   * committed (a Kafka EndTxn whose reply was lost, completed by the new producer's
   * initTransactions). False when the store refused before writing (an epoch compare).
   */
  readonly mayHaveLanded: boolean;
  constructor(
    readonly epoch: bigint,
    readonly currentEpoch: bigint | undefined,
    options?: OplogErrorOptions & { readonly mayHaveLanded?: boolean },
  ) {
    super(
      FencedError.code,
      `epoch ${epoch} is fenced${currentEpoch === undefined ? '' : ` (current epoch ${currentEpoch})`}`,
      { retryable: false, ...options },
    );
    this.mayHaveLanded = options?.mayHaveLanded ?? false;
  }
}

/** A different record already holds this seq. */
export class ConflictError extends OplogError {
  static readonly code = 'OPLOG_CONFLICT';
  constructor(
    readonly firstSeq: bigint,
    options?: OplogErrorOptions,
  ) {
    super(ConflictError.code, `a different record is already stored at seq ${firstSeq}`, {
      retryable: false,
      ...options,
    });
  }
}

/** An append whose firstSeq is not head.lastSeq + 1. */
export class NotContiguousError extends OplogError {
  static readonly code = 'OPLOG_NOT_CONTIGUOUS';
  constructor(
    readonly firstSeq: bigint,
    readonly expectedSeq: bigint,
    options?: OplogErrorOptions,
  ) {
    super(NotContiguousError.code, `record starts at seq ${firstSeq}, expected ${expectedSeq}`, {
      retryable: false,
      ...options,
    });
  }
}

/** The writer's bounded queue is full; retry later. */
export class OverloadedError extends OplogError {
  static readonly code = 'OPLOG_OVERLOADED';
  constructor(
    readonly queuedEntries: number,
    readonly queuedBytes: number,
    options?: OplogErrorOptions,
  ) {
    super(OverloadedError.code, `writer queue full (${queuedEntries} entries, ${queuedBytes} bytes)`, {
      retryable: true,
      ...options,
    });
  }
}

/** A store could not be reached or failed transiently; `operation` says what we were doing. */
export class StoreUnavailableError extends OplogError {
  static readonly code = 'OPLOG_STORE_UNAVAILABLE';
  constructor(
    readonly operation: string,
    readonly context: Readonly<Record<string, string | number | bigint | undefined>> = {},
    options?: OplogErrorOptions,
  ) {
    super(
      StoreUnavailableError.code,
      `${operation} failed: store unavailable${describeCause(options?.cause)}`,
      {
        retryable: true,
        ...options,
      },
    );
  }
}

/** Why a store and we did not accept each other ({@link StoreAuthError}). */
export type StoreAuthRefusal = 'credentials' | 'permission' | 'tls';

const STORE_AUTH_REFUSALS: Readonly<Record<StoreAuthRefusal, string>> = {
  credentials: 'authentication refused: wrong or missing user or password',
  permission: 'authorization refused: the user has no permission for this',
  tls: "TLS refused: the server's certificate is not trusted by the configured CA",
};

/**
 * A store and we do not accept each other: it refused our credentials (a wrong or
 * missing user or password) or our user's permission on its keys or topics, or its TLS
 * certificate is not signed by the CA we trust. Retrying with the same configuration
 * cannot succeed, and it is not an outage: not retryable, so a writer stops and a
 * standby fails closed with this reason instead of waiting forever. `refusal` says
 * which; the message names the operation and the store's own words, never a secret.
 */
export class StoreAuthError extends OplogError {
  static readonly code = 'OPLOG_STORE_AUTH';
  constructor(
    readonly operation: string,
    readonly refusal: StoreAuthRefusal,
    readonly context: Readonly<Record<string, string | number | bigint | undefined>> = {},
    options?: OplogErrorOptions,
  ) {
    super(
      StoreAuthError.code,
      `${operation} failed: ${STORE_AUTH_REFUSALS[refusal]}${describeCause(options?.cause)}`,
      { retryable: false, ...options },
    );
  }
}

/** Two stores hold different bytes at one seq: the log has forked. Stops the writer. */
export class IntegrityError extends OplogError {
  static readonly code = 'OPLOG_INTEGRITY';
  constructor(
    readonly seq: bigint,
    detail: string,
    options?: OplogErrorOptions,
  ) {
    super(IntegrityError.code, `integrity failure at seq ${seq}: ${detail}`, {
      retryable: false,
      ...options,
    });
  }
}

/** Where and how a store found damage, when it can say (file stores: file, byte offset, check). */
export interface CorruptStoreErrorOptions extends OplogErrorOptions {
  /** The damaged file. */
  readonly path?: string;
  /** Byte offset of the damage in `path`. */
  readonly offset?: number;
  /** Which check failed, e.g. `body-checksum`, `header`, `incomplete`, `recovery-point`. */
  readonly check?: string;
}

/** A store's own files are damaged somewhere other than a torn tail. */
export class CorruptStoreError extends OplogError {
  static readonly code = 'OPLOG_CORRUPT_STORE';
  readonly path: string | undefined;
  readonly offset: number | undefined;
  readonly check: string | undefined;
  constructor(
    readonly location: string,
    readonly seq: bigint | undefined,
    detail: string,
    options?: CorruptStoreErrorOptions,
  ) {
    super(
      CorruptStoreError.code,
      `corrupt store at ${location}${seq === undefined ? '' : ` (seq ${seq})`}: ${detail}`,
      { retryable: false, ...options },
    );
    this.path = options?.path;
    this.offset = options?.offset;
    this.check = options?.check;
  }
}

/** The object was closed; nothing more can be done with it. */
export class ClosedError extends OplogError {
  static readonly code = 'OPLOG_CLOSED';
  constructor(
    readonly what: string,
    options?: OplogErrorOptions,
  ) {
    super(ClosedError.code, `${what} is closed`, { retryable: false, ...options });
  }
}

/** The log below `firstAvailableSeq` was removed by retention: install a snapshot. */
export class TruncatedError extends OplogError {
  static readonly code = 'OPLOG_TRUNCATED';
  constructor(
    readonly fromSeq: bigint,
    readonly firstAvailableSeq: bigint,
    options?: OplogErrorOptions,
  ) {
    super(
      TruncatedError.code,
      `seq ${fromSeq} is below the retained log (first available seq ${firstAvailableSeq})`,
      { retryable: false, ...options },
    );
  }
}

/** Another live process holds the store's writer lock. */
export class LockedError extends OplogError {
  static readonly code = 'OPLOG_LOCKED';
  constructor(
    readonly lockPath: string,
    readonly holder: string,
    options?: OplogErrorOptions,
  ) {
    super(LockedError.code, `${lockPath} is held by ${holder}`, { retryable: true, ...options });
  }
}

/** promote() refused: each blocker names a failed precondition (DESIGN.md "Promotion"). */
export class PromotionRefusedError extends OplogError {
  static readonly code = 'OPLOG_PROMOTION_REFUSED';
  constructor(
    readonly blockers: readonly string[],
    options?: OplogErrorOptions,
  ) {
    super(PromotionRefusedError.code, `promotion refused: ${blockers.join(', ')}`, {
      retryable: false,
      ...options,
    });
  }
}

/** A read on a standby that cannot see its source, with `staleReads: deny`. */
export class StaleReadError extends OplogError {
  static readonly code = 'OPLOG_STALE_READ';
  constructor(
    readonly state: string,
    options?: OplogErrorOptions,
  ) {
    super(StaleReadError.code, `read refused: the standby is ${state} and may be stale`, {
      retryable: true,
      ...options,
    });
  }
}

/** An operation this node does not accept in its current state (e.g. a snapshot while divergent). */
export class InvalidStateError extends OplogError {
  static readonly code = 'OPLOG_INVALID_STATE';
  constructor(
    readonly operation: string,
    readonly state: string,
    options?: OplogErrorOptions,
  ) {
    super(InvalidStateError.code, `${operation} is not accepted while the node is ${state}`, {
      retryable: false,
      ...options,
    });
  }
}

/** A configuration value broke a rule; names the field, the value and the rule. */
export class ConfigError extends OplogError {
  static readonly code = 'OPLOG_CONFIG';
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly rule: string,
    options?: OplogErrorOptions,
  ) {
    super(ConfigError.code, `config ${field}=${safeJson(value)}: ${rule}`, { retryable: false, ...options });
  }
}

function hex64(value: bigint): string {
  return `0x${value.toString(16).padStart(16, '0')}`;
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `: ${cause.message}`;
  return cause === undefined ? '' : `: ${String(cause)}`;
}

function safeJson(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

/**
 * The writer stopped while this op's record was on its way: it may be in the log or
 * not (a store may hold it, or a reply was lost). Never "failed": retrying it could
 * write it twice. `seq` is the seq it was given; read the log at that seq to learn
 * which. Ops that provably reached no store fail with the writer's stop error instead.
 */
export class UnknownOutcomeError extends OplogError {
  static readonly code = 'OPLOG_UNKNOWN_OUTCOME';
  constructor(
    readonly seq: bigint,
    options?: OplogErrorOptions,
  ) {
    super(
      UnknownOutcomeError.code,
      `outcome of the append at seq ${seq} is unknown: it may be in the log${describeCause(options?.cause)}`,
      { retryable: false, ...options },
    );
  }
}

/**
 * A replay cannot start: no usable snapshot covers the part of the log that retention
 * removed. Still a TruncatedError (same code); the message says which snapshot was
 * tried and which were refused as damaged.
 */
export class ReplayTruncatedError extends TruncatedError {
  constructor(
    fromSeq: bigint,
    firstAvailableSeq: bigint,
    readonly detail: string,
    options?: OplogErrorOptions,
  ) {
    super(fromSeq, firstAvailableSeq, options);
    this.message = `cannot replay from seq ${fromSeq}: ${detail}, and the log starts at seq ${firstAvailableSeq} (retention removed the rest)`;
  }
}
