/**
 * Governor's own HTTP/2 connection under the unary gRPC server, over real TCP: Node's HTTP/2 client
 * (nghttp2: HPACK with Huffman coding and the dynamic table, flow control, frame sizes) for what real
 * clients do, and frames written by hand for what the protocol allows but clients rarely do (CONTINUATION,
 * zero windows, resets, pings) and what it forbids (each answered with the error RFC 9113 names).
 */
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UnaryGrpcServer } from '../../src/rls/grpc-unary-server';
import { encodeIndexedField, encodeLiteralField, HpackDecoder } from '../../src/rls/hpack';
import { frame, PREFACE } from '../support/h2-frames';

const ECHO = '/test.Echo/Say';
const T = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
};

let server: UnaryGrpcServer | null = null;
const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) c();
  await server?.close();
  server = null;
});

/** An echo server: the answer is the request's bytes, `hold` lets a test keep answers waiting. */
async function start(options: { maxConcurrentStreams?: number; hold?: Promise<void> } = {}): Promise<number> {
  server = new UnaryGrpcServer(
    options.maxConcurrentStreams === undefined ? {} : { maxConcurrentStreams: options.maxConcurrentStreams },
  ).addMethod({
    path: ECHO,
    decode: (b: Buffer) => Buffer.from(b),
    encode: (b: Buffer) => b,
    handle: async (b: Buffer) => {
      await options.hold;
      return b;
    },
  });
  return server.listen('127.0.0.1', 0);
}

const grpcFrame = (payload: Buffer): Buffer => {
  const f = Buffer.alloc(5 + payload.length);
  f.writeUInt32BE(payload.length, 1);
  payload.copy(f, 5);
  return f;
};

const requestBlock = (path = ECHO, contentType = 'application/grpc'): Buffer =>
  Buffer.concat([
    encodeIndexedField(3), // :method POST
    encodeIndexedField(6), // :scheme http
    encodeLiteralField(':path', path),
    encodeLiteralField(':authority', 'localhost'),
    encodeLiteralField('content-type', contentType),
    encodeLiteralField('te', 'trailers'),
  ]);

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** A client writing frames by hand, and every frame the server sends, parsed. */
async function rawClient(port: number, settings: Buffer = Buffer.alloc(0)) {
  const socket = net.connect(port, '127.0.0.1');
  cleanup.push(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  let input = Buffer.alloc(0);
  let ended = false;
  socket.on('data', (chunk: Buffer) => {
    input = Buffer.concat([input, chunk]);
    while (input.length >= 9 && input.length >= 9 + input.readUIntBE(0, 3)) {
      const length = input.readUIntBE(0, 3);
      frames.push({
        type: input[3]!,
        flags: input[4]!,
        id: input.readUInt32BE(5),
        payload: input.subarray(9, 9 + length),
      });
      input = input.subarray(9 + length);
    }
    for (const w of waiters.splice(0)) w();
  });
  socket.on('close', () => {
    ended = true;
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => undefined);
  socket.write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0, settings)]));
  const decoder = new HpackDecoder();
  return {
    socket,
    frames,
    send: (...bufs: Buffer[]) => socket.write(Buffer.concat(bufs)),
    get ended() {
      return ended;
    },
    /** Waits until `test` holds over the frames received (or the socket closes). */
    async until(test: (frames: Frame[]) => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 5000;
      while (!test(frames)) {
        if (ended) throw new Error(`connection closed waiting for ${what}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
    /** The server's header blocks decoded in order (one shared HPACK state, as a client keeps). */
    headers(id: number): Record<string, string>[] {
      return frames
        .filter((f) => f.type === T.HEADERS && f.id === id)
        .map((f) => {
          const out: Record<string, string> = {};
          decoder.decode(f.payload, (n, v) => (out[n] = v));
          return out;
        });
    },
  };
}

const goaway = (frames: Frame[]) => frames.find((f) => f.type === T.GOAWAY);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('the HTTP/2 connection', () => {
  it('serves an HTTP/2 client: many streams at once, and bodies larger than every window both ways', async () => {
    const port = await start();
    // A client window of 16 KiB: the server must split its answer and wait for WINDOW_UPDATEs.
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      settings: { initialWindowSize: 16_384 },
      // Node's client refuses its own streams (ENHANCE_YOUR_CALM) past 10 MB in flight by default.
      maxSessionMemory: 100,
    });
    cleanup.push(() => session.destroy());
    const call = (payload: Buffer) =>
      new Promise<{ status: string | undefined; body: Buffer }>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc' });
        const chunks: Buffer[] = [];
        let status: string | undefined;
        req.on('trailers', (t) => (status = String(t['grpc-status'])));
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
        req.on('error', reject);
        req.end(grpcFrame(payload));
      });
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const small = Array.from({ length: 200 }, (_, i) => Buffer.from(`call ${i}`));
    // Six of them: 18 MiB, more than the connection's 16 MiB window, which must be replenished as it is read.
    const answers = await Promise.all([...Array.from({ length: 6 }, () => call(big)), ...small.map(call)]);
    for (const bigAnswer of answers.splice(0, 6)) {
      expect(bigAnswer.status).toBe('0');
      expect(bigAnswer.body.equals(grpcFrame(big))).toBe(true);
    }
    const smallAnswers = answers;
    smallAnswers.forEach((a, i) => {
      expect(a.status).toBe('0');
      expect(a.body.subarray(5).toString()).toBe(`call ${i}`);
    });
  });

  it('exchanges SETTINGS, answers PING, and reads a header block continued over CONTINUATION frames', async () => {
    const port = await start();
    const c = await rawClient(port);
    await c.until((f) => f.some((x) => x.type === T.SETTINGS && x.flags === 1), 'SETTINGS ACK');
    const settings = c.frames.find((x) => x.type === T.SETTINGS && x.flags === 0)!;
    const values = new Map<number, number>();
    for (let at = 0; at < settings.payload.length; at += 6)
      values.set(settings.payload.readUInt16BE(at), settings.payload.readUInt32BE(at + 2));
    expect(values.get(0x3)).toBe(1000); // MAX_CONCURRENT_STREAMS
    expect(values.get(0x4)).toBe(1 << 20); // INITIAL_WINDOW_SIZE

    c.send(frame(T.PING, 0, 0, Buffer.from('12345678')));
    await c.until((f) => f.some((x) => x.type === T.PING), 'PING ACK');
    const pong = c.frames.find((x) => x.type === T.PING)!;
    expect(pong.flags).toBe(1);
    expect(pong.payload.toString()).toBe('12345678');

    const block = requestBlock();
    c.send(
      frame(T.HEADERS, 0, 1, block.subarray(0, 3)),
      frame(T.CONTINUATION, 0, 1, block.subarray(3, 10)),
      frame(T.CONTINUATION, 4, 1, block.subarray(10)),
      frame(T.DATA, 1, 1, grpcFrame(Buffer.from('continued'))),
    );
    await c.until((f) => f.filter((x) => x.type === T.HEADERS && x.id === 1).length === 2, 'trailers');
    const [head, trailers] = c.headers(1);
    expect(head).toEqual({ ':status': '200', 'content-type': 'application/grpc' });
    expect(trailers).toEqual({ 'grpc-status': '0' });
    const data = c.frames.find((x) => x.type === T.DATA && x.id === 1)!;
    expect(data.payload.subarray(5).toString()).toBe('continued');
  });

  it('holds an answer while the client window is closed, and sends it as the window opens', async () => {
    const port = await start();
    // INITIAL_WINDOW_SIZE 0: no DATA may be sent on a new stream until a WINDOW_UPDATE for it.
    const c = await rawClient(port, Buffer.from([0, 4, 0, 0, 0, 0]));
    c.send(frame(T.HEADERS, 4, 1, requestBlock()), frame(T.DATA, 1, 1, grpcFrame(Buffer.from('0123456789'))));
    await c.until((f) => f.some((x) => x.type === T.HEADERS && x.id === 1), 'response headers');
    await new Promise((r) => setTimeout(r, 100));
    expect(c.frames.filter((x) => x.id === 1).map((x) => x.type)).toEqual([T.HEADERS]);
    // Six octets of credit: the first six of the fifteen, in one DATA frame; the trailers still wait.
    c.send(frame(T.WINDOW_UPDATE, 0, 1, u32(6)));
    await c.until((f) => f.some((x) => x.type === T.DATA && x.id === 1), 'the first DATA');
    await new Promise((r) => setTimeout(r, 100));
    expect(c.frames.filter((x) => x.id === 1).map((x) => [x.type, x.payload.length])).toEqual([
      [T.HEADERS, expect.any(Number)],
      [T.DATA, 6],
    ]);
    c.send(frame(T.WINDOW_UPDATE, 0, 1, u32(100)));
    await c.until((f) => f.filter((x) => x.type === T.HEADERS && x.id === 1).length === 2, 'trailers');
    const body = Buffer.concat(c.frames.filter((x) => x.type === T.DATA && x.id === 1).map((x) => x.payload));
    expect(body.equals(grpcFrame(Buffer.from('0123456789')))).toBe(true);
    expect(c.frames.filter((x) => x.id === 1).at(-1)!.flags & 1).toBe(1);
  });

  it('drops the answer to a stream the client reset, and refuses streams beyond the concurrency limit', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const port = await start({ maxConcurrentStreams: 2, hold });
    const c = await rawClient(port);
    const request = (id: number, text: string) => [
      frame(T.HEADERS, 4, id, requestBlock()),
      frame(T.DATA, 1, id, grpcFrame(Buffer.from(text))),
    ];
    c.send(...request(1, 'one'), ...request(3, 'three'), ...request(5, 'five'));
    await c.until((f) => f.some((x) => x.type === T.RST_STREAM && x.id === 5), 'a refused stream');
    expect(c.frames.find((x) => x.type === T.RST_STREAM && x.id === 5)!.payload.readUInt32BE(0)).toBe(0x7);
    c.send(frame(T.RST_STREAM, 0, 1, u32(0x8)));
    await new Promise((r) => setTimeout(r, 50));
    release();
    await c.until((f) => f.filter((x) => x.type === T.HEADERS && x.id === 3).length === 2, 'the kept answer');
    expect(c.frames.filter((x) => x.id === 1)).toEqual([]);
    // The reset stream's slot is free again.
    c.send(...request(7, 'seven'));
    await c.until(
      (f) => f.filter((x) => x.type === T.HEADERS && x.id === 7).length === 2,
      'a new stream answered',
    );
  });

  it('answers protocol errors with GOAWAY and the error code RFC 9113 names', async () => {
    const port = await start();
    const cases: [string, Buffer[], number][] = [
      ['DATA on the connection', [frame(T.DATA, 0, 0, Buffer.from('x'))], 0x1],
      [
        'an interrupted header block',
        [frame(T.HEADERS, 0, 1, requestBlock()), frame(T.PING, 0, 0, Buffer.alloc(8))],
        0x1,
      ],
      ['a header block HPACK cannot decode', [frame(T.HEADERS, 4, 1, Buffer.from([0x80]))], 0x9],
      ['a PING of the wrong size', [frame(T.PING, 0, 0, Buffer.alloc(3))], 0x6],
      ['a stream id a client may not use', [frame(T.HEADERS, 4, 2, requestBlock())], 0x1],
      ['a frame larger than advertised', [frame(T.DATA, 0, 1, Buffer.alloc(16_385))], 0x6],
    ];
    for (const [what, frames, code] of cases) {
      const c = await rawClient(port);
      c.send(...frames);
      await c.until((f) => goaway(f) !== undefined, `GOAWAY for ${what}`);
      expect(goaway(c.frames)!.payload.readUInt32BE(4), what).toBe(code);
      await c.until(() => c.ended, `the connection closed after ${what}`);
    }
    // Not HTTP/2 at all: the connection is closed.
    const socket = net.connect(port, '127.0.0.1');
    cleanup.push(() => socket.destroy());
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const answer: Buffer[] = [];
    await new Promise<void>((resolve) =>
      socket
        .on('data', (d: Buffer) => answer.push(d))
        .on('close', () => resolve())
        .on('error', () => undefined),
    );
    // The server's preface, then GOAWAY with PROTOCOL_ERROR, then the end.
    const bytes = Buffer.concat(answer);
    expect(bytes.readUInt32BE(bytes.length - 4)).toBe(0x1);
    expect(bytes[bytes.length - 17 + 3]).toBe(T.GOAWAY);
  });

  it('closes gracefully: GOAWAY naming the last stream, the calls in progress answered, then the socket ends', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const port = await start({ hold });
    const c = await rawClient(port);
    c.send(frame(T.HEADERS, 4, 1, requestBlock()), frame(T.DATA, 1, 1, grpcFrame(Buffer.from('in flight'))));
    await new Promise((r) => setTimeout(r, 50));
    const closing = server!.close(5000);
    await c.until((f) => goaway(f) !== undefined, 'GOAWAY');
    expect(goaway(c.frames)!.payload.readUInt32BE(0)).toBe(1);
    expect(goaway(c.frames)!.payload.readUInt32BE(4)).toBe(0);
    release();
    await c.until(() => c.ended, 'the socket to end');
    await closing;
    server = null;
    const data = c.frames.find((x) => x.type === T.DATA && x.id === 1)!;
    expect(data.payload.subarray(5).toString()).toBe('in flight');
  });
});
