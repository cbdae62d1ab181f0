/**
 * A unary-only gRPC server on Node's own HTTP/2 (`node:http2`, nghttp2 underneath), over cleartext with
 * prior knowledge, as Envoy and gRPC clients connect to a rate-limit service. nghttp2 does the parsing,
 * flow control and the protocol's flood protections (CONTINUATION, rapid reset, PING and SETTINGS floods);
 * this file adds gRPC's framing and status codes, and the limits a server open to every sidecar needs:
 * connections per process, time to the first call, idle time, time to receive a request, and how many
 * request bytes may wait in memory per connection and in all.
 *
 * What it does not do (the rate-limit API needs none of it): streaming methods, compressed messages
 * (answered UNIMPLEMENTED: clients compress only when the server advertises an encoding, and this one
 * advertises none), deadlines (`grpc-timeout` is the client's to enforce; an answer takes a Redis round trip).
 */
import http2 from 'node:http2';
import net from 'node:net';
import { limitsOver } from '../lib/limits';
import { MemoryGuard } from './memory-guard';

/** gRPC status codes used here. */
export const GrpcStatus = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** One unary method: its HTTP/2 path (`/package.Service/Method`), codec and handler. */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  /** May throw a {@link GrpcError} to answer with its status; anything else thrown is INTERNAL. */
  readonly decode: (message: Buffer) => Req;
  readonly encode: (response: Res) => Buffer;
  readonly handle: (request: Req) => Promise<Res>;
}

/** A failure to answer with a particular status (anything else thrown by a handler is INTERNAL). */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface UnaryServerOptions {
  /** Largest request message accepted (RESOURCE_EXHAUSTED beyond). Default 64 KiB. */
  readonly maxMessageBytes?: number;
  /** Calls one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  readonly maxConcurrentStreams?: number;
  /** Largest request header list, uncompressed (SETTINGS_MAX_HEADER_LIST_SIZE). Default 64 KiB. */
  readonly maxHeaderListBytes?: number;
  /** Memory nghttp2 may hold for one connection (buffered frames, header tables), in MiB. Default 4. */
  readonly maxSessionMemoryMiB?: number;
  /** Connections open at once; more are closed as they arrive. Default 2,048. */
  readonly maxConnections?: number;
  /**
   * Connections that may end in an HTTP/2 protocol error (a flood nghttp2 detected, a malformed frame) in
   * one second; beyond that, new connections are closed as they arrive for the rest of the second, before
   * any HTTP/2 state is set up for them. Connections already open are not affected. Default 50.
   */
  readonly maxFailedConnectionsPerSecond?: number;
  /** A connection that has not sent a complete call's headers this long after connecting is closed. Default 10 s. */
  readonly firstCallTimeoutMs?: number;
  /**
   * A connection with no call open and none started this long is sent GOAWAY; one on which no byte has
   * moved either way this long is closed (nghttp2 stops reading a connection it has given up on, without
   * closing it). Default 60 s.
   */
  readonly idleTimeoutMs?: number;
  /** A call whose request has not fully arrived this long after its headers fails DEADLINE_EXCEEDED. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Request bytes one connection may hold for calls still arriving (RESOURCE_EXHAUSTED beyond). Default 1 MiB. */
  readonly maxBufferedBytesPerConnection?: number;
  /** Request bytes all connections together may hold for calls still arriving. Default 32 MiB. */
  readonly maxBufferedBytes?: number;
  /** PINGs this server sent that may await their ACK (nghttp2's option). Default 10. */
  readonly maxOutstandingPings?: number;
  /** Entries one SETTINGS frame may carry. Default 32. */
  readonly maxSettings?: number;
  /**
   * Growth of the memory outside the JavaScript heap, in MiB, after which a full garbage collection is
   * asked for while listening (memory-guard.ts: what dropped HTTP/2 streams hold is freed only then).
   * Default 32.
   */
  readonly memoryHeadroomMiB?: number;
}

/** The limits in force, every option resolved. */
export type UnaryServerLimits = Required<UnaryServerOptions>;

export const DEFAULT_UNARY_SERVER_LIMITS: UnaryServerLimits = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxConcurrentStreams: 100,
  maxHeaderListBytes: 64 * 1024,
  maxSessionMemoryMiB: 4,
  maxConnections: 2048,
  maxFailedConnectionsPerSecond: 50,
  firstCallTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  requestTimeoutMs: 10_000,
  maxBufferedBytesPerConnection: 1024 * 1024,
  maxBufferedBytes: 32 * 1024 * 1024,
  maxOutstandingPings: 10,
  maxSettings: 32,
  memoryHeadroomMiB: 32,
});

/** grpc-message is percent-encoded (the gRPC spec): printable ASCII except `%` goes as it is. */
export function encodeGrpcMessage(message: string): string {
  return message.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc' };
const OK_TRAILERS: http2.OutgoingHttpHeaders = { 'grpc-status': '0' };
const UNSUPPORTED_MEDIA_TYPE: http2.OutgoingHttpHeaders = {
  ':status': 415,
  'content-type': 'text/plain; charset=utf-8',
};
const UNSUPPORTED_MEDIA_TYPE_BODY = Buffer.from('a gRPC service: requests must be application/grpc\n');

/** What the server keeps per connection. */
interface Session {
  readonly h2: http2.ServerHttp2Session;
  readonly connectedAt: number;
  /** When a call last started or ended (0: none yet). */
  lastCallAt: number;
  /** Calls whose stream is still open. */
  open: number;
  /** Request bytes held for this connection's calls still arriving. */
  buffered: number;
  /** Calls whose request is still arriving, for the request timeout. */
  readonly arriving: Set<Call>;
}

/** One call in progress: its request's bytes as they arrive. */
interface Call {
  readonly server: UnaryGrpcServer;
  readonly stream: CallStream;
  readonly session: Session;
  /** The method called, or null when the call is refused once its request has arrived. */
  readonly method: UnaryMethod<unknown, unknown> | null;
  /** The answer to a refused call. */
  readonly refusal: http2.OutgoingHttpHeaders | null;
  readonly startedAt: number;
  /** The first chunk (usually the whole message), then any further ones. */
  first: Buffer | null;
  rest: Buffer[] | null;
  bytes: number;
  /** Answered (or refused) already: what still arrives is dropped. */
  done: boolean;
}

const kCall = Symbol('call');
type CallStream = http2.ServerHttp2Stream & { [kCall]?: Call };

// Stream listeners shared by every call (the call hangs off the stream), so a call allocates no closures.
function onData(this: CallStream, chunk: Buffer): void {
  const call = this[kCall]!;
  if (!call.done) call.server.receive(call, chunk);
}
function onEnd(this: CallStream): void {
  const call = this[kCall]!;
  if (!call.done) call.server.complete(call);
}
function onClose(this: CallStream): void {
  const call = this[kCall];
  if (call) call.server.closed(call);
}
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  try {
    this.sendTrailers(OK_TRAILERS);
  } catch {
    // The stream went away meanwhile: nothing is owed to it.
  }
}
/** Stream errors (a reset, a peer gone) end that call only; `close` follows and does the accounting. */
function ignore(): void {}

export class UnaryGrpcServer {
  readonly limits: UnaryServerLimits;
  private readonly methods = new Map<string, UnaryMethod<unknown, unknown>>();
  /** Accepts connections and hands them to {@link server}: what is refused costs no HTTP/2 state. */
  private readonly tcp: net.Server;
  private readonly server: http2.Http2Server;
  private sockets = 0;
  private failedWindowStart = 0;
  private failedInWindow = 0;
  private readonly sessions = new Map<http2.Http2Session, Session>();
  private buffered = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly memoryGuard: MemoryGuard;
  private closing = false;

  constructor(options: UnaryServerOptions = {}) {
    const limits = limitsOver(DEFAULT_UNARY_SERVER_LIMITS, options);
    this.limits = limits;
    this.memoryGuard = new MemoryGuard(limits.memoryHeadroomMiB);
    this.server = http2.createServer({
      maxSessionMemory: limits.maxSessionMemoryMiB,
      maxOutstandingPings: limits.maxOutstandingPings,
      maxSettings: limits.maxSettings,
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderListBytes,
        enablePush: false,
      },
    });
    this.tcp = net.createServer({ noDelay: true }, (socket) => this.onSocket(socket));
    // With no 'timeout' listener, Node destroys the session.
    this.server.setTimeout(limits.idleTimeoutMs);
    this.server.on('session', (h2) => this.onSession(h2));
    this.server.on('stream', (stream, headers) => this.onStream(stream as CallStream, headers));
  }

  /** Serves a method (before {@link listen}). */
  addMethod<Req, Res>(method: UnaryMethod<Req, Res>): this {
    this.methods.set(method.path, method as unknown as UnaryMethod<unknown, unknown>);
    return this;
  }

  /** Listens on `host:port` (0: a free port); resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.tcp.once('error', onError);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', onError);
        const every = Math.max(
          10,
          Math.min(
            1000,
            this.limits.firstCallTimeoutMs / 4,
            this.limits.idleTimeoutMs / 4,
            this.limits.requestTimeoutMs / 4,
          ),
        );
        this.sweeper = setInterval(() => this.sweep(), every);
        this.sweeper.unref();
        this.memoryGuard.start();
        const address = this.tcp.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /** Connections open now. */
  get connections(): number {
    return this.sessions.size;
  }

  /**
   * Stops accepting connections and lets the calls in progress finish (each connection is sent GOAWAY);
   * connections still open after `graceMs` are closed.
   */
  async close(graceMs = 1000): Promise<void> {
    if (!this.tcp.listening) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const session of this.sessions.values()) session.h2.close();
    const timer = setTimeout(() => {
      for (const session of this.sessions.values()) session.h2.destroy();
    }, graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.memoryGuard.stop();
  }

  private onSocket(socket: net.Socket): void {
    if (
      this.sockets >= this.limits.maxConnections ||
      (this.failedInWindow >= this.limits.maxFailedConnectionsPerSecond &&
        performance.now() - this.failedWindowStart < 1000)
    ) {
      socket.destroy();
      return;
    }
    this.sockets++;
    socket.once('close', () => this.sockets--);
    this.server.emit('connection', socket);
  }

  /** A connection ended in a protocol error: counted towards refusing new ones. */
  private onSessionError(): void {
    const now = performance.now();
    if (now - this.failedWindowStart >= 1000) {
      this.failedWindowStart = now;
      this.failedInWindow = 0;
    }
    this.failedInWindow++;
  }

  private onSession(h2: http2.ServerHttp2Session): void {
    const session: Session = {
      h2,
      connectedAt: performance.now(),
      lastCallAt: 0,
      open: 0,
      buffered: 0,
      arriving: new Set(),
    };
    this.sessions.set(h2, session);
    // nghttp2's own errors (floods, malformed frames) are ERR_HTTP2_ERROR; a peer gone is not counted.
    h2.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ERR_HTTP2_ERROR') this.onSessionError();
    });
    h2.once('close', () => {
      this.sessions.delete(h2);
      for (const call of session.arriving) this.release(call);
    });
    if (this.closing) h2.close();
  }

  /** Closes connections that have overstayed, and fails calls whose request is too slow in coming. */
  private sweep(): void {
    const now = performance.now();
    const { firstCallTimeoutMs, idleTimeoutMs, requestTimeoutMs } = this.limits;
    for (const session of this.sessions.values()) {
      if (session.lastCallAt === 0) {
        // Never a complete call: a slow or partial preface, or headers trickled in.
        if (now - session.connectedAt > firstCallTimeoutMs) session.h2.destroy();
        continue;
      }
      if (session.open === 0) {
        if (now - session.lastCallAt > idleTimeoutMs) {
          if (session.h2.closed) session.h2.destroy();
          else session.h2.close();
        }
        continue;
      }
      for (const call of session.arriving) {
        if (now - call.startedAt > requestTimeoutMs)
          this.refuse(call, GrpcStatus.DEADLINE_EXCEEDED, 'the request did not arrive in time');
      }
    }
  }

  private onStream(stream: CallStream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', ignore);
    const session = this.sessions.get(stream.session!);
    if (!session) {
      stream.close(NGHTTP2_CANCEL);
      return;
    }
    session.lastCallAt = performance.now();
    // A call that is refused is still read to its end (and dropped), as a server without this method would:
    // the peer's stream stays in the states it expects.
    let method: UnaryMethod<unknown, unknown> | null = null;
    let refusal: http2.OutgoingHttpHeaders | null = null;
    const contentType = headers['content-type'];
    const path = headers[':path'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc'))
      // Not gRPC at all: the spec's answer is HTTP 415.
      refusal = UNSUPPORTED_MEDIA_TYPE;
    else if (
      headers[':method'] !== 'POST' ||
      path === undefined ||
      !(method = this.methods.get(path) ?? null)
    )
      refusal = trailersOnly(GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
    const call: Call = {
      server: this,
      stream,
      session,
      method,
      refusal,
      startedAt: session.lastCallAt,
      first: null,
      rest: null,
      bytes: 0,
      done: false,
    };
    stream[kCall] = call;
    session.open++;
    session.arriving.add(call);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onClose);
  }

  /** A chunk of a call's request. */
  receive(call: Call, chunk: Buffer): void {
    const n = chunk.length;
    if (call.refusal !== null) {
      call.bytes += n;
      if (call.bytes > this.limits.maxMessageBytes + 5) {
        this.release(call);
        this.answerEarly(call.stream, call.refusal);
      }
      return;
    }
    if (call.bytes + n > this.limits.maxMessageBytes + 5) {
      this.refuse(
        call,
        GrpcStatus.RESOURCE_EXHAUSTED,
        `request larger than ${this.limits.maxMessageBytes} bytes`,
      );
      return;
    }
    const session = call.session;
    if (
      session.buffered + n > this.limits.maxBufferedBytesPerConnection ||
      this.buffered + n > this.limits.maxBufferedBytes
    ) {
      this.refuse(call, GrpcStatus.RESOURCE_EXHAUSTED, 'too many request bytes waiting; try again');
      return;
    }
    session.buffered += n;
    this.buffered += n;
    call.bytes += n;
    if (call.first === null) call.first = chunk;
    else (call.rest ??= []).push(chunk);
  }

  /** The call's request has arrived in full. */
  complete(call: Call): void {
    const stream = call.stream;
    if (call.refusal !== null) {
      this.release(call);
      if (call.refusal === UNSUPPORTED_MEDIA_TYPE) {
        if (respond(stream, UNSUPPORTED_MEDIA_TYPE, NO_DATE)) stream.end(UNSUPPORTED_MEDIA_TYPE_BODY);
      } else respond(stream, call.refusal, END_STREAM);
      return;
    }
    const body =
      call.rest === null
        ? (call.first ?? Buffer.alloc(0))
        : Buffer.concat([call.first!, ...call.rest], call.bytes);
    this.release(call);
    if (body.length < 5) return this.fail(stream, GrpcStatus.INTERNAL, 'no request message');
    if (body.length !== 5 + body.readUInt32BE(1))
      return this.fail(stream, GrpcStatus.INTERNAL, 'a unary call takes exactly one request message');
    if (body[0] !== 0)
      return this.fail(stream, GrpcStatus.UNIMPLEMENTED, 'compressed messages are not supported');
    const method = call.method!;
    let request: unknown;
    try {
      request = method.decode(body.subarray(5));
    } catch (error) {
      if (error instanceof GrpcError) return this.fail(stream, error.code, error.message);
      return this.fail(
        stream,
        GrpcStatus.INTERNAL,
        `the request message could not be parsed: ${errorMessage(error)}`,
      );
    }
    let answer: Promise<unknown>;
    try {
      answer = method.handle(request);
    } catch (error) {
      // A handler that throws rather than rejects fails its call, not the connection it came on.
      answer = Promise.reject(error);
    }
    answer.then(
      (response) => {
        if (!answerable(stream)) return;
        let message: Buffer;
        try {
          message = method.encode(response);
        } catch (error) {
          this.fail(stream, GrpcStatus.INTERNAL, errorMessage(error));
          return;
        }
        const frame = Buffer.allocUnsafe(5 + message.length);
        frame[0] = 0;
        frame.writeUInt32BE(message.length, 1);
        message.copy(frame, 5);
        if (!respond(stream, RESPONSE_HEADERS, WAIT_FOR_TRAILERS)) return;
        stream.on('wantTrailers', sendOkTrailers);
        stream.end(frame);
      },
      (error: unknown) => {
        if (error instanceof GrpcError) this.fail(stream, error.code, error.message);
        else this.fail(stream, GrpcStatus.INTERNAL, errorMessage(error));
      },
    );
  }

  /** The call's stream has closed (answered, reset or its connection gone). */
  closed(call: Call): void {
    this.release(call);
    call.session.open--;
    call.session.lastCallAt = performance.now();
  }

  /** Drops what the call holds of its request; it is no longer arriving. */
  private release(call: Call): void {
    if (call.done) return;
    call.done = true;
    call.session.arriving.delete(call);
    // A refused call's bytes were counted but never held.
    if (call.refusal === null) {
      call.session.buffered -= call.bytes;
      this.buffered -= call.bytes;
    }
    call.first = null;
    call.rest = null;
  }

  /** Fails a call whose request is still arriving: the status now, and the rest of the request refused. */
  private refuse(call: Call, code: number, message: string): void {
    this.release(call);
    this.answerEarly(call.stream, trailersOnly(code, message));
  }

  /** Answers before the request has been read in full, then resets the stream so the rest is not sent. */
  private answerEarly(stream: http2.ServerHttp2Stream, headers: http2.OutgoingHttpHeaders): void {
    if (!respond(stream, headers, END_STREAM)) return;
    // NO_ERROR: the answer is complete; the peer need not send more (RFC 9113 §8.1).
    if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
  }

  private fail(stream: http2.ServerHttp2Stream, code: number, message: string): void {
    respond(stream, trailersOnly(code, message), END_STREAM);
  }
}

/** Whether an answer can still be sent: a reset or a lost connection ends a stream at any time. */
const answerable = (stream: http2.ServerHttp2Stream): boolean =>
  !stream.headersSent && !stream.destroyed && !stream.closed;

// No Date header: gRPC does not use it, and it is work on every answer.
const NO_DATE = { sendDate: false } as http2.ServerStreamResponseOptions;
const END_STREAM = { endStream: true, sendDate: false } as http2.ServerStreamResponseOptions;
const WAIT_FOR_TRAILERS = { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions;

/** Sends the answer's headers if the stream can still take them; never throws. */
function respond(
  stream: http2.ServerHttp2Stream,
  headers: http2.OutgoingHttpHeaders,
  options?: http2.ServerStreamResponseOptions,
): boolean {
  if (!answerable(stream)) return false;
  try {
    stream.respond(headers, options);
    return true;
  } catch {
    return false;
  }
}

/** A trailers-only answer: the status in the one HEADERS frame that ends the stream. */
function trailersOnly(code: number, message: string): http2.OutgoingHttpHeaders {
  return {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(code),
    'grpc-message': encodeGrpcMessage(message),
  };
}
