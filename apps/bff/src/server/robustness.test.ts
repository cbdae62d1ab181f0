/**
 * Random requests against every route of a real BFF (embedded store, demo mesh, simulator running): odd
 * targets, methods, headers and bodies, some cut off mid-way. The BFF must keep answering, never crash the
 * process, and answer malformed input with a 4xx rather than a 5xx.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDITOR_AND_VIEWER, EDITOR_TOKEN, ORIGIN, VIEWER_TOKEN } from '../../test/support/api-users';
import { startDemoBff, type DemoBff } from '../../test/support/demo-bff';
import { rawRequest, watchForCrashes, type RawAnswer } from '../../test/support/raw-http';
import { appRouter } from '../trpc/router';

/** Every procedure of the real router, so that a new one is exercised without a change here. */
const procedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
).map(([path, p]) => ({ path, type: p._def.type }));

const PLAIN_ROUTES = [
  '/healthz',
  '/api/info',
  '/api/health',
  '/api/metrics/push',
  '/api/simulator/load',
  '/metrics',
];

const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }).map((s) => s.replace(/[\r\n\0]/g, '')),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replace(/[\r\n\0]/g, '')),
  fc.constantFrom('', ' ', '\t', 'a'.repeat(4_000)),
);
/** Mostly what a client would send, sometimes anything. */
const usually = <T>(likely: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: likely, weight: 4 }, { arbitrary: odd, weight: 1 });
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }));
/** `%` sequences, valid or not. */
const percent = fc
  .array(
    fc.oneof(
      fc.constantFrom('%', '%2', '%zz', '%00', '%2F', '%25', '%C3%A9', '%FF%FE', '%E2%82'),
      fc.webSegment(),
    ),
    {
      maxLength: 8,
    },
  )
  .map((parts) => parts.join(''));
const segment = fc.oneof(
  fc.webSegment(),
  percent,
  text.map(encodeURIComponent),
  fc.constantFrom('..', '.', ''),
);

const procedureName = usually(
  fc.constantFrom(...procedures.map((p) => p.path)),
  fc.oneof(fc.webSegment(), fc.constantFrom('__proto__', 'constructor', 'policies.__proto__', 'auth.me.x')),
);
const inputParam = fc.oneof(json, text, percent).map((v) => `input=${encodeURIComponent(v)}`);
const trpcTarget = fc.oneof(
  fc.tuple(procedureName, fc.option(inputParam)).map(([p, q]) => `/trpc/${p}${q ? `?${q}` : ''}`),
  // Batched: several procedures, their inputs keyed by index.
  fc
    .tuple(fc.array(procedureName, { minLength: 1, maxLength: 6 }), fc.option(fc.oneof(json, text)))
    .map(
      ([ps, input]) =>
        `/trpc/${ps.join(',')}?batch=1${input !== null ? `&input=${encodeURIComponent(input)}` : ''}`,
    ),
  percent.map((p) => `/trpc/${p}`),
);
const target = fc.oneof(
  { arbitrary: fc.constantFrom(...PLAIN_ROUTES), weight: 4 },
  { arbitrary: trpcTarget, weight: 8 },
  fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`),
  // A target that a URL parser would read as a host and a port.
  fc
    .tuple(fc.domain(), fc.integer({ min: 0, max: 200_000 }), fc.webSegment())
    .map(([h, p, s]) => `//${h}:${p}/${s}`),
  fc.webUrl(),
  fc.constantFrom('*', '/' + 'a'.repeat(8_000), '/trpc/' + 'x'.repeat(15_000), '/%', '/trpc/%E0%A4%A', '//'),
);
const method = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'POST'), weight: 8 },
  { arbitrary: fc.constantFrom('HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'), weight: 2 },
  { arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/), weight: 1 },
);
const headers = fc.record(
  {
    'content-type': usually(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'multipart/form-data',
      ),
      headerValue,
    ),
    authorization: usually(
      fc.constantFrom(`Bearer ${EDITOR_TOKEN}`, `Bearer ${VIEWER_TOKEN}`, 'Bearer ', 'Basic abc', 'bearer x'),
      headerValue,
    ),
    cookie: usually(fc.constantFrom('governor_session=%E0%A4%A', 'governor_session=', '=;;=x'), headerValue),
    origin: usually(fc.constantFrom(ORIGIN, 'null', 'https://evil.example'), headerValue),
    host: usually(fc.constantFrom('127.0.0.1:4000', 'a:99999', 'u@h', '[::1', '%', 'x y'), headerValue),
    'trpc-accept': fc.constantFrom('application/jsonl', 'x'),
    accept: fc.constantFrom('text/event-stream', '*/*'),
    'last-event-id': usually(fc.constantFrom('0', '-1', '99999999999999999999', 'x'), headerValue),
    'x-junk': headerValue,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(''),
  json,
  // Shaped like a batch of inputs.
  fc
    .dictionary(fc.constantFrom('0', '1', '2', 'x'), fc.jsonValue({ maxDepth: 3 }))
    .map((v) => JSON.stringify(v)),
  text,
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.integer({ min: 1, max: 200 }).map((n) => `{"yaml":"${'a'.repeat(n * 1024)}"}`),
);
/** How the body is sent: whole; with a Content-Length larger than what is sent, the socket then cut; chunked. */
const framing = fc.constantFrom('whole', 'whole', 'cut', 'chunked', 'none');

const request = fc.record({ method, target, headers, body, framing });
type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

function encode(r: Request): string {
  const lines = [`${r.method} ${r.target} HTTP/1.1`];
  const h: Record<string, string> = { host: '127.0.0.1', ...r.headers };
  for (const [k, v] of Object.entries(h)) lines.push(`${k}: ${v}`);
  const payload = Buffer.from(r.body, 'latin1');
  switch (r.framing) {
    case 'whole':
      lines.push(`content-length: ${payload.length}`);
      break;
    case 'cut':
      lines.push(`content-length: ${payload.length + 100}`);
      break;
    case 'chunked':
      lines.push('transfer-encoding: chunked');
      break;
    case 'none':
      break;
  }
  lines.push('connection: close');
  const head = `${lines.join('\r\n')}\r\n\r\n`;
  if (r.framing === 'none') return head;
  if (r.framing === 'chunked')
    return `${head}${payload.length.toString(16)}\r\n${payload.toString('latin1')}\r\n0\r\n\r\n`;
  return head + payload.toString('latin1');
}

describe('a real BFF under random requests', () => {
  let demo: DemoBff;
  let port: number;
  let url: string;

  beforeAll(async () => {
    demo = await startDemoBff(EDITOR_AND_VIEWER);
    ({ url, port } = demo);
  });
  afterAll(() => demo.close());

  it('knows the router it throws requests at', () => {
    expect(procedures.length).toBeGreaterThan(20);
    expect(procedures.map((p) => p.type)).toEqual(
      expect.arrayContaining(['query', 'mutation', 'subscription']),
    );
  });

  it('keeps answering, never crashes, and answers malformed requests with no 5xx', async () => {
    const watch = watchForCrashes();
    const fiveHundreds: string[] = [];
    const statuses = new Map<number | null, number>();
    try {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const answer: RawAnswer = await rawRequest(port, encode(r), {
            // A subscription streams for as long as the client stays: the head is enough.
            untilHead: true,
            timeoutMs: 3_000,
            ...(r.framing === 'cut' ? { cutAfterMs: 20 } : {}),
          });
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (r.framing !== 'cut') expect(answer.status, 'an answer').not.toBeNull();
          if (answer.status !== null && answer.status >= 500)
            fiveHundreds.push(
              `${answer.status} for ${r.method} ${r.target.slice(0, 200)}: ${answer.body.slice(0, 300)}`,
            );
          expect(watch.crashes).toEqual([]);
        }),
        {
          numRuns: 400,
          endOnFailure: true,
          ...(process.env['GOVERNOR_FUZZ_SEED'] ? { seed: Number(process.env['GOVERNOR_FUZZ_SEED']) } : {}),
        },
      );
      // Cut requests and closed streams finish on the server's side shortly after the client left.
      await new Promise((r) => setTimeout(r, 200));
      expect(watch.crashes).toEqual([]);
      expect(fiveHundreds).toEqual([]);
      // The requests reached the handlers, not only Node's parser: answers of every kind came back.
      if (process.env['GOVERNOR_FUZZ_STATS']) console.log(Object.fromEntries(statuses));
      for (const status of [200, 400, 401, 404, 405, 415])
        expect(statuses.get(status), `${status}s`).toBeGreaterThan(0);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      watch.stop();
    }
  }, 120_000);
});
