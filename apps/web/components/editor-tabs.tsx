'use client';
/** The tabs an editor shows one text in (a form and its YAML), as an ARIA tab list with its panel. */
import type { ReactNode } from 'react';

export function EditorTabs<T extends string>({
  id,
  tabs,
  tab,
  onTab,
  children,
}: {
  /** Prefix of the tabs' and panel's element ids, unique on the page. */
  id: string;
  tabs: readonly (readonly [T, string])[];
  tab: T;
  onTab: (tab: T) => void;
  /** The selected tab's panel. */
  children: ReactNode;
}) {
  return (
    <>
      <div
        role="tablist"
        aria-label="Edit as"
        className="flex gap-1 border-b border-slate-200 dark:border-slate-800"
      >
        {tabs.map(([t, label]) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`${id}-tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`${id}-panel-${t}`}
            onClick={() => onTab(t)}
            className={`px-3 py-1.5 text-sm ${tab === t ? 'border-b-2 border-indigo-600 font-medium' : 'text-slate-600 dark:text-slate-400'}`}
          >
            {label}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`${id}-panel-${tab}`}
        aria-labelledby={`${id}-tab-${tab}`}
        className="space-y-4"
      >
        {children}
      </div>
    </>
  );
}
