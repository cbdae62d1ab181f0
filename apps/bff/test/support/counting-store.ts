import type { ClusterStore, KubeObject } from '../../src/cluster/store';

/** A store that counts the writes made through it (the control plane's, in tests and benchmarks). */
export function countingStore(store: ClusterStore): { store: ClusterStore; writes: () => number } {
  let writes = 0;
  const counted =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A) => {
      writes++;
      return fn(...args);
    };
  const wrapped: ClusterStore = {
    description: store.description,
    list: (...a) => store.list(...a),
    get: (...a) => store.get(...a),
    watch: (...a) => store.watch(...a),
    create: counted((o: KubeObject) => store.create(o)),
    update: counted((o: KubeObject) => store.update(o)),
    apply: counted((o: KubeObject, opts: Parameters<ClusterStore['apply']>[1]) => store.apply(o, opts)),
    updateStatus: counted((o: KubeObject) => store.updateStatus(o)),
    delete: counted((...a: Parameters<ClusterStore['delete']>) => store.delete(...a)),
    close: () => store.close(),
  };
  return { store: wrapped, writes: () => writes };
}
