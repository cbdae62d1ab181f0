/**
 * Auto-fencing, as Slime's lazyload does it: a Service gets a ServiceFence named after it when it is
 * fenced. The label `slime.io/serviceFenced` ("true"/"false") on the Service decides, else the same label
 * on its Namespace, else `defaultFence`; all of it only with `autoFence` on and in the namespaces the
 * allow and deny lists (`whiteNamespaceList`, `blackNamespaceList`, `managementSelectors`) admit.
 *
 * The fences are owned by their Service (a controller owner reference), so the framework's garbage
 * collection removes exactly the auto-created ones once they are no longer wanted. Unlike Slime, this
 * controller runs whatever `autoFence` says: turned off, it wants no fence and its fences go, at once and
 * after a restart, rather than staying (Slime #517).
 */
import { z } from 'zod';
import { keyOf, type KubeObject } from '../../cluster/store';
import { statuslessModule, type Module, type Plan, type Snapshot } from '../../framework/module';
import type { ModuleSettings } from '../../framework/registry';

export const FENCED_LABEL = 'slime.io/serviceFenced';
export const CREATED_BY_LABEL = 'app.kubernetes.io/created-by';
export const CREATED_BY_FENCE_CONTROLLER = 'fence-controller';
export const AUTOFENCE_MODULE_NAME = 'lazyload-autofence';

interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

export interface AutofenceOptions {
  readonly autoFence: boolean;
  readonly defaultFence: boolean;
  /** Comma-separated, as Slime takes them. */
  readonly whiteNamespaceList?: string;
  readonly blackNamespaceList?: string;
  /** Namespaces by label (any matches); none: every namespace. */
  readonly managementSelectors: readonly unknown[];
}

const serviceSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z.looseObject({ selector: z.record(z.string(), z.string()).nullish() }).nullish(),
});

export interface FencedService {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly hasSelector: boolean;
}

/** Whether the Service should have an auto-created fence, and why. */
export interface FenceDecision {
  readonly fenced: boolean;
  readonly reason: string;
  readonly warnings: readonly string[];
}

const inList = (list: string | undefined, namespace: string): boolean =>
  (list ?? '').split(',').some((n) => n.trim() === namespace);

function requirementHolds(
  labels: Readonly<Record<string, string>>,
  r: { key: string; operator: string; values?: readonly string[] },
): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(labels[r.key]!);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(labels[r.key]!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      // An operator Kubernetes does not know makes the selector invalid: it matches nothing, as in Slime.
      return false;
  }
}

/** A Kubernetes label selector against labels; a selector that is not one matches nothing. */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (typeof selector !== 'object' || selector === null || Array.isArray(selector)) return false;
  const { matchLabels, matchExpressions } = selector as LabelSelector;
  for (const [k, v] of Object.entries(matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of matchExpressions ?? []) if (!requirementHolds(labels, r)) return false;
  return true;
}

const labelValue = (
  labels: Readonly<Record<string, string>> | undefined,
  where: string,
  warnings: string[],
): boolean | undefined => {
  const v = labels?.[FENCED_LABEL];
  if (v === 'true') return true;
  if (v === 'false') return false;
  // Slime reads any other value as no label.
  if (v !== undefined)
    warnings.push(`${where} label ${FENCED_LABEL}=${v} is neither "true" nor "false"; ignored`);
  return undefined;
};

/** Slime's rules, in Slime's order: the feature, the namespace's scope, the Service's selector, the labels. */
export function decideFence(
  service: FencedService,
  namespace: KubeObject | undefined,
  options: AutofenceOptions,
): FenceDecision {
  const warnings: string[] = [];
  const no = (reason: string): FenceDecision => ({ fenced: false, reason, warnings });
  if (!options.autoFence) return no('autoFence is off');
  const ns = service.namespace;
  if (options.blackNamespaceList !== undefined && inList(options.blackNamespaceList, ns))
    return no(`namespace ${ns} is in blackNamespaceList`);
  if (options.whiteNamespaceList !== undefined && !inList(options.whiteNamespaceList, ns))
    return no(`namespace ${ns} is not in whiteNamespaceList`);
  if (options.managementSelectors.length > 0) {
    if (!namespace) return no(`namespace ${ns} is unknown, and managementSelectors select by its labels`);
    const labels = namespace.metadata.labels ?? {};
    if (!options.managementSelectors.some((s) => selectorMatches(s, labels)))
      return no(`namespace ${ns} matches no managementSelectors`);
  }
  if (!service.hasSelector) return no('the Service selects no Pods');
  const own = labelValue(service.labels, 'the Service', warnings);
  if (own !== undefined) return { fenced: own, reason: `the Service says ${FENCED_LABEL}=${own}`, warnings };
  const nsLabel = labelValue(namespace?.metadata.labels, `namespace ${ns}`, warnings);
  if (nsLabel !== undefined)
    return { fenced: nsLabel, reason: `namespace ${ns} says ${FENCED_LABEL}=${nsLabel}`, warnings };
  return { fenced: options.defaultFence, reason: `defaultFence is ${options.defaultFence}`, warnings };
}

/** The fence Slime's controller creates for a Service. */
export function autoFence(service: { name: string; namespace: string }): KubeObject {
  return {
    apiVersion: 'microservice.slime.io/v1alpha1',
    kind: 'ServiceFence',
    metadata: {
      name: service.name,
      namespace: service.namespace,
      labels: { [CREATED_BY_LABEL]: CREATED_BY_FENCE_CONTROLLER },
    },
    spec: { enable: true, workloadSelector: { fromService: true } },
  };
}

/** A fence someone wrote: one without the label auto-created fences carry. Never touched. */
export const isUserFence = (fence: KubeObject): boolean =>
  fence.metadata.labels?.[CREATED_BY_LABEL] !== CREATED_BY_FENCE_CONTROLLER;

export function autofenceOptions(settings: ModuleSettings): AutofenceOptions {
  const g = settings.general as {
    autoFence?: boolean;
    defaultFence?: boolean;
    whiteNamespaceList?: string;
    blackNamespaceList?: string;
    managementSelectors?: unknown[];
  };
  return {
    autoFence: g.autoFence === true,
    defaultFence: g.defaultFence === true,
    ...(g.whiteNamespaceList ? { whiteNamespaceList: g.whiteNamespaceList } : {}),
    ...(g.blackNamespaceList ? { blackNamespaceList: g.blackNamespaceList } : {}),
    managementSelectors: g.managementSelectors ?? [],
  };
}

/** The plan for one Service: its fence, or none. */
export function planAutofence(
  service: FencedService,
  snapshot: Snapshot,
  options: AutofenceOptions,
): Plan<null> & { readonly decision: FenceDecision } {
  const decision = decideFence(service, snapshot.get('Namespace', '', service.namespace), options);
  const existing = snapshot.get('ServiceFence', service.namespace, service.name);
  // A fence of that name someone wrote stands instead: it is neither taken over nor removed.
  const userFence = existing !== undefined && isUserFence(existing);
  return {
    desired: decision.fenced && !userFence ? [autoFence(service)] : [],
    status: {},
    problems: [],
    warnings: decision.warnings,
    engine: null,
    decision: userFence
      ? { ...decision, reason: `${decision.reason}; a fence someone wrote stands` }
      : decision,
  };
}

/** The controller of auto-created fences: kind Service, run beside the lazyload module with its settings. */
export function autofenceModule(options: AutofenceOptions): Module<FencedService, null> {
  // A Service's status is Kubernetes'.
  return statuslessModule({
    name: AUTOFENCE_MODULE_NAME,
    kind: 'Service',
    apiVersion: 'v1',
    watches: ['Namespace', 'ServiceFence'],
    owns: ['ServiceFence'],
    ownedLabelKeys: [CREATED_BY_LABEL],
    parse(raw) {
      const r = serviceSchema.safeParse(raw);
      if (!r.success)
        return {
          ok: false,
          problems: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        };
      const { metadata, spec } = r.data;
      return {
        ok: true,
        value: {
          name: metadata.name,
          namespace: metadata.namespace ?? 'default',
          labels: metadata.labels ?? {},
          hasSelector: Object.keys(spec?.selector ?? {}).length > 0,
        },
      };
    },
    plan: ({ object, snapshot }) => planAutofence(object, snapshot, options),
    affectedBy(change, snapshot) {
      if (change.kind === 'Namespace') return snapshot.list('Service', change.metadata.name).map(keyOf);
      // A fence changed: its namesake Service decides again (a user's fence that went leaves room).
      const namespace = change.metadata.namespace ?? 'default';
      return snapshot.get('Service', namespace, change.metadata.name)
        ? [`${namespace}/${change.metadata.name}`]
        : [];
    },
  });
}
