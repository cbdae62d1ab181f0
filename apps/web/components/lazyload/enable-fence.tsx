'use client';
/** Enabling a fence: preview the Sidecar it would write (YAML and diff), then apply. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../../lib/trpc';
import { DiffView } from '../diff-view';
import { button, primary } from '../limiter/styles';
import type { Workload } from './types';

export function EnableFence({ workload: w }: { workload: Workload }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [applied, setApplied] = useState(false);
  const object = {
    apiVersion: 'microservice.slime.io/v1alpha1',
    kind: 'ServiceFence',
    metadata: { name: w.name, namespace: w.namespace },
    spec: { ...(w.fence?.spec ?? {}), enable: true },
  };
  const preview = useMutation(trpc.lazyload.preview.mutationOptions());
  const apply = useMutation(
    trpc.lazyload.applyFence.mutationOptions({
      onSuccess: async () => {
        setApplied(true);
        preview.reset();
        await queryClient.invalidateQueries({ queryKey: trpc.lazyload.pathKey() });
      },
    }),
  );
  const p = preview.data;
  return (
    <section aria-labelledby="enable-heading" className="space-y-3">
      <h4 id="enable-heading" className="font-medium">
        Fence this workload
      </h4>
      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          className={button}
          disabled={preview.isPending}
          onClick={() => {
            setApplied(false);
            preview.mutate({ object, cluster: w.cluster });
          }}
        >
          {preview.isPending ? 'Previewing…' : 'Enable fence'}
        </button>
      </div>
      {applied && <p role="status">Applied. The Sidecar follows once the fence is reconciled.</p>}
      {preview.isError && <p role="alert">Preview failed: {preview.error.message}</p>}
      {apply.isError && <p role="alert">Apply failed: {apply.error.message}</p>}
      {p && (
        <section aria-labelledby="fence-preview-heading" className="space-y-3">
          <h5 id="fence-preview-heading" className="text-sm font-medium">
            Preview
          </h5>
          {p.issues.length > 0 && (
            <ul aria-label="Problems" className="space-y-1 text-sm">
              {p.issues.map((i, n) => (
                <li
                  key={n}
                  className={
                    i.severity === 'error'
                      ? 'text-red-700 dark:text-red-400'
                      : 'text-amber-700 dark:text-amber-400'
                  }
                >
                  {i.path && <code>{i.path}</code>} {i.message}
                </li>
              ))}
            </ul>
          )}
          {p.diff.map((d) => (
            <div key={d.name}>
              <h6 className="text-sm">
                {d.name}: {d.change}
              </h6>
              <DiffView label={`Diff of ${d.name}`} lines={d.lines} />
            </div>
          ))}
          <details>
            <summary className="cursor-pointer text-sm">What it writes (YAML)</summary>
            <pre
              tabIndex={0}
              aria-label="Sidecar YAML"
              className="mt-1 max-h-80 overflow-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100"
            >
              {p.yaml}
            </pre>
          </details>
          <div className="flex gap-2">
            <button
              type="button"
              className={primary}
              disabled={!p.ok || apply.isPending}
              onClick={() => apply.mutate({ object, cluster: w.cluster })}
            >
              {apply.isPending ? 'Applying…' : 'Apply fence'}
            </button>
            <button type="button" className={button} onClick={() => preview.reset()}>
              Cancel
            </button>
          </div>
        </section>
      )}
    </section>
  );
}
