import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeMode } from './config';

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
  /** What `GET /metrics` answers, in Prometheus' text format (the embedded mesh's Istio and cAdvisor metrics). */
  metricsText?: () => string;
  /** How long `close()` lets in-flight requests finish before it cuts their connections. */
  shutdownGraceMs?: number;
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
}: HttpServerOptions): BffHttpServer {
  const routes = new Map<string, RouteHandler>([
    ['/healthz', () => ({ status: 200, body: { status: 'ok' } })],
    ['/api/info', () => ({ status: 200, body: info })],
  ]);
  if (health) routes.set('/api/health', () => ({ status: 200, body: health() }));

  const posts = new Map<string, PostHandler>();
  if (metricPush) posts.set('/api/metrics/push', metricPush);
  if (simulatorLoad) posts.set('/api/simulator/load', simulatorLoad);

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
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
      void handlePost(req, (body) => post(body, who.user)).then((r) => sendJson(res, r));
      return;
    }
    if (metricsText && path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendText(res, metricsText);
      return;
    }
    sendJson(res, respond(routes, req));
  });

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

function respond(routes: ReadonlyMap<string, RouteHandler>, req: IncomingMessage): JsonResponse {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
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
    const message = error instanceof Error ? error.message : String(error);
    return { status: 500, body: { error: 'internal', message } };
  }
}

/** Bodies larger than this are refused with 413 before they are read whole. */
export const MAX_BODY_BYTES = 64 * 1024;

async function handlePost(
  req: IncomingMessage,
  handler: (body: unknown) => { status: number; body: unknown },
): Promise<JsonResponse> {
  if (req.method !== 'POST') {
    req.resume();
    return {
      status: 405,
      body: { error: 'method_not_allowed', message: 'POST only' },
      headers: { allow: 'POST' },
    };
  }
  // A JSON content type cannot be sent cross-site without a CORS preflight, which this server never grants.
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
    req.resume();
    return {
      status: 415,
      body: { error: 'unsupported_media_type', message: 'send Content-Type: application/json' },
    };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      return {
        status: 413,
        body: { error: 'too_large', message: `the body is larger than ${MAX_BODY_BYTES} bytes` },
      };
    }
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    return {
      status: 400,
      body: { error: 'invalid', message: `not JSON: ${e instanceof Error ? e.message : String(e)}` },
    };
  }
  try {
    return handler(body);
  } catch (error) {
    return {
      status: 500,
      body: { error: 'internal', message: error instanceof Error ? error.message : String(error) },
    };
  }
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

function sendText(res: ServerResponse, text: () => string): void {
  let payload: string;
  try {
    payload = text();
  } catch (error) {
    sendJson(res, {
      status: 500,
      body: { error: 'internal', message: error instanceof Error ? error.message : String(error) },
    });
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

function httpUrl(host: string, port: number): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${bracketed}:${port}`;
}
