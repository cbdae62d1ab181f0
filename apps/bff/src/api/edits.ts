/**
 * What the routers that edit a cluster object share: the editor's input (YAML text or an object) read with
 * positions, issues as the API answers them, the part of an object a user writes, and the audited write
 * that apply and rollback make.
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { AuditView } from '../audit/audit-log';
import { ConflictError, NotFoundError, type KubeObject } from '../cluster/store';
import { InputInvalid, type InputIssue } from '../lib/input-issues';
import { readYaml, type Locate } from '../lib/yaml-input';
import type { ApiDeps } from './deps';

/** Largest object text accepted. */
export const MAX_OBJECT_BYTES = 256 * 1024;

export const objectInputSchema = z.union([
  z.strictObject({ yaml: z.string().max(MAX_OBJECT_BYTES, `at most ${MAX_OBJECT_BYTES} bytes`) }),
  z.strictObject({ object: z.record(z.string(), z.unknown()) }),
]);
export type ObjectInput = z.infer<typeof objectInputSchema>;

export interface ReadObject<K extends string> {
  readonly kind: K | null;
  /** As written, without a status, when it is a mapping at all. */
  readonly raw: Record<string, unknown> | null;
  readonly issues: InputIssue[];
  readonly locate: Locate;
}

/** The input as an object of one of `kinds`, with where each field path is in its YAML. */
export function readObjectInput<K extends string>(input: ObjectInput, kinds: readonly K[]): ReadObject<K> {
  const issues: InputIssue[] = [];
  let value: unknown;
  let locate: Locate = () => undefined;
  const expected = kinds.join(' or ');
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
      issues: [{ path: '', message: `expected a ${expected}`, severity: 'error' }],
      locate,
    };
  const { status: _status, ...raw } = value as Record<string, unknown>;
  const kind = kinds.find((k) => k === raw.kind) ?? null;
  if (kind === null)
    issues.push({
      path: 'kind',
      message: `expected kind ${expected}${raw.kind !== undefined ? `, got ${JSON.stringify(raw.kind)}` : ''}`,
      ...locate('kind'),
      severity: 'error',
    });
  return { kind, raw, issues, locate };
}

/** A problem with a field path, located in the YAML. */
export const errorIssue = (p: { path?: string; message: string }, locate: Locate): InputIssue => ({
  path: p.path ?? '',
  message: p.message,
  ...locate(p.path ?? ''),
  severity: 'error',
});

/** A plan's warning, `path: message` or a sentence, as an issue located in the YAML. */
export function warningIssue(warning: string, locate: Locate): InputIssue {
  const m = /^((?:spec|metadata)[\w.[\]]*): (.*)$/s.exec(warning);
  if (m === null) return { path: '', message: warning, severity: 'warning' };
  return { path: m[1]!, message: m[2]!, ...locate(m[1]!), severity: 'warning' };
}

export const hasErrors = (issues: readonly InputIssue[]) => issues.some((i) => i.severity === 'error');

/** BAD_REQUEST carrying the errors, each with its path and line. */
export function invalid(issues: readonly InputIssue[]): TRPCError {
  const errors = issues.filter((i) => i.severity === 'error');
  return new TRPCError({
    code: 'BAD_REQUEST',
    message: errors.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '),
    cause: new InputInvalid(errors),
  });
}

/** The part of an object a user writes: what the audit keeps and rollback restores. */
export function userPart(
  apiVersion: string,
  kind: string,
  o: KubeObject | Record<string, unknown>,
): Record<string, unknown> {
  const metadata = (o.metadata ?? {}) as KubeObject['metadata'];
  return {
    apiVersion,
    kind,
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace ?? 'default',
      ...(metadata.labels && Object.keys(metadata.labels).length > 0 ? { labels: metadata.labels } : {}),
      ...(metadata.annotations && Object.keys(metadata.annotations).length > 0
        ? { annotations: metadata.annotations }
        : {}),
    },
    spec: o.spec ?? {},
  };
}

export interface AuditedWrite {
  readonly apiVersion: string;
  readonly kind: string;
  readonly user: string;
  readonly object: Record<string, unknown>;
  readonly action: 'apply' | 'rollback';
  readonly restoredFrom?: number;
  /** The event log's reasons for an apply and a rollback. */
  readonly reasons: { readonly apply: string; readonly rollback: string };
  /** The event names the object as its policy (`namespace/name`: the policy page lists its events). */
  readonly policyEvent?: boolean;
}

/** Creates or updates the user's part of an object, audited and announced in the event log. */
export async function writeAudited(deps: ApiDeps, w: AuditedWrite) {
  const wanted = userPart(w.apiVersion, w.kind, w.object);
  const meta = wanted.metadata as KubeObject['metadata'] & { namespace: string };
  const { namespace, name } = meta;
  for (let attempt = 0; ; attempt++) {
    const current = await deps.store.get(w.kind, namespace, name);
    try {
      const stored = current
        ? await deps.store.update({
            ...current,
            metadata: { ...current.metadata, labels: meta.labels ?? {}, annotations: meta.annotations ?? {} },
            spec: wanted.spec,
          })
        : await deps.store.create(wanted as unknown as KubeObject);
      const record = await deps.audit.record({
        user: w.user,
        action: w.action,
        kind: w.kind,
        namespace,
        name,
        before: current ? userPart(w.apiVersion, w.kind, current) : null,
        after: userPart(w.apiVersion, w.kind, stored),
        ...(w.restoredFrom !== undefined ? { restoredFrom: w.restoredFrom } : {}),
      });
      const what = `${w.kind} ${namespace}/${name}`;
      deps.events.publish({
        cluster: deps.cluster,
        at: record.at,
        type: 'Normal',
        reason: w.reasons[w.action],
        namespace,
        policy: w.policyEvent ? `${namespace}/${name}` : null,
        message: `${w.user} ${w.action === 'rollback' ? `rolled back ${what} to version ${w.restoredFrom}` : `applied ${what}`}`,
      });
      return { object: stored, auditId: record.id };
    } catch (e) {
      // The controller wrote the status between our read and write: read again.
      if (e instanceof ConflictError && attempt < 5) continue;
      throw e;
    }
  }
}

/** Deletes an object a user asked to delete (gone already is fine), audited with what it was. */
export async function deleteAudited(
  deps: ApiDeps,
  d: { apiVersion: string; kind: string; user: string; namespace: string; name: string; current: KubeObject },
): Promise<{ auditId: number }> {
  try {
    await deps.store.delete(d.kind, d.namespace, d.name);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  const record = await deps.audit.record({
    user: d.user,
    action: 'delete',
    kind: d.kind,
    namespace: d.namespace,
    name: d.name,
    before: userPart(d.apiVersion, d.kind, d.current),
    after: null,
  });
  return { auditId: record.id };
}

/** The audited version `toId` of `kind namespace/name` to roll back to, or NOT_FOUND. */
export function rollbackTarget(
  audit: AuditView,
  ref: { kind: string; namespace: string; name: string; toId: number },
): { object: Record<string, unknown>; id: number } {
  const target = audit.get(ref.toId);
  if (
    !target ||
    target.kind !== ref.kind ||
    target.namespace !== ref.namespace ||
    target.name !== ref.name ||
    !target.after
  )
    throw new TRPCError({
      code: 'NOT_FOUND',
      message: `no version ${ref.toId} of ${ref.kind} ${ref.namespace}/${ref.name} to roll back to`,
    });
  return { object: target.after as Record<string, unknown>, id: target.id };
}
