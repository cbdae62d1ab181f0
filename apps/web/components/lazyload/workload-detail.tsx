'use client';
import { useCanEdit } from '../app-shell';
import { compactLook, TableHead } from '../table';
import { EnableFence } from './enable-fence';
import type { Workload } from './types';

const time = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

const KIND_LABEL: Record<string, string> = {
  istio: "Istio's namespace",
  governor: "Governor's namespace",
  stableHost: 'stable host (setting)',
  globalSidecar: 'global sidecar',
  stable: 'stable (spec.host)',
  deadline: 'deadline (spec.host)',
  auto: 'auto (spec.host)',
  spec: 'spec.host',
  namespace: 'whole namespace (spec.host)',
  labelSelector: 'label selector',
  observed: 'observed calls',
  route: 'route destination',
  unknown: 'unknown',
};

function reasonText(h: Workload['hosts'][number]): string {
  const parts = [KIND_LABEL[h.kind] ?? h.kind];
  if (h.kind === 'observed' && h.calls !== null) parts[0] = `observed ${h.calls} calls`;
  if (h.detail && !h.detail.startsWith('called (')) parts.push(h.detail);
  if (h.status === 'EXPIREWAIT') parts.push('leaving');
  return parts.join(' · ');
}

function Size({ workload }: { workload: Workload }) {
  const { withoutFence, withFence, pod } = workload.size;
  const rows = [
    ['Clusters', withoutFence.clusters, withFence?.clusters],
    ['Virtual hosts', withoutFence.virtualHosts, withFence?.virtualHosts],
    ['Routes', withoutFence.routes, withFence?.routes],
  ] as const;
  return (
    <section aria-labelledby="size-heading" className="space-y-2">
      <h4 id="size-heading" className="font-medium">
        Configuration its proxy receives
      </h4>
      <table className="text-sm">
        <caption className="sr-only">Configuration size of {pod}, with and without the fence</caption>
        <thead className="text-left">
          <tr>
            <th scope="col" className="pr-6 font-medium">
              On {pod}
            </th>
            <th scope="col" className="pr-6 font-medium">
              Without fence
            </th>
            <th scope="col" className="pr-6 font-medium">
              {withFence?.from === 'plan' ? 'With a fence (planned)' : 'With the fence'}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, without, withIt]) => (
            <tr key={label}>
              <th scope="row" className="pr-6 text-left font-normal">
                {label}
              </th>
              <td className="pr-6">{without}</td>
              <td className="pr-6">{withIt ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function WorkloadDetail({ workload: w }: { workload: Workload }) {
  const canEdit = useCanEdit(w.namespace);
  const key = `${w.namespace}/${w.name}`;
  return (
    <section
      aria-labelledby="workload-heading"
      className="space-y-6 rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <div>
        <h3 id="workload-heading" className="text-lg font-semibold">
          {key}
        </h3>
        <p className="text-sm">In cluster {w.cluster}</p>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          {w.fence
            ? w.fence.conditions
                .map((c) => `${c.type}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`)
                .join(' · ') || 'Fence not reconciled yet'
            : 'No ServiceFence: its proxy gets the whole mesh.'}
        </p>
      </div>

      {canEdit && !w.fence?.enabled && <EnableFence workload={w} />}

      <Size workload={w} />

      <section aria-labelledby="hosts-heading" className="space-y-2">
        <h4 id="hosts-heading" className="font-medium">
          Sidecar egress hosts
        </h4>
        {!w.sidecar ? (
          <p className="text-sm">No Sidecar: nothing limits this workload&apos;s egress.</p>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-sm">
              <caption className="sr-only">
                Egress hosts of Sidecar {w.sidecar.name} and why each is there
              </caption>
              <TableHead
                look={compactLook}
                columns={['Host', 'Reason', 'Calls', 'Last call', 'Expires at']}
              />
              <tbody>
                {w.hosts.map((h) => (
                  <tr key={h.host} className={compactLook.row}>
                    <th scope="row" className={`${compactLook.cell} text-left font-mono text-xs font-normal`}>
                      {h.host}
                    </th>
                    <td className={compactLook.cell} data-column="reason">
                      {reasonText(h)}
                    </td>
                    <td className={compactLook.cell}>{h.calls ?? '—'}</td>
                    <td className={compactLook.cell}>{time(h.lastSeen)}</td>
                    <td className={compactLook.cell}>
                      {h.expiresAt ? time(h.expiresAt) : h.status === 'EXPIREWAIT' ? 'next pass' : '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {w.left.length > 0 && (
        <section aria-labelledby="left-heading" className="space-y-2">
          <h4 id="left-heading" className="font-medium">
            Hosts that left
          </h4>
          <ul className="space-y-1 text-sm">
            {w.left.map((l) => (
              <li key={l.host}>
                <span className="font-mono text-xs">{l.host}</span>: {l.detail || 'expired'}
                {l.at && `, at ${time(l.at)}`}
              </li>
            ))}
          </ul>
        </section>
      )}

      <section aria-labelledby="fallback-heading" className="space-y-2">
        <h4 id="fallback-heading" className="font-medium">
          Calls through the fallback
        </h4>
        {w.fallbackCalls.length === 0 ? (
          <p className="text-sm">None seen.</p>
        ) : (
          <table className="text-sm">
            <caption className="sr-only">Calls of {key} that went through the fallback</caption>
            <TableHead look={compactLook} columns={['Destination', 'Calls', 'Last call']} />
            <tbody>
              {w.fallbackCalls.map((c) => (
                <tr key={c.destination}>
                  <th scope="row" className={`${compactLook.cell} text-left font-mono text-xs font-normal`}>
                    {c.destination}
                  </th>
                  <td className={compactLook.cell}>{c.count}</td>
                  <td className={compactLook.cell}>{time(c.lastSeen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </section>
  );
}
