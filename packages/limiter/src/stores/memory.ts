import type { Clock } from '../clock';
import { unitToMs, WINDOW_STRIDE, windowHit, windowInit } from '../fixed-window';
import type { WindowCount, WindowIncrement, WindowStore } from './window-store';

const NONE = -1;

/** Offsets in a row's recency links. */
const NEWER = 0;
const OLDER = 1;

/**
 * Per-key state bounded by least-recent use: one row of `stride` numbers per key in a flat `Float64Array`,
 * found through a `Map` from key to row. This is how the engine keeps one bucket (or counter) per distinct
 * descriptor value, as Envoy's dynamic descriptors keep an LRU of `max_dynamic_descriptors` buckets.
 *
 * Flat rows and an index-linked recency list mean a lookup follows no per-key object and allocates nothing;
 * at capacity the least recently used key is evicted and its row reused. Promotion is lazy: a hit on a key
 * still among the most recent eighth of the table (fewer than `capacity / 8` keys were put in front of it
 * since it was) does not move it, so hot keys cost no writes; eviction still only takes keys that at least
 * 7/8 of the capacity has passed. Below a capacity of 16 the order is exact LRU.
 *
 * Memory layout: a row of {@link state} is followed by the key's promotion stamp (one more number), so a
 * lookup reads the stamp from the memory the caller is about to read anyway; the two recency links of a row
 * sit side by side. Offsets returned are into {@link state}; the numbers past `stride` are not the caller's.
 */
export class SlotTable {
  /** The rows; may be replaced by a larger array when the table grows: re-read it after {@link acquire}. */
  state: Float64Array;
  /** Whether the last {@link acquire} added the key: its row then holds stale data for the caller to initialise. */
  created = false;
  private readonly index = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  /** Per row: the next newer and next older row ({@link NEWER}, {@link OLDER}), or {@link NONE}. */
  private links: Int32Array;
  /** Numbers per row in {@link state}: the caller's `stride`, then the stamp. */
  private readonly width: number;
  private rows: number;
  private allocated = 0;
  private readonly free: number[] = [];
  private newest = NONE;
  private oldest = NONE;
  private cap: number;
  private promoteAfter: number;
  private promotions = 0;

  constructor(
    capacity: number,
    readonly stride: number,
  ) {
    this.cap = SlotTable.checkCapacity(capacity);
    this.promoteAfter = SlotTable.laziness(capacity);
    this.width = stride + 1;
    this.rows = Math.min(capacity, 64);
    this.state = new Float64Array(this.rows * this.width);
    this.links = new Int32Array(this.rows * 2);
  }

  private static checkCapacity(capacity: number): number {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    return capacity;
  }

  private static laziness(capacity: number): number {
    return capacity < 16 ? 0 : capacity >> 3;
  }

  get size(): number {
    return this.index.size;
  }

  get capacity(): number {
    return this.cap;
  }

  /** The row offset of `key` (marking it used), or -1 (then {@link insert} it). */
  find(key: string): number {
    const row = this.index.get(key);
    if (row === undefined) return NONE;
    const o = row * this.width;
    // Stamps wrap at 2^32; the difference is still right as a 32-bit integer.
    if (((this.promotions - this.state[o + this.stride]!) | 0) > this.promoteAfter && row !== this.newest)
      this.promote(row);
    return o;
  }

  /** Whether `key` is held, without touching its recency. */
  has(key: string): boolean {
    return this.index.has(key);
  }

  /**
   * The row offset for `key`, marked most recently used; a missing key gets a row (evicting the least
   * recently used key at capacity) and sets {@link created}.
   */
  acquire(key: string): number {
    const found = this.find(key);
    this.created = found === NONE;
    return found === NONE ? this.insert(key) : found;
  }

  /**
   * Adds `key`, which must not be held, as the most recently used (evicting the least recently used key at
   * capacity), and returns its row offset: the row holds stale data for the caller to initialise.
   */
  insert(key: string): number {
    let row: number;
    if (this.index.size >= this.cap) {
      row = this.oldest;
      this.unlink(row);
      this.index.delete(this.keys[row]!);
    } else if (this.free.length > 0) row = this.free.pop()!;
    else {
      if (this.allocated === this.rows) this.grow();
      row = this.allocated++;
    }
    this.keys[row] = key;
    this.index.set(key, row);
    this.linkNewest(row);
    return row * this.width;
  }

  delete(key: string): boolean {
    const row = this.index.get(key);
    if (row === undefined) return false;
    this.unlink(row);
    this.index.delete(key);
    this.keys[row] = undefined;
    this.free.push(row);
    return true;
  }

  /** Changes the bound, evicting the least recently used keys that no longer fit. */
  resize(capacity: number): void {
    this.cap = SlotTable.checkCapacity(capacity);
    this.promoteAfter = SlotTable.laziness(capacity);
    while (this.index.size > capacity) {
      const row = this.oldest;
      this.unlink(row);
      this.index.delete(this.keys[row]!);
      this.keys[row] = undefined;
      this.free.push(row);
    }
  }

  /** Keys from most to least recently used. */
  *keysByRecency(): IterableIterator<string> {
    for (let row = this.newest; row !== NONE; row = this.links[row * 2 + OLDER]!) yield this.keys[row]!;
  }

  /** Row offsets of every key held (any order). */
  *offsets(): IterableIterator<number> {
    for (const row of this.index.values()) yield row * this.width;
  }

  private grow(): void {
    const rows = Math.min(this.cap, this.rows * 2);
    const state = new Float64Array(rows * this.width);
    state.set(this.state);
    this.state = state;
    const links = new Int32Array(rows * 2);
    links.set(this.links);
    this.links = links;
    this.rows = rows;
  }

  /** Moves a row to the front (out of {@link find}, so that the common case stays small enough to inline). */
  private promote(row: number): void {
    this.unlink(row);
    this.linkNewest(row);
  }

  private linkNewest(row: number): void {
    const links = this.links;
    this.promotions = (this.promotions + 1) | 0;
    this.state[row * this.width + this.stride] = this.promotions;
    links[row * 2 + OLDER] = this.newest;
    links[row * 2 + NEWER] = NONE;
    if (this.newest !== NONE) links[this.newest * 2 + NEWER] = row;
    this.newest = row;
    if (this.oldest === NONE) this.oldest = row;
  }

  private unlink(row: number): void {
    const links = this.links;
    const newer = links[row * 2 + NEWER]!;
    const older = links[row * 2 + OLDER]!;
    if (newer !== NONE) links[newer * 2 + OLDER] = older;
    else this.newest = older;
    if (older !== NONE) links[older * 2 + NEWER] = newer;
    else this.oldest = newer;
  }
}

/** Options of {@link MemoryWindowStore}. */
export interface MemoryWindowStoreOptions {
  readonly clock: Clock;
  /** Bound on the counters kept (least recently used evicted first). Default 100,000. */
  readonly maxKeys?: number;
}

/**
 * An in-process {@link WindowStore}: the shared-store contract without a server. Several engines in one
 * process can share it (they then share limits exactly, as replicas share Redis), and it reads the injected
 * clock, so the global decision path can be tested on a fake clock.
 */
export class MemoryWindowStore implements WindowStore {
  readonly kind = 'memory';
  private readonly clock: Clock;
  private readonly counters: SlotTable;

  constructor(options: MemoryWindowStoreOptions) {
    this.clock = options.clock;
    this.counters = new SlotTable(options.maxKeys ?? 100_000, WINDOW_STRIDE);
  }

  increment(request: WindowIncrement): Promise<WindowCount> {
    return Promise.resolve(this.incrementNow(request));
  }

  /** The synchronous form of {@link increment}. */
  incrementNow(request: WindowIncrement): WindowCount {
    const nowMs = this.clock.nowMs();
    const o = this.counters.acquire(request.key);
    const s = this.counters.state;
    if (this.counters.created) windowInit(s, o);
    const count = windowHit(s, o, request.hits, nowMs, unitToMs(request.unit));
    return { count, windowStartMs: s[o]!, nowMs };
  }
}
