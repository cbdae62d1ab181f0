/**
 * A live feed for subscriptions: the last `capacity` items with increasing sequence numbers, and
 * subscribers that resume after a sequence number (SSE's Last-Event-ID), so a reconnecting client gets
 * every item it missed that is still held, once. Each subscriber has a bounded queue: one that cannot keep
 * up is ended rather than allowed to grow the server's memory; it reconnects and resumes where it was.
 */
export interface FeedItem<T> {
  readonly seq: number;
  readonly item: T;
}

export class Feed<T> {
  private readonly items: FeedItem<T>[] = [];
  private lastSeq = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError('capacity must be a positive integer');
  }

  get seq(): number {
    return this.lastSeq;
  }

  publish(item: T): number {
    const seq = ++this.lastSeq;
    this.items.push({ seq, item });
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
    for (const wake of this.waiters) wake();
    return seq;
  }

  /** Held items after `seq`, oldest first. */
  since(seq: number): FeedItem<T>[] {
    const first = this.items.findIndex((i) => i.seq > seq);
    return first < 0 ? [] : this.items.slice(first);
  }

  /**
   * Items after `afterSeq` (default: from now on), then new ones as they come, until `signal` aborts. Ends
   * (returns) when more than `maxBehind` items are waiting for this subscriber.
   */
  async *subscribe(options: {
    afterSeq?: number;
    signal?: AbortSignal;
    maxBehind?: number;
  }): AsyncGenerator<FeedItem<T>> {
    let cursor = options.afterSeq ?? this.lastSeq;
    const maxBehind = options.maxBehind ?? this.capacity;
    const signal = options.signal;
    while (!signal?.aborted) {
      const pending = this.since(cursor);
      if (pending.length > maxBehind) return;
      for (const entry of pending) {
        if (signal?.aborted) return;
        cursor = entry.seq;
        yield entry;
        // The consumer took its time: if it fell too far behind meanwhile, end its stream.
        if (this.lastSeq - cursor > maxBehind) return;
      }
      if (this.lastSeq > cursor) continue;
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }
}
