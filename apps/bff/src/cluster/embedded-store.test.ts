import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from './embedded-store';
import { ConflictError, GoneError, InvalidError, NotFoundError, StoreError } from './store';
import type { KubeObject, WatchEvent } from './store';
import {
  describeClusterStoreContract,
  envoyFilter,
  envoyFilterSpec,
  limiterStatus,
  smartLimiter,
} from '../../test/support/store-contract';

const freshNamespace = (): string => `contract-${randomBytes(4).toString('hex')}`;

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'governor-embedded-store-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describeClusterStoreContract('embedded, in memory', async () => {
  const store = await EmbeddedStore.open();
  return { store, namespace: freshNamespace(), cleanup: () => store.close() };
});

describeClusterStoreContract('embedded, persisted', async () => {
  const store = await EmbeddedStore.open({ file: join(directory, 'store.json') });
  return { store, namespace: freshNamespace(), cleanup: () => store.close() };
});

const WAIT = { timeout: 5_000, interval: 5 };

/** Collects the events of a watch. */
function collect(
  store: EmbeddedStore,
  kind: Parameters<EmbeddedStore['watch']>[0],
  resourceVersion: string,
  namespace?: string,
): { events: WatchEvent[]; ended: { error: Error | undefined }[]; stop(): void } {
  const events: WatchEvent[] = [];
  const ended: { error: Error | undefined }[] = [];
  const handle = store.watch(kind, {
    ...(namespace === undefined ? {} : { namespace }),
    resourceVersion,
    onEvent: (event) => events.push(event),
    onEnd: (error) => ended.push({ error }),
  });
  return { events, ended, stop: () => handle.stop() };
}

const summary = (events: readonly WatchEvent[]): string[] =>
  events.map((e) => `${e.type} ${e.object.kind} ${e.object.metadata.name}`);

const ownedBy = (owner: KubeObject, object: KubeObject): KubeObject => ({
  ...object,
  metadata: {
    ...object.metadata,
    ownerReferences: [
      {
        apiVersion: owner.apiVersion,
        kind: owner.kind,
        name: owner.metadata.name,
        uid: owner.metadata.uid ?? '',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  },
});

describe('EmbeddedStore', () => {
  let store: EmbeddedStore;

  beforeEach(async () => {
    store = await EmbeddedStore.open();
  });

  afterEach(async () => {
    await store.close();
  });

  it('describes itself', async () => {
    expect(store.description).toBe('embedded (in memory)');
    const file = join(directory, 'state', 'store.json');
    const persisted = await EmbeddedStore.open({ file });
    expect(persisted.description).toBe(`embedded (${file})`);
    await persisted.close();
  });

  it('counts resourceVersions store-wide, as decimal strings', async () => {
    const start = Number((await store.list('EnvoyFilter')).resourceVersion);
    const a = await store.create(envoyFilter('default', 'a', 'a'));
    const b = await store.create(smartLimiter('default', 'b', 1));
    expect(a.metadata.resourceVersion).toBe(String(start + 1));
    expect(b.metadata.resourceVersion).toBe(String(start + 2));
    expect((await store.list('Pod')).resourceVersion).toBe(String(start + 2));
    expect(a.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(a.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('lists in namespace and name order', async () => {
    for (const [namespace, name] of [
      ['istio-system', 'b'],
      ['default', 'c'],
      ['default', 'a'],
      ['bookinfo', 'z'],
    ] as const) {
      await store.create(envoyFilter(namespace, name, name));
    }
    const { items } = await store.list('EnvoyFilter');
    expect(items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'bookinfo/z',
      'default/a',
      'default/c',
      'istio-system/b',
    ]);
    expect((await store.list('EnvoyFilter', 'default')).items.map((o) => o.metadata.name)).toEqual([
      'a',
      'c',
    ]);
  });

  it('validates names, namespaces, kinds and apiVersions', async () => {
    const valid = envoyFilter('default', 'reviews', 'one');
    const invalid: KubeObject[] = [
      { ...valid, metadata: { name: 'Reviews', namespace: 'default' } },
      { ...valid, metadata: { name: '', namespace: 'default' } },
      { ...valid, metadata: { name: 'a'.repeat(254), namespace: 'default' } },
      { ...valid, metadata: { name: 'reviews' } },
      { ...valid, metadata: { name: 'reviews', namespace: 'Default' } },
      { ...valid, metadata: { name: 'reviews', namespace: 'a.b' } },
      { ...valid, apiVersion: 'networking.istio.io/v1beta1' },
      { ...valid, kind: 'Gateway' },
      {
        ...valid,
        metadata: { name: 'reviews', namespace: 'default', labels: { a: 1 as unknown as string } },
      },
    ];
    for (const object of invalid) {
      await expect(store.create(object), JSON.stringify(object.metadata)).rejects.toBeInstanceOf(
        InvalidError,
      );
    }
    await expect(store.create(valid)).resolves.toMatchObject({ metadata: { name: 'reviews' } });
    await expect(
      store.create({ ...valid, metadata: { name: 'productpage.v1', namespace: 'default' } }),
    ).resolves.toBeDefined();
    await expect(store.apply(valid, { fieldManager: '' })).rejects.toBeInstanceOf(InvalidError);
  });

  it('has no status subresource for kinds without one', async () => {
    const created = await store.create({
      ...envoyFilter('default', 'reviews', 'one'),
      status: { note: 'kept' },
    });
    expect(created.status).toEqual({ note: 'kept' });
    await expect(store.updateStatus(created)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses an update whose uid names another incarnation of the object', async () => {
    const first = await store.create(envoyFilter('default', 'reviews', 'one'));
    await store.delete('EnvoyFilter', 'default', 'reviews');
    await store.create(envoyFilter('default', 'reviews', 'one'));
    const { resourceVersion: _resourceVersion, ...metadata } = first.metadata;
    await expect(store.update({ ...first, metadata })).rejects.toBeInstanceOf(ConflictError);
  });

  it('applies: merges the labels and annotations given, replaces ownerReferences, keeps the rest', async () => {
    const manager = { fieldManager: 'governor' };
    const owner = await store.create(smartLimiter('default', 'reviews', 1));
    const created = await store.create({
      ...envoyFilter('default', 'reviews', 'one'),
      metadata: { name: 'reviews', namespace: 'default', labels: { a: '1' }, annotations: { note: 'x' } },
    });
    const applied = await store.apply(
      ownedBy(owner, {
        ...envoyFilter('default', 'reviews', 'one'),
        metadata: { name: 'reviews', namespace: 'default', labels: { b: '2' } },
      }),
      manager,
    );
    expect(applied.metadata.labels).toEqual({ a: '1', b: '2' });
    expect(applied.metadata.annotations).toEqual({ note: 'x' });
    expect(applied.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: owner.metadata.uid })]);
    expect(applied.metadata.generation).toBe(1);
    expect(applied.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);

    // Applying what is already there writes nothing.
    const again = await store.apply(envoyFilter('default', 'reviews', 'one'), manager);
    expect(again.metadata.resourceVersion).toBe(applied.metadata.resourceVersion);
    // A resourceVersion in an applied configuration is a precondition, as on the API server.
    await expect(
      store.apply({ ...envoyFilter('default', 'reviews', 'two'), metadata: created.metadata }, manager),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it('does not write when updateStatus changes nothing', async () => {
    const created = await store.create(smartLimiter('default', 'reviews', 1));
    const withStatus = await store.updateStatus({ ...created, status: limiterStatus(2) });
    const again = await store.updateStatus({ ...withStatus, status: limiterStatus(2) });
    expect(again.metadata.resourceVersion).toBe(withStatus.metadata.resourceVersion);
  });

  describe('watch', () => {
    it('delivers events asynchronously, never inside the write', async () => {
      const { resourceVersion } = await store.list('EnvoyFilter');
      const watch = collect(store, 'EnvoyFilter', resourceVersion);
      const writing = store.create(envoyFilter('default', 'reviews', 'one'));
      expect(watch.events).toEqual([]);
      await writing;
      await vi.waitFor(() => expect(watch.events).toHaveLength(1), WAIT);
    });

    it('sees only its kind and namespace', async () => {
      const { resourceVersion } = await store.list('EnvoyFilter');
      const inDefault = collect(store, 'EnvoyFilter', resourceVersion, 'default');
      const everywhere = collect(store, 'EnvoyFilter', resourceVersion);
      await store.create(envoyFilter('other', 'a', 'a'));
      await store.create(smartLimiter('default', 'b', 1));
      await store.create(envoyFilter('default', 'c', 'c'));
      await vi.waitFor(() => expect(everywhere.events).toHaveLength(2), WAIT);
      await vi.waitFor(() => expect(inDefault.events).toHaveLength(1), WAIT);
      expect(summary(everywhere.events)).toEqual(['ADDED EnvoyFilter a', 'ADDED EnvoyFilter c']);
      expect(summary(inDefault.events)).toEqual(['ADDED EnvoyFilter c']);
    });

    it('starts from the current objects when given resourceVersion "0"', async () => {
      await store.create(envoyFilter('default', 'b', 'b'));
      await store.create(envoyFilter('default', 'a', 'a'));
      const watch = collect(store, 'EnvoyFilter', '0');
      await store.delete('EnvoyFilter', 'default', 'a');
      await vi.waitFor(() => expect(watch.events).toHaveLength(3), WAIT);
      expect(summary(watch.events)).toEqual([
        'ADDED EnvoyFilter a',
        'ADDED EnvoyFilter b',
        'DELETED EnvoyFilter a',
      ]);
    });

    it('keeps a bounded history: an older resourceVersion ends the watch with GoneError', async () => {
      const small = await EmbeddedStore.open({ historyLimit: 3 });
      try {
        const { resourceVersion: start } = await small.list('EnvoyFilter');
        const created: KubeObject[] = [];
        for (const name of ['a', 'b', 'c', 'd'])
          created.push(await small.create(envoyFilter('default', name, name)));

        const tooOld = collect(small, 'EnvoyFilter', start);
        await vi.waitFor(() => expect(tooOld.ended).toHaveLength(1), WAIT);
        expect(tooOld.ended[0]?.error).toBeInstanceOf(GoneError);
        expect(tooOld.ended[0]?.error).toMatchObject({ status: 410 });
        expect(tooOld.events).toEqual([]);

        // The last three changes are still there to resume from.
        const resumed = collect(small, 'EnvoyFilter', created[0]?.metadata.resourceVersion ?? '');
        await vi.waitFor(() => expect(resumed.events).toHaveLength(3), WAIT);
        expect(summary(resumed.events)).toEqual([
          'ADDED EnvoyFilter b',
          'ADDED EnvoyFilter c',
          'ADDED EnvoyFilter d',
        ]);
        expect(resumed.ended).toEqual([]);
      } finally {
        await small.close();
      }
    });

    it('ends with GoneError for a resourceVersion newer than the store and 400 for a malformed one', async () => {
      const { resourceVersion } = await store.list('EnvoyFilter');
      const future = collect(store, 'EnvoyFilter', String(Number(resourceVersion) + 10));
      const malformed = collect(store, 'EnvoyFilter', 'abc');
      await vi.waitFor(() => expect([...future.ended, ...malformed.ended]).toHaveLength(2), WAIT);
      expect(future.ended[0]?.error).toBeInstanceOf(GoneError);
      expect(malformed.ended[0]?.error).toBeInstanceOf(StoreError);
      expect(malformed.ended[0]?.error).toMatchObject({ status: 400 });
    });

    it('ends watches with onEnd(undefined) on close, and not at all after stop()', async () => {
      const { resourceVersion } = await store.list('EnvoyFilter');
      const open = collect(store, 'EnvoyFilter', resourceVersion);
      const stopped = collect(store, 'EnvoyFilter', resourceVersion);
      stopped.stop();
      await store.close();
      await vi.waitFor(() => expect(open.ended).toEqual([{ error: undefined }]), WAIT);
      expect(stopped.ended).toEqual([]);
      await expect(store.create(envoyFilter('default', 'a', 'a'))).rejects.toThrow(/closed/);
    });

    it('ends a watch whose handler throws, with that error', async () => {
      const { resourceVersion } = await store.list('EnvoyFilter');
      const ended: (Error | undefined)[] = [];
      let calls = 0;
      store.watch('EnvoyFilter', {
        resourceVersion,
        onEvent: () => {
          calls += 1;
          throw new Error('handler failed');
        },
        onEnd: (error) => ended.push(error),
      });
      await store.create(envoyFilter('default', 'a', 'a'));
      await store.create(envoyFilter('default', 'b', 'b'));
      await vi.waitFor(() => expect(ended).toHaveLength(1), WAIT);
      expect(ended[0]?.message).toBe('handler failed');
      expect(calls).toBe(1);
    });

    it('hands each watcher its own copy of the object', async () => {
      const { resourceVersion } = await store.list('EnvoyFilter');
      const first = collect(store, 'EnvoyFilter', resourceVersion);
      const second = collect(store, 'EnvoyFilter', resourceVersion);
      await store.create(envoyFilter('default', 'a', 'a'));
      await vi.waitFor(() => expect([...first.events, ...second.events]).toHaveLength(2), WAIT);
      const [event] = first.events;
      if (event !== undefined) event.object.metadata.name = 'changed';
      expect(second.events[0]?.object.metadata.name).toBe('a');
      expect(await store.get('EnvoyFilter', 'default', 'a')).toMatchObject({ metadata: { name: 'a' } });
    });
  });

  describe('owner cascade', () => {
    it("deletes an EnvoyFilter with the SmartLimiter that owns it, and the dependents' dependents", async () => {
      const limiter = await store.create(smartLimiter('default', 'reviews', 1));
      const filter = await store.create(ownedBy(limiter, envoyFilter('default', 'reviews', 'one')));
      const lease = await store.create(
        ownedBy(filter, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'reviews', namespace: 'default' },
          spec: { holderIdentity: 'governor' },
        }),
      );
      await store.create(envoyFilter('default', 'unowned', 'one'));
      const { resourceVersion } = await store.list('EnvoyFilter');
      const filters = collect(store, 'EnvoyFilter', resourceVersion);
      const leases = collect(store, 'Lease', resourceVersion);

      expect(await store.delete('SmartLimiter', 'default', 'reviews')).toBe(true);
      expect(await store.get('EnvoyFilter', 'default', 'reviews')).toBeNull();
      expect(await store.get('Lease', 'default', 'reviews')).toBeNull();
      expect(await store.get('EnvoyFilter', 'default', 'unowned')).not.toBeNull();

      await vi.waitFor(() => expect([...filters.events, ...leases.events]).toHaveLength(2), WAIT);
      expect(summary(filters.events)).toEqual(['DELETED EnvoyFilter reviews']);
      expect(summary(leases.events)).toEqual(['DELETED Lease reviews']);
      // Each deletion has its own, later resourceVersion.
      const filterDeleted = Number(filters.events[0]?.object.metadata.resourceVersion);
      const leaseDeleted = Number(leases.events[0]?.object.metadata.resourceVersion);
      expect(filterDeleted).toBeGreaterThan(Number(resourceVersion) + 1);
      expect(leaseDeleted).toBe(filterDeleted + 1);
      expect(leases.events[0]?.object.metadata.uid).toBe(lease.metadata.uid);
    });

    it('keeps a dependent that another existing owner still holds, dropping the dangling reference', async () => {
      const a = await store.create(smartLimiter('default', 'a', 1));
      const b = await store.create(smartLimiter('default', 'b', 1));
      const shared = ownedBy(a, envoyFilter('default', 'shared', 'one'));
      const references = [
        ...(shared.metadata.ownerReferences ?? []),
        ...(ownedBy(b, shared).metadata.ownerReferences ?? []),
      ];
      await store.create({ ...shared, metadata: { ...shared.metadata, ownerReferences: references } });

      await store.delete('SmartLimiter', 'default', 'a');
      const kept = await store.get('EnvoyFilter', 'default', 'shared');
      expect(kept?.metadata.ownerReferences?.map((r) => r.uid)).toEqual([b.metadata.uid]);

      await store.delete('SmartLimiter', 'default', 'b');
      expect(await store.get('EnvoyFilter', 'default', 'shared')).toBeNull();
    });
  });
});

describe('EmbeddedStore persistence', () => {
  const fileIn = (dir: string): string => join(dir, 'data', 'store.json');

  /** The files as they are on disk now (as a crash would leave them), copied to a directory of their own. */
  async function crashCopy(file: string): Promise<string> {
    const copy = join(await mkdtemp(join(directory, 'crash-')), basename(file));
    for (const suffix of ['', '.log']) {
      await copyFile(`${file}${suffix}`, `${copy}${suffix}`).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    return copy;
  }

  /** What a restart right now would find: a store opened on a crash copy of the files. */
  async function afterCrash(file: string): Promise<EmbeddedStore> {
    return EmbeddedStore.open({ file: await crashCopy(file) });
  }

  const onDisk = async (text: string): Promise<boolean> =>
    `${await readFile(fileIn(directory), 'utf8')}${await readFile(`${fileIn(directory)}.log`, 'utf8')}`.includes(
      text,
    );

  it('keeps objects and resourceVersions across a restart; later writes get higher resourceVersions', async () => {
    const file = fileIn(directory);
    const first = await EmbeddedStore.open({ file });
    const limiter = await first.create(smartLimiter('default', 'reviews', 1));
    const withStatus = await first.updateStatus({ ...limiter, status: limiterStatus(3) });
    const filter = await first.create(ownedBy(limiter, envoyFilter('default', 'reviews', 'one')));
    const before = await first.list('EnvoyFilter');
    await first.close();

    const second = await EmbeddedStore.open({ file });
    try {
      expect(await second.get('SmartLimiter', 'default', 'reviews')).toEqual(withStatus);
      expect(await second.get('EnvoyFilter', 'default', 'reviews')).toEqual(filter);
      const after = await second.list('EnvoyFilter');
      expect(after.resourceVersion).toBe(before.resourceVersion);

      // A watch resumes from the restart point; anything older is gone (the history is not persisted).
      const watch = collect(second, 'EnvoyFilter', after.resourceVersion);
      const old = collect(second, 'EnvoyFilter', limiter.metadata.resourceVersion ?? '');
      const next = await second.update({ ...filter, spec: envoyFilterSpec('reviews', 'two') });
      expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(Number(before.resourceVersion));
      await vi.waitFor(() => expect(watch.events).toHaveLength(1), WAIT);
      await vi.waitFor(() => expect(old.ended).toHaveLength(1), WAIT);
      expect(old.ended[0]?.error).toBeInstanceOf(GoneError);

      // The owner reference survived the restart: the cascade still works.
      await second.delete('SmartLimiter', 'default', 'reviews');
      expect(await second.get('EnvoyFilter', 'default', 'reviews')).toBeNull();
    } finally {
      await second.close();
    }
  });

  it('answers a write only once the file on disk holds it, for every kind of write', async () => {
    const file = fileIn(directory);
    const store = await EmbeddedStore.open({ file });
    const fromDisk = async (kind: 'EnvoyFilter' | 'SmartLimiter'): Promise<KubeObject | null> => {
      const restarted = await afterCrash(file);
      try {
        return await restarted.get(kind, 'default', 'reviews');
      } finally {
        await restarted.close();
      }
    };
    const filterOnDisk = () => fromDisk('EnvoyFilter');
    try {
      // Each check runs in the write's own continuation: no later save can have helped.
      const created = await store.create(envoyFilter('default', 'reviews', 'one')).then(async (o) => {
        expect(await filterOnDisk()).toEqual(o);
        return o;
      });
      const updated = await store
        .update({ ...created, spec: envoyFilterSpec('reviews', 'two') })
        .then(async (o) => {
          expect(await filterOnDisk()).toEqual(o);
          return o;
        });
      await store
        .apply(
          {
            ...envoyFilter('default', 'reviews', 'three'),
            metadata: { name: 'reviews', namespace: 'default', labels: { a: 'b' } },
          },
          { fieldManager: 'test' },
        )
        .then(async (o) => {
          expect(o.metadata.resourceVersion).not.toBe(updated.metadata.resourceVersion);
          expect(await filterOnDisk()).toEqual(o);
        });
      const limiter = await store.create(smartLimiter('default', 'reviews', 1));
      await store.updateStatus({ ...limiter, status: limiterStatus(2) }).then(async (o) => {
        expect(await fromDisk('SmartLimiter')).toEqual(o);
      });
      await store.delete('EnvoyFilter', 'default', 'reviews').then(async (deleted) => {
        expect(deleted).toBe(true);
        expect(await filterOnDisk()).toBeNull();
      });
    } finally {
      await store.close();
    }
  });

  it('commits concurrent writes together: one save answers many writes', async () => {
    const file = fileIn(directory);
    const store = await EmbeddedStore.open({ file });
    try {
      const writes = 200;
      const created = await Promise.all(
        Array.from({ length: writes }, (_, i) =>
          store.create(envoyFilter('group', `f-${i}`, 'one')).then(async (o) => {
            expect(await onDisk(`"f-${i}"`)).toBe(true);
            return o;
          }),
        ),
      );
      expect(new Set(created.map((o) => o.metadata.resourceVersion)).size).toBe(writes);
      // The first write saves alone; the others arrive while it is under way and share the next save.
      expect(store.saves).toBeLessThanOrEqual(3);
    } finally {
      await store.close();
    }
    const reopened = await EmbeddedStore.open({ file });
    expect((await reopened.list('EnvoyFilter', 'group')).items).toHaveLength(200);
    await reopened.close();
  });

  it('a write that changes nothing still waits for the writes before it to be saved', async () => {
    const file = fileIn(directory);
    const store = await EmbeddedStore.open({ file });
    try {
      const limiter = await store.create(smartLimiter('default', 'reviews', 1));
      const pending = store.create(envoyFilter('default', 'pending', 'one'));
      // The same spec again: no new resourceVersion, but its answer shows a state that includes `pending`.
      await store.update(limiter).then(async () => {
        expect(await onDisk('"pending"')).toBe(true);
      });
      await pending;
    } finally {
      await store.close();
    }
  });

  it('replays the log after a crash, ignoring a torn last line; a clean close leaves the file alone', async () => {
    const file = fileIn(directory);
    const store = await EmbeddedStore.open({ file });
    try {
      const a = await store.create(envoyFilter('default', 'a', 'one'));
      const b = await store.create(envoyFilter('default', 'b', 'one'));
      const a2 = await store.update({ ...a, spec: envoyFilterSpec('a', 'two') });
      await store.delete('EnvoyFilter', 'default', 'b');
      const { resourceVersion } = await store.list('EnvoyFilter');
      const copy = await crashCopy(file);
      // A save the crash cut short: never answered, so never counted on.
      const torn = JSON.stringify({ resourceVersion: '999', type: 'ADDED', object: b }).slice(0, 50);
      await writeFile(`${copy}.log`, torn, { flag: 'a' });

      const restarted = await EmbeddedStore.open({ file: copy });
      try {
        expect((await restarted.list('EnvoyFilter')).items).toEqual([a2]);
        expect((await restarted.list('EnvoyFilter')).resourceVersion).toBe(resourceVersion);
        // The log is folded into the file at once.
        expect(await readFile(`${copy}.log`, 'utf8')).toBe('');
        expect(await readFile(copy, 'utf8')).toContain('"two"');
      } finally {
        await restarted.close();
      }
      expect(b.metadata.name).toBe('b');
    } finally {
      await store.close();
    }
    expect(await readdir(dirname(file))).toEqual(['store.json']);
  });

  it('refuses a log with a bad line that whole changes follow', async () => {
    const file = fileIn(directory);
    const store = await EmbeddedStore.open({ file });
    try {
      await store.create(envoyFilter('default', 'a', 'one'));
      await store.create(envoyFilter('default', 'b', 'one'));
      const copy = await crashCopy(file);
      const lines = (await readFile(`${copy}.log`, 'utf8')).split('\n');
      await writeFile(`${copy}.log`, [lines[0], '{"garbage"', ...lines.slice(1)].join('\n'));
      await expect(EmbeddedStore.open({ file: copy })).rejects.toThrow(/log .*corrupt \(line 2/);
    } finally {
      await store.close();
    }
  });

  it('folds the log into the file once the log outgrows it', async () => {
    const file = fileIn(directory);
    const store = await EmbeddedStore.open({ file });
    const padding = 'x'.repeat(4096);
    try {
      let logged = 0;
      for (let i = 0; i < 400; i++) {
        const filter = envoyFilter('default', `f-${i}`, 'one');
        await store.create({ ...filter, metadata: { ...filter.metadata, annotations: { padding } } });
        logged += padding.length;
      }
      // 1.6 MB of changes; the log was started afresh on the way, and the file holds the earlier ones.
      expect((await stat(`${file}.log`)).size).toBeLessThan(logged);
      expect(await readFile(file, 'utf8')).toContain('"f-0"');
      const restarted = await afterCrash(file);
      expect((await restarted.list('EnvoyFilter', 'default')).items).toHaveLength(400);
      await restarted.close();
    } finally {
      await store.close();
    }
  });

  it('refuses a corrupt file, naming it, rather than starting empty', async () => {
    const file = fileIn(directory);
    const store = await EmbeddedStore.open({ file });
    await store.create(envoyFilter('default', 'reviews', 'one'));
    await store.close();
    const text = await readFile(file, 'utf8');

    await writeFile(file, text.slice(0, text.length / 2));
    await expect(EmbeddedStore.open({ file })).rejects.toThrow(file);
    await writeFile(file, '');
    await expect(EmbeddedStore.open({ file })).rejects.toThrow(/corrupt/);
    await writeFile(file, JSON.stringify({ objects: [] }));
    await expect(EmbeddedStore.open({ file })).rejects.toThrow(/corrupt/);
    await writeFile(file, text.replace('"EnvoyFilter"', '"Gateway"'));
    await expect(EmbeddedStore.open({ file })).rejects.toThrow(/corrupt.*Gateway/);
  });

  it('ignores and removes a torn temp file a crash left behind; the target stays intact', async () => {
    const file = fileIn(directory);
    const store = await EmbeddedStore.open({ file });
    const created = await store.create(envoyFilter('default', 'reviews', 'one'));
    await store.close();
    const torn = `${file}.4242.0badc0de.tmp`;
    await writeFile(torn, (await readFile(file, 'utf8')).slice(0, 40));

    const reopened = await EmbeddedStore.open({ file });
    try {
      expect(await reopened.get('EnvoyFilter', 'default', 'reviews')).toEqual(created);
      expect((await readdir(dirname(file))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await reopened.close();
    }
  });

  it('rejects the writes a failed save carried, refuses new writes until a save succeeds, then saves', async () => {
    const file = fileIn(directory);
    const errors: Error[] = [];
    const store = await EmbeddedStore.open({ file, retryDelayMs: 20, onSaveError: (e) => errors.push(e) });
    await store.create(envoyFilter('default', 'before', 'one'));
    // The directory turns into a file: every save fails until it is a directory again.
    await rm(dirname(file), { recursive: true });
    await writeFile(dirname(file), 'not a directory');

    const failed = await store.create(envoyFilter('default', 'reviews', 'one')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(StoreError);
    expect((failed as StoreError).status).toBe(500);
    expect((failed as Error).message).toContain(file);
    expect(errors.length).toBeGreaterThan(0);
    // It was made (watchers saw it), so it stays: the error means "may or may not be kept".
    expect(await store.get('EnvoyFilter', 'default', 'reviews')).not.toBeNull();

    // Refused before it changes anything.
    const refused = await store.create(envoyFilter('default', 'refused', 'one')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreError);
    expect((refused as StoreError).status).toBe(503);
    expect(await store.get('EnvoyFilter', 'default', 'refused')).toBeNull();
    await expect(store.flush()).rejects.toThrow(file);
    // Health reports say why.
    expect(store.writeFailure()).toContain(file);

    await rm(dirname(file));
    await mkdir(dirname(file));
    // The retry saves by itself; then writes are accepted again.
    await vi.waitFor(
      () => expect(store.create(envoyFilter('default', 'after', 'one'))).resolves.toBeDefined(),
      WAIT,
    );
    expect(store.writeFailure()).toBeNull();
    await store.close();
    const reopened = await EmbeddedStore.open({ file });
    for (const name of ['before', 'reviews', 'after']) {
      expect(await reopened.get('EnvoyFilter', 'default', name)).not.toBeNull();
    }
    expect(await reopened.get('EnvoyFilter', 'default', 'refused')).toBeNull();
    await reopened.close();
  });
});
