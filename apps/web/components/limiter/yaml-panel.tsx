'use client';
import { yaml as yamlLanguage } from '@codemirror/lang-yaml';
import { EditorView } from '@uiw/react-codemirror';
import dynamic from 'next/dynamic';

// CodeMirror needs the DOM: loaded in the browser only.
const CodeMirror = dynamic(() => import('@uiw/react-codemirror'), {
  ssr: false,
  loading: () => <p role="status">Loading the editor…</p>,
});

/** The policy as YAML text, the editor's one source of truth. */
export function YamlPanel({
  text,
  editable,
  onChange,
}: {
  text: string;
  editable: boolean;
  onChange: (text: string) => void;
}) {
  return (
    <CodeMirror
      value={text}
      height="24rem"
      editable={editable}
      extensions={[yamlLanguage(), EditorView.contentAttributes.of({ 'aria-label': 'Policy YAML' })]}
      onChange={(v: string) => onChange(v)}
      theme={
        typeof document !== 'undefined' && document.documentElement.classList.contains('dark')
          ? 'dark'
          : 'light'
      }
    />
  );
}
