/**
 * The metarouter module end to end on a real kube-apiserver: a MetaProtocol Service gets Aeraki's
 * EnvoyFilters (outbound in the mesh's root namespace, inbound beside the service), and a MetaProtocol
 * proxy's subscription over real gRPC gets the service's route configuration, an update after a MetaRouter
 * change, and its NACK back in the MetaRouter's status.
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { testScope } from '../support/test-scope';
import type { KubeObject } from '../../src/cluster/store';
import { aerakiDemo } from '@governor/crd-types/testing';
import { decodeProto3Json } from '../../src/envoy/metaprotocol-protos';
import {
  ROUTE_TYPE_URL,
  fromHttpRouteConfiguration,
  type HttpRouteConfiguration,
  type MetaRouteConfiguration,
} from '../../src/envoy/metaprotocol-route';
import { staticSnapshot } from '../../src/framework/snapshot';
import { routeConfigurations } from '../../src/modules/metarouter/routes';
import { loadModuleConfig } from '../../src/framework/module-config';
import { Governor } from '../../src/governor';
import { MODULES } from '../../src/modules';
import { METAROUTER_MODULE } from '../../src/modules/metarouter/settings';
import type { DiscoveryResponse } from '../../src/xds/discovery-service';
import { RouteServer } from '../../src/xds/route-server';
import { freshNamespace, useKubeTestServer } from '../support/kube-test-fixtures';
import { openStream, xdsClient } from '../support/xds-client';

const running = useKubeTestServer();
const WAIT = { timeout: 20_000, interval: 50 };

type Sotw = DiscoveryResponse & { resources: { type_url: string; value: Buffer }[] };
interface HttpRoutes {
  name: string;
  virtualHosts: { routes: { name: string; route: { cluster?: string; weightedClusters?: unknown } }[] }[];
}

const condition = (o: KubeObject | null, type: string) =>
  (
    (o?.status as { conditions?: { type: string; status: string; message: string }[] })?.conditions ?? []
  ).find((c) => c.type === type);

describe('MetaRouters on a real kube-apiserver, served to a proxy over gRPC', () => {
  const scope = testScope();

  it('writes the EnvoyFilters, serves the routes, pushes a change within a reconcile, reports a NACK', async () => {
    const app = await freshNamespace(running(), 'meta');
    scope.defer(() => app.cleanup());
    const root = `root-${randomUUID().slice(0, 8)}`;
    const core = running().kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: root } } });
    scope.defer(async () => void (await core.deleteNamespace({ name: root })));
    const { store, namespace: ns } = app;
    const host = `rating-rpc.${ns}.svc.cluster.local`;
    const routeName = `${host}_9090`;

    const settings = loadModuleConfig(
      `apiVersion: config.netease.com/v1alpha1
kind: SlimeBoot
metadata: {name: governor}
spec:
  module:
    - {name: metarouter, enable: true, general: {rootNamespace: ${root}}}
`,
      [METAROUTER_MODULE],
    ).modules.metarouter!;
    const governor = new Governor({
      modules: MODULES.filter((m) => m.name === 'metarouter'),
      moduleSettings: { metarouter: settings },
      store,
      simulate: false,
      identity: `metarouter-${randomUUID()}`,
      leaseNamespace: ns,
      metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
    });
    scope.defer(() => governor.stop());
    await governor.start();
    const server = new RouteServer();
    const port = await server.listen('127.0.0.1', 0);
    const stopServing = governor.serveRoutes(server);
    scope.defer(async () => {
      stopServing();
      await server.close();
    });

    const protocol = `thrift-${ns}`;
    await store.create({
      apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
      kind: 'ApplicationProtocol',
      metadata: { name: protocol },
      spec: { protocol: 'thrift', codec: 'aeraki.meta_protocol.codec.thrift' },
    });
    scope.defer(
      async () => void (await store.delete('ApplicationProtocol', '', protocol).catch(() => undefined)),
    );
    const service = await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'rating-rpc', namespace: ns },
      spec: { selector: { app: 'rating-rpc' }, ports: [{ name: 'tcp-metaprotocol-thrift-rpc', port: 9090 }] },
    });
    const clusterIP = (service.spec as { clusterIP: string }).clusterIP;
    expect(clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    // Aeraki's EnvoyFilters: outbound for every client in the root namespace, inbound beside the service.
    await vi.waitFor(async () => {
      const outbound = await store.get('EnvoyFilter', root, `aeraki-outbound-${host}-${clusterIP}-9090`);
      const inbound = await store.get('EnvoyFilter', ns, `aeraki-inbound-${host}-9090`);
      expect(outbound?.metadata.labels).toMatchObject({
        manager: 'Aeraki',
        'governor.io/owner-kind': 'Service',
      });
      expect(outbound?.metadata.ownerReferences ?? []).toEqual([]);
      expect(inbound?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'rating-rpc' });
    }, WAIT);

    // A proxy subscribes as Aeraki's does: ADS, Envoy's RouteConfiguration type, the route's name.
    const clients: grpc.Client[] = [];
    scope.defer(() => clients.forEach((c) => c.close()));
    const stream = openStream<Sotw>(xdsClient(port, 'ads', clients), 'StreamAggregatedResources');
    const node = { id: `sidecar~10.0.0.9~client.${ns}~${ns}.svc.cluster.local`, cluster: `client.${ns}` };
    stream.send({ node, type_url: ROUTE_TYPE_URL, resource_names: [routeName] });
    const decode = (r: Sotw) =>
      decodeProto3Json(ROUTE_TYPE_URL, r.resources[0]!.value) as unknown as HttpRoutes;
    const first = await stream.next(5000);
    expect(decode(first).virtualHosts[0]!.routes).toEqual([
      expect.objectContaining({
        name: 'default',
        route: expect.objectContaining({ cluster: `outbound|9090||${host}` }),
      }),
    ]);
    stream.send({
      node,
      type_url: ROUTE_TYPE_URL,
      resource_names: [routeName],
      version_info: first.version_info,
      response_nonce: first.nonce,
    });

    // A MetaRouter: the new routes reach the proxy as soon as the informer sees it.
    await store.create({
      apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
      kind: 'MetaRouter',
      metadata: { name: 'rating-rpc', namespace: ns },
      spec: {
        hosts: [host],
        routes: [
          {
            name: 'to-v2',
            match: { attributes: { method: { exact: 'getRating' } } },
            route: [{ destination: { host, subset: 'v2' } }],
          },
        ],
      },
    });
    const second = await stream.next(5000);
    expect(second.version_info).not.toBe(first.version_info);
    expect(decode(second).virtualHosts[0]!.routes[0]).toMatchObject({
      name: 'to-v2',
      route: { cluster: `outbound|9090|v2|${host}` },
    });
    stream.send({
      node,
      type_url: ROUTE_TYPE_URL,
      resource_names: [routeName],
      version_info: second.version_info,
      response_nonce: second.nonce,
    });
    await vi.waitFor(async () => {
      const r = await store.get('MetaRouter', ns, 'rating-rpc');
      expect(condition(r, 'Ready')).toMatchObject({ status: 'True' });
      expect(condition(r, 'ProxiesAccepted')).toMatchObject({ status: 'True' });
    }, WAIT);

    // The proxy refuses the next version: its error is in the MetaRouter's status.
    // The controller writes the status meanwhile: edit the latest version.
    await vi.waitFor(async () => {
      const current = (await store.get('MetaRouter', ns, 'rating-rpc'))!;
      await store.update({
        ...current,
        spec: {
          hosts: [host],
          routes: [
            {
              name: 'split',
              route: [
                { destination: { host, subset: 'v1' }, weight: 80 },
                { destination: { host, subset: 'v2' }, weight: 20 },
              ],
            },
          ],
        },
      });
    }, WAIT);
    const third = await stream.next(5000);
    expect(decode(third).virtualHosts[0]!.routes[0]!.route.weightedClusters).toBeTruthy();
    stream.send({
      node,
      type_url: ROUTE_TYPE_URL,
      resource_names: [routeName],
      version_info: second.version_info,
      response_nonce: third.nonce,
      error_detail: { code: 3, message: 'cluster outbound|9090|v1 not found' },
    });
    await vi.waitFor(async () => {
      const r = await store.get('MetaRouter', ns, 'rating-rpc');
      expect(condition(r, 'ProxiesAccepted')).toMatchObject({
        status: 'False',
        // The version of the resource refused (a response's version_info covers all it carries).
        message: expect.stringMatching(
          new RegExp(
            `^${node.id.replace(/[.~]/g, '\\$&')} refused ${routeName.replace(/\./g, '\\.')} version \\w+: cluster outbound\\|9090\\|v1 not found$`,
          ),
        ),
      });
      expect(condition(r, 'Ready')).toMatchObject({ status: 'False', reason: 'Rejected' });
    }, WAIT);
  }, 90_000);

  it("serves every Aeraki demo's route configurations, as the proxy reads them back", async () => {
    const load = (file: string, namespace: string) => aerakiDemo<KubeObject>(namespace, file);
    const demos = [
      ...[
        'metarouter-v1',
        'metarouter-v2',
        'traffic-split',
        'metarouter-header-mutation',
        'metarouter-local-ratelimit',
        'metarouter-global-ratelimit',
      ].map(
        (f) =>
          [
            'meta-thrift',
            ['thrift/thrift-sample.yaml', 'thrift/destinationrule.yaml', `thrift/${f}.yaml`],
          ] as const,
      ),
      ...[
        'metarouter-v1',
        'traffic-split',
        'traffic-mirroring',
        'metarouter-local-ratelimit',
        'metarouter-global-ratelimit',
      ].map(
        (f) =>
          [
            'meta-dubbo',
            ['dubbo/serviceentry.yaml', 'dubbo/destinationrule.yaml', `dubbo/${f}.yaml`],
          ] as const,
      ),
    ];
    const server = new RouteServer();
    const port = await server.listen('127.0.0.1', 0);
    scope.defer(() => server.close());
    const clients: grpc.Client[] = [];
    scope.defer(() => clients.forEach((c) => c.close()));
    for (const [ns, files] of demos) {
      const cluster = [...load('applicationprotocol.yaml', ns), ...files.flatMap((f) => load(f, ns))];
      const { configs } = routeConfigurations(staticSnapshot(cluster));
      expect(configs.length).toBeGreaterThan(0);
      server.setRoutes(configs);
      const stream = openStream<Sotw>(xdsClient(port, 'rds', clients), 'StreamRoutes');
      stream.send({
        node: { id: `sidecar~10.0.0.1~client.${ns}` },
        type_url: ROUTE_TYPE_URL,
        resource_names: configs.map((c) => c.name),
      });
      const response = await stream.next(5000);
      const served = response.resources.map((r) =>
        fromHttpRouteConfiguration(
          decodeProto3Json(ROUTE_TYPE_URL, r.value) as unknown as HttpRouteConfiguration,
        ),
      );
      // An empty match travels as no match at all: the same to the proxy.
      const normal = (list: readonly MetaRouteConfiguration[]) =>
        [...list]
          .map((c) => ({
            ...c,
            routes: c.routes.map(({ match, ...r }) => (match?.metadata.length ? { ...r, match } : r)),
          }))
          .sort((a, b) => a.name.localeCompare(b.name));
      expect({ files, served: normal(served) }).toEqual({ files, served: normal(configs) });
      stream.call.end();
    }
  });
});
