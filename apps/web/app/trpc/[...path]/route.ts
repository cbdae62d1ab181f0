/**
 * The browser's way to the BFF's API: `/trpc/*` on the dashboard's origin, passed through to the BFF
 * (`GOVERNOR_BFF_URL`, read per request) with the headers the API needs (session cookie, origin, the SSE
 * resume id) and streamed back, so that subscriptions stay live and the session cookie is the dashboard's.
 */
import type { NextRequest } from 'next/server';
import { bffUrlFromEnv } from '../../../lib/control-plane';

export const dynamic = 'force-dynamic';

const FORWARDED_REQUEST_HEADERS = [
  'cookie',
  'content-type',
  'origin',
  'last-event-id',
  'accept',
  'trpc-accept',
  'authorization',
];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'set-cookie', 'cache-control', 'vary'];

async function proxy(
  req: NextRequest,
  { params }: { params: Promise<{ path: string[] }> },
): Promise<Response> {
  const { path } = await params;
  const target = `${bffUrlFromEnv()}/trpc/${path.map(encodeURIComponent).join('/')}${req.nextUrl.search}`;
  const headers = new Headers();
  for (const h of FORWARDED_REQUEST_HEADERS) {
    const v = req.headers.get(h);
    if (v !== null) headers.set(h, v);
  }
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: req.method,
      headers,
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: req.body, duplex: 'half' }),
      signal: req.signal,
      cache: 'no-store',
      redirect: 'manual',
    } as RequestInit);
  } catch {
    return Response.json(
      {
        error: {
          message: 'the BFF cannot be reached: is it running? (./scripts/start starts it)',
          code: -32603,
          data: { code: 'BFF_UNREACHABLE' },
        },
      },
      { status: 502 },
    );
  }
  const out = new Headers();
  for (const h of FORWARDED_RESPONSE_HEADERS) {
    if (h === 'set-cookie') for (const c of upstream.headers.getSetCookie()) out.append('set-cookie', c);
    else {
      const v = upstream.headers.get(h);
      if (v !== null) out.set(h, v);
    }
  }
  if ((out.get('content-type') ?? '').startsWith('text/event-stream')) {
    // Events must reach the browser as they happen: no compression or proxy buffering on the way.
    out.set('cache-control', 'no-cache, no-transform');
    out.set('x-accel-buffering', 'no');
  }
  return new Response(upstream.body, { status: upstream.status, headers: out });
}

export const GET = proxy;
export const POST = proxy;
