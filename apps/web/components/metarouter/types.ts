/** The metarouter API's answers, as the page uses them. */
import type { inferOutput, TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import type { AppRouter } from '@governor/bff/router';

type Api = TRPCOptionsProxy<AppRouter>['metarouter'];

export type MetaProtocolService = inferOutput<Api['services']>[number];
export type MethodRow = inferOutput<Api['methods']>[number];
export type Subscription = inferOutput<Api['subscriptions']>[number];
export type MetaRouterPreview = inferOutput<Api['preview']>;
