/**
 * Automatic failover (DESIGN.md "Promotion", off by default), the standby side: when
 * the leader key is vacant (its holder's lease expired: the primary died, or was paused
 * longer than the TTL) a standby campaigns — only a caught-up, non-divergent,
 * non-degraded one, after a delay proportional to its lag, so the most caught-up goes
 * first — and the one whose campaign succeeds promotes. A standby that cannot promote
 * yet (degraded, behind, refused) keeps trying with backoff for as long as the key
 * stays vacant, so a cluster never stays without a writer because the one vacancy event
 * came at a bad moment. Safety does not rest on the election: promotion fences every
 * store. The node supervisor (node.ts) runs it; the election is a port
 * (stores/election.ts).
 */
import type { Election } from '../stores/election.js';
import type { Standby } from '../standby/standby.js';
import type { StandbyStatus } from '../standby/standby-options.js';

export interface AutoFailoverOptions {
  /** Wait before campaigning, plus `lagDelayMsPerEntry` per entry of lag. */
  readonly baseDelayMs?: number;
  readonly lagDelayMsPerEntry?: number;
  /** While the key stays vacant, try again after this; doubles up to 10×. Default 200 ms. */
  readonly retryMs?: number;
  /**
   * Told of every attempt that failed on an error (the election's store, or the
   * promotion after winning the key); the attempt is retried while the key stays vacant.
   */
  readonly onError?: (error: unknown) => void;
}

/** What AutoFailoverOptions left out means. */
export const DEFAULT_AUTO_FAILOVER = { baseDelayMs: 50, lagDelayMsPerEntry: 1, retryMs: 200 } as const;

export interface AutoFailoverStatus {
  /** Vacancy checks made (each one a chance to campaign). */
  readonly attempts: number;
  /** Why the last attempt did not promote, if it did not. */
  readonly lastOutcome: string | undefined;
}

/** Runs the standby side of automatic failover until stopped. */
export class AutoFailover {
  private busy = false;
  private stopped = false;
  private attempts = 0;
  private lastOutcome: string | undefined;

  constructor(
    private readonly standby: Pick<Standby, 'status' | 'promote'>,
    private readonly election: Election,
    private readonly options: AutoFailoverOptions = {},
  ) {}

  get status(): AutoFailoverStatus {
    return { attempts: this.attempts, lastOutcome: this.lastOutcome };
  }

  /** Watches for vacancies; a key that is already vacant counts as one. */
  async start(): Promise<void> {
    await this.election.watchVacancy(() => void this.onVacant());
    void this.onVacant();
  }

  stop(): void {
    this.stopped = true;
  }

  private async onVacant(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const firstRetryMs = this.options.retryMs ?? DEFAULT_AUTO_FAILOVER.retryMs;
      for (let retryMs = firstRetryMs; !this.stopped; retryMs = Math.min(retryMs * 2, firstRetryMs * 10)) {
        if (await this.attempt()) return;
        await new Promise((r) => setTimeout(r, retryMs));
      }
    } finally {
      this.busy = false;
    }
  }

  /** One chance: true when done (this node promoted, or somebody holds the key). */
  private async attempt(): Promise<boolean> {
    this.attempts++;
    try {
      if (!(await this.election.isVacant())) return this.outcome('held', true);
      const before = this.standby.status;
      if (!eligible(before)) return this.outcome(`not eligible (${describe(before)})`, false);
      const lagEntries = Number(before.lagEntries);
      const delayMs =
        (this.options.baseDelayMs ?? DEFAULT_AUTO_FAILOVER.baseDelayMs) +
        lagEntries * (this.options.lagDelayMsPerEntry ?? DEFAULT_AUTO_FAILOVER.lagDelayMsPerEntry);
      await new Promise((r) => setTimeout(r, Math.min(delayMs, 10_000)));
      const now = this.standby.status;
      if (!eligible(now)) return this.outcome(`not eligible (${describe(now)})`, false);
      if (!(await this.election.campaign())) return this.outcome('another node won the campaign', true);
      try {
        await this.standby.promote();
        return this.outcome('promoted', true);
      } catch (error) {
        this.options.onError?.(error);
        // Holding the key without becoming the writer would stall the cluster: resign.
        await this.election.resign();
        return this.outcome(
          `promotion failed: ${error instanceof Error ? error.message : String(error)}`,
          false,
        );
      }
    } catch (error) {
      this.options.onError?.(error);
      return this.outcome(`etcd: ${error instanceof Error ? error.message : String(error)}`, false);
    }
  }

  private outcome(what: string, done: boolean): boolean {
    this.lastOutcome = what;
    return done;
  }
}

function eligible(status: StandbyStatus): boolean {
  return !status.degraded && !status.divergent && (status.state === 'watching' || status.state === 'syncing');
}

function describe(status: StandbyStatus): string {
  return status.divergent ? `${status.state}, divergent` : status.state;
}
