/**
 * A keyed work queue, as controllers use them: informer events only enqueue `namespace/name` keys; a key
 * waiting is not added twice; a key being processed that is added again is processed once more afterwards
 * (never concurrently with itself); a failed key comes back after a per-key exponential backoff, and a
 * success forgets its failures.
 */
import { realTimers, type Timers } from '../cluster/informer';

export interface WorkQueueOptions {
  readonly workers?: number;
  /** First retry delay after a failure, doubled per consecutive failure up to maxBackoffMs. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly timers?: Timers;
  /** Told about each failed attempt (it is retried with backoff). */
  readonly onError?: (key: string, error: unknown, failures: number) => void;
}

export type Worker = (key: string) => Promise<void>;

export interface QueueStats {
  readonly queued: number;
  readonly processing: number;
  readonly retrying: number;
  readonly processed: number;
  readonly failed: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, unknown>();
  private readonly timers: Timers;
  private worker: Worker | null = null;
  private active = 0;
  private stopped = false;
  private processed = 0;
  private failed = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions = {}) {
    this.timers = options.timers ?? realTimers;
  }

  /** Starts processing with `worker`. */
  start(worker: Worker): void {
    this.worker = worker;
    this.stopped = false;
    this.pump();
  }

  /** Stops taking new work; work in progress finishes. */
  stop(): void {
    this.stopped = true;
    for (const t of this.retryTimers.values()) this.timers.clearTimeout(t);
    this.retryTimers.clear();
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const retry = this.retryTimers.get(key);
    if (retry !== undefined) {
      // Fresh input supersedes a pending retry: process now.
      this.timers.clearTimeout(retry);
      this.retryTimers.delete(key);
    }
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  stats(): QueueStats {
    return {
      queued: this.queue.length,
      processing: this.processing.size,
      retrying: this.retryTimers.size,
      processed: this.processed,
      failed: this.failed,
    };
  }

  /** Resolves when nothing is queued or processing (retries pending later do not count). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const worker = this.worker;
    if (!worker || this.stopped) return;
    const max = this.options.workers ?? 1;
    while (this.active < max && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      this.active++;
      void this.run(worker, key);
    }
    if (this.queue.length === 0 && this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(worker: Worker, key: string): Promise<void> {
    let ok = true;
    let error: unknown;
    try {
      await worker(key);
    } catch (e) {
      ok = false;
      error = e;
    }
    this.processing.delete(key);
    this.active--;
    this.processed++;
    if (ok) {
      this.failures.delete(key);
    } else {
      this.failed++;
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.options.onError?.(key, error, n);
      if (!this.dirty.has(key) && !this.stopped) {
        const delay = Math.min(
          this.options.maxBackoffMs ?? 60_000,
          (this.options.initialBackoffMs ?? 100) * 2 ** Math.min(n - 1, 20),
        );
        this.retryTimers.set(
          key,
          this.timers.setTimeout(() => {
            this.retryTimers.delete(key);
            this.add(key);
          }, delay),
        );
      }
    }
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
  }
}
