import { describe, expect, it } from 'vitest';
import { slimeAutoFence, slimeBootYaml } from '../../../test/support/fixtures';
import type { KubeObject } from '../../cluster/store';
import { loadModuleConfig } from '../../framework/module-config';
import { withCompanions } from '../../framework/module';
import { staticSnapshot } from '../../framework/snapshot';
import { NO_METRICS } from '../../framework/module';
import {
  AUTOFENCE_MODULE_NAME,
  autofenceModule,
  autofenceOptions,
  selectorMatches,
  type AutofenceOptions,
} from './autofence';
import { createLazyloadModule } from './module';
import { LAZYLOAD_MODULE } from './settings';

const ON: AutofenceOptions = { autoFence: true, defaultFence: false, managementSelectors: [] };

const namespace = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
});

const service = (
  name: string,
  ns = 'shop',
  labels: Record<string, string> = {},
  selector: Record<string, string> | null = { app: name },
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns, labels },
  spec: { ...(selector ? { selector } : {}), ports: [{ port: 80 }] },
});

const fence = (name: string, ns = 'shop', labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'microservice.slime.io/v1alpha1',
  kind: 'ServiceFence',
  metadata: { name, namespace: ns, labels },
  spec: { enable: true, host: { 'reviews.shop.svc.cluster.local': { stable: {} } } },
});

/** The fences the plan for `svc` wants, by namespace/name. */
function fencesFor(svc: KubeObject, cluster: KubeObject[], options: AutofenceOptions = ON) {
  const module = autofenceModule(options);
  const parsed = module.parse(svc);
  if (!parsed.ok) throw new Error('unparsed');
  const plan = module.plan({
    object: parsed.value,
    raw: svc,
    snapshot: staticSnapshot([svc, ...cluster]),
    metrics: NO_METRICS,
    now: new Date(0),
  });
  return plan.desired;
}
const names = (objects: readonly KubeObject[]) =>
  objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

describe('auto-fencing: which Services get a ServiceFence', () => {
  it('writes the fence Slime writes: named after the Service, labelled, enabled, from the Service', () => {
    const [f] = fencesFor(service('reviews', 'shop', { 'slime.io/serviceFenced': 'true' }), [
      namespace('shop'),
    ]);
    expect(f).toEqual(slimeAutoFence('shop', 'reviews'));
  });

  it("decides by the Service's label, then its Namespace's, then defaultFence", () => {
    const fenced = { 'slime.io/serviceFenced': 'true' };
    const unfenced = { 'slime.io/serviceFenced': 'false' };
    // The Service's label wins over the namespace's and the default.
    expect(fencesFor(service('a', 'shop', fenced), [namespace('shop', unfenced)])).toHaveLength(1);
    expect(
      fencesFor(service('a', 'shop', unfenced), [namespace('shop', fenced)], { ...ON, defaultFence: true }),
    ).toEqual([]);
    // No label on the Service: the namespace's.
    expect(fencesFor(service('a'), [namespace('shop', fenced)])).toHaveLength(1);
    expect(fencesFor(service('a'), [namespace('shop', unfenced)], { ...ON, defaultFence: true })).toEqual([]);
    // Neither: defaultFence.
    expect(fencesFor(service('a'), [namespace('shop')])).toEqual([]);
    expect(fencesFor(service('a'), [namespace('shop')], { ...ON, defaultFence: true })).toHaveLength(1);
    // A value other than true or false says nothing (as in Slime), with a warning.
    expect(
      fencesFor(service('a', 'shop', { 'slime.io/serviceFenced': 'yes' }), [namespace('shop', fenced)]),
    ).toHaveLength(1);
  });

  it('fences nothing with autoFence off, whatever the labels say', () => {
    const off = { ...ON, autoFence: false, defaultFence: true };
    expect(
      fencesFor(service('a', 'shop', { 'slime.io/serviceFenced': 'true' }), [namespace('shop')], off),
    ).toEqual([]);
  });

  it('fences no Service without a selector (it selects no workload)', () => {
    expect(
      fencesFor(service('a', 'shop', { 'slime.io/serviceFenced': 'true' }, null), [namespace('shop')]),
    ).toEqual([]);
  });

  it('keeps to the namespaces whiteNamespaceList, blackNamespaceList and managementSelectors admit', () => {
    const always = { ...ON, defaultFence: true };
    const svc = (ns: string) => service('a', ns, { 'slime.io/serviceFenced': 'true' });
    const cluster = [namespace('shop', { team: 'red' }), namespace('bank', { team: 'blue' })];
    expect(names(fencesFor(svc('shop'), cluster, { ...always, whiteNamespaceList: 'bank,shop' }))).toEqual([
      'shop/a',
    ]);
    expect(fencesFor(svc('shop'), cluster, { ...always, whiteNamespaceList: 'bank' })).toEqual([]);
    expect(fencesFor(svc('shop'), cluster, { ...always, blackNamespaceList: 'x,shop' })).toEqual([]);
    expect(fencesFor(svc('bank'), cluster, { ...always, blackNamespaceList: 'x,shop' })).toHaveLength(1);
    const selectors = [
      { matchLabels: { team: 'red' } },
      { matchExpressions: [{ key: 'x', operator: 'Exists' }] },
    ];
    expect(fencesFor(svc('shop'), cluster, { ...always, managementSelectors: selectors })).toHaveLength(1);
    expect(fencesFor(svc('bank'), cluster, { ...always, managementSelectors: selectors })).toEqual([]);
    // With selectors, a namespace whose labels are unknown is not managed.
    expect(fencesFor(svc('shop'), [], { ...always, managementSelectors: selectors })).toEqual([]);
  });

  it('matches label selectors as Kubernetes does', () => {
    const labels = { app: 'a', tier: 'web' };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'a' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'b' } }, labels)).toBe(false);
    const expr = (operator: string, values?: string[]) => ({
      matchExpressions: [{ key: 'tier', operator, ...(values ? { values } : {}) }],
    });
    expect(selectorMatches(expr('In', ['web', 'db']), labels)).toBe(true);
    expect(selectorMatches(expr('NotIn', ['web']), labels)).toBe(false);
    expect(selectorMatches(expr('NotIn', ['db']), {})).toBe(true);
    expect(selectorMatches(expr('Exists'), labels)).toBe(true);
    expect(selectorMatches(expr('DoesNotExist'), labels)).toBe(false);
    expect(selectorMatches(expr('Near'), labels)).toBe(false);
    expect(selectorMatches('team=red', labels)).toBe(false);
  });

  it("never wants a fence in place of one someone wrote (no created-by label), and adopts Slime's own", () => {
    const svc = service('reviews', 'shop', { 'slime.io/serviceFenced': 'true' });
    expect(fencesFor(svc, [namespace('shop'), fence('reviews')])).toEqual([]);
    expect(
      names(
        fencesFor(svc, [
          namespace('shop'),
          fence('reviews', 'shop', { 'app.kubernetes.io/created-by': 'fence-controller' }),
        ]),
      ),
    ).toEqual(['shop/reviews']);
  });

  it('re-plans the Services of a Namespace that changed, and the namesake of a fence that changed', () => {
    const module = autofenceModule(ON);
    const snapshot = staticSnapshot([service('a'), service('b'), service('c', 'other'), namespace('shop')]);
    expect(module.affectedBy?.(namespace('shop'), snapshot)).toEqual(['shop/a', 'shop/b']);
    expect(module.affectedBy?.(fence('a'), snapshot)).toEqual(['shop/a']);
    expect(module.affectedBy?.(fence('z'), snapshot)).toEqual([]);
  });
});

describe('auto-fencing beside the lazyload module (Slime #517)', () => {
  const settingsOf = (general: string) =>
    loadModuleConfig(slimeBootYaml('lazyload', [`general: ${general}`]), [LAZYLOAD_MODULE]).modules.lazyload!;

  it('runs with autoFence off too, and then wants no fence: the ones it created go', () => {
    const off = createLazyloadModule({
      settings: settingsOf('{ autoFence: false, defaultFence: true }'),
      metrics: { metricsFor: () => NO_METRICS },
      options: {},
    });
    const companion = withCompanions([off]).find((m) => m.name === AUTOFENCE_MODULE_NAME);
    expect(companion?.kind).toBe('Service');
    expect(companion?.writesStatus).toBe(false);
    expect(companion?.owns).toEqual(['ServiceFence']);
    const svc = service('reviews', 'shop', { 'slime.io/serviceFenced': 'true' });
    const parsed = companion!.parse(svc);
    if (!parsed.ok) throw new Error('unparsed');
    const plan = companion!.plan({
      object: parsed.value,
      raw: svc,
      // Its own fence from when autoFence was on is in the cluster: still not wanted.
      snapshot: staticSnapshot([
        svc,
        namespace('shop'),
        fence('reviews', 'shop', { 'app.kubernetes.io/created-by': 'fence-controller' }),
      ]),
      metrics: NO_METRICS,
      now: new Date(0),
    });
    expect(plan.desired).toEqual([]);
  });

  it('reads its rules from the SlimeBoot general settings', () => {
    expect(
      autofenceOptions(
        settingsOf(
          '{ autoFence: true, defaultFence: true, whiteNamespaceList: "a,b", managementSelectors: [{ matchLabels: { x: y } }] }',
        ),
      ),
    ).toEqual({
      autoFence: true,
      defaultFence: true,
      whiteNamespaceList: 'a,b',
      managementSelectors: [{ matchLabels: { x: 'y' } }],
    });
  });
});
