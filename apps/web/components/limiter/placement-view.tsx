/**
 * Where istiod would apply each patch of the previewed EnvoyFilters on one Pod they select: listener,
 * filter chain, route configuration, virtual host, route. A patch that lands nowhere is what istiod
 * ignores without a word, so it is shown as a warning with the reason.
 */
import { useId } from 'react';

export interface PatchPlace {
  readonly listener?: string;
  readonly filterChain?: string;
  readonly routeConfiguration?: string;
  readonly virtualHost?: string;
  readonly route?: string;
  readonly cluster?: string;
}

export interface Placement {
  readonly pods: readonly string[];
  readonly truncated: boolean;
  readonly proxy: string | null;
  readonly explanation: {
    readonly proxy: { readonly type: string };
    readonly patches: readonly {
      readonly envoyFilter: string;
      readonly index: number;
      readonly applyTo: string;
      readonly context: string;
      readonly operation: string;
      readonly places: readonly PatchPlace[];
      readonly reason?: string;
    }[];
  } | null;
}

const LEVELS = [
  ['listener', 'listener'],
  ['filterChain', 'filter chain'],
  ['routeConfiguration', 'route configuration'],
  ['virtualHost', 'virtual host'],
  ['route', 'route'],
  ['cluster', 'cluster'],
] as const;

export const describePlace = (place: PatchPlace): string =>
  LEVELS.flatMap(([key, label]) => (place[key] !== undefined ? [`${label} ${place[key]}`] : [])).join(', ');

export function PlacementView({
  placement,
  explaining,
  onExplainOn,
}: {
  placement: Placement;
  explaining: boolean;
  onExplainOn: (proxy: string) => void;
}) {
  const podSelect = useId();
  const { explanation } = placement;
  const nowhere = explanation?.patches.filter((p) => p.places.length === 0).length ?? 0;
  return (
    <div className="space-y-2" aria-labelledby="placement-heading" role="group">
      <h4 id="placement-heading" className="text-sm font-medium">
        Where istiod applies it
      </h4>
      {placement.proxy === null ? (
        <p className="text-sm">
          No Pod is selected by these EnvoyFilters yet: nothing to apply them to in the cluster as it is.
        </p>
      ) : (
        <>
          <p className="text-sm">
            <label htmlFor={podSelect}>On the Pod </label>
            <select
              id={podSelect}
              className="rounded border px-1"
              value={placement.proxy}
              disabled={explaining || placement.pods.length < 2}
              onChange={(e) => onExplainOn(e.target.value)}
            >
              {placement.pods.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>{' '}
            ({explanation?.proxy.type}
            {placement.pods.length > 1
              ? `; ${placement.pods.length}${placement.truncated ? '+' : ''} Pods selected`
              : ''}
            ), by istiod&apos;s EnvoyFilter matching rules:
          </p>
          {nowhere > 0 && (
            <p role="alert" className="text-sm text-amber-800">
              {nowhere === 1 ? 'One patch matches' : `${nowhere} patches match`} nothing on this Pod: istiod
              ignores {nowhere === 1 ? 'it' : 'them'} silently.
            </p>
          )}
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Where each patch lands</caption>
            <thead>
              <tr>
                <th scope="col">EnvoyFilter</th>
                <th scope="col">Patch</th>
                <th scope="col">Lands on</th>
              </tr>
            </thead>
            <tbody>
              {explanation?.patches.map((p) => (
                <tr key={`${p.envoyFilter}#${p.index}`} className="align-top">
                  <td>{p.envoyFilter}</td>
                  <td>
                    {p.index}: {p.applyTo} {p.operation} ({p.context})
                  </td>
                  <td>
                    {p.places.length === 0 ? (
                      <span className="text-amber-800">Matches nothing{p.reason ? `: ${p.reason}` : ''}</span>
                    ) : (
                      <ul>
                        {p.places.map((place) => (
                          <li key={describePlace(place)}>{describePlace(place)}</li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
