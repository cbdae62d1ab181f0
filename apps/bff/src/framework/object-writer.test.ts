import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../cluster/store';
import type { Module } from './module';
import {
  OWNER_KIND_LABEL,
  OWNER_NAME_ANNOTATION,
  OWNER_NAME_HASH_LABEL,
  OWNER_NAMESPACE_LABEL,
  OWNER_UID_ANNOTATION,
  isOwnedBy,
  markedOwnerKey,
  ownedObject,
  ownerReferenceTo,
  upToDate,
} from './object-writer';

const module = { kind: 'MetaRouter', apiVersion: 'metaprotocol.aeraki.io/v1alpha1' } as Module;
const owner = (name = 'thrift-sample'): KubeObject => ({
  apiVersion: module.apiVersion,
  kind: module.kind,
  metadata: { name, namespace: 'meta', uid: 'uid-1' },
});
const filter = (namespace?: string, labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'EnvoyFilter',
  metadata: { name: 'route', ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
  spec: { configPatches: [] },
});
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('owned objects and their owner', () => {
  it("in the owner's namespace: a controller reference, as before", () => {
    for (const d of [filter(), filter('meta')]) {
      const o = ownedObject(module, owner(), d);
      expect(o).toEqual({
        ...d,
        metadata: { ...d.metadata, namespace: 'meta', ownerReferences: [ownerReferenceTo(module, owner())] },
      });
      expect(isOwnedBy(module, o, 'thrift-sample')).toBe(true);
      expect(isOwnedBy(module, o, 'thrift-sample', 'meta')).toBe(true);
      expect(markedOwnerKey(module, o)).toBeUndefined();
    }
  });

  it('in another namespace: marks that the module cannot override, valid label values, no reference', () => {
    const long = 'a'.repeat(120) + '.' + 'b'.repeat(120);
    const o = ownedObject(
      module,
      owner(long),
      filter('istio-system', { app: 'x', [OWNER_NAMESPACE_LABEL]: 'elsewhere' }),
    );
    expect(o.metadata.ownerReferences).toBeUndefined();
    expect(o.metadata.namespace).toBe('istio-system');
    expect(o.metadata.labels).toMatchObject({
      app: 'x',
      [OWNER_KIND_LABEL]: 'MetaRouter',
      [OWNER_NAMESPACE_LABEL]: 'meta',
    });
    for (const v of Object.values(o.metadata.labels ?? {})) {
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(LABEL_VALUE);
    }
    expect(o.metadata.labels?.[OWNER_NAME_HASH_LABEL]).toMatch(/^[0-9a-f]{40}$/);
    expect(o.metadata.annotations).toEqual({
      [OWNER_NAME_ANNOTATION]: long,
      [OWNER_UID_ANNOTATION]: 'uid-1',
    });
    expect(markedOwnerKey(module, o)).toBe(`meta/${long}`);
    expect(isOwnedBy(module, o, long, 'meta')).toBe(true);
    expect(isOwnedBy(module, o, long, 'other')).toBe(false);
    expect(isOwnedBy(module, o, 'another', 'meta')).toBe(false);
    expect(isOwnedBy({ ...module, kind: 'SmartLimiter' }, o, long, 'meta')).toBe(false);
    // Marks count only away from the owner's namespace; there the reference rules.
    const here = { ...o, metadata: { ...o.metadata, namespace: 'meta' } };
    expect(markedOwnerKey(module, here)).toBeUndefined();
    expect(isOwnedBy(module, here, long, 'meta')).toBe(false);
  });

  it('is up to date only with the marks, the current uid included, whatever else is on it', () => {
    const wanted = ownedObject(module, owner(), filter('istio-system'));
    const existing: KubeObject = {
      ...wanted,
      metadata: {
        ...wanted.metadata,
        uid: 'ef-uid',
        resourceVersion: '7',
        labels: { ...wanted.metadata.labels, added: 'by someone' },
      },
    };
    expect(upToDate(module, existing, wanted)).toBe(true);
    const renewed = ownedObject(
      module,
      { ...owner(), metadata: { ...owner().metadata, uid: 'uid-2' } },
      filter('istio-system'),
    );
    expect(upToDate(module, existing, renewed)).toBe(false);
    const { [OWNER_KIND_LABEL]: _k, ...unmarked } = existing.metadata.labels ?? {};
    expect(
      upToDate(module, { ...existing, metadata: { ...existing.metadata, labels: unmarked } }, wanted),
    ).toBe(false);
    // Neither a reference nor marks wanted: never up to date, as before.
    expect(upToDate(module, filter('meta'), filter('meta'))).toBe(false);
  });
});
