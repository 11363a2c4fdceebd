/**
 * The standby's warning channel (the project has no logger yet: the caller injects
 * `warn`). Rate-limited per kind, so a flood of one warning (a source blind for an
 * hour) never hides a different one (a rejected lifecycle transition). The kinds are
 * a closed list, so the limiter's memory is bounded.
 */
export type WarnFn = (message: string, cause?: unknown) => void;

export type WarningKind =
  | 'source-blind'
  | 'loop-failed'
  | 'transition-rejected'
  | 'range-skipped'
  | 'snapshot'
  | 'fenced'
  | 'listener'
  | 'divergent';

export class RateLimitedWarnings {
  private readonly lastAtMs = new Map<WarningKind, number>();

  constructor(
    private readonly warn: WarnFn | undefined,
    private readonly intervalMs: number,
    private readonly nowMs: () => number,
  ) {}

  /** Passes the warning on unless one of the same kind went out within the interval. */
  maybeWarn(kind: WarningKind, message: string, cause?: unknown): void {
    const now = this.nowMs();
    if (now - (this.lastAtMs.get(kind) ?? -Infinity) < this.intervalMs) return;
    this.lastAtMs.set(kind, now);
    this.warn?.(message, cause);
  }
}
