import { describe, expect, it } from 'vitest';
import { redactCredentials } from './redact';
import { redisOptionsFromUrl } from './rls/rls-server';

describe('redactCredentials', () => {
  it('hides the password of a URL and keeps the rest', () => {
    expect(redactCredentials('redis://:s3cret@redis:6379/2')).toBe('redis://:***@redis:6379/2');
    expect(redactCredentials('redis://default:s3cret@10.0.0.1:6379')).toBe(
      'redis://default:***@10.0.0.1:6379',
    );
    expect(redactCredentials('rediss://app:pa%40ss@redis.example.com')).toBe(
      'rediss://app:***@redis.example.com',
    );
  });

  it('hides a password holding an unescaped @ entirely, as the URL parser splits at the last one', () => {
    const out = redactCredentials('redis://:p@ss@host:6379');
    expect(out).toBe('redis://:***@host:6379');
    expect(new URL('redis://:p@ss@host:6379').hostname).toBe('host');
  });

  it('hides a user name given without a password (a token in the user part)', () => {
    expect(redactCredentials('https://ghp_abcdef@prometheus.example.com/api')).toBe(
      'https://***@prometheus.example.com/api',
    );
  });

  it('finds every URL in a longer text and leaves URLs without credentials and e-mail addresses alone', () => {
    const line =
      'counting in Redis at redis://:one@r1:6379, metrics from http://u:two@prom:9090/x?y=a@b, mail ops@example.com';
    const out = redactCredentials(line);
    expect(out).toBe(
      'counting in Redis at redis://:***@r1:6379, metrics from http://u:***@prom:9090/x?y=a@b, mail ops@example.com',
    );
    expect(out).not.toMatch(/one|two/);
    expect(redactCredentials('http://prometheus:9090 and redis://redis:6379')).toBe(
      'http://prometheus:9090 and redis://redis:6379',
    );
  });

  it('keeps the password out of the rate-limit service refusing a URL', () => {
    expect(() => redisOptionsFromUrl('http://:hunter2@redis:6379')).toThrow('http://:***@redis:6379');
    expect(() => redisOptionsFromUrl('http://:hunter2@redis:6379')).not.toThrow(/hunter2/);
  });
});
