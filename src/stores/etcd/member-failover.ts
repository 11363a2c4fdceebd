/**
 * How the etcd client steers calls away from a cluster member that is down. etcd3 sends
 * every call (unary or stream) to a member picked at random and, when that member does
 * not answer, fails the call: it moves on to another member only when the member's own
 * policy refuses the call without making it. With no policy at all (what the store used
 * to give it, to keep the client from retrying on its own), one dead member of three
 * failed a third of all calls for as long as it stayed down — measured: 48 of 148 append
 * attempts, each one a StoreUnavailableError that stalled the writer's lane and blinded
 * subscriptions, with a healthy quorum right there.
 *
 * With two or more members:
 * - each member gets a breaker that opens on the first failure saying the member cannot
 *   be reached (a gRPC UNAVAILABLE that is not etcd's own answer, those begin with
 *   `etcdserver:`); while open, calls go to the other members; after
 *   {@link MEMBER_RETRY_AFTER_MS} one call tries the member again;
 * - a call that provably never left this process (grpc-js found no connection to the
 *   member it picked) is made again at once, up to once per other member, so the call
 *   that finds a member dead, and the one that finds it still dead, do not fail. A call
 *   that may have reached etcd is never repeated here: its outcome is the caller's.
 *
 * A single member keeps no policy: every failure is the caller's to retry, and nothing
 * stands between a restarted etcd and the next call.
 */
import {
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  noop,
  retry,
  type IDefaultPolicyContext,
  type IPolicy,
} from 'cockatiel';
import { GRPCUnavailableError } from 'etcd3';

/** How long a member that could not be reached is left out before one call tries it again. */
export const MEMBER_RETRY_AFTER_MS = 1_000;

export interface MemberFailover {
  readonly host: (hostname: string) => IPolicy<IDefaultPolicyContext>;
  readonly global: IPolicy<IDefaultPolicyContext>;
}

/** etcd3's `faultHandling` for a client of `hostCount` members. */
export function memberFailover(hostCount: number): MemberFailover {
  if (hostCount < 2) return { host: () => noop, global: noop };
  return {
    host: () =>
      circuitBreaker(handleWhen(isUnreachable), {
        halfOpenAfter: MEMBER_RETRY_AFTER_MS,
        breaker: new ConsecutiveBreaker(1),
      }),
    global: retry(handleWhen(neverSent), { maxAttempts: hostCount - 1 }),
  };
}

/** The member could not be reached or dropped the connection: not an answer from etcd. */
export function isUnreachable(error: Error): boolean {
  return error instanceof GRPCUnavailableError && !error.message.includes('etcdserver:');
}

/**
 * grpc-js failed the call before sending it: the channel had no connection to the
 * member (refused, or still failing since the last attempt).
 */
export function neverSent(error: Error): boolean {
  return isUnreachable(error) && error.message.includes('No connection established');
}
