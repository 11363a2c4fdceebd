/**
 * A typed event hub: listeners by event name, each called with that event's payload.
 * A listener that throws is reported through `onListenerError` and never breaks the
 * loop that emitted the event. The standby's and the node's events are both one of these.
 */

/** What a listener needs: subscribe, and get back how to unsubscribe. */
export interface TypedEvents<M> {
  on<K extends keyof M>(name: K, listener: (payload: M[K]) => void): () => void;
}

export class EventHub<M> implements TypedEvents<M> {
  private readonly listeners = new Map<keyof M, Set<(payload: never) => void>>();

  constructor(private readonly onListenerError: (name: keyof M, error: unknown) => void) {}

  on<K extends keyof M>(name: K, listener: (payload: M[K]) => void): () => void {
    const set = this.listeners.get(name) ?? new Set();
    this.listeners.set(name, set);
    const entry = listener as (payload: never) => void;
    set.add(entry);
    return () => set.delete(entry);
  }

  emit<K extends keyof M>(name: K, payload: M[K]): void {
    for (const listener of [...(this.listeners.get(name) ?? [])]) {
      try {
        (listener as (payload: M[K]) => void)(payload);
      } catch (error) {
        this.onListenerError(name, error);
      }
    }
  }
}
