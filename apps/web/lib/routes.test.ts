import { describe, expect, it } from 'vitest';
import { limiterEditPath, MOVED, servicePath, withCluster } from './routes';

describe('limiterEditPath', () => {
  it('addresses a stored policy, a new one for a service, or a new one', () => {
    expect(limiterEditPath({ namespace: 'default', name: 'reviews' })).toBe(
      '/limiter/edit?namespace=default&name=reviews',
    );
    expect(limiterEditPath({ namespace: 'default', service: 'ratings' })).toBe(
      '/limiter/edit?namespace=default&service=ratings',
    );
    expect(limiterEditPath({})).toBe('/limiter/edit');
  });

  it('encodes what it is given', () => {
    expect(limiterEditPath({ namespace: 'a&b', name: 'c d' })).toBe('/limiter/edit?namespace=a%26b&name=c+d');
  });

  it('names the cluster last, when there is one', () => {
    expect(limiterEditPath({ cluster: 'west', namespace: 'default', name: 'reviews' })).toBe(
      '/limiter/edit?namespace=default&name=reviews&cluster=west',
    );
    expect(limiterEditPath({ cluster: 'west' })).toBe('/limiter/edit?cluster=west');
    expect(limiterEditPath({ cluster: null, namespace: 'default', service: 'ratings' })).toBe(
      '/limiter/edit?namespace=default&service=ratings',
    );
  });
});

describe('servicePath', () => {
  it('addresses a service, in its cluster when given', () => {
    expect(servicePath({ namespace: 'default', name: 'reviews' })).toBe('/services/default/reviews');
    expect(servicePath({ cluster: 'west', namespace: 'default', name: 'reviews' })).toBe(
      '/services/default/reviews?cluster=west',
    );
  });
});

describe('withCluster', () => {
  it('sets, replaces or removes the cluster and keeps the rest of the address', () => {
    expect(withCluster('/lazyload', 'west')).toBe('/lazyload?cluster=west');
    expect(withCluster('/plugin?workload=a%2Fb', 'west')).toBe('/plugin?workload=a%2Fb&cluster=west');
    expect(withCluster('/?cluster=east&q=rev', 'west')).toBe('/?q=rev&cluster=west');
    expect(withCluster('/?cluster=east&q=rev', null)).toBe('/?q=rev');
    expect(withCluster('/clusters?cluster=east', undefined)).toBe('/clusters');
    expect(withCluster('/limiter#top', 'a b')).toBe('/limiter?cluster=a+b#top');
  });
});

describe('MOVED', () => {
  it('sends each former SmartLimiter address to the page that replaced it', () => {
    expect(MOVED).toEqual([
      { source: '/policies', destination: '/limiter' },
      { source: '/policies/edit', destination: '/limiter/edit' },
    ]);
  });
});
