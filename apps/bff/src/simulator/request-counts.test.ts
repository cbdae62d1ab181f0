import { describe, expect, it } from 'vitest';
import { RequestCounts } from './request-counts';

describe('edge rates', () => {
  it('gives rps, limited, 5xx per second and the p95 of the answers over the window', () => {
    const c = new RequestCounts();
    for (let second = 0; second < 10; second++)
      for (let i = 0; i < 20; i++) {
        const allowed = i < 18;
        c.countCall('default/a', 'default/b', second, allowed);
        // One in twenty is a 5xx; latencies 1..20 ms, the limited answers fast.
        c.answerCall('default/a', 'default/b', second, allowed ? i + 1 : 0.5, i === 0);
      }
    const [edge] = c.edgeRates(10, 10);
    expect(edge).toMatchObject({ from: 'default/a', to: 'default/b', rps: 20, limitedRps: 2, errorRps: 1 });
    // Istio's buckets: 10 and 25 ms; 95% of 200 answers is 190, in the 10..25 bucket.
    expect(edge!.p95Ms).toBeGreaterThan(10);
    expect(edge!.p95Ms).toBeLessThanOrEqual(25);
  });

  it('has no p95 without answers, and only counts the seconds in the window', () => {
    const c = new RequestCounts();
    c.countCall('default/a', 'default/b', 3, true);
    expect(c.edgeRates(4, 2)[0]).toMatchObject({ rps: 0.5, errorRps: 0, p95Ms: null });
    c.answerCall('default/a', 'default/b', 3, 7, true);
    // Seconds 5 to 9: the call in second 3 is outside.
    expect(c.edgeRates(10, 5)[0]).toMatchObject({ rps: 0, errorRps: 0, p95Ms: null });
    expect(c.edgeRates(4, 2)[0]).toMatchObject({ rps: 0.5, errorRps: 0.5 });
    expect(c.edgeRates(4, 2)[0]!.p95Ms).toBeGreaterThan(5);
  });
});
