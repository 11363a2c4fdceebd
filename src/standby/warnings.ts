/**
 * The standby's warning channel: to a `warn` function or a Logger (the caller injects
 * either), folded per kind (src/core/warning-folder.ts), so a flood of one warning (a
 * source blind for an hour) never hides a different one (a rejected lifecycle
 * transition), and what was folded is counted on the next line of its kind. The kinds
 * are a closed list, so the folder's memory is bounded.
 */
import { FoldingLogger } from '../core/warning-folder.js';
import type { Logger } from '../core/telemetry.js';

export type WarnFn = (message: string, cause?: unknown) => void;

export type WarningKind =
  | 'source-blind'
  | 'loop-failed'
  | 'transition-rejected'
  | 'range-skipped'
  | 'gap'
  | 'snapshot'
  | 'fenced'
  | 'listener'
  | 'divergent';

/** Where the warnings go: `warn` if given, else `logger` (`{ kind, cause, folded… }`), else nowhere. */
export interface WarningTarget {
  readonly warn?: WarnFn | undefined;
  readonly logger?: Logger | undefined;
}

export class RateLimitedWarnings {
  private readonly folding: FoldingLogger | undefined;

  constructor(target: WarningTarget, intervalMs: number, nowMs: () => number) {
    const sink = sinkOf(target);
    this.folding = sink === undefined ? undefined : new FoldingLogger(sink, { intervalMs, nowMs });
  }

  /**
   * Passes the warning on unless one of the same kind went out within the interval
   * (then it is counted, with the seqs it names: a logger gets them as fields).
   */
  maybeWarn(
    kind: WarningKind,
    message: string,
    cause?: unknown,
    seqs?: { readonly fromSeq: bigint; readonly toSeq: bigint },
  ): void {
    this.folding?.warn(
      {
        kind,
        ...(cause === undefined ? {} : { cause }),
        ...(seqs === undefined ? {} : { fromSeq: seqs.fromSeq.toString(), toSeq: seqs.toSeq.toString() }),
      },
      message,
    );
  }

  /** Passes on the counts of kinds whose interval is over (called on the standby's tick). */
  flushExpired(): void {
    this.folding?.flushExpired();
  }

  /** Passes on every count still folded (on stop). */
  flush(): void {
    this.folding?.flush();
  }
}

function sinkOf(target: WarningTarget): Logger | undefined {
  const { warn, logger } = target;
  const drop = () => undefined;
  if (warn !== undefined)
    return {
      debug: drop,
      info: drop,
      error: drop,
      warn: (fields, message) => {
        const { cause, folded, foldedFromSeq, foldedToSeq } = fields as Record<string, unknown>;
        const range =
          foldedFromSeq === undefined ? '' : `, seqs ${String(foldedFromSeq)}..${String(foldedToSeq)}`;
        warn(folded === undefined ? message : `${message} (${String(folded)} more folded${range})`, cause);
      },
    };
  if (logger !== undefined)
    return {
      debug: drop,
      info: drop,
      error: drop,
      // A raw error would serialize as {} in JSON: the logger gets its text.
      warn: (fields, message) => {
        const { cause, ...rest } = fields as Record<string, unknown>;
        logger.warn(cause === undefined ? rest : { ...rest, cause: String(cause) }, message);
      },
    };
  return undefined;
}
