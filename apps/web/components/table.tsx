/** The dashboard's tables: a few looks, each with its heading row and the classes of its rows and cells. */
import type { ReactNode } from 'react';

export interface TableLook {
  /** The `<thead>`. */
  readonly head: string;
  /** A column heading. */
  readonly heading: string;
  /** A body row. */
  readonly row: string;
  /** A body cell. */
  readonly cell: string;
}

/** A page's main list (policies, services, workloads, clusters): a card with a shaded heading row. */
export const listLook: TableLook = {
  head: 'bg-slate-50 text-left dark:bg-slate-800',
  heading: 'px-3 py-2 font-medium',
  row: 'border-t border-slate-100 dark:border-slate-800',
  cell: 'px-3 py-2',
};

/** A table within a detail panel: no frame, tight cells. */
export const compactLook: TableLook = {
  head: 'text-left',
  heading: 'py-1 pr-4 font-medium',
  row: 'border-t border-slate-100 dark:border-slate-800',
  cell: 'py-1 pr-4',
};

/** MetaRouter's tables: small uppercase headings over ruled rows. */
export const ruledLook: TableLook = {
  head: 'border-b border-slate-200 text-xs uppercase text-slate-600 dark:border-slate-700 dark:text-slate-400',
  heading: 'px-3 py-1.5',
  row: 'border-b border-slate-100 dark:border-slate-800',
  cell: 'px-3 py-1.5',
};

/** A table's column headings. */
export function TableHead({ columns, look }: { columns: readonly string[]; look: TableLook }) {
  return (
    <thead className={look.head}>
      <tr>
        {columns.map((h) => (
          <th key={h} scope="col" className={look.heading}>
            {h}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/**
 * A page's main list: framed, named by a caption for screen readers, headed by `columns` (or by `head`,
 * for headings that do more than name a column), its rows as `children`.
 */
export function ListTable({
  caption,
  children,
  ...heading
}: { caption: string; children: ReactNode } & ({ columns: readonly string[] } | { head: ReactNode })) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className="w-full text-sm">
        <caption className="sr-only">{caption}</caption>
        {'head' in heading ? heading.head : <TableHead columns={heading.columns} look={listLook} />}
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
