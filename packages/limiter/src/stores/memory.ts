import type { Clock } from '../clock';
import { unitToMs, WINDOW_STRIDE, windowHit, windowInit } from '../fixed-window';
import type { WindowCount, WindowIncrement, WindowStore } from './window-store';

const NONE = -1;

/** Offsets in a row's recency links. */
const NEWER = 0;
const OLDER = 1;

/** Below this capacity a table keeps exact least-recently-used order; from it on, the clock. */
export const EXACT_LRU_BELOW = 16;

/**
 * Per-key state bounded by least-recent use: one row of `stride` numbers per key in a flat `Float64Array`,
 * found through a `Map` from key to row. This is how the engine keeps one bucket (or counter) per distinct
 * descriptor value, as Envoy's dynamic descriptors keep an LRU of `max_dynamic_descriptors` buckets.
 *
 * Flat rows mean a lookup follows no per-key object and allocates nothing; at capacity a key not used
 * lately is evicted and its row reused. Small tables (capacity below {@link EXACT_LRU_BELOW}) keep the exact
 * order in an index-linked recency list and evict the least recently used key, as Envoy does. Larger ones
 * use the clock (second-chance) approximation of LRU, as page caches and database buffer pools do: a hit
 * only sets the row's "used" mark (one byte in a small array that stays in cache) instead of relinking rows
 * elsewhere in memory; eviction sweeps a hand over the rows, clearing marks, and takes the first key not
 * used since the hand last passed it. A key used since then always survives the sweep, and a new key lands
 * just behind the hand, so it has a whole turn before it can be taken.
 *
 * Memory layout: rows are `stride` numbers and nothing else (a token bucket's two numbers make 16 bytes, so
 * a row never straddles two cache lines and four share one), since the caller's first read of a row is
 * usually a cache miss.
 */
export class SlotTable {
  /** The rows; may be replaced by a larger array when the table grows: re-read it after {@link acquire}. */
  state: Float64Array;
  /** Whether the last {@link acquire} added the key: its row then holds stale data for the caller to initialise. */
  created = false;
  private readonly index = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  /** Exact mode: per row, the next newer and next older row ({@link NEWER}, {@link OLDER}), or {@link NONE}. */
  private links: Int32Array;
  /** Clock mode: per row, whether its key was used since the hand last passed (1) or not (0). */
  private marks: Uint8Array;
  private rows: number;
  private allocated = 0;
  private readonly free: number[] = [];
  private newest = NONE;
  private oldest = NONE;
  private cap: number;
  /** Whether the order is exact (a small table) rather than the clock's. */
  private exact: boolean;
  /** Clock mode: the next row the sweep looks at. */
  private hand = 0;

  constructor(
    capacity: number,
    readonly stride: number,
  ) {
    this.cap = SlotTable.checkCapacity(capacity);
    this.exact = capacity < EXACT_LRU_BELOW;
    this.rows = Math.min(capacity, 64);
    this.state = new Float64Array(this.rows * stride);
    this.marks = new Uint8Array(this.rows);
    this.links = new Int32Array(this.rows * 2);
  }

  private static checkCapacity(capacity: number): number {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    return capacity;
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
    if (!this.exact) this.marks[row] = 1;
    else if (row !== this.newest) this.promote(row);
    return row * this.stride;
  }

  /** Whether `key` is held, without touching its recency. */
  has(key: string): boolean {
    return this.index.has(key);
  }

  /**
   * The row offset for `key`, marked most recently used; a missing key gets a row (evicting a key not used
   * lately at capacity) and sets {@link created}.
   */
  acquire(key: string): number {
    const found = this.find(key);
    this.created = found === NONE;
    return found === NONE ? this.insert(key) : found;
  }

  /**
   * Adds `key`, which must not be held, as the most recently used (evicting a key not used lately at
   * capacity), and returns its row offset: the row holds stale data for the caller to initialise.
   */
  insert(key: string): number {
    let row: number;
    if (this.index.size >= this.cap) row = this.evict();
    else if (this.free.length > 0) row = this.free.pop()!;
    else {
      if (this.allocated === this.rows) this.grow();
      row = this.allocated++;
    }
    this.keys[row] = key;
    this.index.set(key, row);
    if (this.exact) this.linkNewest(row);
    // Unmarked: the hand has just passed this row (or will reach it last), which is the new key's turn.
    else this.marks[row] = 0;
    return row * this.stride;
  }

  delete(key: string): boolean {
    const row = this.index.get(key);
    if (row === undefined) return false;
    this.release(row);
    this.free.push(row);
    return true;
  }

  /** Changes the bound, evicting the keys not used lately that no longer fit. */
  resize(capacity: number): void {
    this.cap = SlotTable.checkCapacity(capacity);
    const exact = capacity < EXACT_LRU_BELOW;
    if (exact !== this.exact) {
      if (exact) this.linkByMarks();
      this.exact = exact;
    }
    while (this.index.size > capacity) this.free.push(this.evict());
  }

  /** Keys from most to least recently used (clock mode: the keys used since the hand passed them first). */
  *keysByRecency(): IterableIterator<string> {
    if (this.exact) {
      for (let row = this.newest; row !== NONE; row = this.links[row * 2 + OLDER]!) yield this.keys[row]!;
      return;
    }
    for (const mark of [1, 0])
      for (const row of this.index.values()) if (this.marks[row] === mark) yield this.keys[row]!;
  }

  /** Row offsets of every key held (any order). */
  *offsets(): IterableIterator<number> {
    for (const row of this.index.values()) yield row * this.stride;
  }

  /** Takes a held key's row out of the index (and the recency list), returning the row. */
  private evict(): number {
    let row: number;
    if (this.exact) row = this.oldest;
    else {
      // The sweep: a marked row loses its mark and is passed; the first unmarked held row is taken. It ends
      // within two turns, as the first turn clears every mark.
      const marks = this.marks;
      for (;;) {
        row = this.hand;
        this.hand = row + 1 === this.allocated ? 0 : row + 1;
        if (this.keys[row] === undefined) continue;
        if (marks[row] === 0) break;
        marks[row] = 0;
      }
    }
    this.release(row);
    return row;
  }

  private release(row: number): void {
    if (this.exact) this.unlink(row);
    this.index.delete(this.keys[row]!);
    this.keys[row] = undefined;
  }

  /** Entering exact mode: the recency list is built from the clock's marks (used keys newer). */
  private linkByMarks(): void {
    this.newest = NONE;
    this.oldest = NONE;
    for (const mark of [0, 1])
      for (const row of this.index.values()) if (this.marks[row] === mark) this.linkNewest(row);
  }

  private grow(): void {
    const rows = Math.min(this.cap, this.rows * 2);
    const state = new Float64Array(rows * this.stride);
    state.set(this.state);
    this.state = state;
    const links = new Int32Array(rows * 2);
    links.set(this.links);
    this.links = links;
    const marks = new Uint8Array(rows);
    marks.set(this.marks);
    this.marks = marks;
    this.rows = rows;
  }

  /** Moves a row to the front (out of {@link find}, so that the common case stays small enough to inline). */
  private promote(row: number): void {
    this.unlink(row);
    this.linkNewest(row);
  }

  private linkNewest(row: number): void {
    const links = this.links;
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
