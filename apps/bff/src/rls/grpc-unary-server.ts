/**
 * A unary-only gRPC server on Governor's own HTTP/2 connection (`h2-connection.ts`, straight on TCP): the
 * wire protocol of gRPC over HTTP/2 (a length-prefixed message each way, the status in trailers) without a
 * general framework's per-call machinery (interceptors, metadata objects, deadline timers, stream
 * wrappers, an HTTP/2 stream object per call). The rate-limit service is
 * one unary method called for every request that crosses a sidecar, so what each call costs in CPU and
 * garbage is what its latency and throughput are made of.
 *
 * What it does not do (the rate-limit API needs none of it): streaming methods, compressed messages
 * (answered UNIMPLEMENTED: clients compress only when the server advertises an encoding, and this one
 * advertises none), deadlines (`grpc-timeout` is the client's to enforce; an answer takes a Redis round trip).
 */
import net from 'node:net';
import { H2Connection, type H2ConnectionLimits, type H2Handler, type H2Stream } from './h2-connection';
import { encodeIndexedField, encodeLiteralField } from './hpack';

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
  /** Calls one connection may have in progress at once (more are refused, and clients retry). Default 1,000. */
  readonly maxConcurrentStreams?: number;
}

/** grpc-message is percent-encoded (the gRPC spec): printable ASCII except `%` goes as it is. */
export function encodeGrpcMessage(message: string): string {
  return message.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/**
 * The header block of every answer: `:status: 200` (static index 8) and the gRPC content type, with no
 * dynamic-table state, so the same octets serve every call on every connection.
 */
const RESPONSE_HEADERS = Buffer.concat([
  encodeIndexedField(8),
  encodeLiteralField('content-type', 'application/grpc'),
]);

/** A trailers-only answer's header block: the status in the one HEADERS frame that ends the stream. */
function trailersOnly(code: number, message: string): Buffer {
  return Buffer.concat([
    RESPONSE_HEADERS,
    encodeLiteralField('grpc-status', String(code)),
    encodeLiteralField('grpc-message', encodeGrpcMessage(message)),
  ]);
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const OK_TRAILERS = encodeLiteralField('grpc-status', '0');
/** `:status: 415` (the name from the static table, the value literal). */
const UNSUPPORTED_MEDIA_TYPE = encodeLiteralField(':status', '415');

export class UnaryGrpcServer {
  private readonly methods = new Map<string, UnaryMethod<unknown, unknown>>();
  private readonly maxMessageBytes: number;
  private readonly server: net.Server;
  private readonly connections = new Set<H2Connection>();
  private readonly limits: H2ConnectionLimits;
  private readonly handler: H2Handler = {
    onHeaders: (stream, connection) => this.onHeaders(stream, connection),
    onRequest: (stream, body, connection) => this.call(stream, connection, body),
    onTooLarge: (stream, connection) =>
      this.fail(
        connection,
        stream,
        GrpcStatus.RESOURCE_EXHAUSTED,
        `request larger than ${this.maxMessageBytes} bytes`,
      ),
  };

  constructor(options: UnaryServerOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
    this.limits = {
      maxConcurrentStreams: options.maxConcurrentStreams ?? 1000,
      // As Node's HTTP/2 default: room for tracing and authentication headers a sidecar may add.
      maxHeaderListSize: 65_535,
    };
    this.server = net.createServer({ noDelay: true }, (socket) => {
      const connection = new H2Connection(socket, this.handler, this.limits);
      this.connections.add(connection);
      socket.once('close', () => this.connections.delete(connection));
    });
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
   * Stops accepting connections and lets the calls in progress finish (each connection is sent GOAWAY);
   * connections still open after `graceMs` are closed.
   */
  async close(graceMs = 1000): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const timer = setTimeout(() => {
      for (const connection of this.connections) connection.destroy();
    }, graceMs);
    timer.unref();
    await Promise.all([...this.connections].map((c) => c.shutdown()));
    await closed;
    clearTimeout(timer);
  }

  private onHeaders(stream: H2Stream, connection: H2Connection): number {
    if (!stream.contentType.startsWith('application/grpc')) {
      // Not gRPC at all: the spec's answer is HTTP 415.
      connection.respondHeadersOnly(stream, UNSUPPORTED_MEDIA_TYPE);
      return -1;
    }
    if (stream.method !== 'POST' || !this.methods.has(stream.path)) {
      this.fail(connection, stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${stream.path}`);
      return -1;
    }
    return this.maxMessageBytes + 5;
  }

  private call(stream: H2Stream, connection: H2Connection, body: Buffer): void {
    const method = this.methods.get(stream.path)!;
    if (body.length < 5) {
      this.fail(connection, stream, GrpcStatus.INTERNAL, 'no request message');
      return;
    }
    const length = body.readUInt32BE(1);
    if (body.length !== 5 + length) {
      this.fail(connection, stream, GrpcStatus.INTERNAL, 'a unary call takes exactly one request message');
      return;
    }
    if (body[0] !== 0) {
      this.fail(connection, stream, GrpcStatus.UNIMPLEMENTED, 'compressed messages are not supported');
      return;
    }
    let request: unknown;
    try {
      request = method.decode(body.subarray(5));
    } catch {
      this.fail(connection, stream, GrpcStatus.INTERNAL, 'the request message could not be parsed');
      return;
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
        if (stream.cancelled) return;
        let message: Buffer;
        try {
          message = method.encode(response);
        } catch (error) {
          this.fail(connection, stream, GrpcStatus.INTERNAL, errorMessage(error));
          return;
        }
        const frame = Buffer.allocUnsafe(5 + message.length);
        frame[0] = 0;
        frame.writeUInt32BE(message.length, 1);
        message.copy(frame, 5);
        connection.respond(stream, RESPONSE_HEADERS, frame, OK_TRAILERS);
      },
      (error: unknown) => {
        if (error instanceof GrpcError) this.fail(connection, stream, error.code, error.message);
        else this.fail(connection, stream, GrpcStatus.INTERNAL, errorMessage(error));
      },
    );
  }

  private fail(connection: H2Connection, stream: H2Stream, code: number, message: string): void {
    connection.respondHeadersOnly(stream, trailersOnly(code, message));
  }
}
