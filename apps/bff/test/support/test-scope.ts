/** What a test opens, closed after it in reverse order (stores, control planes, servers). */
import { afterEach } from 'vitest';
import { EmbeddedStore } from '../../src/cluster/embedded-store';

export interface TestScope {
  /** Runs each cleanup after the test, the last deferred first. */
  defer(...cleanups: (() => Promise<unknown> | unknown)[]): void;
  /** An empty in-memory store, closed after the test. */
  store(): Promise<EmbeddedStore>;
}

/** Call in a `describe`: each of its tests gets what it deferred cleaned up after it. */
export function testScope(): TestScope {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    defer: (...more) => void cleanups.push(...more),
    store: async () => {
      const store = await EmbeddedStore.open({});
      cleanups.push(() => store.close());
      return store;
    },
  };
}
