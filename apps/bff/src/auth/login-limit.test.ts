/**
 * Failed logins over the BFF's real HTTP port: limited per source address (a second loopback address plays
 * another machine), refused with 429 and Retry-After, and audited once per address and window.
 */
import { request, Agent } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from '../cluster/embedded-store';
import { createBff, type Bff } from '../server/bff';
import { AuditLog } from '../audit/audit-log';
import { Auth } from './auth';
import { MODULES } from '../modules';

const TOKEN = 'ops-token-0123456789-0123456789-0123';

interface Answer {
  status: number;
  retryAfter: string | undefined;
  setCookie: string[] | undefined;
  body: { error?: { data?: { code?: string } } };
}

describe('failed logins', () => {
  let store: EmbeddedStore;
  let bff: Bff;
  let port: number;
  let dir: string;
  let skewMs = 0;
  const agents = new Map<string, Agent>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'governor-logins-'));
    store = await EmbeddedStore.open({});
    bff = createBff({
      store,
      mode: 'embedded',
      // The test moves this clock past the limit's window rather than waiting a minute.
      auth: new Auth({
        users: [{ name: 'ops', role: 'viewer', namespaces: '*', token: TOKEN }],
        now: () => Date.now() + skewMs,
      }),
      audit: new AuditLog(join(dir, 'audit.jsonl')),
      allowedOrigins: [],
      governor: {
        modules: MODULES,
        simulate: false,
        metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      },
      info: { name: 'governor', version: 'test', startedAt: new Date().toISOString() },
    });
    await bff.start();
    const { url } = await bff.server.listen({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(url).port);
  });
  afterAll(async () => {
    for (const a of agents.values()) a.destroy();
    await bff.server.close();
    await bff.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A tRPC call from `from` (a loopback address of this machine). */
  function call(
    from: string,
    path: string,
    input: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    let agent = agents.get(from);
    if (!agent) agents.set(from, (agent = new Agent({ keepAlive: true, localAddress: from })));
    const body = input === undefined ? undefined : JSON.stringify(input);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          agent,
          method: body === undefined ? 'GET' : 'POST',
          path: `/trpc/${path}`,
          headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: res.headers['retry-after'],
              setCookie: res.headers['set-cookie'],
              body: JSON.parse(text) as Answer['body'],
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  const login = (from: string, token: string) => call(from, 'auth.login', { token });
  const failedRecords = () => bff.api.deps.audit.list({ action: 'login-failed', limit: 10_000 });

  it('refuses an address after 5 failures, even with the right token, and audits one record per window', async () => {
    const statuses = new Map<number, number>();
    let firstRefused = -1;
    for (let i = 0; i < 2000; i++) {
      const r = await login('127.0.0.1', `wrong-token-${i}`);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 429 && firstRefused < 0) {
        firstRefused = i;
        expect(r.body.error?.data?.code).toBe('TOO_MANY_REQUESTS');
        expect(Number(r.retryAfter)).toBeGreaterThan(0);
        expect(Number(r.retryAfter)).toBeLessThanOrEqual(60);
      }
    }
    expect(firstRefused).toBe(5);
    expect(statuses).toEqual(
      new Map([
        [401, 5],
        [429, 1995],
      ]),
    );
    // The right token is refused too while the window lasts (else the limit would confirm a guess).
    expect((await login('127.0.0.1', TOKEN)).status).toBe(429);
    // So is the same guessing with a bearer token on any procedure.
    const bearer = await call('127.0.0.1', 'services.list', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(bearer.status).toBe(429);

    // Another address logs in.
    const other = await login('127.0.0.2', TOKEN);
    expect(other.status).toBe(200);
    expect(other.setCookie?.[0]).toMatch(/^governor_session=/);

    // Nothing per attempt: the window's record is written when it ends.
    expect(failedRecords()).toHaveLength(0);
    skewMs += 61_000;
    const after = await login('127.0.0.1', TOKEN);
    expect(after.status).toBe(200);
    const records = await vi.waitFor(() => {
      const r = failedRecords();
      expect(r).toHaveLength(1);
      return r;
    });
    expect(records[0]!.detail).toMatch(
      /^5 failed login\(s\) and 1997 refused unchecked by the limit from 127\.0\.0\.1 in the 60 s from /,
    );
    // The audit file grew by a few hundred bytes, not one record per attempt.
    const bytes = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('login-failed'))
      .join('\n').length;
    expect(bytes).toBeLessThan(1024);
  }, 60_000);
});
