import { describe, expect, it } from 'vitest';
import { Feed } from './feed';

describe('Feed', () => {
  it('resumes after a sequence number with every held item once, then follows new ones', async () => {
    const feed = new Feed<string>(10);
    for (const x of ['a', 'b', 'c']) feed.publish(x);
    const abort = new AbortController();
    const got: [number, string][] = [];
    const done = (async () => {
      for await (const { seq, item } of feed.subscribe({ afterSeq: 1, signal: abort.signal })) {
        got.push([seq, item]);
        if (got.length === 4) abort.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 10));
    feed.publish('d');
    feed.publish('e');
    await done;
    expect(got).toEqual([
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
      [5, 'e'],
    ]);
  });

  it('holds only its capacity: memory stays bounded however much is published', () => {
    const feed = new Feed<number>(100);
    for (let i = 0; i < 10_000; i++) feed.publish(i);
    expect(feed.since(0)).toHaveLength(100);
    expect(feed.since(0)[0]).toEqual({ seq: 9901, item: 9900 });
  });

  it('ends a subscriber that falls too far behind rather than queueing for it', async () => {
    const feed = new Feed<number>(1000);
    const got: number[] = [];
    const slow = (async () => {
      for await (const { item } of feed.subscribe({ afterSeq: 0, maxBehind: 50 })) {
        got.push(item);
        // A slow consumer: meanwhile the producer runs far ahead.
        if (got.length === 1) for (let i = 1; i <= 200; i++) feed.publish(i);
      }
    })();
    feed.publish(0);
    await slow;
    expect(got).toEqual([0]);
    // It can come back and resume from where it was, as long as the feed still holds it.
    const resumed: number[] = [];
    for await (const { item } of feed.subscribe({ afterSeq: 1, maxBehind: 1000 })) {
      resumed.push(item);
      if (resumed.length === 200) break;
    }
    expect(resumed[0]).toBe(1);
    expect(resumed.at(-1)).toBe(200);
  });
});
