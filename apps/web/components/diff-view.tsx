/** One line of a line diff: `+` added, `-` removed, ` ` unchanged. */
export interface DiffLine {
  readonly op: string;
  readonly text: string;
}

/** A line diff, added lines green and removed ones red; keyboard-scrollable. */
export function DiffView({ label, lines }: { label: string; lines: readonly DiffLine[] }) {
  return (
    <pre
      tabIndex={0}
      aria-label={label}
      className="mt-1 max-h-80 overflow-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100"
    >
      {lines.map((l, n) => (
        <div key={n} className={l.op === '+' ? 'text-emerald-300' : l.op === '-' ? 'text-red-300' : ''}>
          {l.op} {l.text}
        </div>
      ))}
    </pre>
  );
}
