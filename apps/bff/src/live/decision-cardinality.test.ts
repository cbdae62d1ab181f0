/**
 * Descriptor values are the caller's: 30,000 rate-limit calls with unique values, through the BFF's
 * rate-limit service into the dashboard's decision stream, add no rows, no services and little memory.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerOf, DEMO_API_USERS, DEMO_SERVICE_NAMES } from '../../test/support/demo-api';
import { startDemoBff, type DemoBff } from '../../test/support/demo-bff';
import type { Bff } from '../server/bff';
import { UNMATCHED } from './decision-stream';
import { MODULES } from '../modules';
import { productOf } from '../trpc/create-api';

/** A full garbage collection, to compare heaps: exposed for this process only if it is not already. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('decisions for values that match no rule', () => {
  let demo: DemoBff;
  let bff: Bff;

  beforeAll(async () => {
    demo = await startDemoBff({
      rls: {},
      listen: false,
      governor: {
        modules: MODULES,
        simulate: false,
        metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      },
    });
    ({ bff } = demo);
  });
  afterAll(() => demo.close());

  it('are counted in one row per second, name no service the mesh lacks, and keep no memory', async () => {
    const rls = bff.rls!;
    const stream = productOf(bff.api.deps).decisions!;
    const gc = collector();
    // Waits for the current second to end, then publishes every second so far.
    const publishSecondsSoFar = async () => {
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
      stream.flushUntil(Date.now());
    };
    const padding = 'x'.repeat(1000);
    const call = (value: string) =>
      rls.shouldRateLimit({
        domain: 'governor',
        descriptors: [{ entries: [{ key: 'generic_key', value }] }],
        hits_addend: 0,
      });
    // Warm the paths up, then measure from a collected heap.
    for (let i = 0; i < 500; i++) await call(`warm-up-${i}`);
    await publishSecondsSoFar();
    gc();
    const before = process.memoryUsage().heapUsed;
    const startSeq = stream.seconds.seq;
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 30_000; i++) {
      // Values in Governor's own descriptor format, each naming a service no one has, and plain ones.
      const value = i % 2 === 0 ? `Service[fake-${i}.default]-Id[${i}]${padding}` : `${padding}-${i}`;
      calls.push(call(value));
      if (calls.length === 1000) await Promise.all(calls.splice(0));
    }
    await Promise.all(calls);
    // A known service's name with an unknown descriptor: that service's row, not a new one.
    await call(`Service[reviews.default]-Id[${'9'.repeat(2000)}]`);
    await publishSecondsSoFar();
    gc();
    const grown = process.memoryUsage().heapUsed - before;

    const seconds = stream.seconds.since(startSeq).map((f) => f.item);
    expect(seconds.length).toBeGreaterThan(0);
    const rows = seconds.flatMap((s) => s.rows);
    // At most the unmatched row and the reviews row in each second, whatever 30,000 callers sent.
    for (const s of seconds) expect(s.rows.length).toBeLessThanOrEqual(2);
    expect(new Set(rows.map((r) => `${r.namespace}/${r.service}`))).toEqual(
      new Set([`${UNMATCHED.namespace}/${UNMATCHED.service}`, 'default/reviews']),
    );
    expect(rows.reduce((n, r) => n + r.allowed, 0)).toBe(30_001);
    const recent = stream.recent.since(0).map((f) => f.item);
    expect(recent.filter((d) => !['(unmatched)', 'reviews'].includes(d.service))).toEqual([]);
    // 30,000 values of 1 KB went by; what stays is the feeds' bounded items.
    expect(grown).toBeLessThan(10 * 1024 * 1024);

    // The dashboard's list is the mesh's services.
    const services = await callerOf(bff.api.deps, DEMO_API_USERS.admin).services.list();
    expect(services.map((s) => s.name)).toEqual(DEMO_SERVICE_NAMES);
  }, 60_000);
});
