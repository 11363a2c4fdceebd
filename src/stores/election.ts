/**
 * The election port (DESIGN.md "Promotion", automatic failover): one leader key per
 * cluster, held under a lease the holder keeps alive; when the holder dies the lease
 * expires and the key is vacant. Safety never rests on it — promotion fences every
 * store, so a holder that wakes after losing its lease is refused by the stores — it
 * only decides who tries. The etcd adapter is ./etcd/election.ts; the port sits beside LogStore, the other port the roles use.
 *
 * Errors: every method may reject with StoreUnavailableError (naming the operation)
 * when the election's store does not answer, StoreAuthError when it refuses our user
 * (not retryable), or ClosedError after close().
 */
export interface Election {
  /**
   * Takes the leader key under a fresh lease if nobody holds it; false when someone
   * does. `force` takes it over a stale holder (a started primary, which has already
   * fenced every store, may).
   */
  campaign(options?: { force?: boolean }): Promise<boolean>;
  /** Gives the key up at once, so another node can campaign. Never rejects. */
  resign(): Promise<void>;
  /** Whether nobody holds the leader key. */
  isVacant(): Promise<boolean>;
  /** Calls `onVacant` each time the leader key is deleted (its lease expired or was revoked). */
  watchVacancy(onVacant: () => void): Promise<void>;
  /** Stops watching and keeping the lease alive; idempotent. */
  close(): Promise<void>;
}
