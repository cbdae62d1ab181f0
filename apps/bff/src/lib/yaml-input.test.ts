import { describe, expect, it } from 'vitest';
import { readYaml } from './yaml-input';

describe('readYaml', () => {
  it('locates field paths, list items and lowerCamel paths over snake_case keys; a missing field at its parent', () => {
    const { value, issues, locate } = readYaml(
      'spec:\n  plugin:\n    - name: a\n      workload_labels: {app: x}\n',
    );
    expect(issues).toEqual([]);
    expect(value).toEqual({ spec: { plugin: [{ name: 'a', workload_labels: { app: 'x' } }] } });
    expect(locate('spec.plugin[0].name')).toEqual({ line: 3, column: 13 });
    expect(locate('spec.plugin[0].workloadLabels')).toEqual({ line: 4, column: 24 });
    expect(locate('spec.plugin[0].nope')).toEqual({ line: 3, column: 7 });
  });

  it('gives syntax errors as issues with their line, and no value', () => {
    const r = readYaml('spec: [unclosed');
    expect(r.value).toBeUndefined();
    expect(r.issues).toEqual([expect.objectContaining({ path: '', line: 1, severity: 'error' })]);
    expect(r.locate('spec')).toBeUndefined();
  });
});
