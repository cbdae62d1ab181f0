import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RuntimeMode } from '../runtime';

/** What `GET /api/info` answers: enough for the dashboard to say what it is connected to. */
export interface ServerInfo {
  name: 'governor';
  version: string;
  mode: RuntimeMode;
  /** ISO 8601 time at which this BFF process started. */
  startedAt: string;
}

/** Who made a request, for the plain HTTP mutations (the API checks its own). */
export type Authenticate = (
  req: IncomingMessage,
) => { ok: true; user: unknown } | { ok: false; status: 401 | 403; message: string };

export type PostHandler = (body: unknown, user: unknown) => { status: number; body: unknown };

export interface HttpServerOptions {
  info: ServerInfo;
  /** The tRPC API, served under `/trpc/`. */
  api?: RequestListener;
  /** Checks the caller of `POST` endpoints; without it they are open (tests of the server alone). */
  authenticate?: Authenticate;
  /** What `GET /api/health` answers: the health of the store, informers and controller. */
  health?: () => unknown;
  /** Handles `POST /api/metrics/push` with the parsed JSON body (at most {@link MAX_BODY_BYTES}). */
  metricPush?: PostHandler;
  /** Handles `POST /api/simulator/load` (the embedded mesh's traffic, changed live). */
  simulatorLoad?: PostHandler;
  /**
   * What `GET /metrics` answers, in Prometheus' text format: the controller's metrics, and the embedded
   * mesh's Istio and cAdvisor metrics when it runs. Unauthenticated, as Prometheus scrapes it.
   */
  metricsText?: () => string | Promise<string>;
  /** How long `close()` lets in-flight requests finish before it cuts their connections. */
  shutdownGraceMs?: number;
  /**
   * How long a client may take to send its headers, and its whole request (defaults 10 s and 30 s); how long
   * `GET /metrics` waits for an asynchronous text (default {@link METRICS_TIMEOUT_MS}).
   */
  timeouts?: { headersMs?: number; requestMs?: number; metricsMs?: number };
}

export interface ListenOptions {
  host: string;
  /** 0 picks a free port; the chosen one is in the result. */
  port: number;
}

export interface ListeningAddress {
  host: string;
  port: number;
  url: string;
}

export interface BffHttpServer {
  listen(options: ListenOptions): Promise<ListeningAddress>;
  /** Stops accepting connections and resolves once open requests have finished (or the grace period ran out). */
  close(): Promise<void>;
}

interface JsonResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

type RouteHandler = () => JsonResponse;

const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

/**
 * The BFF's HTTP server: health and info endpoints, JSON errors for everything else. It owns no
 * configuration of its own; the composition root passes in what it answers with.
 */
export function createHttpServer({
  info,
  api,
  authenticate,
  health,
  metricPush,
  simulatorLoad,
  metricsText,
  shutdownGraceMs = DEFAULT_SHUTDOWN_GRACE_MS,
  timeouts = {},
}: HttpServerOptions): BffHttpServer {
  const routes = new Map<string, RouteHandler>([
    ['/healthz', () => ({ status: 200, body: { status: 'ok' } })],
    ['/api/info', () => ({ status: 200, body: info })],
  ]);
  if (health) routes.set('/api/health', () => ({ status: 200, body: health() }));

  const posts = new Map<string, PostHandler>();
  if (metricPush) posts.set('/api/metrics/push', metricPush);
  if (simulatorLoad) posts.set('/api/simulator/load', simulatorLoad);

  const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req.url);
    if (path === null) {
      req.resume();
      sendJson(res, {
        status: 400,
        body: { error: 'bad_request', message: 'the request target is not a path on this server' },
      });
      return;
    }
    if (api && path.startsWith('/trpc/')) {
      api(req, res);
      return;
    }
    const post = posts.get(path);
    if (post) {
      const who = authenticate ? authenticate(req) : { ok: true as const, user: null };
      if (!who.ok) {
        req.resume();
        sendJson(res, {
          status: who.status,
          body: { error: who.status === 401 ? 'unauthorized' : 'forbidden', message: who.message },
        });
        return;
      }
      handlePost(req, res, (body) => post(body, who.user)).then(
        (r) => {
          if (r !== null) sendJson(res, r);
        },
        (error: unknown) => fail(res, error),
      );
      return;
    }
    if (metricsText && path === '/metrics') {
      req.resume();
      if (req.method === 'GET' || req.method === 'HEAD')
        sendText(res, metricsText, timeouts.metricsMs ?? METRICS_TIMEOUT_MS);
      else
        sendJson(res, {
          status: 405,
          body: { error: 'method_not_allowed', message: `/metrics accepts GET only, got ${req.method}` },
          headers: { allow: 'GET, HEAD' },
        });
      return;
    }
    req.resume();
    sendJson(res, respond(routes, req.method ?? 'GET', path));
  };

  const headersTimeout = timeouts.headersMs ?? HEADERS_TIMEOUT_MS;
  const requestTimeout = timeouts.requestMs ?? REQUEST_TIMEOUT_MS;
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: headersTimeout,
      requestTimeout: Math.max(requestTimeout, headersTimeout),
      // Node enforces both timeouts only as often as it checks (30 s by default).
      connectionsCheckingInterval: Math.min(1_000, Math.max(10, headersTimeout / 4)),
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    },
    (req, res) => {
      // Whatever a request holds, it gets an answer (or its connection is cut), never a crashed process.
      req.on('error', ignore);
      res.on('error', ignore);
      try {
        dispatch(req, res);
      } catch (error) {
        fail(res, error);
      }
    },
  );
  server.maxHeadersCount = MAX_HEADERS_COUNT;
  server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
  server.on('clientError', answerClientError);

  return {
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        server.once('error', onError);
        server.listen({ host, port }, () => {
          server.off('error', onError);
          // listen() on a TCP host always yields an AddressInfo, never a pipe name.
          const address = server.address() as AddressInfo;
          resolve({ host, port: address.port, url: httpUrl(host, address.port) });
        });
      }),

    close: () =>
      new Promise((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        const forceClose = setTimeout(() => server.closeAllConnections(), shutdownGraceMs);
        forceClose.unref();
        server.close((error) => {
          clearTimeout(forceClose);
          if (error) reject(error);
          else resolve();
        });
        // Keep-alive sockets with no request in flight would otherwise hold close() open.
        server.closeIdleConnections();
      }),
  };
}

function respond(routes: ReadonlyMap<string, RouteHandler>, method: string, path: string): JsonResponse {
  const handler = routes.get(path);
  if (handler === undefined) {
    return { status: 404, body: { error: 'not_found', message: `No route for ${method} ${path}` } };
  }
  if (method !== 'GET' && method !== 'HEAD') {
    return {
      status: 405,
      body: { error: 'method_not_allowed', message: `${path} accepts GET only, got ${method}` },
      headers: { allow: 'GET, HEAD' },
    };
  }
  try {
    return handler();
  } catch (error) {
    return internalError(error);
  }
}

/** Bodies larger than this are refused with 413 before they are read whole. */
export const MAX_BODY_BYTES = 64 * 1024;
/** The request line and headers together; Node's default, stated so that it stays one. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Headers past this many are dropped by Node's parser (its default is 2,000). */
export const MAX_HEADERS_COUNT = 100;
/** A client that takes longer to send its headers, or its whole request, is answered 408 and cut off. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How long `GET /metrics` waits for an asynchronous text (Prometheus' default scrape timeout). */
export const METRICS_TIMEOUT_MS = 10_000;
/** A kept-alive connection is closed after this many requests, so that no client holds one for ever. */
const MAX_REQUESTS_PER_SOCKET = 1_000;

/**
 * Reads a POST's JSON body and hands it to the handler. Resolves with the answer, or null when the client
 * went away before the body was complete (there is no one left to answer).
 */
function handlePost(
  req: IncomingMessage,
  res: ServerResponse,
  handler: (body: unknown) => { status: number; body: unknown },
): Promise<JsonResponse | null> {
  if (req.method !== 'POST') {
    req.resume();
    return Promise.resolve({
      status: 405,
      body: { error: 'method_not_allowed', message: 'POST only' },
      headers: { allow: 'POST' },
    });
  }
  // A JSON content type cannot be sent cross-site without a CORS preflight, which this server never grants.
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
    req.resume();
    return Promise.resolve({
      status: 415,
      body: { error: 'unsupported_media_type', message: 'send Content-Type: application/json' },
    });
  }
  return readBody(req, res, MAX_BODY_BYTES).then((read) => {
    if (read === 'aborted') return null;
    if (read === 'too_large')
      return {
        status: 413,
        body: { error: 'too_large', message: `the body is larger than ${MAX_BODY_BYTES} bytes` },
        headers: { connection: 'close' },
      };
    let body: unknown;
    try {
      body = JSON.parse(read.toString('utf8'));
    } catch (e) {
      return {
        status: 400,
        body: { error: 'invalid', message: `not JSON: ${e instanceof Error ? e.message : String(e)}` },
      };
    }
    try {
      return handler(body);
    } catch (error) {
      return internalError(error);
    }
  });
}

/**
 * The whole body, or `too_large` as soon as it passes `limit` (the rest is not read: the answer closes the
 * connection), or `aborted` when the client stops sending before the end.
 */
function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<Buffer | 'too_large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Buffer | 'too_large' | 'aborted') => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        res.once('finish', () => req.destroy());
        done('too_large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks));
    // 'close' before 'end': the connection was cut or timed out mid-body.
    const onClose = () => done(req.complete ? Buffer.concat(chunks) : 'aborted');
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

function internalError(error: unknown): JsonResponse {
  return {
    status: 500,
    body: { error: 'internal', message: error instanceof Error ? error.message : String(error) },
  };
}

/** A handler failed: a 500 while the answer has not started, else the connection is cut. */
function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  try {
    sendJson(res, internalError(error));
  } catch {
    res.destroy();
  }
}

const ignore = (): void => {};

/**
 * The path of a request target (origin form `/p?q`, or absolute form `http://host/p`), normalised as URLs
 * are (dot segments); null for anything else. The target is never read as a URL relative to a host: `//a:99999/`
 * is the path `//a:99999/`, not a host and an impossible port.
 */
export function pathOf(target: string | undefined): string | null {
  if (target === undefined || target === '') return null;
  try {
    if (target.startsWith('/')) return new URL(`http://localhost${target}`).pathname;
    const url = new URL(target);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.pathname : null;
  } catch {
    return null;
  }
}

/**
 * A request Node's parser refused (malformed, headers too large, too slow): a JSON answer where the
 * connection can still carry one, then the connection is closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // An answer already started on this connection (Node's own check, on the same internal field) cannot
  // be followed by another: the connection is only closed.
  const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || current?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  const payload = JSON.stringify({
    error: status === 400 ? 'bad_request' : status === 431 ? 'headers_too_large' : 'timeout',
    message: status === 400 ? 'malformed HTTP request' : reason.toLowerCase(),
  });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(payload)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${payload}`,
  );
}

function sendJson(res: ServerResponse, { status, body, headers }: JsonResponse): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  // For HEAD, Node drops the body itself; content-length still tells what GET would send.
  res.end(payload);
}

function sendText(res: ServerResponse, text: () => string | Promise<string>, timeoutMs: number): void {
  let produced: string | Promise<string>;
  try {
    produced = text();
  } catch (error) {
    sendJson(res, internalError(error));
    return;
  }
  const send = (payload: string) => {
    // The client may have gone (or the server cut it at shutdown) while the text was being made.
    if (res.destroyed || res.headersSent) return;
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(payload);
  };
  if (typeof produced === 'string') {
    send(produced);
    return;
  }
  // A producer that never settles must not hold the connection for ever.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the metrics took too long to collect')), timeoutMs);
    timer.unref();
  });
  Promise.race([produced, timedOut])
    .then(send)
    .catch((error: unknown) => {
      if (!res.destroyed) fail(res, error);
    })
    .finally(() => clearTimeout(timer));
}

function httpUrl(host: string, port: number): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${bracketed}:${port}`;
}
