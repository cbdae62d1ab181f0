import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from '../cluster/embedded-store';
import { UnreachableError } from '../cluster/outage-store';
import type { WatchEvent } from '../cluster/store';
import { Fleet, type Plane } from './fleet';
import { embeddedMembers, type FleetMemberEvent } from './members';

const opened: EmbeddedStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function twoClusters(now?: () => Date) {
  const stores = await Promise.all(['east', 'west'].map(() => EmbeddedStore.open({})));
  opened.push(...stores);
  return embeddedMembers(
    stores.map((store, i) => ({ name: ['east', 'west'][i]!, store })),
    now,
  );
}

const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { ports: [{ port: 80 }] },
});

describe('embedded clusters', () => {
  it('are reachable, their last sync now, until an outage; then every request fails and watches end', async () => {
    let t = Date.parse('2026-12-01T10:00:00Z');
    const members = await twoClusters(() => new Date(t));
    const events: FleetMemberEvent[] = [];
    members.onChange((e) => events.push(e));
    const west = members.get('west')!;
    expect(west.health).toMatchObject({ reachable: true, lastSuccessfulSync: '2026-12-01T10:00:00.000Z' });
    const seen: WatchEvent[] = [];
    let ended: Error | undefined;
    west.store.watch('Service', {
      resourceVersion: (await west.store.list('Service')).resourceVersion,
      onEvent: (e) => seen.push(e),
      onEnd: (e) => (ended = e),
    });
    await west.store.create(service('a'));
    expect(seen.map((e) => e.object.metadata.name)).toEqual(['a']);

    west.simulateOutage!(true);
    expect(ended).toBeInstanceOf(UnreachableError);
    t += 60_000;
    expect(members.get('west')!.health).toMatchObject({
      reachable: false,
      lastSuccessfulSync: '2026-12-01T10:00:00.000Z',
      lastError: 'cluster west is unreachable (simulated outage)',
    });
    await expect(west.store.list('Service')).rejects.toBeInstanceOf(UnreachableError);
    await expect(west.store.create(service('b'))).rejects.toThrow('cluster west is unreachable');
    // East is another cluster: untouched.
    expect(members.get('east')!.health.reachable).toBe(true);
    await members.get('east')!.store.create(service('c'));
    const refused = await new Promise<Error | undefined>((resolve) =>
      west.store.watch('Service', { resourceVersion: '0', onEvent: () => undefined, onEnd: resolve }),
    );
    expect(refused).toBeInstanceOf(UnreachableError);

    west.simulateOutage!(false);
    expect(members.get('west')!.health).toMatchObject({ reachable: true, lastError: null });
    expect((await west.store.list('Service')).items.map((o) => o.metadata.name)).toEqual(['a']);
    expect(events.map((e) => [e.type, e.member.name, e.member.health.reachable])).toEqual([
      ['health', 'west', false],
      ['health', 'west', true],
    ]);
  });
});

class RecordingPlane implements Plane {
  readonly log: string[];
  constructor(
    readonly name: string,
    log: string[],
    private readonly startsAfter: Promise<void> = Promise.resolve(),
  ) {
    this.log = log;
  }
  async start(): Promise<void> {
    await this.startsAfter;
    this.log.push(`start ${this.name}`);
  }
  async stop(): Promise<void> {
    this.log.push(`stop ${this.name}`);
  }
  reconnect(): void {
    this.log.push(`reconnect ${this.name}`);
  }
}

describe('Fleet', () => {
  it('makes a plane per cluster at once, starts them together, and stops them', async () => {
    const members = await twoClusters();
    const log: string[] = [];
    const fleet = new Fleet({ members, create: (m) => new RecordingPlane(m.name, log), fanout: false });
    expect(fleet.home).toBe('east');
    expect(fleet.list().map((c) => [c.name, c.started])).toEqual([
      ['east', false],
      ['west', false],
    ]);
    await fleet.start();
    expect(log.sort()).toEqual(['start east', 'start west']);
    expect(fleet.list().every((c) => c.started)).toBe(true);
    await fleet.stop();
    expect(log.slice(2).sort()).toEqual(['stop east', 'stop west']);
  });

  it('does not wait for an unreachable cluster to start, and keeps its health current', async () => {
    const members = await twoClusters();
    members.get('west')!.simulateOutage!(true);
    const log: string[] = [];
    const never = new Promise<void>(() => undefined);
    const fleet = new Fleet({
      members,
      create: (m) => new RecordingPlane(m.name, log, m.name === 'west' ? never : undefined),
      fanout: false,
    });
    await fleet.start();
    expect(log).toEqual(['start east']);
    expect(fleet.get('west')).toMatchObject({ started: false, member: { health: { reachable: false } } });
    members.get('west')!.simulateOutage!(false);
    expect(fleet.get('west')!.member.health.reachable).toBe(true);
    // Back: its plane reconnects now, not when its backoff ends.
    expect(log).toEqual(['start east', 'reconnect west']);
    await fleet.stop();
  });

  it('refuses a home cluster that is not one of the clusters', async () => {
    const members = await twoClusters();
    expect(() => new Fleet({ members, home: 'north', create: () => new RecordingPlane('x', []) })).toThrow(
      'the home cluster "north" is not one of the clusters (east, west)',
    );
  });
});

describe('Fleet following its members', () => {
  it('starts a plane for a cluster that joins and stops the plane of one that leaves', async () => {
    const base = await twoClusters();
    // The registry's way of changing: a member list that grows and shrinks, with events.
    let listed = base.list().filter((m) => m.name === 'east');
    const listeners = new Set<(e: FleetMemberEvent) => void>();
    const members = {
      list: () => listed,
      get: (name: string) => listed.find((m) => m.name === name),
      onChange: (l: (e: FleetMemberEvent) => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      close: () => base.close(),
    };
    const emit = (e: FleetMemberEvent) => listeners.forEach((l) => l(e));
    const log: string[] = [];
    const seen: string[] = [];
    const fleet = new Fleet({
      members,
      create: (m) => new RecordingPlane(m.name, log),
      fanout: false,
      onChange: (e) => seen.push(`${e.type} ${e.member.name}`),
    });
    await fleet.start();
    const west = base.get('west')!;
    listed = [...listed, west];
    emit({ type: 'added', member: west });
    await vi.waitFor(() => expect(fleet.get('west')?.started).toBe(true));
    listed = listed.filter((m) => m.name !== 'west');
    emit({ type: 'removed', member: west });
    expect(fleet.get('west')).toBeUndefined();
    await vi.waitFor(() => expect(log).toEqual(['start east', 'start west', 'stop west']));
    expect(seen).toEqual(['added west', 'removed west']);
    await fleet.stop();
  });
});
