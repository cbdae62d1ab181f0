/**
 * Checks every typed config in a rendered EnvoyFilter against Envoy's own proto messages, so that a field
 * or enum value Envoy would reject fails a test here rather than a sidecar in production.
 */
import type { EnvoyFilter } from '@governor/crd-types';
import { formatEnvoyIssues, validateEnvoyJson, type EnvoyValidationIssue } from './envoy-proto';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function envoyFilterIssues(ef: EnvoyFilter): string[] {
  const out: string[] = [];
  const add = (where: string, issues: EnvoyValidationIssue[]) => {
    if (issues.length > 0) out.push(`${where}:\n${formatEnvoyIssues(issues)}`);
  };
  ef.spec.configPatches.forEach((p, i) => {
    const where = `${ef.metadata.name} configPatches[${i}] (${p.applyTo})`;
    const value = p.patch.value ?? {};
    switch (p.applyTo) {
      case 'HTTP_FILTER':
        add(
          where,
          validateEnvoyJson('envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter', value),
        );
        return;
      case 'HTTP_ROUTE':
      case 'VIRTUAL_HOST': {
        const allowed =
          p.applyTo === 'HTTP_ROUTE'
            ? ['route', 'typed_per_filter_config']
            : ['rate_limits', 'typed_per_filter_config'];
        for (const k of Object.keys(value))
          if (!allowed.includes(k)) out.push(`${where}: unexpected key ${k}`);
        const routeAction = p.applyTo === 'HTTP_ROUTE' ? value.route : value;
        const rateLimits = isRecord(routeAction) ? routeAction.rate_limits : undefined;
        if (rateLimits !== undefined) {
          if (!Array.isArray(rateLimits)) out.push(`${where}: rate_limits is not a list`);
          else
            rateLimits.forEach((rl, j) =>
              add(`${where} rate_limits[${j}]`, validateEnvoyJson('envoy.config.route.v3.RateLimit', rl)),
            );
        }
        if (p.applyTo === 'HTTP_ROUTE' && isRecord(routeAction)) {
          for (const k of Object.keys(routeAction))
            if (k !== 'rate_limits') out.push(`${where}: unexpected route key ${k}`);
        }
        const perFilter = value.typed_per_filter_config;
        if (perFilter !== undefined) {
          if (!isRecord(perFilter)) out.push(`${where}: typed_per_filter_config is not a map`);
          else
            for (const [name, cfg] of Object.entries(perFilter))
              add(`${where} ${name}`, validateEnvoyJson('google.protobuf.Any', cfg));
        }
        return;
      }
      default:
        out.push(`${where}: unexpected applyTo ${p.applyTo}`);
    }
  });
  return out;
}
