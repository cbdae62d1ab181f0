/**
 * A unary-only gRPC server straight on `node:http2`: the wire protocol of gRPC over HTTP/2 (a
 * length-prefixed message each way, the status in trailers) without a general framework's per-call
 * machinery (interceptors, metadata objects, deadline timers, stream wrappers). The rate-limit service is
 * one unary method called for every request that crosses a sidecar, so what each call costs in CPU and
 * garbage is what its latency and throughput are made of.
 *
 * What it does not do (the rate-limit API needs none of it): streaming methods, compressed messages
 * (answered UNIMPLEMENTED: clients compress only when the server advertises an encoding, and this one
 * advertises none), deadlines (`grpc-timeout` is the client's to enforce; an answer takes a Redis round trip).
 */
import http2 from 'node:http2';

/** gRPC status codes used here. */
export const GrpcStatus = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** One unary method: its HTTP/2 path (`/package.Service/Method`), codec and handler. */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
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
  /** Largest request message accepted (RESOURCE_EXHAUSTED beyond). Default 4 MiB, as gRPC's default. */
  readonly maxMessageBytes?: number;
}

/** grpc-message is percent-encoded (the gRPC spec): printable ASCII except `%` goes as it is. */
export function encodeGrpcMessage(message: string): string {
  return message.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
const OK_TRAILERS = { 'grpc-status': '0' };

export class UnaryGrpcServer {
  private readonly methods = new Map<string, UnaryMethod<unknown, unknown>>();
  private readonly maxMessageBytes: number;
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(options: UnaryServerOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
    this.server = http2.createServer();
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      // A peer's protocol error ends its session; it must not end the process.
      session.on('error', () => undefined);
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
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
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /**
   * Stops accepting connections and lets the calls in progress finish (each session is sent GOAWAY);
   * sessions still open after `graceMs` are closed.
   */
  async close(graceMs = 1000): Promise<void> {
    if (!this.server.listening) return;
    // Resolves once the listener is closed and every session has ended.
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // A client that resets its call must not crash the server; the reply is then simply dropped.
    stream.on('error', () => undefined);
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      // Not gRPC at all: the spec's answer is HTTP 415.
      if (!stream.destroyed) stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const method = headers[':method'] === 'POST' ? this.methods.get(String(headers[':path'])) : undefined;
    if (method === undefined) {
      this.fail(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${String(headers[':path'])}`);
      return;
    }
    let first: Buffer | null = null;
    let chunks: Buffer[] | null = null;
    let size = 0;
    let refused = false;
    stream.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > this.maxMessageBytes + 5) {
        refused = true;
        this.fail(stream, GrpcStatus.RESOURCE_EXHAUSTED, `request larger than ${this.maxMessageBytes} bytes`);
        return;
      }
      if (first === null) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    stream.on('end', () => {
      if (refused) return;
      const body = chunks !== null ? Buffer.concat(chunks) : (first ?? Buffer.alloc(0));
      this.call(stream, method, body);
    });
  }

  private call(stream: http2.ServerHttp2Stream, method: UnaryMethod<unknown, unknown>, body: Buffer): void {
    if (body.length < 5) {
      this.fail(stream, GrpcStatus.INTERNAL, 'no request message');
      return;
    }
    const length = body.readUInt32BE(1);
    if (body.length !== 5 + length) {
      this.fail(stream, GrpcStatus.INTERNAL, 'a unary call takes exactly one request message');
      return;
    }
    if (body[0] !== 0) {
      this.fail(stream, GrpcStatus.UNIMPLEMENTED, 'compressed messages are not supported');
      return;
    }
    let request: unknown;
    try {
      request = method.decode(body.subarray(5));
    } catch {
      this.fail(stream, GrpcStatus.INTERNAL, 'the request message could not be parsed');
      return;
    }
    method.handle(request).then(
      (response) => {
        if (stream.destroyed || stream.closed) return;
        const message = method.encode(response);
        const frame = Buffer.allocUnsafe(5 + message.length);
        frame[0] = 0;
        frame.writeUInt32BE(message.length, 1);
        message.copy(frame, 5);
        stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
        stream.end(frame);
      },
      (error: unknown) => {
        if (error instanceof GrpcError) this.fail(stream, error.code, error.message);
        else this.fail(stream, GrpcStatus.INTERNAL, error instanceof Error ? error.message : String(error));
      },
    );
  }

  /** A trailers-only answer: the status in the one HEADERS frame that ends the stream. */
  private fail(stream: http2.ServerHttp2Stream, code: number, message: string): void {
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(code),
        'grpc-message': encodeGrpcMessage(message),
      },
      { endStream: true },
    );
  }
}
