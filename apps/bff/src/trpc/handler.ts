/** The API over HTTP at `/trpc/` (queries, mutations, and subscriptions as server-sent events). */
import type { RequestListener } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { ApiDeps } from '../api/deps';
import { appRouter } from './router';
import { contextFrom } from '../api/trpc';

/** Largest request body the API reads (a policy is at most 256 KiB, a replay trace 4 MiB). */
export const MAX_API_BODY_BYTES = 5 * 1024 * 1024;
/** Most procedures one batched request may call (a dashboard page makes a handful at once). */
export const MAX_API_BATCH = 50;

export function createApiHandler(deps: ApiDeps): RequestListener {
  const handler = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: MAX_API_BODY_BYTES,
    maxBatchSize: MAX_API_BATCH,
    createContext: ({ req, res }) => contextFrom(deps, req, res),
  });
  return (req, res) => {
    // The adapter builds the request's URL on the Host header, and a Host with credentials or a bad port
    // makes that throw as an internal error. The API answers any host alike, so it is never read.
    req.headers.host = 'localhost';
    handler(req, res);
  };
}
