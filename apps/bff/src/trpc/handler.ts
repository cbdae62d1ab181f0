/** The API over HTTP at `/trpc/` (queries, mutations, and subscriptions as server-sent events). */
import type { RequestListener } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { ApiDeps } from './deps';
import { appRouter } from './router';
import { contextFrom } from './trpc';

/** Largest request body the API reads (a policy is at most 256 KiB, a replay trace 4 MiB). */
export const MAX_API_BODY_BYTES = 5 * 1024 * 1024;

export function createApiHandler(deps: ApiDeps): RequestListener {
  return createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: MAX_API_BODY_BYTES,
    createContext: ({ req, res }) => contextFrom(deps, req, res),
  });
}
