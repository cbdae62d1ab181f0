import { describe, expect, it } from 'vitest';
import type { Timers } from '../cluster/informer';
import { WorkQueue } from './work-queue';

/** Timers the test moves by hand. */
function manualTimers() {
  let now = 0;
  const pending: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const id = next++;
      pending.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (h) => {
      const i = pending.findIndex((p) => p.id === h);
      if (i >= 0) pending.splice(i, 1);
    },
    now: () => now,
  };
  const advance = (ms: number) => {
    now += ms;
    for (const p of pending.filter((x) => x.at <= now).sort((a, b) => a.at - b.at)) {
      pending.splice(pending.indexOf(p), 1);
      p.fn();
    }
  };
  return { timers, advance, pending };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  it('dedupes keys that wait and processes each once', async () => {
    const q = new WorkQueue();
    const seen: string[] = [];
    q.add('a');
    q.add('b');
    q.add('a');
    q.start(async (k) => {
      seen.push(k);
    });
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('never processes a key concurrently with itself, and reprocesses a key added while it ran', async () => {
    const q = new WorkQueue({ workers: 4 });
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    let release: () => void = () => {};
    q.start(async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (calls === 1) await new Promise<void>((r) => (release = r));
      running--;
    });
    q.add('a');
    await tick();
    q.add('a');
    q.add('a');
    await tick();
    expect(running).toBe(1);
    release();
    await q.idle();
    await q.idle();
    expect(calls).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it('retries a failing key with exponential backoff and forgets the failures after a success', async () => {
    const { timers, advance } = manualTimers();
    const q = new WorkQueue({ timers, initialBackoffMs: 100, maxBackoffMs: 1000 });
    const attempts: number[] = [];
    let fail = 3;
    q.start(async () => {
      attempts.push(timers.now());
      if (fail-- > 0) throw new Error('conflict');
    });
    q.add('a');
    await q.idle();
    for (const ms of [100, 200, 400]) {
      const before = attempts.length;
      advance(ms - 1);
      await q.idle();
      expect(attempts).toHaveLength(before); // not yet
      advance(1);
      await q.idle();
      expect(attempts).toHaveLength(before + 1);
    }
    expect(attempts).toEqual([0, 100, 300, 700]);
    expect(q.stats()).toMatchObject({ failed: 3, retrying: 0 });
  });

  it('lets fresh input supersede a pending retry', async () => {
    const { timers } = manualTimers();
    const q = new WorkQueue({ timers, initialBackoffMs: 10_000 });
    let n = 0;
    q.start(async () => {
      if (n++ === 0) throw new Error('boom');
    });
    q.add('a');
    await q.idle();
    expect(q.stats().retrying).toBe(1);
    q.add('a');
    await q.idle();
    expect(n).toBe(2);
    expect(q.stats().retrying).toBe(0);
  });
});
