import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from './embedded-store';
import {
  applyWatchEvent,
  diffList,
  Informer,
  TOO_MANY_REQUESTS_RETRY_MS,
  type Change,
  type Timers,
} from './informer';
import { StoreError, type ClusterStore, type KubeObject, type WatchOptions } from './store';

const svc = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'ns', labels },
  spec: { selector: { app: name } },
});

describe('applyWatchEvent and diffList', () => {
  const o = (name: string, rv: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'ns', resourceVersion: rv },
  });

  it('adds, modifies only on a new resourceVersion, and deletes', () => {
    const cache = new Map<string, KubeObject>();
    expect(applyWatchEvent(cache, 'ADDED', o('a', '1'))?.type).toBe('ADDED');
    expect(applyWatchEvent(cache, 'MODIFIED', o('a', '1'))).toBeNull();
    expect(applyWatchEvent(cache, 'MODIFIED', o('a', '2'))).toMatchObject({
      type: 'MODIFIED',
      previous: { metadata: { resourceVersion: '1' } },
    });
    expect(applyWatchEvent(cache, 'DELETED', o('a', '3'))?.type).toBe('DELETED');
    expect(applyWatchEvent(cache, 'DELETED', o('a', '3'))).toBeNull();
  });

  it('turns a relist into the changes missed', () => {
    const cache = new Map<string, KubeObject>([
      ['ns/a', o('a', '1')],
      ['ns/b', o('b', '1')],
    ]);
    const changes = diffList(cache, [o('a', '1'), o('c', '5')]);
    expect(changes.map((c) => `${c.type} ${c.object.metadata.name}`)).toEqual(['ADDED c', 'DELETED b']);
    expect([...cache.keys()].sort()).toEqual(['ns/a', 'ns/c']);
  });
});

describe('Informer', () => {
  const open: { stop(): void }[] = [];
  afterEach(() => {
    for (const i of open.splice(0)) i.stop();
  });

  it('lists, then delivers every change once, and reports health', async () => {
    const store = await EmbeddedStore.open({});
    await store.create(svc('a'));
    const informer = new Informer(store, 'Service', { namespace: 'ns' });
    open.push(informer);
    const changes: string[] = [];
    informer.onChange((c: Change) => changes.push(`${c.type} ${c.object.metadata.name}`));
    await informer.start();
    expect(informer.health()).toMatchObject({ kind: 'Service', synced: true, connected: true, objects: 1 });
    const b = await store.create(svc('b'));
    await store.update({ ...b, metadata: { ...b.metadata, labels: { x: 'y' } } });
    await store.delete('Service', 'ns', 'a');
    await vi.waitFor(() => expect(changes).toEqual(['ADDED a', 'ADDED b', 'MODIFIED b', 'DELETED a']));
    expect(informer.list().map((o) => o.metadata.name)).toEqual(['b']);
    expect(informer.get('ns', 'b')?.metadata.labels).toEqual({ x: 'y' });
  });

  it('resumes a closed watch, and relists when its resourceVersion has expired (410), missing nothing', async () => {
    const store = await EmbeddedStore.open({ historyLimit: 2 });
    // Let the test cut the informer's watch off and later end it, as a server does (a watch timeout).
    const realWatch = store.watch.bind(store);
    let cut: () => () => void = () => () => {};
    let watches = 0;
    store.watch = (kind, options) => {
      watches++;
      let paused = false;
      const handle = realWatch(kind, {
        ...options,
        onEvent: (e) => (paused ? undefined : options.onEvent(e)),
      });
      cut = () => {
        paused = true;
        handle.stop();
        return () => options.onEnd(undefined);
      };
      return handle;
    };
    const informer = new Informer(store, 'Service', { namespace: 'ns' });
    open.push(informer);
    const seen = new Set<string>();
    informer.onChange((c) => seen.add(`${c.type} ${c.object.metadata.name}`));
    await informer.start();
    await store.create(svc('a'));
    await vi.waitFor(() => expect(informer.get('ns', 'a')).toBeDefined());
    // Closed by the server: resumes from the last resourceVersion (history still has it).
    cut()();
    await store.create(svc('b'));
    await vi.waitFor(() => expect(informer.get('ns', 'b')).toBeDefined());
    expect(watches).toBe(2);
    // Closed while more changes happen than the watch history holds: the resume gets 410 and relists.
    const end = cut();
    for (const n of ['c', 'd', 'e', 'f']) await store.create(svc(n));
    await store.delete('Service', 'ns', 'a');
    end();
    await vi.waitFor(() =>
      expect(
        informer
          .list()
          .map((o) => o.metadata.name)
          .sort(),
      ).toEqual(['b', 'c', 'd', 'e', 'f']),
    );
    expect(seen.has('DELETED a')).toBe(true);
    expect(watches).toBe(4); // the first, the resume, the failed resume (410), the one after the relist
    expect(informer.health().restarts).toBeGreaterThanOrEqual(2);
  });

  it('resumes after the watch ends and reports the failure while retrying', async () => {
    const store = await EmbeddedStore.open({});
    const informer = new Informer(store, 'Service', { namespace: 'ns', initialBackoffMs: 300 });
    open.push(informer);
    await informer.start();
    // The next list fails once, as when the API server is unreachable.
    const realList = store.list.bind(store);
    let failOnce = true;
    store.list = async (...args) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('connection refused');
      }
      return realList(...args);
    };
    void informer.relist();
    await vi.waitFor(() => expect(informer.health().lastError).toBe('connection refused'));
    await store.create(svc('late'));
    await vi.waitFor(() => expect(informer.get('ns', 'late')).toBeDefined());
    expect(informer.health()).toMatchObject({ connected: true, synced: true });
    expect(informer.health().lastError).toBeUndefined();
  });

  /**
   * A Service informer over a store whose watches answer in turn (an error ends the watch, 'open' keeps
   * it open), with timers run by hand: each is scheduled with its delay noted, then run by the test.
   */
  async function scriptedInformer(answers: readonly (Error | 'open')[]) {
    const scheduled: { fn: () => void; ms: number; cleared: boolean }[] = [];
    const timers: Timers = {
      setTimeout: (fn, ms) => scheduled.push({ fn, ms, cleared: false }) - 1,
      clearTimeout: (id) => {
        scheduled[id as number]!.cleared = true;
      },
      now: () => 0,
    };
    let watches = 0;
    let end: ((e: Error | undefined) => void) | undefined;
    const store = {
      description: 'stub',
      list: () => Promise.resolve({ items: [], resourceVersion: '1' }),
      watch: (_kind: string, options: WatchOptions) => {
        const answer = answers[watches++];
        if (answer instanceof Error) queueMicrotask(() => options.onEnd(answer));
        else end = options.onEnd;
        return { stop: () => undefined };
      },
    } as unknown as ClusterStore;
    const informer = new Informer(store, 'Service', { initialBackoffMs: 200, maxBackoffMs: 30_000, timers });
    open.push(informer);
    await informer.start();
    return {
      informer,
      scheduled,
      // The resync timer is the first one; then one retry per failed watch.
      retries: () => scheduled.slice(1).map((t) => t.ms),
      watches: () => watches,
      /** Ends the watch that is open. */
      end: (e: Error | undefined) => end!(e),
    };
  }

  it('retries a watch the server answers 429 after a second, without growing the outage backoff', async () => {
    // A server that is down (the watch fails), then back but filling its watch cache (429), down once
    // more, then up.
    const answers: (Error | 'open')[] = [
      ...Array.from({ length: 6 }, () => new Error('fetch failed')),
      new StoreError('Too many requests, please try again later.', 429, 'TooManyRequests'),
      new StoreError('Too many requests, please try again later.', 429, 'TooManyRequests'),
      new Error('fetch failed'),
      'open',
    ];
    const { informer, scheduled, retries, watches } = await scriptedInformer(answers);
    for (let i = 0; i < answers.length - 1; i++) {
      await vi.waitFor(() => expect(retries()).toHaveLength(i + 1));
      if (i === 5) expect(informer.health()).toMatchObject({ connected: false, lastError: 'fetch failed' });
      scheduled[i + 1]!.fn();
    }
    expect(retries()).toEqual([
      200,
      400,
      800,
      1600,
      3200,
      6400,
      TOO_MANY_REQUESTS_RETRY_MS,
      TOO_MANY_REQUESTS_RETRY_MS,
      // The outage's backoff goes on from where it was.
      12_800,
    ]);
    expect(watches()).toBe(answers.length);
    expect(informer.health()).toMatchObject({ connected: true, synced: true });
  });

  it('retries at once when told the cluster is back, and starts the backoff over', async () => {
    const answers: (Error | 'open')[] = [
      ...Array.from({ length: 4 }, () => new Error('fetch failed')),
      'open',
      new Error('fetch failed'),
    ];
    const { informer, scheduled, retries, watches, end } = await scriptedInformer(answers);
    for (let i = 0; i < 3; i++) {
      await vi.waitFor(() => expect(retries()).toHaveLength(i + 1));
      scheduled[i + 1]!.fn();
    }
    await vi.waitFor(() => expect(retries()).toEqual([200, 400, 800, 1600]));
    // Nothing waits out the 1.6 s: the cluster answered its health probe.
    informer.retryNow();
    expect(scheduled[4]!.cleared).toBe(true);
    expect(watches()).toBe(5);
    expect(informer.health()).toMatchObject({ connected: true });
    // Nothing pending: a second call does nothing; the next failure starts from the first delay.
    informer.retryNow();
    expect(watches()).toBe(5);
    end(new Error('fetch failed'));
    await vi.waitFor(() => expect(retries()).toEqual([200, 400, 800, 1600, 200]));
  });
});
