/** Input schemas the routers share. */
import { tracked } from '@trpc/server';
import { z } from 'zod';
import type { Feed, FeedItem } from '../lib/feed';

export const dns = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes name');

export const ref = z.strictObject({ namespace: dns, name: dns });

/** A live subscription's input: where to resume, how much to replay, and filters. */
export const liveInput = z
  .strictObject({
    /** The id of the last item received, sent back by the client on a reconnect. */
    lastEventId: z.string().regex(/^\d+$/).nullish(),
    /** On a first connect, start with up to this many items already held. */
    backfill: z.number().int().min(0).max(1000).default(0),
    namespace: dns.optional(),
    service: dns.optional(),
    /** `namespace/name` of a SmartLimiter. */
    policy: z.string().max(300).optional(),
  })
  .default({ backfill: 0 });
export type LiveInput = z.infer<typeof liveInput>;

function startOf<T>(feed: Feed<T>, input: LiveInput): number {
  if (input.lastEventId != null) return Number(input.lastEventId);
  return Math.max(0, feed.seq - input.backfill);
}

/** A live subscription's items: from where `input` says to start, until `signal` ends it. */
export function liveItems<T>(
  feed: Feed<T>,
  input: LiveInput,
  signal: AbortSignal | undefined,
): AsyncGenerator<FeedItem<T>> {
  return feed.subscribe({ afterSeq: startOf(feed, input), ...(signal ? { signal } : {}) });
}

export { tracked };
