/** Classes the page's tables share. */
export const cell = 'px-3 py-1.5';
export const bodyRow = 'border-b border-slate-100 dark:border-slate-800';

/** A table's column headings. */
export function TableHead({ columns }: { columns: readonly string[] }) {
  return (
    <thead className="border-b border-slate-200 text-xs uppercase text-slate-600 dark:border-slate-700 dark:text-slate-400">
      <tr>
        {columns.map((h) => (
          <th key={h} scope="col" className={cell}>
            {h}
          </th>
        ))}
      </tr>
    </thead>
  );
}
