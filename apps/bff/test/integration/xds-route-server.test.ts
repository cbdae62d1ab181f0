/**
 * Governor's RDS server over real gRPC: clients built from Envoy's own `ads.proto` and `rds.proto`
 * (grpc-js) subscribe to MetaProtocol route configurations as Aeraki's proxy does, decode what they get
 * with Envoy's RouteConfiguration, ACK and NACK it; the server's read model follows.
 */
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeProto3Json, decodeRouteResource } from '../../src/envoy/metaprotocol-protos';
import {
  META_ROUTE_TYPE_URL,
  ROUTE_TYPE_URL,
  type MetaRouteConfiguration,
} from '../../src/envoy/metaprotocol-route';
import type { DeltaDiscoveryResponse, DiscoveryResponse } from '../../src/xds/discovery-service';
import { openStream, xdsClient } from '../support/xds-client';
import { RouteServer, type RouteServerLimits, type RouteStatusEvent } from '../../src/xds/route-server';

const servers: RouteServer[] = [];
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(limits: Partial<RouteServerLimits> = {}) {
  const server = new RouteServer({ limits });
  servers.push(server);
  const port = await server.listen('127.0.0.1', 0);
  const events: RouteStatusEvent[] = [];
  server.onStatus((e) => events.push(e));
  return { server, port, events };
}

const client = (port: number, service: 'ads' | 'rds', options: grpc.ClientOptions = {}) =>
  xdsClient(port, service, clients, options);
const open = openStream;

const node = (id = 'sidecar~10.0.0.1~dubbo-consumer-abc.demo~demo.svc.cluster.local') => ({
  id,
  cluster: 'dubbo-consumer.demo',
  metadata: { fields: { NAMESPACE: { stringValue: 'demo' } } },
});

const config = (name: string, cluster = `outbound|20880||${name}`): MetaRouteConfiguration => ({
  name,
  routes: [
    {
      name: 'v1',
      match: { metadata: [{ name: 'method', exactMatch: 'sayHello' }] },
      route: {
        weightedClusters: {
          clusters: [
            { name: cluster, weight: 90 },
            { name: `${cluster}-v2`, weight: 10 },
          ],
          totalWeight: 100,
        },
        hashPolicy: ['user'],
        requestMirrorPolicies: [
          {
            cluster: 'mirror',
            runtimeFraction: { defaultValue: { numerator: 1000, denominator: 'MILLION' } },
          },
        ],
      },
      requestMutation: [{ key: 'x-governor', value: 'yes' }],
    },
    { name: 'default', route: { cluster } },
  ],
});

const A = 'demo.svc.cluster.local_20880';
const B = 'other.svc.cluster.local_20880';

interface AnyOut {
  type_url: string;
  value: Buffer;
}
type Sotw = DiscoveryResponse & { resources: AnyOut[] };
type Delta = DeltaDiscoveryResponse & { resources: { name: string; version: string; resource: AnyOut }[] };

const settle = () => new Promise((r) => setTimeout(r, 100));

describe('the RDS server, state of the world', () => {
  for (const [service, method] of [
    ['ads', 'StreamAggregatedResources'],
    ['rds', 'StreamRoutes'],
  ] as const) {
    it(`serves the Envoy carrier on ${service}, takes ACKs, pushes updates, records NACKs`, async () => {
      const { server, port, events } = await start();
      server.setRoutes([config(A), config(B)]);
      const s = open<Sotw>(client(port, service), method);
      s.send({ node: node(), type_url: ROUTE_TYPE_URL, resource_names: [A] });
      const first = await s.next();
      expect(first.type_url).toBe(ROUTE_TYPE_URL);
      expect(first.resources).toHaveLength(1);
      expect(first.resources[0]!.type_url).toBe(ROUTE_TYPE_URL);
      const http = decodeProto3Json(ROUTE_TYPE_URL, first.resources[0]!.value);
      expect(http).toMatchObject({
        name: A,
        virtualHosts: [
          {
            name: 'dummy',
            domains: ['*'],
            routes: [
              {
                name: 'v1',
                match: { prefix: '/', headers: [{ name: 'method', exactMatch: 'sayHello' }] },
                route: {
                  weightedClusters: { clusters: [{ weight: 90 }, { weight: 10 }], totalWeight: 100 },
                  hashPolicy: [{ header: { headerName: 'user' } }],
                  requestMirrorPolicies: [
                    {
                      cluster: 'mirror',
                      runtimeFraction: { defaultValue: { numerator: 1000, denominator: 'MILLION' } },
                    },
                  ],
                },
                requestHeadersToAdd: [{ header: { key: 'x-governor', value: 'yes' } }],
              },
              { name: 'default', route: { cluster: `outbound|20880||${A}` } },
            ],
          },
        ],
      });
      expect(decodeRouteResource(ROUTE_TYPE_URL, first.resources[0]!.value)).toEqual(config(A));
      const [sub] = server.subscriptions();
      expect(sub).toMatchObject({
        nodeId: node().id,
        cluster: 'dubbo-consumer.demo',
        resourceName: A,
        versionAcked: null,
      });
      const v1 = sub!.versionSent!;

      // ACK.
      s.send({
        type_url: ROUTE_TYPE_URL,
        resource_names: [A],
        version_info: first.version_info,
        response_nonce: first.nonce,
      });
      await settle();
      expect(server.subscriptions()[0]).toMatchObject({ versionSent: v1, versionAcked: v1, nacked: null });
      expect(server.subscriptions()[0]!.lastAckAt).not.toBeNull();
      expect(events.map((e) => e.kind)).toEqual(['connect', 'ack']);

      // Changing B only does not touch a client of A.
      server.setRoutes([config(A), config(B, 'elsewhere')]);
      expect(await s.quiet()).toBe(true);

      // Changing A pushes a new version with a new nonce.
      server.setRoutes([config(A, 'moved'), config(B, 'elsewhere')]);
      const second = await s.next();
      expect(second.nonce).not.toBe(first.nonce);
      expect(second.version_info).not.toBe(first.version_info);
      expect(decodeRouteResource(ROUTE_TYPE_URL, second.resources[0]!.value).routes[1]!.route.cluster).toBe(
        'moved',
      );
      const v2 = server.subscriptions()[0]!.versionSent!;
      expect(v2).not.toBe(v1);

      // NACK: recorded with its message; the previous version stays ACKed, nothing is resent.
      s.send({
        type_url: ROUTE_TYPE_URL,
        resource_names: [A],
        version_info: first.version_info,
        response_nonce: second.nonce,
        error_detail: { code: 3, message: 'Unexpected RDS configuration' },
      });
      await settle();
      expect(server.subscriptions()[0]).toMatchObject({
        versionAcked: v1,
        versionSent: v2,
        nacked: { version: v2, message: 'Unexpected RDS configuration' },
      });
      expect(events.at(-1)).toMatchObject({
        kind: 'nack',
        message: 'Unexpected RDS configuration',
        resources: [{ name: A, version: v2 }],
      });
      expect(await s.quiet()).toBe(true);

      // The next change is sent, and its ACK clears the NACK.
      server.setRoutes([config(A, 'fixed'), config(B, 'elsewhere')]);
      const third = await s.next();
      s.send({
        type_url: ROUTE_TYPE_URL,
        resource_names: [A],
        version_info: third.version_info,
        response_nonce: third.nonce,
      });
      await settle();
      expect(server.subscriptions()[0]).toMatchObject({ nacked: null });
      expect(server.subscriptions()[0]!.versionAcked).toBe(server.subscriptions()[0]!.versionSent);

      // Disconnect clears the subscription.
      s.call.cancel();
      await settle();
      expect(server.subscriptions()).toEqual([]);
      expect(events.at(-1)).toMatchObject({ kind: 'disconnect', nodeId: node().id });
    });
  }

  it('sends a configuration asked for before it exists once it does, and the native type on request', async () => {
    const { server, port } = await start();
    const s = open<Sotw>(client(port, 'ads'), 'StreamAggregatedResources');
    s.send({ node: node(), type_url: ROUTE_TYPE_URL, resource_names: [A] });
    expect(await s.quiet()).toBe(true);
    expect(server.subscriptions()).toMatchObject([{ resourceName: A, versionSent: null }]);
    server.setRoutes([config(B)]);
    expect(await s.quiet()).toBe(true);
    server.setRoutes([config(A), config(B)]);
    const r = await s.next();
    expect(r.resources.map((x) => decodeRouteResource(ROUTE_TYPE_URL, x.value).name)).toEqual([A]);

    s.send({ type_url: META_ROUTE_TYPE_URL, resource_names: [A, B] });
    const native = await s.next();
    expect(native.type_url).toBe(META_ROUTE_TYPE_URL);
    expect(native.resources.map((x) => x.type_url)).toEqual([META_ROUTE_TYPE_URL, META_ROUTE_TYPE_URL]);
    expect(native.resources.map((x) => decodeRouteResource(META_ROUTE_TYPE_URL, x.value))).toEqual([
      config(A),
      config(B),
    ]);
  });

  it('ignores other type URLs, and answers a wildcard with every configuration', async () => {
    const { server, port } = await start();
    server.setRoutes([config(A), config(B)]);
    const s = open<Sotw>(client(port, 'ads'), 'StreamAggregatedResources');
    s.send({
      node: node(),
      type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
      resource_names: [],
    });
    expect(await s.quiet()).toBe(true);
    s.send({ type_url: ROUTE_TYPE_URL, resource_names: [] });
    const all = await s.next();
    expect(all.resources.map((x) => decodeRouteResource(ROUTE_TYPE_URL, x.value).name)).toEqual([A, B]);
    // Removing one is a new state of the world for a wildcard.
    server.setRoutes([config(B)]);
    const after = await s.next();
    expect(after.resources).toHaveLength(1);
  });
});

describe('the RDS server, incremental', () => {
  for (const [service, method] of [
    ['ads', 'DeltaAggregatedResources'],
    ['rds', 'DeltaRoutes'],
  ] as const) {
    it(`sends changes and removals on ${service}, and honours initial_resource_versions`, async () => {
      const { server, port } = await start();
      server.setRoutes([config(A), config(B)]);
      const d = open<Delta>(client(port, service), method);
      d.send({ node: node(), type_url: ROUTE_TYPE_URL, resource_names_subscribe: [A, B] });
      const first = await d.next();
      expect(first.resources.map((r) => r.name).sort()).toEqual([A, B]);
      expect(first.removed_resources).toEqual([]);
      const versions = Object.fromEntries(first.resources.map((r) => [r.name, r.version]));
      expect(
        decodeRouteResource(ROUTE_TYPE_URL, first.resources.find((r) => r.name === A)!.resource.value),
      ).toEqual(config(A));
      d.send({ type_url: ROUTE_TYPE_URL, response_nonce: first.nonce });
      await settle();
      expect(
        server.subscriptions().map((s) => [s.resourceName, s.versionAcked === versions[s.resourceName]]),
      ).toEqual([
        [A, true],
        [B, true],
      ]);

      // Only what changed.
      server.setRoutes([config(A, 'moved'), config(B)]);
      const update = await d.next();
      expect(update.resources.map((r) => r.name)).toEqual([A]);
      expect(update.resources[0]!.version).not.toBe(versions[A]);

      // A NACK of a delta response.
      d.send({
        type_url: ROUTE_TYPE_URL,
        response_nonce: update.nonce,
        error_detail: { message: 'bad route' },
      });
      await settle();
      expect(server.subscriptions().find((s) => s.resourceName === A)).toMatchObject({
        versionAcked: versions[A],
        nacked: { version: update.resources[0]!.version, message: 'bad route' },
      });

      // Removal.
      server.setRoutes([config(A, 'moved')]);
      const removal = await d.next();
      expect(removal.resources).toEqual([]);
      expect(removal.removed_resources).toEqual([B]);

      // A reconnecting client that holds the current A and an old B gets only B's removal... and no A.
      const again = open<Delta>(client(port, service), method);
      server.setRoutes([config(A, 'moved'), config(B)]);
      await d.next();
      again.send({
        node: node('second'),
        type_url: ROUTE_TYPE_URL,
        resource_names_subscribe: [A, B],
        initial_resource_versions: { [A]: update.resources[0]!.version, [B]: 'stale' },
      });
      const resumed = await again.next();
      expect(resumed.resources.map((r) => r.name)).toEqual([B]);
      expect(resumed.removed_resources).toEqual([]);

      // Unsubscribing stops updates.
      again.send({
        type_url: ROUTE_TYPE_URL,
        response_nonce: resumed.nonce,
        resource_names_unsubscribe: [B],
      });
      await settle();
      server.setRoutes([config(A, 'moved'), config(B, 'changed again')]);
      expect(await again.quiet()).toBe(true);
      expect(
        server
          .subscriptions()
          .filter((s) => s.nodeId === 'second')
          .map((s) => s.resourceName),
      ).toEqual([A]);
    });
  }

  it('tells a resumed client that a configuration it holds is gone', async () => {
    const { server, port } = await start();
    server.setRoutes([config(A)]);
    const d = open<Delta>(client(port, 'ads'), 'DeltaAggregatedResources');
    d.send({
      node: node(),
      type_url: ROUTE_TYPE_URL,
      resource_names_subscribe: [A, B],
      initial_resource_versions: { [B]: 'old' },
    });
    const r = await d.next();
    expect(r.resources.map((x) => x.name)).toEqual([A]);
    expect(r.removed_resources).toEqual([B]);
  });
});

describe('the RDS server, limits', () => {
  it('refuses a message over the size limit and a stream over the name limit, and keeps serving', async () => {
    const { server, port } = await start({ maxRequestBytes: 4096, maxResourceNamesPerStream: 3 });
    server.setRoutes([config(A)]);
    const big = open<Sotw>(client(port, 'ads'), 'StreamAggregatedResources');
    big.send({ node: node(), type_url: ROUTE_TYPE_URL, resource_names: ['x'.repeat(8192)] });
    expect((await big.status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const many = open<Sotw>(client(port, 'ads'), 'StreamAggregatedResources');
    many.send({ node: node(), type_url: ROUTE_TYPE_URL, resource_names: ['a', 'b', 'c', 'd'] });
    const status = await many.status;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toMatch(/more than 3 resource names/);

    const fine = open<Sotw>(client(port, 'ads'), 'StreamAggregatedResources');
    fine.send({ node: node(), type_url: ROUTE_TYPE_URL, resource_names: [A] });
    expect((await fine.next()).resources).toHaveLength(1);
    expect(server.openStreams).toBe(1);
  });

  it('refuses streams beyond the limit, a stream without a node, and one that never asks', async () => {
    const { port } = await start({ maxStreams: 1, firstRequestTimeoutMs: 200 });
    const c = client(port, 'ads');
    const silent = open<Sotw>(c, 'StreamAggregatedResources');
    await settle();
    const second = open<Sotw>(c, 'StreamAggregatedResources');
    expect((await second.status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await silent.status).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const anonymous = open<Sotw>(c, 'StreamAggregatedResources');
    anonymous.send({ type_url: ROUTE_TYPE_URL, resource_names: [A] });
    expect(await anonymous.status).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/node/),
    });
  });

  it('closes connections beyond the limit as they arrive', async () => {
    const { server, port } = await start({ maxConnections: 1 });
    server.setRoutes([config(A)]);
    const first = open<Sotw>(client(port, 'ads'), 'StreamAggregatedResources');
    first.send({ node: node(), type_url: ROUTE_TYPE_URL, resource_names: [A] });
    await first.next();
    const extra = net.connect(port, '127.0.0.1');
    extra.on('error', () => undefined);
    await new Promise((resolve) => extra.on('close', resolve));
    // The first connection is unaffected.
    server.setRoutes([config(A, 'moved')]);
    expect((await first.next()).resources).toHaveLength(1);
  });
});
