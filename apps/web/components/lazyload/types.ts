/** The lazyload API's answers, as the pages use them. */
import type { inferOutput, TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import type { AppRouter } from '@governor/bff/router';

type Api = TRPCOptionsProxy<AppRouter>['lazyload'];

export type Workload = inferOutput<Api['workloads']>[number];
export type FencePreview = inferOutput<Api['preview']>;
