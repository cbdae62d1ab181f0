import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from './embedded-store';
import { LeaderElector } from './leader-election';
import type { ClusterStore } from './store';

const fast = { leaseDurationMs: 600, renewIntervalMs: 100, retryIntervalMs: 50 };

function candidate(store: ClusterStore, identity: string) {
  const log: string[] = [];
  const elector = new LeaderElector({
    store,
    namespace: 'governor-system',
    name: 'governor-controller',
    identity,
    ...fast,
    onStartedLeading: () => log.push('started'),
    onStoppedLeading: () => log.push('stopped'),
  });
  return { elector, log };
}

describe('LeaderElector', () => {
  const running: LeaderElector[] = [];
  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop();
  });

  it('elects exactly one leader; a standby takes over when the leader releases the lease', async () => {
    const store = await EmbeddedStore.open({});
    const a = candidate(store, 'a');
    const b = candidate(store, 'b');
    running.push(a.elector, b.elector);
    a.elector.start();
    b.elector.start();
    await vi.waitFor(() =>
      expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1),
    );
    const [leader, standby] = a.elector.isLeader() ? [a, b] : [b, a];
    await new Promise((r) => setTimeout(r, 300));
    expect(standby.elector.isLeader()).toBe(false);
    await leader.elector.stop();
    expect(leader.log).toEqual(['started', 'stopped']);
    await vi.waitFor(() => expect(standby.elector.isLeader()).toBe(true), { timeout: 3000 });
    const lease = await store.get('Lease', 'governor-system', 'governor-controller');
    expect((lease?.spec as { holderIdentity: string; leaseTransitions: number }).holderIdentity).toBe(
      standby === a ? 'a' : 'b',
    );
  });

  it('takes over a lease whose holder died without releasing it, after the lease duration', async () => {
    const store = await EmbeddedStore.open({});
    const dead = candidate(store, 'dead');
    dead.elector.start();
    await vi.waitFor(() => expect(dead.elector.isLeader()).toBe(true));
    // The holder's process dies: it stops renewing and never releases (no stop()).
    (dead.elector as unknown as { stopped: boolean }).stopped = true;
    const b = candidate(store, 'b');
    running.push(b.elector);
    const started = Date.now();
    b.elector.start();
    await vi.waitFor(() => expect(b.elector.isLeader()).toBe(true), { timeout: 3000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(fast.leaseDurationMs - 50);
    const lease = await store.get('Lease', 'governor-system', 'governor-controller');
    expect(lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });
});
