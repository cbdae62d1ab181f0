/**
 * The API over the BFF's real HTTP port with the real tRPC client: login and cookies, role and origin
 * checks, and an SSE subscription whose connection is cut (by a TCP proxy in between) and resumed.
 */
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from 'node:net';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EDITOR_AND_VIEWER, EDITOR_TOKEN, ORIGIN, VIEWER_TOKEN } from '../../test/support/api-users';
import { startDemoBff, type DemoBff } from '../../test/support/demo-bff';
import { smartLimiterYaml } from '../../test/support/fixtures';
import { rawRequest, watchForCrashes } from '../../test/support/raw-http';
import { TRACE_LIMITS } from '../modules/limiter/replay/replay';
import { MAX_API_BATCH, MAX_API_BODY_BYTES } from './handler';
import type { AppRouter } from './router';
import { MODULES } from '../modules';

/** A TCP proxy whose connections the test can cut, as a network would. */
async function cuttableProxy(
  targetPort: number,
): Promise<{ port: number; cut: (forMs: number) => void; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let downUntil = 0;
  const server: TcpServer = createTcpServer((client) => {
    // While the network is down, new connections fail too.
    if (Date.now() < downUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut: (forMs) => {
      downUntil = Date.now() + forMs;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('the API over HTTP', () => {
  let demo: DemoBff;
  let url: string;

  beforeAll(async () => {
    demo = await startDemoBff({
      ...EDITOR_AND_VIEWER,
      governor: {
        modules: MODULES,
        simulate: true,
        metrics: { tickMs: 0, metricTickMs: 500, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
        simulator: { tickMs: 50 },
      },
    });
    ({ url } = demo);
  });
  afterAll(() => demo.close());

  const call = (
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${url}/trpc/${path}`, {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers: { 'content-type': 'application/json', ...init.headers },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });

  it('logs in with a token to an HttpOnly SameSite cookie; changes need the dashboard origin', async () => {
    expect((await call('auth.me')).status).toBe(200);
    expect((await call('services.list')).status).toBe(401);
    const bad = await call('auth.login', { body: { token: 'wrong-token' }, headers: { origin: ORIGIN } });
    expect(bad.status).toBe(401);
    const login = await call('auth.login', { body: { token: EDITOR_TOKEN }, headers: { origin: ORIGIN } });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^governor_session=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
    const cookie = setCookie.split(';')[0]!;
    const me = (await (await call('auth.me', { headers: { cookie } })).json()) as {
      result: { data: { name: string } };
    };
    expect(me.result.data.name).toBe('ed');

    const policy = (await (
      await call(
        'policies.get?input=' + encodeURIComponent(JSON.stringify({ namespace: 'default', name: 'details' })),
        { headers: { cookie } },
      )
    ).json()) as {
      result: { data: { yaml: string } };
    };
    const edited = policy.result.data.yaml
      .replace("quota: '5'", "quota: '6'")
      .replace('quota: "5"', 'quota: "6"');
    expect(edited).not.toBe(policy.result.data.yaml);
    const foreign = await call('policies.applyPolicy', {
      body: { yaml: edited },
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const body = (await foreign.json()) as { error: { message: string; data: { stack?: string } } };
    expect(body.error.message).toContain('origin');
    expect(body.error.data.stack).toBeUndefined();
    const same = await call('policies.applyPolicy', {
      body: { yaml: edited },
      headers: { cookie, origin: ORIGIN },
    });
    expect(same.status).toBe(200);
    const out = await call('auth.logout', { body: {}, headers: { cookie, origin: ORIGIN } });
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await call('services.list', { headers: { cookie } })).status).toBe(401);
  });

  it('takes bearer tokens from scripts: a viewer is refused changes, the metric push wants an editor', async () => {
    const viewer = { authorization: `Bearer ${VIEWER_TOKEN}` };
    expect((await call('services.list', { headers: viewer })).status).toBe(200);
    expect(
      (await call('policies.delete', { body: { namespace: 'default', name: 'details' }, headers: viewer }))
        .status,
    ).toBe(403);
    expect(await demo.store.get('SmartLimiter', 'default', 'details')).not.toBeNull();
    const push = (headers: Record<string, string>, namespace = 'default') =>
      fetch(`${url}/api/metrics/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ namespace, service: 'reviews', values: { queue: 3 } }),
      });
    expect((await push({})).status).toBe(401);
    expect((await push(viewer)).status).toBe(403);
    expect((await push({ authorization: `Bearer ${EDITOR_TOKEN}` }, 'payments')).status).toBe(403);
    expect((await push({ authorization: `Bearer ${EDITOR_TOKEN}` })).status).toBe(200);
  });

  it('streams per-second decisions over SSE; a cut connection resumes with no gap and no duplicate', async () => {
    const proxy = await cuttableProxy(Number(new URL(url).port));
    const base = `http://127.0.0.1:${proxy.port}/trpc`;
    const withToken = (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${VIEWER_TOKEN}` },
      });
    const client = createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: base, EventSource, eventSourceOptions: { fetch: withToken } }),
          false: httpBatchLink({ url: base, headers: { authorization: `Bearer ${VIEWER_TOKEN}` } }),
        }),
      ],
    });
    const seconds: number[] = [];
    const ids: string[] = [];
    const sub = client.decisions.seconds.subscribe(
      { namespace: 'default' },
      {
        onData: (d) => {
          ids.push(d.id);
          seconds.push(d.data.second);
        },
      },
    );
    try {
      await vi.waitFor(() => expect(seconds.length).toBeGreaterThanOrEqual(3), { timeout: 15_000 });
      // Down for 3 s: several seconds are published while the client cannot connect.
      proxy.cut(3000);
      const atCut = seconds.length;
      // Seconds go on being made while the client is away; it must get them after reconnecting.
      await vi.waitFor(() => expect(seconds.length).toBeGreaterThanOrEqual(atCut + 4), {
        timeout: 30_000,
        interval: 100,
      });
      for (let i = 1; i < seconds.length; i++)
        expect(seconds[i]! - seconds[i - 1]!, `after ${seconds[i - 1]}`).toBe(1);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      sub.unsubscribe();
      await proxy.close();
    }
  }, 60_000);

  it('answers odd requests to the API with 4xx errors, never a crash', async () => {
    const watch = watchForCrashes();
    try {
      const port = Number(new URL(url).port);
      const viewer = `authorization: Bearer ${VIEWER_TOKEN}\r\n`;
      const raw = (head: string, body = '', options: Parameters<typeof rawRequest>[2] = {}) =>
        rawRequest(port, `${head}\r\n${viewer}connection: close\r\n\r\n${body}`, options);
      const post = (path: string, body: string, extra = '') =>
        raw(
          `POST /trpc/${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}${extra}`,
          body,
        );
      // A Host the adapter would have read as a URL with credentials, or with an impossible port.
      for (const host of ['u:p@h', 'h:99999', '[::1']) {
        const r = await raw(`GET /trpc/auth.me HTTP/1.1\r\nhost: ${host}`);
        expect(r.status, host).toBe(200);
      }
      expect((await post('replay.run', '{"policy": ')).status).toBe(400);
      expect((await post('replay.run', '"not an object"')).status).toBe(400);
      const huge = `{"policy": "${'a'.repeat(MAX_API_BODY_BYTES)}"}`;
      expect((await post('replay.run', huge)).status).toBe(413);
      const batch = Array.from({ length: MAX_API_BATCH + 1 }, () => 'auth.me').join(',');
      expect((await raw(`GET /trpc/${batch}?batch=1 HTTP/1.1\r\nhost: x`)).status).toBe(400);
      // A body cut off mid-way: the client is gone, nothing to answer, and nothing may break.
      const cut = await raw(
        'POST /trpc/replay.run HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000',
        '{"policy": "abc',
        { cutAfterMs: 50 },
      );
      expect(cut.status).toBeNull();
      await new Promise((r) => setTimeout(r, 100));
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(watch.crashes).toEqual([]);
    } finally {
      watch.stop();
    }
  });

  it('replays with RE2 (no catastrophic backtracking) and refuses an oversized trace', async () => {
    const viewer = { authorization: `Bearer ${VIEWER_TOKEN}` };
    const policy = smartLimiterYaml(`- action: {fill_interval: {seconds: 60}, quota: "1"}
  condition: "true"
  target: {port: 9080}
  match: [{name: x-user, regex_match: "(a+)+b"}]`);
    const line = (user: string) =>
      JSON.stringify({ t: 0, service: 'reviews', port: 9080, headers: { 'x-user': user } });
    const trace = [line('a'.repeat(32)), line('a'.repeat(8_000)), line('aab'), line('ab')].join('\n');
    const res = await call('replay.run', { body: { policy, trace }, headers: viewer });
    expect(res.status, await res.clone().text()).toBe(200);
    const out = (await res.json()) as {
      result: { data: { summary: { byLimiter: Record<string, unknown> }; truncated: unknown } };
    };
    // The two values that match meet the quota of 1; the others no rule.
    expect(out.result.data.summary.byLimiter).toEqual({
      '(none)': { allowed: 2, limited: 0 },
      'default/reviews': { allowed: 1, limited: 1 },
    });
    expect(out.result.data.truncated).toBeNull();
    // The BFF went on answering meanwhile, and answers now.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const tooMany = Array(TRACE_LIMITS.lines + 1)
      .fill('{}')
      .join('\n');
    const big = await call('replay.run', { body: { policy, trace: tooMany }, headers: viewer });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { message: string } }).error.message).toBe(
      `the trace has ${TRACE_LIMITS.lines + 1} requests; a replay reads at most ${TRACE_LIMITS.lines} (split it)`,
    );

    const badLines = Array(30).fill('nope').join('\n');
    const bad30 = await call('replay.run', { body: { policy, trace: badLines }, headers: viewer });
    expect(bad30.status).toBe(400);
    const bad30Message = ((await bad30.json()) as { error: { message: string } }).error.message;
    expect(bad30Message.split('; ')).toHaveLength(21);
    expect(bad30Message).toMatch(/^line 1: not JSON: .*; and 10 more lines$/);

    const lookahead = policy.replace('(a+)+b', '(?=a)a+');
    const bad = await call('replay.run', { body: { policy: lookahead, trace }, headers: viewer });
    const badOut = (await bad.json()) as {
      result?: { data: { problems: string[] } };
      error?: { message: string };
    };
    expect(JSON.stringify(badOut)).toContain('spec.sets._base.descriptor[0].match[0].regex_match');
  });
});
