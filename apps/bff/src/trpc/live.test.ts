import { describe, expect, it } from 'vitest';
import type { MeshDecision } from '../simulator';
import { DecisionStream } from './live';

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

describe('DecisionStream', () => {
  it('counts late decisions in their own second and publishes each second once, in order, when it is over', () => {
    const stream = new DecisionStream(() => undefined);
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
