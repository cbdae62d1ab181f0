import { describe, expect, it } from 'vitest';
import { clustersValue, fanoutSource, readClusters, toggleCluster } from './clusters';

describe('the clusters annotation', () => {
  it('reads as the fan-out does, and writes back what it read', () => {
    expect(readClusters(undefined)).toEqual({ mode: 'here' });
    expect(readClusters(3)).toEqual({ mode: 'here' });
    expect(readClusters('*')).toEqual({ mode: 'all' });
    expect(readClusters('east, *')).toEqual({ mode: 'all' });
    expect(readClusters(' west ,east,,west')).toEqual({ mode: 'some', names: ['west', 'east'] });
    for (const v of ['*', 'east,west', '']) expect(clustersValue(readClusters(v))).toBe(v);
    expect(clustersValue({ mode: 'here' })).toBeUndefined();
  });

  it('chooses and unchooses a cluster, keeping the others in their order', () => {
    const some = { mode: 'some', names: ['west', 'lab'] } as const;
    expect(toggleCluster(some, 'east', true)).toEqual({ mode: 'some', names: ['west', 'lab', 'east'] });
    expect(toggleCluster(some, 'west', true)).toEqual(some);
    expect(toggleCluster(some, 'west', false)).toEqual({ mode: 'some', names: ['lab'] });
    expect(toggleCluster({ mode: 'all' }, 'east', true)).toEqual({ mode: 'some', names: ['east'] });
  });

  it('knows a copy by its source label', () => {
    expect(fanoutSource({ metadata: { labels: { 'governor.io/fanout-source': 'east' } } })).toBe('east');
    expect(fanoutSource({ metadata: { labels: { app: 'x' } } })).toBeUndefined();
    expect(fanoutSource({ metadata: null })).toBeUndefined();
  });
});
