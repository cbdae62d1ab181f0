import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawRequest, watchForCrashes } from '../../test/support/raw-http';
import {
  createHttpServer,
  MAX_BODY_BYTES,
  pathOf,
  type BffHttpServer,
  type HttpServerOptions,
  type ServerInfo,
} from './http-server';

const info: ServerInfo = {
  name: 'governor',
  version: '1.2.3',
  mode: 'embedded',
  startedAt: '2025-01-02T03:04:05.000Z',
};

let server: BffHttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Omit<HttpServerOptions, 'info'> = {}): Promise<string> {
  server = createHttpServer({ info, ...options });
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  expect(address.port).toBeGreaterThan(0);
  expect(address.url).toBe(`http://127.0.0.1:${address.port}`);
  return address.url;
}

describe('createHttpServer', () => {
  it('answers GET /healthz with status ok', async () => {
    const url = await start();
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers GET /api/info with what it was given', async () => {
    const url = await start();
    const res = await fetch(`${url}/api/info`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(info);
  });

  it('ignores the query string when routing', async () => {
    const url = await start();
    expect((await fetch(`${url}/healthz?probe=1`)).status).toBe(200);
  });

  it('answers HEAD like GET, without a body', async () => {
    const url = await start();
    const res = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('answers unknown paths with a JSON 404', async () => {
    const url = await start();
    const res = await fetch(`${url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found', message: 'No route for GET /nope' });
  });

  it('answers other methods on known paths with a JSON 405 and an Allow header', async () => {
    const url = await start();
    const res = await fetch(`${url}/api/info`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(await res.json()).toMatchObject({ error: 'method_not_allowed' });
  });

  it('rejects listen() when the port is taken', async () => {
    const url = await start();
    const port = Number(new URL(url).port);
    const second = createHttpServer({ info });
    await expect(second.listen({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('closes promptly although a client keeps its connection alive', async () => {
    const url = await start();
    // fetch keeps the connection open in its pool after the answer.
    await (await fetch(`${url}/healthz`)).json();
    const started = Date.now();
    await server?.close();
    server = undefined;
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('cuts a connection that stays busy past the grace period', async () => {
    const url = await start({ shutdownGraceMs: 50 });
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    // The server answers at once, but the request body never completes, so the connection stays busy
    // and only the forced close after the grace period ends it (else close() would wait for minutes).
    socket.write('GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc');
    const [firstChunk] = (await once(socket, 'data')) as [Buffer];
    expect(firstChunk.toString()).toMatch(/^HTTP\/1\.1 200 OK/);
    const socketClosed = once(socket, 'close');
    await server?.close();
    server = undefined;
    await socketClosed;
  });

  it('resolves close() when it was never started', async () => {
    await expect(createHttpServer({ info }).close()).resolves.toBeUndefined();
  });
});

describe('a request never takes the server down', () => {
  let watch: ReturnType<typeof watchForCrashes>;
  beforeEach(() => {
    watch = watchForCrashes();
  });
  afterEach(() => {
    watch.stop();
    expect(watch.crashes).toEqual([]);
  });

  const echo = { metricPush: (body: unknown) => ({ status: 200, body }) };
  const portOf = (url: string) => Number(new URL(url).port);
  const healthy = async (url: string) => expect((await fetch(`${url}/healthz`)).status).toBe(200);

  it('reads a target that looks like a host and port as a path: GET //a:99999/ is a 404', async () => {
    const url = await start();
    const r = await rawRequest(
      portOf(url),
      'GET //a:99999/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    );
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toEqual({ error: 'not_found', message: 'No route for GET //a:99999/' });
    await healthy(url);
  });

  it('answers a target that is no path here with a JSON 400', async () => {
    const url = await start();
    for (const target of ['http://a:99999/healthz', '*', 'ftp://x/healthz']) {
      const r = await rawRequest(
        portOf(url),
        `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
      );
      expect(r.status, target).toBe(400);
      expect(JSON.parse(r.body), target).toMatchObject({ error: 'bad_request' });
    }
    // The absolute form of a valid URL is routed by its path.
    const ok = await rawRequest(
      portOf(url),
      'GET http://a:1/healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    );
    expect(ok.status).toBe(200);
    await healthy(url);
  });

  it('drops a POST whose body is cut off mid-way, without an unhandled rejection', async () => {
    const calls: unknown[] = [];
    const url = await start({ metricPush: (body) => (calls.push(body), { status: 200, body }) });
    const r = await rawRequest(
      portOf(url),
      'POST /api/metrics/push HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"a":',
      { cutAfterMs: 50 },
    );
    expect(r.status).toBeNull();
    // Give the server's side of the cut time to play out (an unhandled rejection shows up here).
    await sleep(100);
    expect(calls).toEqual([]);
    await healthy(url);
  });

  it('answers 413 to a body over the limit, and the client reads it', async () => {
    const url = await start(echo);
    const body = 'x'.repeat(MAX_BODY_BYTES + 1);
    const r = await rawRequest(
      portOf(url),
      `POST /api/metrics/push HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'too_large' });
    await healthy(url);
  });

  it('answers 500 when a handler or the authentication throws', async () => {
    const url = await start({
      metricPush: () => {
        throw new Error('push broke');
      },
      simulatorLoad: () => ({ status: 200, body: {} }),
      authenticate: (req) => {
        if (req.url === '/api/simulator/load') throw new Error('auth broke');
        return { ok: true, user: null };
      },
      health: () => {
        throw new Error('health broke');
      },
      metricsText: () => {
        throw new Error('metrics broke');
      },
    });
    const post = (path: string) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    for (const [res, message] of [
      [await post('/api/metrics/push'), 'push broke'],
      [await post('/api/simulator/load'), 'auth broke'],
      [await fetch(`${url}/api/health`), 'health broke'],
      [await fetch(`${url}/metrics`), 'metrics broke'],
    ] as const) {
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'internal', message });
    }
    await healthy(url);
  });

  it('answers malformed requests and oversized headers with JSON, then closes', async () => {
    const url = await start(echo);
    const cases: [string, number][] = [
      ['GARBAGE\r\n\r\n', 400],
      ['GET /healthz HTTP/1.1\r\nbad header line\r\n\r\n', 400],
      ['GET /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n', 400],
      ['POST /api/metrics/push HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', 400],
      [`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      [`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`, 431],
    ];
    for (const [request, status] of cases) {
      const r = await rawRequest(portOf(url), request);
      expect(r.status, request.slice(0, 60)).toBe(status);
      expect(r.head.toLowerCase()).toContain('content-type: application/json');
      expect(JSON.parse(r.body)).toHaveProperty('error');
    }
    // Many headers are cut to the first hundred rather than refused.
    const many = Array.from({ length: 500 }, (_, i) => `x-h${i}: ${i}\r\n`).join('');
    const r = await rawRequest(
      portOf(url),
      `GET /healthz HTTP/1.1\r\nhost: x\r\n${many}connection: close\r\n\r\n`,
    );
    expect(r.status).toBe(200);
    await healthy(url);
  });

  it('answers 408 to a client that does not finish its headers in time', async () => {
    const url = await start({ timeouts: { headersMs: 200, requestMs: 200 } });
    const r = await rawRequest(portOf(url), 'GET /healthz HTTP/1.1\r\nhost: x\r\n', { timeoutMs: 10_000 });
    expect(r.status).toBe(408);
    // A connection that sends nothing at all is closed the same way.
    expect((await rawRequest(portOf(url), '', { timeoutMs: 10_000 })).status).toBe(408);
    await healthy(url);
  });
});

describe('GET /metrics', () => {
  const exposition = '# HELP up Up.\n# TYPE up gauge\nup 1\n';

  it('serves a text made asynchronously, and HEAD with its length but no body', async () => {
    const url = await start({ metricsText: async () => exposition });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe(exposition);
    const head = await fetch(`${url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(exposition)));
    expect(await head.text()).toBe('');
  });

  it('answers 500 when the text is refused, and when it takes too long; the server goes on', async () => {
    const watch = watchForCrashes();
    let mode: 'reject' | 'hang' | 'ok' = 'reject';
    const url = await start({
      timeouts: { metricsMs: 100 },
      metricsText: () =>
        mode === 'reject'
          ? Promise.reject(new Error('collect broke'))
          : mode === 'hang'
            ? new Promise<string>(() => {})
            : Promise.resolve(exposition),
    });
    const refused = await fetch(`${url}/metrics`);
    expect(refused.status).toBe(500);
    expect(await refused.json()).toEqual({ error: 'internal', message: 'collect broke' });
    mode = 'hang';
    const slow = await fetch(`${url}/metrics`);
    expect(slow.status).toBe(500);
    expect(await slow.json()).toMatchObject({
      error: 'internal',
      message: expect.stringContaining('too long'),
    });
    mode = 'ok';
    expect(await (await fetch(`${url}/metrics`)).text()).toBe(exposition);
    watch.stop();
    expect(watch.crashes).toEqual([]);
  });

  it('answers other methods with a 405 and an Allow header', async () => {
    const url = await start({ metricsText: () => exposition });
    const res = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(await res.json()).toMatchObject({ error: 'method_not_allowed' });
  });
});

describe('pathOf', () => {
  it('reads origin-form and absolute-form targets, and refuses the rest', () => {
    expect(pathOf('/healthz?x=1')).toBe('/healthz');
    expect(pathOf('//a:99999/b')).toBe('//a:99999/b');
    expect(pathOf('/a/../trpc/x')).toBe('/trpc/x');
    expect(pathOf('/%zz%')).toBe('/%zz%');
    expect(pathOf('https://h/p')).toBe('/p');
    expect(pathOf('http://h:99999/p')).toBeNull();
    expect(pathOf('*')).toBeNull();
    expect(pathOf('')).toBeNull();
    expect(pathOf(undefined)).toBeNull();
  });
});
