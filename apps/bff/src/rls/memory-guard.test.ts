/** The memory guard in this very process: its memory outside the heap is made to grow, collections counted. */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryGuard } from './memory-guard';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let guard: MemoryGuard | null = null;
afterEach(() => guard?.stop());

describe('MemoryGuard', () => {
  it('asks for a full collection once memory outside the heap has grown by the headroom, not again for memory kept', async () => {
    guard = new MemoryGuard(16, 20);
    guard.start();
    await sleep(100);
    const before = guard.collections;
    // 48 MiB of buffers (outside the heap) written to (so resident), and kept.
    const kept = Array.from({ length: 6 }, () => Buffer.alloc(8 * 1024 * 1024, 1));
    await sleep(200);
    expect(guard.collections).toBeGreaterThan(before);
    const after = guard.collections;
    // The memory is still in use: the mark moved up with it, so no collection follows collection.
    await sleep(300);
    expect(guard.collections).toBe(after);
    expect(kept).toHaveLength(6);
  });

  it('does nothing once stopped', async () => {
    guard = new MemoryGuard(1, 10);
    guard.start();
    guard.stop();
    const kept = Buffer.alloc(16 * 1024 * 1024, 1);
    await sleep(100);
    expect(guard.collections).toBe(0);
    expect(kept.length).toBeGreaterThan(0);
  });
});
