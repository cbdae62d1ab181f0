'use client';
import { yaml as yamlLanguage } from '@codemirror/lang-yaml';
import { EditorView } from '@uiw/react-codemirror';
import dynamic from 'next/dynamic';

// CodeMirror needs the DOM: loaded in the browser only.
const CodeMirror = dynamic(() => import('@uiw/react-codemirror'), {
  ssr: false,
  loading: () => <p role="status">Loading the editor…</p>,
});

/** An object as YAML text, the editor's one source of truth. */
export function YamlPanel({
  text,
  editable,
  onChange,
  label = 'Policy YAML',
  grow = false,
}: {
  text: string;
  editable: boolean;
  onChange: (text: string) => void;
  /** The text box's accessible name. */
  label?: string;
  /**
   * Wrapped and grown to its text rather than a fixed height: a scrolling region would need a keyboard
   * stop of its own.
   */
  grow?: boolean;
}) {
  const aria = EditorView.contentAttributes.of({ 'aria-label': label });
  return (
    <CodeMirror
      value={text}
      {...(grow ? { minHeight: '12rem' } : { height: '24rem' })}
      editable={editable}
      extensions={grow ? [yamlLanguage(), EditorView.lineWrapping, aria] : [yamlLanguage(), aria]}
      onChange={(v: string) => onChange(v)}
      theme={
        typeof document !== 'undefined' && document.documentElement.classList.contains('dark')
          ? 'dark'
          : 'light'
      }
    />
  );
}
