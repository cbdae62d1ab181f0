'use client';
/**
 * How a policy's fan-out stands: per cluster, its copy's state (synced, pending, conflict, unreachable),
 * since when, and the conditions the cluster's own control plane wrote on it; and one line naming the
 * clusters it has not reached yet.
 */
import type { inferOutput, TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import Link from 'next/link';
import type { AppRouter } from '@governor/bff/router';
import { formatAge, lastSyncedText, syncAgeNow } from '../../lib/clusters';
import { limiterEditPath } from '../../lib/routes';

/** fleet.status's answer for a fanned-out policy (null, when it is not, is handled apart). */
export type FanoutView = NonNullable<inferOutput<TRPCOptionsProxy<AppRouter>['fleet']['status']>>;
type CopyState = FanoutView['state'];

const STATE_STYLE: Record<CopyState, string> = {
  synced: 'bg-green-100 text-green-900 dark:bg-green-900/40 dark:text-green-100',
  pending: 'bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-100',
  conflict: 'bg-red-100 text-red-900 dark:bg-red-900/40 dark:text-red-100',
  unreachable: 'bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100',
};

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A condition as `Ready: True (reason)`. */
function conditionText(c: Record<string, unknown>): string {
  const reason = text(c.reason);
  return `${text(c.type) ?? 'condition'}: ${text(c.status) ?? 'Unknown'}${reason ? ` (${reason})` : ''}`;
}

/** The clusters not synced yet, each with why: `west (unreachable), lab (pending)`. */
const behindText = (rows: readonly { cluster: string; state: CopyState }[]): string =>
  rows.map((r) => `${r.cluster} (${r.state})`).join(', ');

export function FanoutPanel({
  status,
  loading,
  error,
  wanted,
  reportedAt,
  now,
}: {
  /** null: the policy is not fanned out. */
  status: FanoutView | null | undefined;
  loading: boolean;
  error: string | null;
  /** The form asks for a fan-out (the applied policy may not yet). */
  wanted: boolean;
  /** When the status was fetched: ages the BFF reported grow from there. */
  reportedAt: number;
  now: number;
}) {
  const behind = status?.clusters.filter((c) => c.state !== 'synced') ?? [];
  const synced = status?.clusters.filter((c) => c.state === 'synced') ?? [];
  return (
    <section aria-labelledby="fanout-heading" className="space-y-2">
      <h3 id="fanout-heading" className="font-medium">
        Fan-out
      </h3>
      {error !== null ? (
        <p role="alert">Could not read the fan-out: {error}</p>
      ) : status === undefined ? (
        <p role="status">{loading ? 'Reading the fan-out…' : 'No fan-out status.'}</p>
      ) : status === null ? (
        <p role="status" className="text-sm">
          Not fanned out: the policy applies in its own cluster only.
          {wanted ? ' Apply it to copy it to the clusters chosen.' : ''}
        </p>
      ) : (
        <>
          <p role="status" className="text-sm font-medium">
            {!status.sourceExists
              ? 'The policy was deleted: its copies are being removed.'
              : behind.length === 0
                ? `Synced in all ${synced.length} cluster${synced.length === 1 ? '' : 's'}: ${synced.map((c) => c.cluster).join(', ')}.`
                : `Not synced yet in ${behindText(behind)}.`}
          </p>
          <table aria-label="Fan-out by cluster" className="w-full text-left text-sm">
            <thead className="text-slate-600 dark:text-slate-400">
              <tr>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Cluster
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  State
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Detail
                </th>
                <th scope="col" className="py-1 font-medium">
                  Conditions of the copy
                </th>
              </tr>
            </thead>
            <tbody>
              {status.clusters.map((c) => {
                const home = c.cluster === status.home;
                const since = c.since ? Date.parse(c.since) : NaN;
                const details = [
                  c.reason,
                  c.state === 'unreachable'
                    ? lastSyncedText(
                        c.lastSuccessfulSyncAgeMs != null
                          ? syncAgeNow(c.lastSuccessfulSyncAgeMs, reportedAt, now)
                          : c.lastSuccessfulSync
                            ? now - Date.parse(c.lastSuccessfulSync)
                            : null,
                      )
                    : undefined,
                  c.state !== 'synced' && !Number.isNaN(since)
                    ? `since ${formatAge(now - since)}`
                    : undefined,
                  c.deleting ? 'copy being removed' : undefined,
                  c.generation !== undefined && status.generation !== undefined
                    ? `generation ${c.generation} of ${status.generation}`
                    : undefined,
                ].filter((d): d is string => !!d);
                return (
                  <tr key={c.cluster} className="border-t border-slate-200 align-top dark:border-slate-800">
                    <th scope="row" className="py-1 pr-3 font-medium">
                      {home ? (
                        `${c.cluster} (home)`
                      ) : (
                        <Link
                          className="underline"
                          href={limiterEditPath({
                            namespace: status.namespace,
                            name: status.name,
                            cluster: c.cluster,
                          })}
                        >
                          {c.cluster}
                        </Link>
                      )}
                    </th>
                    <td className="py-1 pr-3">
                      <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${STATE_STYLE[c.state]}`}>
                        {c.state}
                      </span>
                    </td>
                    <td className="py-1 pr-3">{details.join('; ') || '—'}</td>
                    <td className="py-1">
                      {c.conditions && c.conditions.length > 0 ? (
                        <ul className="space-y-0.5">
                          {c.conditions.map((cond, i) => (
                            <li key={i} title={text(cond.message)}>
                              {conditionText(cond)}
                            </li>
                          ))}
                        </ul>
                      ) : (
                        '—'
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
