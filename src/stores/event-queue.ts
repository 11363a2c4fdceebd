/**
 * A bounded push → pull queue between a store's fetch loop and a subscriber. The loop
 * `put`s records and waits while the queue holds `itemsMax` items or `bytesMax` bytes,
 * so a slow subscriber slows the fetch loop (and, behind it, the client's own buffer)
 * instead of growing memory without bound. Small control events (visibility) go in at
 * once with `pushControl`: they are few, and the loop must never block on them.
 */
export interface EventQueueLimits {
  /** Most items queued before put() waits; ≥ 1. */
  readonly itemsMax: number;
  /** Most bytes (by `bytesOf`) queued before put() waits; one item is always let in. */
  readonly bytesMax: number;
}

export class EventQueue<T> {
  private readonly items: T[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: unknown;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(
    private readonly limits: EventQueueLimits,
    private readonly bytesOf: (item: T) => number,
  ) {}

  /** Items waiting to be pulled. */
  get length(): number {
    return this.items.length;
  }

  /** True while put() would wait: the subscriber is behind, not the source. */
  get full(): boolean {
    return (
      this.items.length >= this.limits.itemsMax ||
      (this.items.length > 0 && this.queuedBytes >= this.limits.bytesMax)
    );
  }

  /** Queues `item` once there is room; resolves false (dropping it) if the queue ended first. */
  async put(item: T): Promise<boolean> {
    while (this.full && !this.ended) await new Promise<void>((resolve) => (this.wakeWriter = resolve));
    if (this.ended) return false;
    this.items.push(item);
    this.queuedBytes += this.bytesOf(item);
    this.notifyReader();
    return true;
  }

  /** Queues a small control event at once, past the bounds. */
  pushControl(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.queuedBytes += this.bytesOf(item);
    this.notifyReader();
  }

  end(): void {
    this.ended = true;
    this.notifyReader();
    this.notifyWriter();
  }

  fail(error: unknown): void {
    this.failure = error;
    this.end();
  }

  async *iterator(): AsyncGenerator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        this.queuedBytes -= this.bytesOf(item);
        this.notifyWriter();
        yield item;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  private notifyReader(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }

  private notifyWriter(): void {
    const wake = this.wakeWriter;
    this.wakeWriter = undefined;
    wake?.();
  }
}
