import { describe, expect, it } from 'vitest';
import { findByKey, formatAge, lastSyncedText, objectKey, syncAgeNow } from './clusters';

const rows = [
  { cluster: 'east', namespace: 'default', name: 'reviews' },
  { cluster: 'west', namespace: 'default', name: 'reviews' },
  { cluster: 'east', namespace: 'default', name: 'productpage' },
];

describe('objectKey and findByKey', () => {
  it('names an object by cluster, namespace and name', () => {
    expect(objectKey(rows[1]!)).toBe('west/default/reviews');
    expect(findByKey(rows, 'west/default/reviews')).toBe(rows[1]);
    expect(findByKey(rows, 'west/default/productpage')).toBeUndefined();
  });

  it('takes a key without a cluster in the preferred cluster, else the first of that name', () => {
    expect(findByKey(rows, 'default/reviews', 'west')).toBe(rows[1]);
    expect(findByKey(rows, 'default/reviews')).toBe(rows[0]);
    expect(findByKey(rows, 'default/productpage', 'west')).toBe(rows[2]);
  });

  it('finds nothing without rows or a key, or for a malformed key', () => {
    expect(findByKey(undefined, 'default/reviews')).toBeUndefined();
    expect(findByKey(rows, null)).toBeUndefined();
    expect(findByKey(rows, 'reviews')).toBeUndefined();
  });
});

describe('ages', () => {
  it('says an age in the largest whole unit', () => {
    expect(formatAge(400)).toBe('just now');
    expect(formatAge(12_500)).toBe('12 s ago');
    expect(formatAge(125_000)).toBe('2 min ago');
    expect(formatAge(3 * 3600_000 + 5)).toBe('3 h ago');
    expect(formatAge(50 * 3600_000)).toBe('2 days ago');
    expect(formatAge(-5)).toBe('just now');
  });

  it('ticks on from the age reported, and knows a cluster that never synced', () => {
    expect(syncAgeNow(60_000, 1_000, 61_000)).toBe(120_000);
    expect(syncAgeNow(60_000, 1_000, 500)).toBe(60_000);
    expect(syncAgeNow(null, 1_000, 61_000)).toBeNull();
    expect(lastSyncedText(120_000)).toBe('last synced 2 min ago');
    expect(lastSyncedText(null)).toBe('never synced');
  });
});
