import { EmbeddedStore } from '../cluster/embedded-store';
import { describeModuleContract } from '../../test/support/module-contract-suite';

let n = 0;
describeModuleContract('the embedded store', async () => {
  const store = await EmbeddedStore.open({});
  return { store, namespace: `contract-${++n}`, cleanup: () => store.close() };
});
