/**
 * The fan-out controller over embedded stores standing in for three clusters (home, east, west), one of
 * which can be taken down: copies made, kept and removed; conflicts; a cluster down and back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../cluster/embedded-store';
import type { ClusterStore, KubeObject } from '../cluster/store';
import { CLUSTERS_ANNOTATION, FANOUT_GENERATION_ANNOTATION, FANOUT_SOURCE_LABEL } from './fanout-copy';
import { FanoutController, storeClusters, type FanoutEvent, type FanoutHealth } from './fanout';

/** A store that fails every call while `down`, as an unreachable API server does. */
function faulty(inner: ClusterStore): { store: ClusterStore; down: boolean } {
  const state = { down: false, store: undefined as unknown as ClusterStore };
  const refused = () => new Error('connect ECONNREFUSED 127.0.0.1:6443');
  state.store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'watch')
        return (kind: string, options: Parameters<ClusterStore['watch']>[1]) => {
          if (!state.down) return inner.watch(kind, options);
          queueMicrotask(() => options.onEnd(refused()));
          return { stop: () => undefined };
        };
      return (...args: unknown[]) =>
        state.down && prop !== 'close'
          ? Promise.reject(refused())
          : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
  return state;
}

const limiter = (clusters: string, quota = '10'): KubeObject => ({
  apiVersion: 'microservice.slime.io/v1alpha2',
  kind: 'SmartLimiter',
  metadata: {
    name: 'reviews',
    namespace: 'shop',
    labels: { app: 'reviews' },
    annotations: { [CLUSTERS_ANNOTATION]: clusters },
  },
  spec: { sets: { _base: { descriptor: [{ action: { quota, fill_interval: { seconds: 1 } } }] } } },
});

const quotaOf = (o: KubeObject | null) =>
  (o?.spec as { sets: { _base: { descriptor: { action: { quota: string } }[] } } } | undefined)?.sets._base
    .descriptor[0]?.action.quota;

const LAST_SYNC = '2026-12-06T10:00:00.000Z';
let home: EmbeddedStore;
let east: EmbeddedStore;
let westInner: EmbeddedStore;
let west: { store: ClusterStore; down: boolean };
let westHealth: FanoutHealth;
let clusters: ReturnType<typeof storeClusters>;
let fanout: FanoutController;
const events: FanoutEvent[] = [];

beforeEach(async () => {
  [home, east, westInner] = await Promise.all([
    EmbeddedStore.open({}),
    EmbeddedStore.open({}),
    EmbeddedStore.open({}),
  ]);
  west = faulty(westInner);
  westHealth = { reachable: true, lastSuccessfulSync: LAST_SYNC, lastError: null };
  clusters = storeClusters(
    new Map<string, ClusterStore>([
      ['home', home],
      ['east', east],
      ['west', west.store],
    ]),
    (name) => (name === 'west' ? westHealth : undefined),
  );
  fanout = new FanoutController({
    home: 'home',
    clusters,
    kinds: ['SmartLimiter', 'NoSuchKind'],
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    informer: { initialBackoffMs: 20, maxBackoffMs: 100 },
    now: () => new Date('2026-12-06T10:05:00.000Z'),
  });
  events.length = 0;
  fanout.onChange((e) => events.push(e));
  await fanout.start();
});

afterEach(async () => {
  await fanout.stop();
  await Promise.all([home.close(), east.close(), westInner.close()]);
});

const states = () =>
  Object.fromEntries(
    (fanout.status('SmartLimiter', 'shop', 'reviews')?.clusters ?? []).map((c) => [c.cluster, c.state]),
  );

describe('FanoutController', () => {
  it('skips kinds no store knows', () => {
    expect(fanout.kinds).toEqual(['SmartLimiter']);
    expect(fanout.skippedKinds).toEqual(['NoSuchKind']);
  });

  it('copies a source into the clusters it names, creating the namespace, and reports them synced', async () => {
    await home.create(limiter('home,east,west'));
    await expect.poll(states).toEqual({ home: 'synced', east: 'synced', west: 'synced' });
    const copy = await east.get('SmartLimiter', 'shop', 'reviews');
    expect(copy?.metadata.labels).toEqual({ app: 'reviews', [FANOUT_SOURCE_LABEL]: 'home' });
    expect(copy?.metadata.annotations).toEqual({ [FANOUT_GENERATION_ANNOTATION]: '1' });
    expect(await east.get('Namespace', '', 'shop')).not.toBeNull();
    expect(await westInner.get('SmartLimiter', 'shop', 'reviews')).not.toBeNull();
    expect(fanout.status('SmartLimiter', 'shop', 'reviews')).toMatchObject({
      home: 'home',
      sourceExists: true,
      generation: 1,
      state: 'synced',
    });
    expect(events.at(-1)?.status.state).toBe('synced');
  });

  it("shows each copy's own status conditions", async () => {
    await home.create(limiter('east'));
    await expect.poll(states).toEqual({ east: 'synced' });
    const copy = (await east.get('SmartLimiter', 'shop', 'reviews'))!;
    const ready = { type: 'Ready', status: 'True', reason: 'Rendered' };
    await east.updateStatus({ ...copy, status: { conditions: [ready] } });
    await expect
      .poll(() => fanout.status('SmartLimiter', 'shop', 'reviews')?.clusters[0]?.conditions)
      .toEqual([ready]);
  });

  it('follows the source and puts back a copy edited or deleted in a member', async () => {
    await home.create(limiter('east,west'));
    await expect.poll(states).toEqual({ east: 'synced', west: 'synced' });

    const source = (await home.get('SmartLimiter', 'shop', 'reviews'))!;
    await home.update({ ...source, spec: limiter('', '20').spec });
    await expect.poll(async () => quotaOf(await east.get('SmartLimiter', 'shop', 'reviews'))).toBe('20');
    await expect.poll(async () => quotaOf(await westInner.get('SmartLimiter', 'shop', 'reviews'))).toBe('20');
    expect(
      (await east.get('SmartLimiter', 'shop', 'reviews'))?.metadata.annotations?.[
        FANOUT_GENERATION_ANNOTATION
      ],
    ).toBe('2');

    const copy = (await east.get('SmartLimiter', 'shop', 'reviews'))!;
    await east.update({ ...copy, spec: limiter('', '999').spec });
    await expect.poll(async () => quotaOf(await east.get('SmartLimiter', 'shop', 'reviews'))).toBe('20');

    await westInner.delete('SmartLimiter', 'shop', 'reviews');
    await expect.poll(async () => quotaOf(await westInner.get('SmartLimiter', 'shop', 'reviews'))).toBe('20');
  });

  it('removes the copy from a cluster no longer named, and every copy when the source goes', async () => {
    await home.create(limiter('east,west'));
    await expect.poll(states).toEqual({ east: 'synced', west: 'synced' });
    const source = (await home.get('SmartLimiter', 'shop', 'reviews'))!;
    await home.update({
      ...source,
      metadata: { ...source.metadata, annotations: { [CLUSTERS_ANNOTATION]: 'east' } },
    });
    await expect.poll(() => westInner.get('SmartLimiter', 'shop', 'reviews')).toBeNull();
    await expect.poll(states).toEqual({ east: 'synced' });

    await home.delete('SmartLimiter', 'shop', 'reviews');
    await expect.poll(() => east.get('SmartLimiter', 'shop', 'reviews')).toBeNull();
    expect(fanout.status('SmartLimiter', 'shop', 'reviews')).toBeUndefined();
  });

  it('deletes a leftover copy whose source is gone, found when the controller starts', async () => {
    await fanout.stop();
    await east.create({
      ...limiter(''),
      metadata: { name: 'old', namespace: 'shop', labels: { [FANOUT_SOURCE_LABEL]: 'home' } },
    });
    fanout = new FanoutController({ home: 'home', clusters, kinds: ['SmartLimiter'] });
    await fanout.start();
    await expect.poll(() => east.get('SmartLimiter', 'shop', 'old')).toBeNull();
  });

  it('reports a conflict and leaves alone an object that is not a copy, until it goes', async () => {
    const foreign = { ...limiter('', '1'), metadata: { name: 'reviews', namespace: 'shop' } };
    await east.create(foreign);
    await home.create(limiter('east'));
    await expect.poll(states).toEqual({ east: 'conflict' });
    const status = fanout.status('SmartLimiter', 'shop', 'reviews')!;
    expect(status.state).toBe('conflict');
    expect(status.clusters[0]?.reason).toMatch(/not a copy/);
    expect(quotaOf(await east.get('SmartLimiter', 'shop', 'reviews'))).toBe('1');

    // Once it goes, the copy takes its place.
    await east.delete('SmartLimiter', 'shop', 'reviews');
    await expect.poll(async () => quotaOf(await east.get('SmartLimiter', 'shop', 'reviews'))).toBe('10');
    await expect.poll(states).toEqual({ east: 'synced' });
  });

  it('keeps a name not in the registry pending, and fans out to every cluster for *', async () => {
    await home.create(limiter('east,south'));
    await expect.poll(states).toEqual({ east: 'synced', south: 'pending' });
    expect(fanout.status('SmartLimiter', 'shop', 'reviews')?.clusters[1]?.reason).toMatch(
      /no cluster "south"/,
    );
    const source = (await home.get('SmartLimiter', 'shop', 'reviews'))!;
    await home.update({
      ...source,
      metadata: { ...source.metadata, annotations: { [CLUSTERS_ANNOTATION]: '*' } },
    });
    await expect.poll(states).toEqual({ home: 'synced', east: 'synced', west: 'synced' });
  });

  it('keeps the change for a cluster that is down and applies it when the cluster is back', async () => {
    await home.create(limiter('home,east,west'));
    await expect.poll(states).toEqual({ home: 'synced', east: 'synced', west: 'synced' });

    // Down, before the registry's probe notices: a failed write leaves it pending.
    west.down = true;
    const source = (await home.get('SmartLimiter', 'shop', 'reviews'))!;
    await home.update({ ...source, spec: limiter('', '30').spec });
    await expect.poll(states).toEqual({ home: 'synced', east: 'synced', west: 'pending' });
    expect(fanout.status('SmartLimiter', 'shop', 'reviews')?.clusters[2]?.reason).toMatch(/ECONNREFUSED/);

    // The probe notices: unreachable, with the age of the last successful sync.
    westHealth = { reachable: false, lastSuccessfulSync: LAST_SYNC, lastError: 'probe timed out' };
    clusters.changed('west');
    await expect.poll(states).toEqual({ home: 'synced', east: 'synced', west: 'unreachable' });
    const westStatus = fanout.status('SmartLimiter', 'shop', 'reviews')!.clusters[2]!;
    expect(westStatus).toMatchObject({
      state: 'unreachable',
      reason: 'probe timed out',
      lastSuccessfulSync: LAST_SYNC,
      lastSuccessfulSyncAgeMs: 5 * 60_000,
    });
    expect(westStatus.since).toBeDefined();
    expect(fanout.status('SmartLimiter', 'shop', 'reviews')?.state).toBe('unreachable');
    expect(quotaOf(await east.get('SmartLimiter', 'shop', 'reviews'))).toBe('30');

    // Back: the source as it is now lands.
    const again = (await home.get('SmartLimiter', 'shop', 'reviews'))!;
    await home.update({ ...again, spec: limiter('', '40').spec });
    west.down = false;
    westHealth = { reachable: true, lastSuccessfulSync: '2026-12-06T10:06:00.000Z', lastError: null };
    clusters.changed('west');
    await expect.poll(states).toEqual({ home: 'synced', east: 'synced', west: 'synced' });
    expect(quotaOf(await westInner.get('SmartLimiter', 'shop', 'reviews'))).toBe('40');
  });

  it('retries a failed write with backoff without a health change', async () => {
    await home.create(limiter('west'));
    await expect.poll(states).toEqual({ west: 'synced' });
    west.down = true;
    const source = (await home.get('SmartLimiter', 'shop', 'reviews'))!;
    await home.update({ ...source, spec: limiter('', '50').spec });
    await expect.poll(states).toEqual({ west: 'pending' });
    west.down = false;
    await expect.poll(async () => quotaOf(await westInner.get('SmartLimiter', 'shop', 'reviews'))).toBe('50');
    await expect.poll(states).toEqual({ west: 'synced' });
  });
});
