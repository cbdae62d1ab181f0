'use client';
/**
 * MetaProtocol routing: the services whose calls (Dubbo, Thrift, …) Aeraki's MetaProtocol proxy routes by
 * method and other attributes; for the one selected, its calls live, the proxies holding its routes, and
 * its MetaRouter's editor.
 */
import { useQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useClusterFilter } from '../../lib/cluster-filter';
import { findByKey } from '../../lib/clusters';
import { useTRPC } from '../../lib/trpc';
import { ClusterFilterSelect } from '../clusters/cluster-filter';
import { useClusters } from '../clusters/use-clusters';
import { LiveTraffic } from './live-traffic';
import { MetaRouterEditor, newMetaRouter } from './metarouter-editor';
import { ServiceTable } from './service-table';
import { Subscriptions } from './subscriptions';
import type { MetaProtocolService } from './types';

function StoredEditor({ cluster, namespace, name }: { cluster: string; namespace: string; name: string }) {
  const trpc = useTRPC();
  const object = useQuery(trpc.metarouter.get.queryOptions({ cluster, namespace, name }));
  if (object.isPending) return <p role="status">Loading MetaRouter {name}…</p>;
  if (object.isError)
    return (
      <p role="alert">
        Could not load MetaRouter {namespace}/{name}: {object.error.message}
      </p>
    );
  return (
    <MetaRouterEditor cluster={cluster} namespace={namespace} name={name} initial={object.data.yaml} stored />
  );
}

function ServiceDetail({ service: s }: { service: MetaProtocolService }) {
  const m = s.metaRouter;
  return (
    <section
      aria-labelledby="mr-service-heading"
      className="space-y-6 rounded-lg border border-slate-200 p-4 dark:border-slate-800"
    >
      <div>
        <h3 id="mr-service-heading" className="text-base font-semibold">
          {s.host}
        </h3>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          {s.kind} {s.namespace}/{s.name} in cluster {s.cluster} ·{' '}
          {m
            ? `routed by MetaRouter ${m.namespace}/${m.name} (Ready: ${m.ready})`
            : 'no MetaRouter: every call goes to the service'}
          {m?.message ? ` — ${m.message}` : ''}
        </p>
      </div>
      <LiveTraffic cluster={s.cluster} host={s.host} />
      <Subscriptions cluster={s.cluster} routeConfigs={s.routeConfigurations.map((r) => r.name)} />
      {m ? (
        <StoredEditor
          key={`${s.cluster}/${m.namespace}/${m.name}`}
          cluster={s.cluster}
          namespace={m.namespace}
          name={m.name}
        />
      ) : (
        <MetaRouterEditor
          key={`${s.cluster}/${s.host}`}
          cluster={s.cluster}
          namespace={s.namespace}
          name={s.name}
          initial={newMetaRouter(s.namespace, s.name, s.host)}
          stored={false}
        />
      )}
    </section>
  );
}

export function MetaRouterView() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const { cluster, input } = useClusterFilter();
  const home = useClusters().data?.home;
  const services = useQuery({ ...trpc.metarouter.services.queryOptions(input), refetchInterval: 5_000 });
  const selectedKey = params.get('service');
  const select = (key: string) => {
    const next = new URLSearchParams(params);
    next.set('service', key);
    router.replace(`${pathname}?${next.toString()}`, { scroll: false });
  };
  const selected = findByKey(services.data, selectedKey, cluster ?? home);
  return (
    <div className="space-y-8">
      <section aria-labelledby="mr-heading" className="space-y-4">
        <div>
          <h2 id="mr-heading" className="text-lg font-semibold">
            MetaProtocol routing
          </h2>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            A MetaRouter routes an RPC service&apos;s calls (Dubbo, Thrift, any MetaProtocol codec) by method
            and other attributes: splits them between subsets, mirrors them, rewrites them and rate-limits
            them.
          </p>
        </div>
        <ClusterFilterSelect reset={['service']} />
        {services.isPending ? (
          <p role="status">Loading the services…</p>
        ) : services.isError ? (
          <p role="alert">Could not load the services: {services.error.message}</p>
        ) : services.data.length === 0 ? (
          <p>
            No MetaProtocol service (a port named <code>tcp-metaprotocol-&lt;protocol&gt;-…</code>) in the
            namespaces you may see.
          </p>
        ) : (
          <ServiceTable services={services.data} selected={selectedKey} onSelect={select} />
        )}
      </section>
      {selected && <ServiceDetail key={selectedKey} service={selected} />}
      {selectedKey && services.data && !selected && (
        <p role="alert">No MetaProtocol service {selectedKey} among those you may see.</p>
      )}
    </div>
  );
}
