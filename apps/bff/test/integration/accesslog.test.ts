/**
 * Governor's access-log service over real gRPC: clients built from Envoy's own `als.proto` (grpc-js) stream
 * access-log entries as Istio sidecars do, and the calls show in `ObservedCalls`; streams that are
 * malformed or over the limits are ended with an error status while the service keeps serving others.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  accessLogClientConstructor,
  AccessLogServer,
  type AccessLogLimits,
} from '../../src/accesslog/accesslog-server';
import { ObservedCalls } from '../../src/sources/observed-calls';

type Done = { code: number; details: string } | 'ok';
type StreamCall = (cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>;
type AlsClient = grpc.Client & { StreamAccessLogs: StreamCall };

const servers: AccessLogServer[] = [];
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(limits: Partial<AccessLogLimits> = {}) {
  const calls = new ObservedCalls();
  const server = new AccessLogServer({ calls, host: '127.0.0.1', port: 0, limits });
  servers.push(server);
  const port = await server.listen();
  return { calls, server, port };
}

function client(port: number): AlsClient {
  const Client = accessLogClientConstructor();
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AlsClient;
  clients.push(c);
  return c;
}

/** An Istio sidecar's node: its id and the metadata Istio's agent sends. */
const node = (namespace: string, app: string, pod = `${app}-v1-abc12`) => ({
  id: `sidecar~10.1.0.${pod.length}~${pod}.${namespace}~${namespace}.svc.cluster.local`,
  cluster: `${app}.${namespace}`,
  metadata: {
    fields: {
      NAMESPACE: { stringValue: namespace },
      LABELS: { structValue: { fields: { app: { stringValue: app }, version: { stringValue: 'v1' } } } },
      WORKLOAD_NAME: { stringValue: `${app}-v1` },
    },
  },
});

const entry = (upstream_cluster: string, authority: string) => ({
  common_properties: { upstream_cluster },
  request: { authority, path: '/', request_method: 'GET' },
  response: { response_code: { value: 200 } },
});

const identified = (n: { id: string; metadata: unknown }, entries: ReturnType<typeof entry>[]) => ({
  identifier: { node: n, log_name: 'envoy_accesslog' },
  http_logs: { log_entry: entries },
});

/** Opens a stream; `done` settles with its status once the server ends it. */
function open(c: AlsClient): { stream: grpc.ClientWritableStream<unknown>; done: Promise<Done> } {
  let stream!: grpc.ClientWritableStream<unknown>;
  const done = new Promise<Done>((resolve) => {
    stream = c.StreamAccessLogs((e) => resolve(e ? { code: e.code, details: e.details } : 'ok'));
  });
  stream.on('error', () => undefined);
  return { stream, done };
}

/** Writes the messages, ends the stream, and returns its status. */
async function send(c: AlsClient, ...messages: unknown[]): Promise<Done> {
  const { stream, done } = open(c);
  for (const m of messages) stream.write(m);
  stream.end();
  return done;
}

describe('the access-log service', () => {
  it('counts each outbound call per source workload and destination, as sidecars stream them', async () => {
    const { calls, port } = await start();
    const c = client(port);
    const announced: string[] = [];
    calls.onNewCall((call) => announced.push(`${call.source.app} → ${call.destination}`));
    const productpage = node('default', 'productpage');
    expect(
      await send(
        c,
        identified(productpage, [
          entry('outbound|9080||reviews.default.svc.cluster.local', 'reviews:9080'),
          entry('outbound|9080||reviews.default.svc.cluster.local', 'reviews:9080'),
          entry('PassthroughCluster', 'details:9080'),
          // The sidecar's inbound side: a call productpage received, not one it made.
          entry('inbound|9080||', 'productpage:9080'),
          entry('PassthroughCluster', '10.1.2.3:80'),
        ]),
        // Later messages carry no identifier: they are the same node's.
        {
          http_logs: {
            log_entry: [entry('outbound|9080|v2|ratings.shop.svc.cluster.local', 'ratings.shop')],
          },
        },
      ),
    ).toBe('ok');
    // A second pod of the same app adds to the same counts.
    expect(
      await send(
        c,
        identified(node('default', 'productpage', 'productpage-v1-xyz98'), [
          entry('outbound|9080||reviews.default.svc.cluster.local', 'reviews'),
        ]),
      ),
    ).toBe('ok');
    const from = calls.callsFrom('default', 'productpage');
    expect(Object.fromEntries([...from].map(([d, call]) => [d, call.count]))).toEqual({
      'reviews.default.svc.cluster.local': 3,
      'details.default.svc.cluster.local': 1,
      'ratings.shop.svc.cluster.local': 1,
    });
    expect(from.get('details.default.svc.cluster.local')?.via).toEqual(['accesslog']);
    expect(announced.sort()).toEqual([
      'productpage → details.default.svc.cluster.local',
      'productpage → ratings.shop.svc.cluster.local',
      'productpage → reviews.default.svc.cluster.local',
    ]);
    expect(calls.callsFrom('default', 'reviews').size).toBe(0);
  });

  it('records calls while the stream stays open, as Envoy keeps it', async () => {
    const { calls, server, port } = await start();
    const { stream, done } = open(client(port));
    stream.write(identified(node('shop', 'cart'), [entry('', 'payments')]));
    await vi.waitFor(() =>
      expect(calls.callsFrom('shop', 'cart').get('payments.shop.svc.cluster.local')?.count).toBe(1),
    );
    expect(server.streams).toBe(1);
    stream.write({
      tcp_logs: {
        log_entry: [{ common_properties: { upstream_cluster: 'outbound|5432||db.shop.svc.cluster.local' } }],
      },
    });
    await vi.waitFor(() =>
      expect(calls.callsFrom('shop', 'cart').has('db.shop.svc.cluster.local')).toBe(true),
    );
    stream.end();
    expect(await done).toBe('ok');
    expect(server.streams).toBe(0);
  });

  it('ends a stream whose first message names no node, or a node without app, and keeps serving', async () => {
    const { calls, port } = await start();
    const c = client(port);
    const noIdentifier = await send(c, { http_logs: { log_entry: [entry('', 'reviews')] } });
    expect(noIdentifier).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/no identifier\.node/),
    });
    const bare = node('default', 'productpage');
    const noApp = { ...bare, metadata: { fields: { NAMESPACE: { stringValue: 'default' } } } };
    expect(await send(c, identified(noApp, [entry('', 'reviews')]))).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/no app label/),
    });
    expect(calls.callsFrom('default', 'productpage').size).toBe(0);
    expect(await send(c, identified(bare, [entry('', 'reviews')]))).toBe('ok');
    expect(calls.callsFrom('default', 'productpage').size).toBe(1);
  });

  it('ends a stream with bytes that are not a message, and keeps serving', async () => {
    const { calls, server, port } = await start();
    // A client of the same method that sends raw bytes.
    const method = accessLogClientConstructor().service['StreamAccessLogs']!;
    const Raw = grpc.makeGenericClientConstructor(
      { StreamAccessLogs: { ...method, requestSerialize: (b: Buffer) => b } },
      'AccessLogService',
    );
    const raw = new Raw(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AlsClient;
    clients.push(raw);
    // Field 1 (identifier) as a length-delimited field running past the end of the message.
    const status = await send(raw, Buffer.from([0x0a, 0x7f, 0x01]));
    expect(status).not.toBe('ok');
    expect((status as { code: number }).code).toBe(grpc.status.INTERNAL);
    expect(server.streams).toBe(0);
    expect(await send(client(port), identified(node('default', 'productpage'), [entry('', 'reviews')]))).toBe(
      'ok',
    );
    expect(calls.callsFrom('default', 'productpage').size).toBe(1);
  });

  it('refuses a message over the size or entry limits, and a stream that names no node in time', async () => {
    const { server, port } = await start({
      maxMessageBytes: 4096,
      maxEntriesPerMessage: 3,
      firstMessageTimeoutMs: 200,
    });
    const c = client(port);
    const n = node('default', 'productpage');
    const big = identified(n, [entry('', `x${'a'.repeat(60)}`)]);
    (big.http_logs.log_entry[0]!.request as Record<string, unknown>)['path'] = '/'.repeat(8000);
    expect(await send(c, big)).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect(
      await send(
        c,
        identified(
          n,
          Array.from({ length: 4 }, () => entry('', 'reviews')),
        ),
      ),
    ).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/more than 3 entries/),
    });
    const silent = open(c);
    expect(await silent.done).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    silent.stream.end();
    expect(await send(c, identified(n, [entry('', 'reviews')]))).toBe('ok');
    await vi.waitFor(() => expect(server.streams).toBe(0));
  });

  it('bounds the streams open at once, and takes new ones once others end', async () => {
    const { server, port } = await start({ maxStreams: 2 });
    const c = client(port);
    const a = open(c);
    const b = open(c);
    a.stream.write(identified(node('default', 'a'), [entry('', 'x')]));
    b.stream.write(identified(node('default', 'b'), [entry('', 'x')]));
    await vi.waitFor(() => expect(server.streams).toBe(2));
    expect(await send(c, identified(node('default', 'c'), [entry('', 'x')]))).toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
    a.stream.end();
    expect(await a.done).toBe('ok');
    expect(await send(c, identified(node('default', 'c'), [entry('', 'x')]))).toBe('ok');
    b.stream.end();
    expect(await b.done).toBe('ok');
  });

  it('counts at most maxPairs distinct calls and reports the rest', async () => {
    const { calls, port } = await start({ maxPairs: 2 });
    const n = node('default', 'productpage');
    expect(
      await send(
        client(port),
        identified(n, [entry('', 'a'), entry('', 'b'), entry('', 'c'), entry('', 'a')]),
      ),
    ).toBe('ok');
    expect([...calls.callsFrom('default', 'productpage').keys()].sort()).toEqual([
      'a.default.svc.cluster.local',
      'b.default.svc.cluster.local',
    ]);
    expect(calls.callsFrom('default', 'productpage').get('a.default.svc.cluster.local')?.count).toBe(2);
    expect(calls.health()).toEqual({
      available: false,
      message: 'accesslog: more than 2 distinct calls: 1 new ones not counted',
    });
  });

  it('refuses limits that are not positive numbers', () => {
    expect(() => new AccessLogServer({ calls: new ObservedCalls(), limits: { maxStreams: 0 } })).toThrow(
      /maxStreams/,
    );
  });
});
