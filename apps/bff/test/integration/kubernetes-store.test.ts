import { afterEach, describe, expect, it, vi } from 'vitest';
import { KubernetesStore } from '../../src/cluster/kubernetes-store';
import {
  describeClusterStoreContract,
  envoyFilter,
  envoyFilterSpec,
  limiterSpec,
  smartLimiter,
} from '../support/store-contract';
import {
  ConflictError,
  GoneError,
  InvalidError,
  NotFoundError,
  type KubeObject,
  type WatchEvent,
  type WatchHandle,
} from '../../src/cluster/store';
import { freshNamespace as namespaceOn, useKubeTestServer } from '../support/kube-test-fixtures';

const running = useKubeTestServer();

const summary = (events: readonly WatchEvent[]): string[] =>
  events.map((e) => `${e.type} ${e.object.metadata.name}`);

/** A store on the test server and a namespace of its own. */
const freshNamespace = () => namespaceOn(running());

describeClusterStoreContract('KubernetesStore on kube-apiserver', freshNamespace);

describe('KubernetesStore', { timeout: 60_000 }, () => {
  let fixture: Awaited<ReturnType<typeof freshNamespace>> | undefined;
  const watches: WatchHandle[] = [];

  const setup = async () => {
    fixture = await freshNamespace();
    return fixture;
  };

  afterEach(async () => {
    for (const w of watches.splice(0)) w.stop();
    await fixture?.cleanup();
    fixture = undefined;
  });

  const record = (store: KubernetesStore, namespace: string, resourceVersion: string) => {
    const seen: { events: WatchEvent[]; ended?: { error: Error | undefined } } = { events: [] };
    const handle = store.watch('EnvoyFilter', {
      namespace,
      resourceVersion,
      onEvent: (e) => seen.events.push(e),
      onEnd: (error) => {
        seen.ended = { error };
      },
    });
    watches.push(handle);
    return seen;
  };

  it('describes itself by its kubeconfig context', async () => {
    const { store } = await setup();
    expect(store.description).toBe('kubernetes (governor-test)');
  });

  it('reads KUBECONFIG, and refuses a context the kubeconfig does not have', async () => {
    vi.stubEnv('KUBECONFIG', running().kubeconfigPath);
    try {
      const store = KubernetesStore.fromEnvironment({ context: 'governor-test' });
      expect(store.description).toBe('kubernetes (governor-test)');
      expect((await store.list('SmartLimiter')).resourceVersion).not.toBe('');
      await store.close();
      expect(() => KubernetesStore.fromEnvironment({ context: 'elsewhere' })).toThrow(
        /no context "elsewhere"/,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reports what the schema refuses as InvalidError, with the server message', async () => {
    const { store, namespace } = await setup();
    const invalid: KubeObject = { ...smartLimiter(namespace, 'reviews', 1), spec: { sets: 'not an object' } };
    const error = await store.create(invalid).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidError);
    expect((error as InvalidError).message).toMatch(/spec\.sets/);
  });

  it('maps a missing object to NotFoundError on writes and to null on reads', async () => {
    const { store, namespace } = await setup();
    expect(await store.get('SmartLimiter', namespace, 'absent')).toBeNull();
    await expect(
      store.update({
        ...smartLimiter(namespace, 'absent', 1),
        metadata: { name: 'absent', namespace, resourceVersion: '1' },
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('apply: another field manager conflicts unless it forces', async () => {
    const { store, namespace } = await setup();
    await store.apply(envoyFilter(namespace, 'reviews', 'one'), { fieldManager: 'governor' });
    await expect(
      store.apply(envoyFilter(namespace, 'reviews', 'two'), { fieldManager: 'someone-else' }),
    ).rejects.toBeInstanceOf(ConflictError);
    const forced = await store.apply(envoyFilter(namespace, 'reviews', 'two'), {
      fieldManager: 'someone-else',
      force: true,
    });
    expect(forced.spec).toEqual(envoyFilterSpec('reviews', 'two'));
  });

  it('lists every object of a kind across namespaces with one resourceVersion', async () => {
    const { store, namespace } = await setup();
    await store.create(smartLimiter(namespace, 'reviews', 5));
    const list = await store.list('SmartLimiter');
    const mine = list.items.filter((o) => o.metadata.namespace === namespace);
    expect(mine).toMatchObject([{ kind: 'SmartLimiter', spec: limiterSpec(5) }]);
    expect(list.resourceVersion).toMatch(/^\d+$/);
  });

  it('ends a watch from a resourceVersion too old to resume from with GoneError', async () => {
    const { store, namespace } = await setup();
    // Past the server's watch-cache window; the answer is a 410 Expired, as after etcd compaction.
    const seen = record(store, namespace, '1');
    await vi.waitFor(() => expect(seen.ended).toBeDefined(), { timeout: 10_000 });
    expect(seen.ended?.error).toBeInstanceOf(GoneError);
    expect(seen.events).toEqual([]);

    // The caller relists and watches from the new resourceVersion.
    const { resourceVersion } = await store.list('EnvoyFilter', namespace);
    const relisted = record(store, namespace, resourceVersion);
    await store.create(envoyFilter(namespace, 'reviews', 'one'));
    await vi.waitFor(() => expect(relisted.events.map((e) => e.type)).toEqual(['ADDED']), {
      timeout: 10_000,
    });
  });

  it('after an API server restart, a resumed watch or a relist sees every change', async () => {
    const { store, namespace } = await setup();
    const { resourceVersion } = await store.list('EnvoyFilter', namespace);
    const first = record(store, namespace, resourceVersion);
    await store.create(envoyFilter(namespace, 'before', 'one'));
    await vi.waitFor(() => expect(first.events).toHaveLength(1), { timeout: 10_000 });

    await running().restartApiServer();
    await store.create(envoyFilter(namespace, 'after', 'two'));

    // The watch either rode through the restart (it resumes by itself when the server closes it
    // gracefully) or ended with the connection error.
    await vi.waitFor(() => expect(first.ended !== undefined || first.events.length === 2).toBe(true), {
      timeout: 20_000,
    });
    if (first.events.length === 2) {
      expect(summary(first.events)).toEqual(['ADDED before', 'ADDED after']);
      return;
    }
    expect(first.ended?.error).toBeInstanceOf(Error);
    expect(first.ended?.error).not.toBeInstanceOf(GoneError);

    // The caller resumes from the last resourceVersion it saw. The new server's watch cache may begin
    // after it (410: relist), or replay what came since.
    const last = first.events[0]?.object.metadata.resourceVersion ?? resourceVersion;
    const resumed = record(store, namespace, last);
    await vi.waitFor(() => expect(resumed.ended !== undefined || resumed.events.length > 0).toBe(true), {
      timeout: 10_000,
    });
    if (resumed.ended === undefined) {
      expect(summary(resumed.events)).toEqual(['ADDED after']);
    } else {
      expect(resumed.ended.error).toBeInstanceOf(GoneError);
      const relisted = await store.list('EnvoyFilter', namespace);
      expect(relisted.items.map((o) => o.metadata.name).sort()).toEqual(['after', 'before']);
    }
  }, 120_000);
});
