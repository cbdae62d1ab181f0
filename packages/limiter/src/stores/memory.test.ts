import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock';
import { MemoryWindowStore, SlotTable } from './memory';

describe('SlotTable', () => {
  it('evicts the least recently used key at capacity and reuses its row', () => {
    const t = new SlotTable(3, 2);
    const a = t.acquire('a');
    expect(t.created).toBe(true);
    t.state[a] = 42;
    t.acquire('b');
    t.acquire('c');
    expect(t.acquire('a')).toBe(a);
    expect(t.created).toBe(false);
    expect(t.state[a]).toBe(42);
    t.acquire('d'); // evicts b
    expect([...t.keysByRecency()]).toEqual(['d', 'a', 'c']);
    expect(t.has('b')).toBe(false);
    expect(t.size).toBe(3);
  });

  it('grows its rows as keys arrive and shrinks by eviction', () => {
    const t = new SlotTable(1000, 2);
    for (let i = 0; i < 1000; i++) t.state[t.acquire(`k${i}`)] = i;
    expect(t.size).toBe(1000);
    expect(t.state[t.find('k777')]).toBe(777);
    t.resize(10);
    expect(t.size).toBe(10);
    expect(t.find('k0')).toBe(-1);
    expect(t.state[t.find('k999')]).toBe(999);
    expect(t.delete('k999')).toBe(true);
    expect(t.size).toBe(9);
    t.acquire('fresh');
    expect(t.size).toBe(10);
  });

  it('from 16 keys on, evicts by the clock: a key used since the hand passed it survives', () => {
    const t = new SlotTable(64, 1);
    for (let i = 0; i < 64; i++) t.acquire(`k${i}`);
    // k0 is the oldest; touch it, then add 56 new keys: the sweep passes k0 (clearing its mark) and takes
    // the untouched keys after it, as LRU would.
    t.find('k0');
    for (let i = 0; i < 56; i++) t.acquire(`n${i}`);
    expect(t.has('k0')).toBe(true);
    for (let i = 1; i <= 56; i++) expect(t.has(`k${i}`)).toBe(false);
    for (let i = 57; i < 64; i++) expect(t.has(`k${i}`)).toBe(true);
    expect(t.size).toBe(64);
  });

  it('gives a new key a whole turn of the clock, and keeps used keys through a turn', () => {
    const t = new SlotTable(16, 1);
    for (let i = 0; i < 16; i++) t.acquire(`k${i}`);
    // Hot keys used before every insert are never taken; each new key outlives the 15 inserts after it.
    const hot = ['k3', 'k9'];
    for (let i = 0; i < 200; i++) {
      for (const k of hot) expect(t.find(k)).toBeGreaterThanOrEqual(0);
      t.acquire(`n${i}`);
      if (i >= 13) for (let j = i - 13; j <= i; j++) expect(t.has(`n${j}`)).toBe(true);
    }
    expect(t.size).toBe(16);
  });

  it('switches between exact order and the clock when resized across 16', () => {
    const t = new SlotTable(32, 1);
    for (let i = 0; i < 32; i++) t.acquire(`k${i}`);
    t.find('k5');
    t.find('k7');
    t.resize(4); // exact from here on: the used keys are the newest
    expect(t.size).toBe(4);
    expect(t.has('k5') && t.has('k7')).toBe(true);
    t.acquire('x');
    t.acquire('y');
    t.acquire('z'); // three evictions in exact LRU order: the two unmarked survivors, then k5
    expect([...t.keysByRecency()]).toEqual(['z', 'y', 'x', 'k7']);
    t.resize(20);
    for (let i = 0; i < 16; i++) t.acquire(`m${i}`);
    expect(t.size).toBe(20);
    t.acquire('w'); // the clock again: a key is evicted, the table stays at its bound
    expect(t.size).toBe(20);
    expect(t.has('w')).toBe(true);
  });
});

describe('MemoryWindowStore', () => {
  it('counts per key and window on its clock', async () => {
    const clock = new FakeClock(60_000);
    const store = new MemoryWindowStore({ clock });
    expect(await store.increment({ key: 'a', hits: 2, unit: 'MINUTE' })).toEqual({
      count: 2,
      windowStartMs: 60_000,
      nowMs: 60_000,
    });
    clock.advance(59_999);
    expect((await store.increment({ key: 'a', hits: 1, unit: 'MINUTE' })).count).toBe(3);
    clock.advance(1);
    expect((await store.increment({ key: 'a', hits: 1, unit: 'MINUTE' })).count).toBe(1);
  });
});
