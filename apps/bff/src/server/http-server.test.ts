import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type BffHttpServer, type ServerInfo } from './http-server';

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

async function start(options: { shutdownGraceMs?: number } = {}): Promise<string> {
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
