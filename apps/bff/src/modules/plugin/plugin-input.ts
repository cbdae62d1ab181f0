/**
 * A PluginManager or EnvoyPlugin as the editor sends it (YAML text or an object): its kind, the object as
 * written, and where each field path is in the YAML, so that every issue points at a line and column.
 */
import { z } from 'zod';
import type { InputIssue } from '../../lib/input-issues';
import { readYaml, type Locate } from '../../lib/yaml-input';
import { PLUGIN_KINDS, type PluginKind } from './service';

/** Largest object text accepted. */
export const MAX_PLUGIN_BYTES = 256 * 1024;

export const pluginInputSchema = z.union([
  z.strictObject({ yaml: z.string().max(MAX_PLUGIN_BYTES, `at most ${MAX_PLUGIN_BYTES} bytes`) }),
  z.strictObject({ object: z.record(z.string(), z.unknown()) }),
]);
export type PluginInput = z.infer<typeof pluginInputSchema>;

export interface ReadInput {
  readonly kind: PluginKind | null;
  /** As written, without a status, when it is a mapping at all. */
  readonly raw: Record<string, unknown> | null;
  readonly issues: InputIssue[];
  readonly locate: Locate;
}

export function readPluginInput(input: PluginInput): ReadInput {
  const issues: InputIssue[] = [];
  let value: unknown;
  let locate: Locate = () => undefined;
  if ('yaml' in input) {
    const read = readYaml(input.yaml);
    issues.push(...read.issues);
    if (read.issues.length > 0) return { kind: null, raw: null, issues, locate };
    value = read.value;
    locate = read.locate;
  } else value = input.object;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return {
      kind: null,
      raw: null,
      issues: [{ path: '', message: 'expected a PluginManager or an EnvoyPlugin', severity: 'error' }],
      locate,
    };
  const { status: _status, ...raw } = value as Record<string, unknown>;
  const kind = PLUGIN_KINDS.find((k) => k === raw.kind) ?? null;
  if (kind === null)
    issues.push({
      path: 'kind',
      message: `expected kind PluginManager or EnvoyPlugin${raw.kind !== undefined ? `, got ${JSON.stringify(raw.kind)}` : ''}`,
      ...locate('kind'),
      severity: 'error',
    });
  return { kind, raw, issues, locate };
}

/** A plan's warning, `path: message` or a sentence, as an issue located in the YAML. */
export function warningIssue(warning: string, locate: ReadInput['locate']): InputIssue {
  const m = /^((?:spec|metadata)[\w.[\]]*): (.*)$/s.exec(warning);
  if (m === null) return { path: '', message: warning, severity: 'warning' };
  return { path: m[1]!, message: m[2]!, ...locate(m[1]!), severity: 'warning' };
}
