import type { ReactNode } from 'react';
import type { ControlPlaneInfo, ControlPlaneStatus } from '../lib/control-plane';

const modeDescriptions: Record<ControlPlaneInfo['mode'], string> = {
  embedded: 'demo mesh inside the BFF, no cluster needed',
  kubernetes: 'the cluster named by KUBECONFIG',
};

/** Whether the dashboard reaches the BFF, and what the BFF runs against. */
export function ControlPlaneCard({ status }: { status: ControlPlaneStatus }) {
  return (
    <section
      aria-labelledby="control-plane-heading"
      className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 id="control-plane-heading" className="text-lg font-semibold">
        Control plane
      </h2>
      <dl className="mt-4 grid gap-x-6 gap-y-3 text-sm sm:grid-cols-[max-content_1fr]">
        <Field label="Status">
          <StatusDot connected={status.connected} />
          {status.connected ? 'connected' : 'not reachable'}
        </Field>
        {status.connected && (
          <>
            <Field label="Mode">
              {status.info.mode}
              <span className="text-slate-500 dark:text-slate-400">
                {' '}
                — {modeDescriptions[status.info.mode]}
              </span>
            </Field>
            <Field label="Version">{status.info.version}</Field>
            <Field label="Started">
              <time dateTime={status.info.startedAt}>{formatUtc(status.info.startedAt)}</time>
            </Field>
          </>
        )}
        <Field label="BFF">
          <code className="font-mono">{status.bffUrl}</code>
        </Field>
      </dl>
      {!status.connected && (
        <p className="mt-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          The BFF at <code className="font-mono">{status.bffUrl}</code> is not reachable: {status.reason}.
          Start it with <code className="font-mono">./scripts/start</code>
        </p>
      )}
    </section>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="contents">
      <dt className="font-medium text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="flex items-center gap-2">{children}</dd>
    </div>
  );
}

function StatusDot({ connected }: { connected: boolean }) {
  return (
    <span
      aria-hidden="true"
      className={`inline-block size-2 rounded-full ${connected ? 'bg-emerald-500' : 'bg-amber-500'}`}
    />
  );
}

function formatUtc(iso: string): string {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : `${time.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
