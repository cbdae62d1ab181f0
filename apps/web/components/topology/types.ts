/** The topology's data as the BFF sends it (services.topology). */
import type { inferOutput, TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import type { AppRouter } from '@governor/bff/router';

export type TopologyData = inferOutput<TRPCOptionsProxy<AppRouter>['services']['topology']>;
export type TopologyNode = TopologyData['nodes'][number];
export type TopologyEdge = TopologyData['edges'][number];
