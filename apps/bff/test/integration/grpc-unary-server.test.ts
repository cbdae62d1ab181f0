/**
 * The unary gRPC server under the rate-limit service, over real connections: a real gRPC client
 * (@grpc/grpc-js) for what clients see, and raw HTTP/2 (node:http2) for what a gRPC client would never
 * send (a foreign content type, a compressed or truncated message).
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeGrpcMessage, GrpcError, GrpcStatus, UnaryGrpcServer } from '../../src/rls/grpc-unary-server';

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
  maxMessageBytes?: number,
): Promise<number> {
  server = new UnaryGrpcServer(maxMessageBytes === undefined ? {} : { maxMessageBytes }).addMethod({
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
    const port = await start(async (s) => `${s.length}`);
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
    await expect(call(port, 'not\u0000text')).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    await server!.close();
    port = await start(async (s) => s, 1000);
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
