/** Time series for the dashboard's charts: Prometheus when configured, else the simulated mesh's history. */
import { z } from 'zod';
import { runningPods } from '../../modules/limiter/render';
import { rangeQuery, substitute } from '../../sources/prometheus';
import { requireRole, router, viewerProcedure } from '../../api/trpc';

import { dns } from '../../api/inputs';
import { FIGURE_QUERIES } from './services';
import { productOf } from '../create-api';

const RANGES = {
  '1m': [60, 1],
  '5m': [300, 1],
  '15m': [900, 5],
  '1h': [3600, 15],
  '6h': [21_600, 60],
  '24h': [86_400, 300],
} as const;

export const metricsRouter = router({
  /** A service's rps (allowed and limited), p99 and CPU % over a range, at a step that keeps charts readable. */
  series: viewerProcedure
    .input(
      z.strictObject({
        namespace: dns,
        service: dns,
        range: z.enum(['1m', '5m', '15m', '1h', '6h', '24h']).default('5m'),
      }),
    )
    .query(async ({ ctx, input }) => {
      requireRole(ctx.user, 'viewer', input.namespace);
      const [rangeSeconds, stepSeconds] = RANGES[input.range];
      const prom = productOf(ctx.deps).governor.prometheus;
      if (prom) {
        const context = productOf(ctx.deps).governor.contextFor(input.namespace);
        const svc = context.services.find((s) => s.metadata.name === input.service);
        const pods = svc
          ? runningPods(context, input.namespace, svc.spec.selector ?? {}).map((p) => p.metadata.name)
          : [];
        const end = Date.now() / 1000;
        const start = end - rangeSeconds;
        const series = await Promise.all(
          Object.values(FIGURE_QUERIES).map(async (name) => {
            const q = prom.queries.find((x) => x.name === name);
            if (!q) return new Map<number, number>();
            return rangeQuery(
              { url: prom.url, timeoutMs: 5000 },
              substitute(q.query, input.namespace, pods),
              start,
              end,
              stepSeconds,
            );
          }),
        );
        const [rps, limited, p99, cpu] = series as [
          Map<number, number>,
          Map<number, number>,
          Map<number, number>,
          Map<number, number>,
        ];
        const times = [...new Set([...rps.keys(), ...limited.keys(), ...cpu.keys()])].sort((a, b) => a - b);
        return {
          source: 'prometheus' as const,
          stepSeconds,
          points: times.map((t) => ({
            t: t * 1000,
            rps: rps.get(t) ?? 0,
            allowedRps: (rps.get(t) ?? 0) - (limited.get(t) ?? 0),
            limitedRps: limited.get(t) ?? 0,
            p99Ms: p99.get(t) ?? null,
            cpuPercent: cpu.get(t) ?? null,
          })),
        };
      }
      const history = productOf(ctx.deps).history;
      if (!history) return { source: 'none' as const, stepSeconds, points: [] };
      return {
        source: 'embedded mesh' as const,
        stepSeconds,
        points: history.series(input.namespace, input.service, rangeSeconds, stepSeconds),
      };
    }),
});
