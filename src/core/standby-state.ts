/**
 * The standby lifecycle as an explicit transition table (diagram: docs/standby-state-machine.md,
 * checked against this table by test/core/standby-state.test.ts).
 *
 * Every non-terminal state has an exit driven by an event the shell really produces.
 * The reference design's review found a RECONNECTING state that only CONNECTED could
 * leave, which nothing ever fired; here `degraded` is left by `connected`, which the
 * shell emits whenever a subscription reports `visible`, and the reconnect loop runs
 * for as long as the state is `degraded` (it never gives up).
 */

export const STANDBY_STATES = [
  'starting',
  'installing_snapshot',
  'connecting',
  'syncing',
  'watching',
  'degraded',
  'halted',
  'promoting',
  'leaderless',
  'primary',
  'failed',
  'stopped',
] as const;
export type StandbyState = (typeof STANDBY_STATES)[number];

export const STANDBY_EVENTS = [
  /** Local state (or an empty one) is loaded. */
  'started',
  /** A snapshot install began (fresh node, behind retention, or replacing a divergent state). */
  'snapshot_install_began',
  'snapshot_installed',
  'snapshot_failed',
  /** The source subscription reports `visible`. */
  'connected',
  /** The source subscription reports `blind`, or a reconnect attempt failed. */
  'source_lost',
  /** applied == the source's committed head. */
  'caught_up',
  /** The source head moved ahead of applied. */
  'fell_behind',
  /** The applier halted on a gap (skip policy `halt`). */
  'gap_halted',
  /** The halting gap was filled. */
  'gap_filled',
  /** promote() passed its preconditions (or was forced past them). */
  'promote',
  /** Promotion failed before fencing: nothing changed, resume following. */
  'promotion_aborted',
  /** Promotion failed after fencing: no writer exists; retried with backoff. */
  'promotion_failed_after_fence',
  /** This node's writer is running at the new epoch. */
  'promoted',
  /** A newer epoch fenced this node's writer. */
  'fenced',
  /** An unrecoverable error (integrity, invariant). */
  'fatal',
  'stop',
] as const;
export type StandbyEvent = (typeof STANDBY_EVENTS)[number];

type Table = { readonly [S in StandbyState]: Partial<Readonly<Record<StandbyEvent, StandbyState>>> };

const FOLLOWING_EXITS = { source_lost: 'degraded', fatal: 'failed', stop: 'stopped' } as const;

/*
 * Self-loops are listed, not left to rejection: a subscription reports `visible` again
 * after every resubscribe (a corrupted record, a promotion), and that changes nothing
 * in a state that already sees its source. A rejection is then always a real surprise,
 * and the shell logs it.
 */

/** The whole lifecycle. A (state, event) pair not listed here is rejected. */
export const STANDBY_TRANSITIONS: Table = {
  starting: {
    started: 'connecting',
    snapshot_install_began: 'installing_snapshot',
    fatal: 'failed',
    stop: 'stopped',
  },
  installing_snapshot: {
    snapshot_installed: 'connecting',
    snapshot_failed: 'starting',
    fatal: 'failed',
    stop: 'stopped',
  },
  connecting: { connected: 'syncing', ...FOLLOWING_EXITS },
  syncing: {
    connected: 'syncing',
    caught_up: 'watching',
    gap_halted: 'halted',
    promote: 'promoting',
    snapshot_install_began: 'installing_snapshot',
    ...FOLLOWING_EXITS,
  },
  watching: {
    connected: 'watching',
    fell_behind: 'syncing',
    gap_halted: 'halted',
    promote: 'promoting',
    // Replacing a divergent state with a healthy node's snapshot is how it is repaired.
    snapshot_install_began: 'installing_snapshot',
    ...FOLLOWING_EXITS,
  },
  degraded: {
    connected: 'syncing',
    source_lost: 'degraded',
    promote: 'promoting',
    fatal: 'failed',
    stop: 'stopped',
  },
  halted: {
    connected: 'halted',
    gap_filled: 'syncing',
    promote: 'promoting',
    snapshot_install_began: 'installing_snapshot',
    ...FOLLOWING_EXITS,
  },
  promoting: {
    promoted: 'primary',
    promotion_aborted: 'syncing',
    promotion_failed_after_fence: 'leaderless',
    // Another node fenced a newer epoch while this one was promoting.
    fenced: 'stopped',
    fatal: 'failed',
    stop: 'stopped',
  },
  leaderless: {
    promote: 'promoting',
    promoted: 'primary',
    promotion_failed_after_fence: 'leaderless',
    // A newer epoch than the one this node claimed exists: its claim is void.
    fenced: 'stopped',
    fatal: 'failed',
    stop: 'stopped',
  },
  primary: {
    // The primary applies what its writer acknowledges; it follows no subscription, so
    // a source's visibility changes nothing here.
    connected: 'primary',
    source_lost: 'primary',
    fenced: 'stopped',
    fatal: 'failed',
    stop: 'stopped',
  },
  failed: { stop: 'stopped' },
  stopped: {},
};

export const TERMINAL_STATES: readonly StandbyState[] = ['stopped'];

/**
 * States that wait for an operator's call on purpose, so no background loop leaves
 * them: `starting` waits for start() or installSnapshot(); `failed` fails closed and
 * waits for stop() (a human decides what a broken state machine or a forked log means).
 */
export const OPERATOR_WAIT_STATES: readonly StandbyState[] = ['starting', 'failed'];

/** What produces an event in the shell (src/standby): a background loop or an API call. */
export interface EventDriver {
  readonly kind: 'loop' | 'call';
  readonly by: string;
}

/**
 * Who fires each event. `loop` events come from something the standby runs by itself
 * (subscription, tick timer, fetches, the promotion task and its leaderless retries,
 * the writer), so a state left by one of them is never a trap. test/core/
 * standby-state.test.ts checks every non-terminal state against this and checks that
 * src/standby really fires every event listed.
 */
export const EVENT_DRIVERS: { readonly [E in StandbyEvent]: readonly EventDriver[] } = {
  started: [{ kind: 'call', by: 'start()' }],
  snapshot_install_began: [{ kind: 'call', by: 'installSnapshot()' }],
  snapshot_installed: [{ kind: 'loop', by: 'the install task' }],
  snapshot_failed: [{ kind: 'loop', by: 'the install task' }],
  connected: [{ kind: 'loop', by: 'follow loop: subscription visible' }],
  source_lost: [
    { kind: 'loop', by: 'follow loop: subscription blind' },
    { kind: 'loop', by: 'follow loop: the subscription failed (resubscribes with backoff)' },
  ],
  caught_up: [{ kind: 'loop', by: 'apply path (derived by StandbyCore)' }],
  fell_behind: [{ kind: 'loop', by: 'apply path (derived by StandbyCore)' }],
  gap_halted: [{ kind: 'loop', by: 'tick timer (skip policy halt; derived by StandbyCore)' }],
  gap_filled: [{ kind: 'loop', by: 'fetch of the missing range (derived by StandbyCore)' }],
  promote: [
    { kind: 'call', by: 'promote()' },
    { kind: 'loop', by: 'leaderless retry loop' },
  ],
  promotion_aborted: [{ kind: 'loop', by: 'the promotion task' }],
  promotion_failed_after_fence: [{ kind: 'loop', by: 'the promotion task' }],
  promoted: [{ kind: 'loop', by: 'the promotion task' }],
  fenced: [
    { kind: 'loop', by: "the writer's onStopped (a newer epoch fenced it)" },
    { kind: 'loop', by: 'the promotion task (a newer epoch than its claim)' },
  ],
  fatal: [{ kind: 'loop', by: 'any loop, on an unrecoverable error' }],
  stop: [{ kind: 'call', by: 'stop()' }],
};

/**
 * Whether reads in `state` reflect a source the node can see (or its own writes):
 * only while following a visible source or writing. Anywhere else (not yet connected,
 * blind, halted on a gap, installing, promoting, leaderless, failed, stopped) a read
 * may be stale: flagged, or refused under `staleReads: 'deny'`.
 */
export function readsAreFresh(state: StandbyState): boolean {
  return state === 'syncing' || state === 'watching' || state === 'primary';
}

export type TransitionResult =
  | { readonly ok: true; readonly from: StandbyState; readonly to: StandbyState }
  | { readonly ok: false; readonly from: StandbyState; readonly reason: string };

/** Looks up (state, event); never throws: a rejected event is a value the shell logs. */
export function transition(state: StandbyState, event: StandbyEvent): TransitionResult {
  const to = STANDBY_TRANSITIONS[state][event];
  if (to === undefined)
    return { ok: false, from: state, reason: `event ${event} is not accepted in state ${state}` };
  return { ok: true, from: state, to };
}

/** Why a promotion is refused. `force` overrides only the ones marked overridable. */
export type PromotionBlocker =
  'not_a_standby' | 'installing_snapshot' | 'divergent' | 'degraded' | 'halted' | 'not_caught_up';

export const OVERRIDABLE_BLOCKERS: readonly PromotionBlocker[] = [
  'divergent',
  'degraded',
  'halted',
  'not_caught_up',
];

export interface PromotionView {
  readonly state: StandbyState;
  readonly divergent: boolean;
  readonly appliedSeq: bigint;
  /** The committed head as last seen from a visible source. */
  readonly headSeq: bigint;
}

/**
 * The preconditions of DESIGN.md "Promotion", as a list of blockers (empty: may
 * promote). A node mid snapshot install is never promoted, even forced: its state is
 * neither the old nor the new snapshot. `overridden` lists what `force` waived.
 */
export function promotionCheck(
  view: PromotionView,
  force: boolean,
): { blockers: PromotionBlocker[]; overridden: PromotionBlocker[] } {
  const all: PromotionBlocker[] = [];
  if (view.state === 'installing_snapshot') all.push('installing_snapshot');
  else if (!['syncing', 'watching', 'degraded', 'halted', 'leaderless'].includes(view.state))
    all.push('not_a_standby');
  if (view.divergent) all.push('divergent');
  if (view.state === 'degraded') all.push('degraded');
  if (view.state === 'halted') all.push('halted');
  if (view.appliedSeq < view.headSeq) all.push('not_caught_up');
  if (!force) return { blockers: all, overridden: [] };
  return {
    blockers: all.filter((b) => !OVERRIDABLE_BLOCKERS.includes(b)),
    overridden: all.filter((b) => OVERRIDABLE_BLOCKERS.includes(b)),
  };
}
