import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../cluster/store';
import {
  awaitingReconcile,
  CLUSTERS_ANNOTATION,
  copyAction,
  desiredCopy,
  FANOUT_GENERATION_ANNOTATION,
  FANOUT_SOURCE_LABEL,
  jsonEqual,
  orphanAction,
  parseClusters,
  sameCopy,
} from './fanout-copy';

const source = (): KubeObject => ({
  apiVersion: 'microservice.slime.io/v1alpha2',
  kind: 'SmartLimiter',
  metadata: {
    name: 'reviews',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2026-01-01T00:00:00Z',
    labels: { app: 'reviews' },
    annotations: { [CLUSTERS_ANNOTATION]: 'east,west', note: 'keep' },
  },
  spec: { sets: { _base: { descriptor: [{ action: { quota: '10' } }] } } },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});

describe('parseClusters', () => {
  const known = ['east', 'west', 'north'];
  it('reads a list, trimming blanks and duplicates, and sets the unknown names apart', () => {
    expect(parseClusters(' east, ,west,east,south ', known)).toEqual({
      clusters: ['east', 'west'],
      unknown: ['south'],
    });
  });
  it('takes * for every cluster', () => {
    expect(parseClusters('*', known)).toEqual({ clusters: known, unknown: [] });
    expect(parseClusters('east,*', known).clusters).toEqual(known);
  });
  it('names nothing without the annotation or with an empty one', () => {
    expect(parseClusters(undefined, known)).toEqual({ clusters: [], unknown: [] });
    expect(parseClusters('', known)).toEqual({ clusters: [], unknown: [] });
  });
});

describe('desiredCopy', () => {
  it('keeps content, labels and annotations, drops the clusters annotation, status and server fields', () => {
    expect(desiredCopy(source(), 'home')).toEqual({
      apiVersion: 'microservice.slime.io/v1alpha2',
      kind: 'SmartLimiter',
      metadata: {
        name: 'reviews',
        namespace: 'shop',
        labels: { app: 'reviews', [FANOUT_SOURCE_LABEL]: 'home' },
        annotations: { note: 'keep', [FANOUT_GENERATION_ANNOTATION]: '3' },
      },
      spec: source().spec,
    });
  });
  it('does not share structure with the source', () => {
    const s = source();
    const copy = desiredCopy(s, 'home');
    (copy.spec as { sets: unknown }).sets = {};
    expect(s.spec).toEqual(source().spec);
  });
});

describe('copyAction and orphanAction', () => {
  const desired = desiredCopy(source(), 'home');
  const live = (): KubeObject => ({
    ...structuredClone(desired),
    metadata: { ...structuredClone(desired.metadata), resourceVersion: '7', uid: 'x', generation: 9 },
    status: { conditions: [{ type: 'Ready', status: 'False' }] },
  });

  it('creates what is missing', () => expect(copyAction(desired, null, 'home')).toBe('create'));
  it('leaves an equal copy alone, whatever its status and server fields', () =>
    expect(copyAction(desired, live(), 'home')).toBe('in-sync'));
  it('puts back an edited spec, label or annotation', () => {
    const spec = live();
    spec.spec = { sets: {} };
    expect(copyAction(desired, spec, 'home')).toBe('update');
    const label = live();
    label.metadata.labels = { ...label.metadata.labels, extra: 'x' };
    expect(copyAction(desired, label, 'home')).toBe('update');
    const annotation = live();
    annotation.metadata.annotations = {
      ...annotation.metadata.annotations,
      [FANOUT_GENERATION_ANNOTATION]: '2',
    };
    expect(copyAction(desired, annotation, 'home')).toBe('update');
  });
  it('never touches an object that is not a copy of this home', () => {
    const foreign = live();
    foreign.metadata.labels = { app: 'reviews' };
    expect(copyAction(desired, foreign, 'home')).toBe('conflict');
    expect(orphanAction(foreign, 'home')).toBe('none');
    const otherHome = live();
    otherHome.metadata.labels = { ...otherHome.metadata.labels, [FANOUT_SOURCE_LABEL]: 'elsewhere' };
    expect(copyAction(desired, otherHome, 'home')).toBe('conflict');
    expect(orphanAction(otherHome, 'home')).toBe('none');
  });
  it('deletes an orphaned copy', () => {
    expect(orphanAction(live(), 'home')).toBe('delete');
    expect(orphanAction(null, 'home')).toBe('none');
  });
  it('compares content regardless of key order', () => {
    const reordered = live();
    reordered.spec = { sets: { _base: { descriptor: [{ action: { quota: '10' } }] } } };
    expect(sameCopy(desired, reordered)).toBe(true);
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: undefined }, {})).toBe(true);
  });
});

describe('awaitingReconcile', () => {
  const at = (generation: number, observed?: number) => ({
    apiVersion: 'microservice.slime.io/v1alpha2',
    kind: 'SmartLimiter',
    metadata: { name: 'reviews', namespace: 'default', generation },
    ...(observed !== undefined ? { status: { observedGeneration: observed, conditions: [] } } : {}),
  });
  it("says when a copy's status is of an earlier generation than its spec", () => {
    expect(awaitingReconcile(at(2, 1), 'west')).toBe(
      "west's control plane has not reconciled generation 2 yet (its status is of generation 1)",
    );
    expect(awaitingReconcile(at(2, 2), 'west')).toBeNull();
    // A status that does not say which generation it is about is taken as it is.
    expect(awaitingReconcile(at(2), 'west')).toBeNull();
  });
});
