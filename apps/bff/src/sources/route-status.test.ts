import { describe, expect, it } from 'vitest';
import { RouteStatusBoard, type SubscriptionRow } from './route-status';

const row = (routeConfig: string, node: string, extra: Partial<SubscriptionRow> = {}): SubscriptionRow => ({
  routeConfig,
  node,
  version: 'v1',
  acked: true,
  ackedVersion: 'v1',
  connectedAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});

describe('the route status board', () => {
  it('lists subscriptions by route configuration and node, and tells only of real changes', () => {
    const board = new RouteStatusBoard();
    const changes: string[][] = [];
    board.onChange((names) => changes.push([...names]));
    board.replaceAll([row('b_1', 'n2'), row('a_1', 'n1'), row('b_1', 'n1')]);
    expect(board.rows().map((r) => `${r.routeConfig} ${r.node}`)).toEqual(['a_1 n1', 'b_1 n1', 'b_1 n2']);
    expect(changes).toEqual([['b_1', 'a_1']]);
    // The same rows again: nothing to tell.
    board.replaceAll([row('a_1', 'n1'), row('b_1', 'n1'), row('b_1', 'n2')]);
    expect(changes).toHaveLength(1);
    // A NACK on one, a disconnect on the other.
    board.replaceAll([row('a_1', 'n1', { acked: false, error: 'bad', version: 'v2' }), row('b_1', 'n1')]);
    expect(changes[1]!.sort()).toEqual(['a_1', 'b_1']);
    expect(board.forRouteConfig('a_1')).toEqual([
      row('a_1', 'n1', { acked: false, error: 'bad', version: 'v2' }),
    ]);
    // Every proxy gone: the configuration drops out.
    board.replaceAll([]);
    expect(board.rows()).toEqual([]);
    expect(changes[2]!.sort()).toEqual(['a_1', 'b_1']);
  });
});
