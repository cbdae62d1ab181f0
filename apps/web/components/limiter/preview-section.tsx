import { DiffView, type DiffLine } from '../diff-view';
import { PlacementView, type Placement } from './placement-view';

export interface Preview {
  /** Per EnvoyFilter the policy renders (or no longer renders), the change against the cluster. */
  readonly diff: readonly {
    readonly name: string;
    readonly change: string;
    readonly lines: readonly DiffLine[];
  }[];
  readonly specDiff: readonly DiffLine[];
  /** Where istiod would apply the rendered patches on a Pod they select. */
  readonly placement: Placement | null;
}

export function PreviewSection({
  preview,
  explaining,
  onExplainOn,
}: {
  preview: Preview;
  explaining: boolean;
  onExplainOn: (proxy: string) => void;
}) {
  return (
    <section aria-labelledby="preview-heading" className="space-y-3">
      <h3 id="preview-heading" className="font-medium">
        Preview
      </h3>
      {preview.diff.length === 0 && (
        <p className="text-sm">No EnvoyFilter: no limit is active with today&apos;s metrics.</p>
      )}
      {preview.diff.map((d) => (
        <div key={d.name}>
          <h4 className="text-sm font-medium">
            EnvoyFilter {d.name}: {d.change}
          </h4>
          <DiffView label={`Diff of ${d.name}`} lines={d.lines} />
        </div>
      ))}
      {preview.placement && (
        <PlacementView placement={preview.placement} explaining={explaining} onExplainOn={onExplainOn} />
      )}
      <details>
        <summary className="cursor-pointer text-sm">Changes to the SmartLimiter</summary>
        <DiffView label="Diff of the policy" lines={preview.specDiff} />
      </details>
    </section>
  );
}
