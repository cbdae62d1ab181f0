/** The framework's contract for every registered module, on a real kube-apiserver. */
import { describeModuleContract } from '../support/module-contract-suite';
import { freshNamespace, useKubeTestServer } from '../support/kube-test-fixtures';

const running = useKubeTestServer();
describeModuleContract('a real kube-apiserver', () => freshNamespace(running(), 'contract'));
