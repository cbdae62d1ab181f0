import { DiffView, type DiffLine } from '../diff-view';
import { button } from './styles';

export interface Version {
  readonly id: number;
  readonly at: string;
  readonly user: string;
  readonly action: string;
  readonly restoredFrom: number | null;
  /** The policy as this version left it; null when the version deleted it. */
  readonly yaml: string | null;
  readonly diff: readonly DiffLine[];
}

/** Every change made through Governor, newest first, each with its diff and (for editors) a rollback. */
export function HistorySection({
  versions,
  canRollBack,
  rollingBack,
  rollbackError,
  onRollBack,
}: {
  versions: readonly Version[] | undefined;
  canRollBack: boolean;
  rollingBack: boolean;
  rollbackError: string | null;
  onRollBack: (id: number) => void;
}) {
  return (
    <section aria-labelledby="history-heading">
      <h3 id="history-heading" className="font-medium">
        History
      </h3>
      {versions?.length === 0 && <p className="text-sm">No change made through Governor yet.</p>}
      <ol className="mt-2 space-y-2">
        {(versions ?? []).map((h) => (
          <li key={h.id} className="rounded-md border border-slate-200 p-2 text-sm dark:border-slate-700">
            <span className="font-medium">Version {h.id}</span>: {h.action}
            {h.restoredFrom !== null && ` of version ${h.restoredFrom}`} by {h.user},{' '}
            {new Date(h.at).toLocaleString()}
            <details>
              <summary className="cursor-pointer">Diff</summary>
              <DiffView label={`Diff of version ${h.id}`} lines={h.diff} />
            </details>
            {canRollBack && h.yaml !== null && (
              <button
                type="button"
                className={`${button} mt-1`}
                disabled={rollingBack}
                onClick={() => onRollBack(h.id)}
              >
                Roll back to version {h.id}
              </button>
            )}
          </li>
        ))}
      </ol>
      {rollbackError !== null && <p role="alert">Rollback failed: {rollbackError}</p>}
    </section>
  );
}
