/** The plugins API's answers, as the page uses them. */
import type { inferOutput, TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import type { AppRouter } from '@governor/bff/router';

type Api = TRPCOptionsProxy<AppRouter>['plugins'];

export type PluginWorkload = inferOutput<Api['workloads']>[number];
export type FilterChain = PluginWorkload['chains'][number];
export type PluginPreview = inferOutput<Api['preview']>;
