import { describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../cluster/embedded-store';
import { isKnownKind } from '../cluster/store';
import { defineModules, type ModuleDefinition } from './registry';

describe('the module registry', () => {
  it("teaches the stores a module's own kinds", async () => {
    const widgets = {
      name: 'widgets',
      summary: 'a module of the test',
      kind: 'Widget',
      kinds: { Widget: { group: 'example.io', version: 'v1', plural: 'widgets', hasStatus: true } },
      settings: { name: 'widgets', settings: {} },
      create: () => {
        throw new Error('not started here');
      },
      examples: () => {
        throw new Error('not used here');
      },
      commands: {},
      api: {},
    } satisfies ModuleDefinition;
    const store = await EmbeddedStore.open({});
    try {
      await expect(
        store.create({
          apiVersion: 'example.io/v1',
          kind: 'Widget',
          metadata: { name: 'a', namespace: 'default' },
        }),
      ).rejects.toThrow(/unknown kind/);
      expect(defineModules([widgets])).toEqual([widgets]);
      expect(isKnownKind('Widget')).toBe(true);
      const created = await store.create({
        apiVersion: 'example.io/v1',
        kind: 'Widget',
        metadata: { name: 'a', namespace: 'default' },
        spec: { size: 1 },
      });
      expect(created.metadata.generation).toBe(1);
      expect((await store.list('Widget', 'default')).items).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
