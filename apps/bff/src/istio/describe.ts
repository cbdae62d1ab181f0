/** Explanations in words, for the CLI and status messages. */
import type { PatchExplanation, PatchPlace } from './explain-types';

/** `listener virtualInbound, filter chain 0.0.0.0_9080`, `route configuration 9080, virtual host …`. */
export function describePlace(place: PatchPlace): string {
  const parts: string[] = [];
  if (place.listener !== undefined) parts.push(`listener ${place.listener}`);
  if (place.filterChain !== undefined) parts.push(`filter chain ${place.filterChain}`);
  if (place.routeConfiguration !== undefined) parts.push(`route configuration ${place.routeConfiguration}`);
  if (place.virtualHost !== undefined) parts.push(`virtual host ${place.virtualHost}`);
  if (place.route !== undefined) parts.push(`route ${place.route}`);
  if (place.cluster !== undefined) parts.push(`cluster ${place.cluster}`);
  return parts.join(', ');
}

/** `patch 1 HTTP_ROUTE MERGE (SIDECAR_INBOUND)` */
export const describePatch = (p: PatchExplanation): string =>
  `patch ${p.index} ${p.applyTo} ${p.operation} (${p.context})`;
