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

  it('promotes lazily on large tables but never evicts a key used within the last 7/8 of capacity', () => {
    const t = new SlotTable(64, 1);
    for (let i = 0; i < 64; i++) t.acquire(`k${i}`);
    // k0 is the oldest; touch it, then add 56 new keys (7/8 of 64): k0 must survive.
    t.find('k0');
    for (let i = 0; i < 56; i++) t.acquire(`n${i}`);
    expect(t.has('k0')).toBe(true);
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
