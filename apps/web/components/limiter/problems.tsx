/** What the BFF found wrong with the policy text, each with its field path and line. */
export interface Problem {
  readonly path: string;
  readonly message: string;
  readonly line?: number | undefined;
  readonly severity: 'error' | 'warning';
}

export function Problems({ issues, checking }: { issues: readonly Problem[]; checking: boolean }) {
  const errors = issues.filter((i) => i.severity === 'error').length;
  return (
    <section aria-labelledby="problems-heading">
      <h3 id="problems-heading" className="sr-only">
        Problems
      </h3>
      <p role="status" className="text-sm">
        {checking
          ? 'Checking…'
          : errors === 0
            ? 'No problems found.'
            : `${errors} problem${errors === 1 ? '' : 's'}:`}
      </p>
      {issues.length > 0 && (
        <ul aria-label="Problems" className="mt-1 space-y-1 text-sm">
          {issues.map((i, n) => (
            <li
              key={n}
              className={
                i.severity === 'error'
                  ? 'text-red-700 dark:text-red-400'
                  : 'text-amber-700 dark:text-amber-400'
              }
            >
              {i.line !== undefined && `line ${i.line}: `}
              {i.path && <code>{i.path}</code>} {i.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
