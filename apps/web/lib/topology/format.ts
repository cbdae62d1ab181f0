/** How the topology writes its figures and health, shared by the graph, its list and the side panel. */

export type HealthStatus = 'healthy' | 'degraded' | 'failing' | 'idle';

export const HEALTH_TEXT: Record<HealthStatus, string> = {
  healthy: 'healthy',
  degraded: 'degraded',
  failing: 'failing',
  idle: 'no traffic',
};

/** Kiali's colours: green, orange, red; grey without traffic. Strokes and fills for SVG. */
export const HEALTH_STROKE: Record<HealthStatus, string> = {
  healthy: 'stroke-[#3e8635]',
  degraded: 'stroke-[#f0ab00]',
  failing: 'stroke-[#c9190b]',
  idle: 'stroke-slate-400',
};
export const HEALTH_FILL: Record<HealthStatus, string> = {
  healthy: 'fill-[#3e8635]',
  degraded: 'fill-[#f0ab00]',
  failing: 'fill-[#c9190b]',
  idle: 'fill-slate-400',
};

export const rate = (rps: number): string => `${rps >= 100 ? rps.toFixed(0) : rps.toFixed(1)}/s`;

/** A share in percent: two decimals under 1% (Kiali's 0.1% tolerance must show), one above. */
export const percent = (p: number | null): string =>
  p === null ? 'n/a' : p === 0 ? '0%' : p < 1 ? `${p.toFixed(2)}%` : `${p.toFixed(1)}%`;

export const ms = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(0)} ms`);

/** An edge's label: rate, 5xx share when any, p95. */
export function edgeLabel(e: {
  rps: number;
  health: { serverErrorPercent: number | null };
  p95Ms: number | null;
}): string {
  const parts = [rate(e.rps)];
  const err = e.health.serverErrorPercent;
  if (err !== null && err > 0) parts.push(`${percent(err)} 5xx`);
  if (e.p95Ms !== null) parts.push(`p95 ${ms(e.p95Ms)}`);
  return parts.join(' · ');
}
