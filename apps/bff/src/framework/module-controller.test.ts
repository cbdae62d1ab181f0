import { EmbeddedStore } from '../cluster/embedded-store';
import { describeControllerBehaviour } from '../../test/support/controller-suite';

let n = 0;
describeControllerBehaviour('the embedded store', async () => {
  const store = await EmbeddedStore.open({});
  return { store, namespace: `test-${++n}`, cleanup: () => store.close() };
});
