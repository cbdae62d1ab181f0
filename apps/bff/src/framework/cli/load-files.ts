/**
 * Reads Kubernetes objects from multi-document YAML (or JSON) files: SmartLimiters and the cluster objects
 * they are rendered against. Every problem names the file, the object and the field.
 */
import {
  destinationRuleSchema,
  formatPath,
  parseSmartLimiter,
  podSchema,
  serviceEntrySchema,
  serviceSchema,
  workloadEntrySchema,
  type DestinationRule,
  type Pod,
  type Service,
  type ServiceEntry,
  type SmartLimiter,
  type WorkloadEntry,
} from '@governor/crd-types';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import type { KubeObject } from '../../cluster/store';

export interface Located<T> {
  readonly file: string;
  readonly object: T;
}

export interface LoadedObjects {
  /** Every object that passed its kind's checks, as written: what plans are made from. */
  readonly all: Located<KubeObject>[];
  readonly smartLimiters: Located<SmartLimiter>[];
  readonly services: Service[];
  readonly pods: Pod[];
  readonly destinationRules: DestinationRule[];
  readonly serviceEntries: ServiceEntry[];
  /** VMs: workloads a Service or ServiceEntry selects as it does Pods. */
  readonly workloadEntries: WorkloadEntry[];
  /** SlimeBoots: the modules' settings for the run. */
  readonly slimeBoots: Located<KubeObject>[];
}

export interface LoadProblem {
  readonly file: string;
  /** `SmartLimiter default/reviews`, or `document 2` when the object cannot be named. */
  readonly object?: string;
  readonly path?: string;
  readonly message: string;
}

export const formatLoadProblem = (p: LoadProblem): string =>
  [p.file, p.object, p.path].filter((s) => s !== undefined && s !== '').join(': ') + `: ${p.message}`;

export function emptyObjects(): LoadedObjects {
  return {
    all: [],
    smartLimiters: [],
    services: [],
    pods: [],
    destinationRules: [],
    serviceEntries: [],
    workloadEntries: [],
    slimeBoots: [],
  };
}

/** Input larger than this is refused before parsing. */
export const MAX_INPUT_BYTES = 8 * 1024 * 1024;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function describeObject(doc: Record<string, unknown>, index: number): string {
  const kind = typeof doc.kind === 'string' ? doc.kind : undefined;
  const meta = isRecord(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  const ns = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  if (kind && name) return `${kind} ${ns}/${name}`;
  if (kind) return `${kind} (document ${index + 1})`;
  return `document ${index + 1}`;
}

/** Parses one file's text into `into`, returning problems and warnings. */
export function loadText(
  file: string,
  text: string,
  into: LoadedObjects,
  /** Kinds a module reconciles besides SmartLimiter: kept for it to check and plan. */
  moduleKinds: ReadonlySet<string> = new Set(),
): { problems: LoadProblem[]; warnings: LoadProblem[] } {
  const problems: LoadProblem[] = [];
  const warnings: LoadProblem[] = [];
  if (text.length > MAX_INPUT_BYTES) {
    problems.push({ file, message: `larger than ${MAX_INPUT_BYTES} bytes` });
    return { problems, warnings };
  }
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = lineCounter.linePos(e.pos[0]);
        problems.push({
          file,
          object: `document ${i + 1}`,
          message: `YAML error at line ${pos.line}, column ${pos.col}: ${e.message.split('\n')[0]}`,
        });
      }
      return;
    }
    try {
      values.push(doc.toJS({ maxAliasCount: 100 }) as unknown);
    } catch (e) {
      // Unresolvable or excessive aliases surface only when the document is converted.
      problems.push({
        file,
        object: `document ${i + 1}`,
        message: `YAML error: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  });

  const expanded: unknown[] = [];
  for (const v of values) {
    if (isRecord(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items))
      expanded.push(...v.items);
    else expanded.push(v);
  }

  expanded.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;
    if (!isRecord(doc)) {
      problems.push({
        file,
        object: `document ${i + 1}`,
        message: 'expected a Kubernetes object (a mapping with apiVersion and kind)',
      });
      return;
    }
    const object = describeObject(doc, i);
    const take = <T>(schema: z.ZodType<T>, list: T[]) => {
      const r = schema.safeParse(doc);
      if (r.success) {
        list.push(r.data);
        into.all.push({ file, object: doc as KubeObject });
      } else
        for (const issue of r.error.issues)
          problems.push({ file, object, path: formatPath(issue.path), message: issue.message });
    };
    switch (doc.kind) {
      case 'SmartLimiter': {
        const r = parseSmartLimiter(doc);
        for (const w of r.warnings) {
          warnings.push({
            file,
            object,
            path: w.path,
            message: `unknown field, ignored${w.suggestion ? ` (did you mean ${w.suggestion}?)` : ''}`,
          });
        }
        if (r.ok) {
          into.smartLimiters.push({ file, object: r.value });
          into.all.push({ file, object: doc as KubeObject });
        } else
          for (const issue of r.issues)
            problems.push({ file, object, path: issue.path, message: issue.message });
        return;
      }
      case 'Service':
        return take(serviceSchema, into.services);
      case 'Pod':
        return take(podSchema, into.pods);
      case 'DestinationRule':
        return take(destinationRuleSchema, into.destinationRules);
      case 'ServiceEntry':
        return take(serviceEntrySchema, into.serviceEntries);
      case 'WorkloadEntry':
        return take(workloadEntrySchema, into.workloadEntries);
      case 'Namespace':
        // Its labels say whether its Services are fenced (lazyload).
        if (!isRecord(doc.metadata) || typeof doc.metadata.name !== 'string') {
          problems.push({ file, object, message: 'expected metadata.name' });
          return;
        }
        into.all.push({ file, object: doc as KubeObject });
        return;
      case 'SlimeBoot':
        // Checked where the modules' settings are read from it.
        if (!isRecord(doc.metadata)) {
          problems.push({ file, object, message: 'expected metadata' });
          return;
        }
        into.slimeBoots.push({ file, object: doc as KubeObject });
        return;
      // ApplicationProtocol: cluster-scoped, the codec of a MetaProtocol port's protocol (metarouter).
      // VirtualService, Gateway: read for explanations (where patches land); istiod checks them, not Governor.
      case 'ApplicationProtocol':
      case 'VirtualService':
      case 'Gateway':
        if (!isRecord(doc.metadata) || typeof doc.metadata.name !== 'string' || !isRecord(doc.spec)) {
          problems.push({ file, object, message: 'expected metadata.name and a spec' });
          return;
        }
        into.all.push({ file, object: doc as KubeObject });
        return;
      default:
        if (typeof doc.kind === 'string' && moduleKinds.has(doc.kind)) {
          into.all.push({ file, object: doc as KubeObject });
          return;
        }
        warnings.push({ file, object, message: 'not used for rendering, ignored' });
    }
  });
  return { problems, warnings };
}
