/**
 * In a cluster the admin token's hash lives in a ConfigMap (`governor-admin` in Governor's namespace), not
 * in the Pod's data directory: it survives restarts and every replica shares it. The first BFF to start
 * creates it and prints the token once; the others, and later starts, read it. It holds a SHA-256 only, so
 * a ConfigMap suffices and the BFF needs no right to read Secrets.
 */
import type { KubernetesJsonApi } from '../cluster/kubernetes-json-api';
import { AlreadyExistsError, NotFoundError } from '../cluster/store';
import { AuthError, newAdminToken, sha256 } from '../auth/auth';

export const ADMIN_CONFIGMAP_NAME = 'governor-admin';
/** The ConfigMap's key holding the token's SHA-256 in hex. */
export const ADMIN_CONFIGMAP_KEY = 'tokenSha256';

interface ConfigMapObject {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly data?: Readonly<Record<string, string>>;
}

export interface AdminTokenConfigMapOptions {
  readonly api: KubernetesJsonApi;
  readonly namespace: string;
  readonly name?: string;
}

export interface AdminTokenFromConfigMap {
  readonly tokenSha256: Buffer;
  /** The new token, when this call created the ConfigMap: shown once, kept nowhere. */
  readonly createdToken?: string;
  /** `ConfigMap <namespace>/<name>`, for messages. */
  readonly where: string;
}

/**
 * The admin token's hash from its ConfigMap, creating the ConfigMap (and the token) when there is none.
 * Fails with an {@link AuthError} naming the ConfigMap when it can be neither read nor created.
 */
export async function adminTokenFromConfigMap(
  options: AdminTokenConfigMapOptions,
): Promise<AdminTokenFromConfigMap> {
  const where = `ConfigMap ${options.namespace}/${options.name ?? ADMIN_CONFIGMAP_NAME}`;
  try {
    return await readOrCreate(options);
  } catch (e) {
    if (e instanceof AuthError) throw e;
    throw new AuthError(
      `cannot read or create the admin token's ${where} (${e instanceof Error ? e.message : String(e)}): ` +
        'the chart (deploy/) creates the namespace and grants access to it; GOVERNOR_NAMESPACE names another namespace',
    );
  }
}

async function readOrCreate(options: AdminTokenConfigMapOptions): Promise<AdminTokenFromConfigMap> {
  const name = options.name ?? ADMIN_CONFIGMAP_NAME;
  const { api, namespace } = options;
  const where = `ConfigMap ${namespace}/${name}`;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  const read = async (): Promise<Buffer | undefined> => {
    try {
      const configMap = await api.send<ConfigMapObject>({
        method: 'GET',
        path: `${path}/${encodeURIComponent(name)}`,
      });
      const hex = (configMap.data?.[ADMIN_CONFIGMAP_KEY] ?? '').trim();
      if (!/^[0-9a-f]{64}$/.test(hex))
        throw new AuthError(
          `${where}: no ${ADMIN_CONFIGMAP_KEY} (the hex SHA-256 of the admin token); delete it to make a new token`,
        );
      return Buffer.from(hex, 'hex');
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  };
  const existing = await read();
  if (existing) return { tokenSha256: existing, where };
  const token = newAdminToken();
  const tokenSha256 = sha256(token);
  try {
    await api.send({
      method: 'POST',
      path,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'governor' } },
        data: { [ADMIN_CONFIGMAP_KEY]: tokenSha256.toString('hex') },
      },
    });
    return { tokenSha256, createdToken: token, where };
  } catch (e) {
    // Another replica created it between our read and our create: its token stands.
    if (!(e instanceof AlreadyExistsError)) throw e;
    const won = await read();
    if (!won) throw e;
    return { tokenSha256: won, where };
  }
}
