import { describe, expect, it } from 'vitest';
import { healthOf, worse } from './topology-health';

const status = (rps: number, errorRps: number | null, clientErrorRps = 0) =>
  healthOf({ rps, errorRps, clientErrorRps }).status;

describe("health with Kiali's default tolerances", () => {
  it('is idle without traffic', () => {
    expect(healthOf({ rps: 0, errorRps: 0, clientErrorRps: 0 })).toEqual({
      status: 'idle',
      serverErrorPercent: null,
      clientErrorPercent: 0,
    });
  });

  it('5xx: degraded from 0.1%, failing from 10%', () => {
    expect(status(1000, 0)).toBe('healthy');
    expect(status(1000, 0.99)).toBe('healthy');
    expect(status(1000, 1)).toBe('degraded');
    expect(status(100, 9.9)).toBe('degraded');
    expect(status(100, 10)).toBe('failing');
    expect(status(100, 100)).toBe('failing');
  });

  it('4xx (429s included): degraded from 10%, failing from 20%', () => {
    expect(status(100, 0, 9.9)).toBe('healthy');
    expect(status(100, 0, 10)).toBe('degraded');
    expect(status(100, 0, 19.9)).toBe('degraded');
    expect(status(100, 0, 20)).toBe('failing');
  });

  it('takes the worse of the two, and the 4xx alone when the 5xx are unknown', () => {
    expect(status(100, 20, 10)).toBe('failing');
    expect(status(100, 1, 25)).toBe('failing');
    expect(status(100, null, 12)).toBe('degraded');
    expect(healthOf({ rps: 50, errorRps: 1, clientErrorRps: 5 })).toEqual({
      status: 'degraded',
      serverErrorPercent: 2,
      clientErrorPercent: 10,
    });
  });

  it('orders statuses', () => {
    expect(worse('healthy', 'failing')).toBe('failing');
    expect(worse('degraded', 'idle')).toBe('degraded');
    expect(worse('idle', 'healthy')).toBe('healthy');
  });
});
