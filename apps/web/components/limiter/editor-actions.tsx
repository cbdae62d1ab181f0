import { button, primary } from './styles';

/** Preview, what-if and apply: each waits for a text the BFF has checked and found no error in. */
export function EditorActions({
  ready,
  canEdit,
  previewing,
  replaying,
  applying,
  onPreview,
  onWhatIf,
  onApply,
}: {
  ready: boolean;
  canEdit: boolean;
  previewing: boolean;
  replaying?: boolean;
  applying: boolean;
  onPreview: () => void;
  /** Absent: the editor has no what-if replay. */
  onWhatIf?: () => void;
  onApply: () => void;
}) {
  return (
    <div className="flex flex-wrap gap-2">
      <button type="button" className={button} disabled={!ready || previewing} onClick={onPreview}>
        {previewing ? 'Previewing…' : 'Preview'}
      </button>
      {onWhatIf && (
        <button type="button" className={button} disabled={!ready || replaying} onClick={onWhatIf}>
          {replaying ? 'Replaying…' : 'What if (last 60 s)'}
        </button>
      )}
      {canEdit && (
        <button type="button" className={primary} disabled={!ready || applying} onClick={onApply}>
          Apply…
        </button>
      )}
    </div>
  );
}

/** The confirmation before apply: what Envoy renders, it enforces. */
export function ApplyConfirm({
  applying,
  onConfirm,
  onCancel,
  question = 'Apply this policy? Envoy will enforce what it renders.',
}: {
  applying: boolean;
  question?: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <div
      role="alertdialog"
      aria-labelledby="confirm-heading"
      aria-modal="false"
      className="rounded-lg border border-indigo-300 bg-indigo-50 p-4 dark:border-indigo-700 dark:bg-indigo-950"
    >
      <h3 id="confirm-heading" className="font-medium">
        {question}
      </h3>
      <div className="mt-3 flex gap-2">
        <button type="button" className={primary} autoFocus disabled={applying} onClick={onConfirm}>
          {applying ? 'Applying…' : 'Apply now'}
        </button>
        <button type="button" className={button} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
