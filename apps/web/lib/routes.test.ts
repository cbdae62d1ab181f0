import { describe, expect, it } from 'vitest';
import { limiterEditPath, MOVED } from './routes';

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
});

describe('MOVED', () => {
  it('sends each former SmartLimiter address to the page that replaced it', () => {
    expect(MOVED).toEqual([
      { source: '/policies', destination: '/limiter' },
      { source: '/policies/edit', destination: '/limiter/edit' },
    ]);
  });
});
