/**
 * The unary gRPC server under the rate-limit service, over real connections: a real gRPC client
 * (@grpc/grpc-js) for what clients see, raw HTTP/2 (node:http2) for what a gRPC client would never send (a
 * foreign content type, a compressed or truncated message, a request that never ends), and raw TCP for
 * connections that never get as far as HTTP/2.
 */
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_UNARY_SERVER_LIMITS,
  encodeGrpcMessage,
  GrpcError,
  GrpcStatus,
  UnaryGrpcServer,
  type UnaryServerOptions,
} from '../../src/rls/grpc-unary-server';
import { PREFACE } from '../support/h2-frames';

const ECHO = '/test.Echo/Say';
const text = {
  serialize: (s: string) => Buffer.from(s, 'utf8'),
  deserialize: (b: Buffer) => b.toString('utf8'),
};

let server: UnaryGrpcServer | null = null;
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = null;
});

/** An echo server whose handler can be made to wait or fail. */
async function start(
  handle: (s: string) => Promise<string> = async (s) => `said: ${s}`,
  options: UnaryServerOptions = {},
): Promise<number> {
  server = new UnaryGrpcServer(options).addMethod({
    path: ECHO,
    decode: (b) => {
      const s = text.deserialize(b);
      if (s.includes('\u0000')) throw new Error('not text');
      return s;
    },
    encode: text.serialize,
    handle,
  });
  return server.listen('127.0.0.1', 0);
}

function call(port: number, message: string, path = ECHO): Promise<string> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(client);
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(path, text.serialize, text.deserialize, message, (error, reply) =>
      error ? reject(error) : resolve(reply!),
    ),
  );
}

/** One raw HTTP/2 request: the response headers, trailers and body. */
function raw(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': ECHO, ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (responseHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      session.close();
      resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const frame = (payload: Buffer, compressed = 0): Buffer => {
  const f = Buffer.alloc(5 + payload.length);
  f[0] = compressed;
  f.writeUInt32BE(payload.length, 1);
  payload.copy(f, 5);
  return f;
};

describe('the unary gRPC server', () => {
  it('answers a gRPC client, many calls at once on one connection', async () => {
    const port = await start();
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => call(port, `n${i}`)));
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `said: n${i}`));
  });

  it('takes a request message split over several DATA frames', async () => {
    const port = await start(async (s) => `${s.length}`, { maxMessageBytes: 300_000 });
    // 200 KB: more than one 16 KB frame, and more than the default initial flow-control window.
    expect(await call(port, 'x'.repeat(200_000))).toBe('200000');
  });

  it('answers unknown methods UNIMPLEMENTED and handler failures with their status and message', async () => {
    let port = await start(async (s) => {
      if (s === 'bad') throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'bad input: 100% wrong ✗');
      throw new Error('boom');
    });
    await expect(call(port, 'x', '/test.Echo/Other')).rejects.toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
      details: 'unknown method /test.Echo/Other',
    });
    await expect(call(port, 'bad')).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'bad input: 100% wrong ✗',
    });
    await expect(call(port, 'other')).rejects.toMatchObject({ code: grpc.status.INTERNAL, details: 'boom' });
    await expect(call(port, 'not\u0000text')).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: 'the request message could not be parsed: not text',
    });
    await server!.close();
    port = await start(async (s) => s, { maxMessageBytes: 1000 });
    await expect(call(port, 'y'.repeat(5000))).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
    expect(await call(port, 'small')).toBe('small');
  });

  it('fails only the call when a handler throws instead of rejecting, or its answer cannot be encoded', async () => {
    server = new UnaryGrpcServer().addMethod({
      path: ECHO,
      decode: text.deserialize,
      encode: (s: string) => {
        if (s === 'unencodable') throw new RangeError('no such unit');
        return text.serialize(s);
      },
      handle: (s: string) => {
        if (s === 'throw') throw new Error('thrown, not rejected');
        return Promise.resolve(s);
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    await expect(call(port, 'throw')).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: 'thrown, not rejected',
    });
    await expect(call(port, 'unencodable')).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: 'no such unit',
    });
    expect(await call(port, 'still served')).toBe('still served');
  });

  it('refuses what a gRPC client would not send: another content type, compressed or truncated messages', async () => {
    const port = await start();
    const json = await raw(port, { 'content-type': 'application/json' }, Buffer.from('{}'));
    expect(json.headers[':status']).toBe(415);
    const compressed = await raw(port, { 'content-type': 'application/grpc' }, frame(Buffer.from('hi'), 1));
    expect(compressed.headers['grpc-status']).toBe(String(GrpcStatus.UNIMPLEMENTED));
    const truncated = await raw(
      port,
      { 'content-type': 'application/grpc' },
      frame(Buffer.from('hello')).subarray(0, 7),
    );
    expect(truncated.headers['grpc-status']).toBe(String(GrpcStatus.INTERNAL));
    const ok = await raw(port, { 'content-type': 'application/grpc+proto' }, frame(Buffer.from('hi')));
    expect(ok.headers[':status']).toBe(200);
    expect(ok.trailers['grpc-status']).toBe('0');
    expect(ok.body.subarray(5).toString()).toBe('said: hi');
  });

  it('survives a client that cancels its call, and lets calls in progress finish when closed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const port = await start(async (s) => {
      await gate;
      return `late ${s}`;
    });
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(client);
    const cancelled = client.makeUnaryRequest(
      ECHO,
      text.serialize,
      text.deserialize,
      'gone',
      () => undefined,
    );
    const pending = call(port, 'kept');
    await new Promise((r) => setTimeout(r, 100));
    cancelled.cancel();
    const closing = server!.close();
    release();
    await expect(pending).resolves.toBe('late kept');
    await closing;
    server = null;
    await expect(call(port, 'after')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('percent-encodes grpc-message as the gRPC spec says', () => {
    expect(encodeGrpcMessage('plain text: ok')).toBe('plain text: ok');
    expect(encodeGrpcMessage('50% é\n')).toBe('50%25 %C3%A9%0A');
  });
});

describe('the unary gRPC server’s limits', () => {
  const sessions: http2.ClientHttp2Session[] = [];
  const sockets: net.Socket[] = [];
  afterEach(() => {
    for (const s of sessions.splice(0)) s.destroy();
    for (const s of sockets.splice(0)) s.destroy();
  });

  function connect(port: number): http2.ClientHttp2Session {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    sessions.push(session);
    return session;
  }

  /** A call whose request is `sent` (and ended when `end`): resolves with its answer's status and message. */
  function partial(
    session: http2.ClientHttp2Session,
    sent: Buffer,
    end = false,
  ): Promise<{ status: string | undefined; message: string | undefined }> {
    const req = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc' });
    req.on('error', () => undefined);
    if (end) req.end(sent);
    else req.write(sent);
    return new Promise((resolve) => {
      let status: string | undefined;
      let message: string | undefined;
      const take = (h: http2.IncomingHttpHeaders) => {
        status ??= h['grpc-status'] as string | undefined;
        message ??= h['grpc-message'] as string | undefined;
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('close', () => resolve({ status, message }));
      req.resume();
    });
  }

  it('has documented defaults', () => {
    expect(new UnaryGrpcServer().limits).toEqual(DEFAULT_UNARY_SERVER_LIMITS);
    expect(DEFAULT_UNARY_SERVER_LIMITS.maxMessageBytes).toBe(64 * 1024);
    expect(() => new UnaryGrpcServer({ maxConnections: 0 })).toThrow(RangeError);
  });

  it('takes a 64 KiB message by default and refuses a byte more, still serving after', async () => {
    const port = await start(async (s) => `${s.length}`);
    expect(await call(port, 'x'.repeat(64 * 1024))).toBe(String(64 * 1024));
    await expect(call(port, 'x'.repeat(64 * 1024 + 1))).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: 'request larger than 65536 bytes',
    });
    expect(await call(port, 'after')).toBe('5');
  });

  it('holds at most so many request bytes per connection and in all; the calls that would go beyond are refused', async () => {
    const port = await start(async (s) => `${s.length}`, {
      maxBufferedBytesPerConnection: 50_000,
      maxBufferedBytes: 80_000,
    });
    const header = frame(Buffer.alloc(40_000)).subarray(0, 5);
    const part = Buffer.concat([header, Buffer.alloc(30_000)]);
    // 30 KB waiting on one connection: a second call's 30 KB would make 60 KB there.
    const a = connect(port);
    const first = partial(a, part);
    await new Promise((r) => setTimeout(r, 100));
    expect(await partial(a, part)).toMatchObject({
      status: String(GrpcStatus.RESOURCE_EXHAUSTED),
      message: 'too many request bytes waiting; try again',
    });
    // 30 KB on a second connection is fine (60 KB in all); on a third it would be 90 KB.
    const b = connect(port);
    const second = partial(b, part);
    await new Promise((r) => setTimeout(r, 100));
    expect(await partial(connect(port), part)).toMatchObject({
      status: String(GrpcStatus.RESOURCE_EXHAUSTED),
    });
    // The calls held are still served once their requests end, and a small call goes through meanwhile.
    expect(await call(port, 'small')).toBe('5');
    a.destroy();
    b.destroy();
    await Promise.all([first, second]);
    // Their bytes are let go once the server sees the connections close.
    await vi.waitFor(async () => expect(await call(port, 'x'.repeat(45_000))).toBe('45000'));
  });

  it('fails a call whose request does not arrive in time with DEADLINE_EXCEEDED', async () => {
    const port = await start(undefined, { requestTimeoutMs: 300 });
    const started = Date.now();
    const answer = await partial(connect(port), frame(Buffer.from('never finished')).subarray(0, 8));
    expect(answer).toEqual({
      status: String(GrpcStatus.DEADLINE_EXCEEDED),
      message: 'the request did not arrive in time',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  /** A raw TCP connection; resolves with how long the server took to close it. */
  function rawConnection(port: number, send: Buffer): { closed: Promise<number>; received: () => number } {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(send));
    sockets.push(socket);
    socket.on('error', () => undefined);
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    return {
      closed: new Promise((r) => socket.once('close', () => r(Date.now() - started))),
      received: () => received,
    };
  }

  it('closes a connection that sends no complete call in time: half a preface, or a call’s headers never ended', async () => {
    const port = await start(undefined, { firstCallTimeoutMs: 400 });
    const halfPreface = rawConnection(port, PREFACE.subarray(0, 10));
    // The preface and SETTINGS, then a HEADERS frame without END_HEADERS and no CONTINUATION.
    const headersOpen = rawConnection(
      port,
      Buffer.concat([
        PREFACE,
        Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
        Buffer.from([0, 0, 1, 1, 0, 0, 0, 0, 1, 0x83]),
      ]),
    );
    for (const c of [halfPreface, headersOpen]) {
      const ms = await c.closed;
      expect(ms).toBeGreaterThanOrEqual(400);
      expect(ms).toBeLessThan(3000);
    }
    expect(await call(port, 'still')).toBe('said: still');
  });

  it('sends GOAWAY to a connection idle for the idle timeout, not to one in use', async () => {
    const port = await start(undefined, { idleTimeoutMs: 400 });
    const idle = connect(port);
    expect(await partial(idle, frame(Buffer.from('once')), true)).toMatchObject({ status: '0' });
    const goaway = new Promise<number>((r) => idle.once('goaway', (code) => r(code)));
    const busy = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(busy);
    const busyCall = (m: string) =>
      new Promise<string>((resolve, reject) =>
        busy.makeUnaryRequest(ECHO, text.serialize, text.deserialize, m, (e, r) =>
          e ? reject(e) : resolve(r!),
        ),
      );
    const started = Date.now();
    // Calls every 100 ms keep the busy connection; the idle one goes.
    while (Date.now() - started < 1000) {
      expect(await busyCall('tick')).toBe('said: tick');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(server!.connections).toBe(1);
  });

  it('refuses connections beyond the cap as they arrive, and takes new ones once others have gone', async () => {
    const port = await start(undefined, { maxConnections: 2 });
    const held = [connect(port), connect(port)];
    for (const h of held)
      expect(await partial(h, frame(Buffer.from('hi')), true)).toMatchObject({ status: '0' });
    const extra = rawConnection(port, PREFACE);
    expect(await extra.closed).toBeLessThan(1000);
    expect(server!.connections).toBe(2);
    for (const h of held) h.destroy();
    await vi.waitFor(() => expect(server!.connections).toBe(0));
    expect(await call(port, 'back')).toBe('said: back');
  });
  it('closes new connections for the rest of a second once too many have ended in protocol errors', async () => {
    const port = await start(undefined, { maxFailedConnectionsPerSecond: 3 });
    const kept = connect(port);
    expect(await partial(kept, frame(Buffer.from('kept')), true)).toMatchObject({ status: '0' });
    // Not HTTP/2 at all: nghttp2 ends each of these with a protocol error.
    for (let i = 0; i < 3; i++)
      expect(await rawConnection(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).closed).toBeLessThan(
        1000,
      );
    // A well-formed client is now turned away at once, before any HTTP/2 is spoken...
    const turnedAway = rawConnection(port, PREFACE);
    expect(await turnedAway.closed).toBeLessThan(1000);
    // Not even the server's SETTINGS: the connection got no HTTP/2 session.
    expect(turnedAway.received()).toBe(0);
    // ...while the connection already open is served, and a second later new ones are taken again.
    expect(await partial(kept, frame(Buffer.from('still')), true)).toMatchObject({ status: '0' });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await call(port, 'later')).toBe('said: later');
  });
});
