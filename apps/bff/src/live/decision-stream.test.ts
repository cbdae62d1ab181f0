import { describe, expect, it } from 'vitest';
import type { MeshDecision } from '../simulator';
import { capLength, DecisionStream, UNMATCHED, type KnownService } from './decision-stream';

const decision = (
  t: number,
  service: string,
  outcome: MeshDecision['outcome'] = 'allowed',
): MeshDecision => ({
  t,
  namespace: 'default',
  service,
  pod: `${service}-1`,
  user: 'alice',
  outcome,
  ruleId: null,
  remaining: null,
});

/** The services of namespace `default` the mesh knows, as the informers answer. */
const known =
  (names: readonly string[]): KnownService =>
  (namespace, name) =>
    namespace === 'default' && names.includes(name) ? { namespace: 'default', name } : undefined;

describe('DecisionStream', () => {
  it('counts late decisions in their own second and publishes each second once, in order, when it is over', () => {
    const stream = new DecisionStream(() => undefined, known(['productpage', 'ratings']));
    // A tick straddling a second: the caller's requests first, then the calls they made, a little earlier.
    stream.onDecision(decision(10_980, 'productpage'));
    stream.onDecision(decision(11_020, 'productpage'));
    stream.onDecision(decision(10_981, 'ratings', 'limited'));
    stream.onDecision(decision(11_021, 'ratings'));
    expect(stream.seconds.since(0)).toEqual([]);
    stream.onDecision(decision(11_300, 'productpage'));
    stream.onDecision(decision(12_400, 'productpage'));
    const published = stream.seconds.since(0).map((f) => f.item);
    expect(published.map((s) => s.second)).toEqual([10, 11]);
    expect(published[0]!.rows.map((r) => [r.service, r.allowed, r.limited])).toEqual([
      ['productpage', 1, 0],
      ['ratings', 0, 1],
    ]);
    expect(published[1]!.rows.map((r) => [r.service, r.allowed])).toEqual([
      ['productpage', 2],
      ['ratings', 1],
    ]);
    // Every decision is in the raw feed.
    expect(stream.recent.since(0)).toHaveLength(6);
  });
});

describe('DecisionStream and what callers choose', () => {
  it('counts decisions for services it does not know and no rule in one row, and caps what it shows', () => {
    const stream = new DecisionStream(() => undefined, known(['reviews']));
    for (let i = 0; i < 1000; i++) {
      stream.onDecision({ ...decision(5_000 + i, `fake-${i}`), user: 'u'.repeat(10_000), pod: `p-${i}` });
      stream.onDecision(decision(5_000 + i, 'reviews'));
    }
    stream.flushUntil(10_000);
    const [second] = stream.seconds.since(0).map((f) => f.item);
    expect(second!.rows.map((r) => [r.namespace, r.service, r.allowed])).toEqual([
      [UNMATCHED.namespace, UNMATCHED.service, 1000],
      ['default', 'reviews', 1000],
    ]);
    const raw = stream.recent.since(0).map((f) => f.item);
    expect(new Set(raw.map((d) => d.service))).toEqual(new Set([UNMATCHED.service, 'reviews']));
    expect(Math.max(...raw.map((d) => d.user.length))).toBe(256);
    expect(capLength('x'.repeat(300))).toMatch(/^x{255}…$/);
  });
});
