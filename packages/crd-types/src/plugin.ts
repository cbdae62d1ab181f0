/**
 * PluginManager and EnvoyPlugin, `microservice.slime.io/v1alpha1`: Slime's plugin resources, with Slime's
 * field names in snake_case and lowerCamel alike, so every manifest written for Slime is accepted
 * unchanged. A PluginManager inserts HTTP filters into a workload's listeners; an EnvoyPlugin configures
 * filters per route configuration, virtual host or route. The plugin module renders each into an Istio
 * EnvoyFilter. Governor adds `failStrategy` to `wasm` and `rider`, and `conditions` and
 * `observedGeneration` as the status.
 */
import { z } from 'zod';
import { anyValue, arr, bool, enumOf, field, int, map, obj, str, toZod, type Infer } from './schema/dsl';
import { conditionNode, objectMetaSchema, type ObjectMeta } from './meta';
import { parseResource, type ParseResult } from './parse';

export const PLUGIN_GROUP = 'microservice.slime.io';
export const PLUGIN_VERSION = 'v1alpha1';
export const PLUGIN_API_VERSION = `${PLUGIN_GROUP}/${PLUGIN_VERSION}`;
export const PLUGINMANAGER_KIND = 'PluginManager';
export const ENVOYPLUGIN_KIND = 'EnvoyPlugin';

const struct = (description: string) => anyValue(description);

const remoteCode = (what: string) => ({
  settings: field(struct(`The ${what} plugin's configuration.`)),
  pluginName: field(str(), { aliases: ['plugin_name'], description: `The ${what} plugin's root id.` }),
  url: field(str(), {
    description: 'Where the code is: oci://image, http(s)://file or file://path (no scheme: oci).',
  }),
  sha256: field(str(), { description: "The code's SHA-256, checked before it runs." }),
  imagePullSecretName: field(str(), {
    aliases: ['image_pull_secret_name'],
    description: 'A Secret in the namespace holding the credentials to pull the image.',
  }),
  imagePullSecretContent: field(str(), {
    aliases: ['image_pull_secret_content'],
    description: 'The credentials to pull the image, inline.',
  }),
  failStrategy: field(enumOf(['FAIL_CLOSE', 'FAIL_OPEN']), {
    aliases: ['fail_strategy'],
    description:
      'Governor: what requests meet while the code cannot be loaded. FAIL_CLOSE (default) answers 403, FAIL_OPEN passes them on.',
  }),
});

export const wasmNode = obj(remoteCode('Wasm'), 'A Wasm plugin, fetched and run by the proxy.');
export const riderNode = obj(
  remoteCode('Rider (Lua)'),
  'A Rider (Lua) plugin, fetched and run by the proxy.',
);

export const inlineNode = obj(
  {
    settings: field(struct("The filter's configuration, as Envoy's proto3 JSON.")),
    directPatch: field(bool(), {
      aliases: ['direct_patch'],
      description: 'Merge the settings as they are instead of as a per-filter configuration.',
    }),
    fieldPatchTo: field(str(), {
      aliases: ['field_patch_to'],
      description: 'With directPatch: the field the settings are merged under (ROOT: the object itself).',
    }),
  },
  "The filter's configuration, inline.",
);

export const pluginNode = obj({
  enable: field(bool(), { description: 'Render the plugin; a disabled one is left out.' }),
  name: field(str(), { description: "The filter's name, e.g. envoy.filters.http.fault." }),
  settings: field(struct('Deprecated: use inline.settings.')),
  listenerType: field(enumOf(['Outbound', 'Inbound', 'Gateway']), {
    aliases: ['listener_type'],
    description: 'Which listeners: Outbound (default), Inbound or Gateway.',
  }),
  typeUrl: field(str(), {
    aliases: ['type_url'],
    description: "The filter configuration's type URL; empty: Envoy finds it by the filter's name.",
  }),
  wasm: field(wasmNode),
  inline: field(inlineNode),
  rider: field(riderNode),
  port: field(int({ min: 0, max: 65535 }), {
    description: 'Only listeners on this port; 0 or none: every port.',
  }),
  rawPatch: field(struct('Merged into the rendered config patch last (a JSON merge patch).'), {
    aliases: ['raw_patch'],
  }),
  protocol: field(enumOf(['HTTP', 'Dubbo', 'Generic']), { description: 'HTTP (default), Dubbo or Generic.' }),
  genericAppProtocol: field(str(), {
    aliases: ['generic_app_protocol'],
    description: "With protocol Generic: the generic proxy's application protocol.",
  }),
  disableOnFilterLevel: field(bool(), {
    aliases: ['disable_on_filter_level'],
    description: 'Insert the filter disabled: it runs only where a route enables it.',
  }),
});

export const pluginManagerSpecNode = obj({
  workloadLabels: field(map(str()), {
    aliases: ['workload_labels'],
    description: 'The workloads the plugins apply to, by labels; none: every workload in the namespace.',
  }),
  plugin: field(arr(pluginNode), { description: 'The filters, in the order they run.' }),
  gateways: field(arr(str()), { description: 'Slime: unused.' }),
  priority: field(int({ format: 'int32' }), {
    description: "The EnvoyFilter's priority: lower ones are applied first.",
  }),
});

export const envoyPluginListenerNode = obj({
  port: field(int({ min: 0, max: 65535 }), { description: "The listener's port; 0: a Unix socket (bind)." }),
  outbound: field(bool(), { description: 'Slime: unused.' }),
  portName: field(str(), {
    aliases: ['port_name'],
    description: 'On a gateway, the port name: http[-x] or generic-<app protocol>[-x].',
  }),
  bind: field(str(), { description: "The listener's bind address (a Unix socket when port is 0)." }),
  hosts: field(arr(str()), { description: 'On a sidecar, hosts: route configurations <host>:<port>.' }),
  sidecar: field(bool(), { description: "A sidecar's listener; otherwise a gateway's." }),
});

export const envoyPluginSpecNode = obj({
  route: field(arr(str()), { description: 'Routes, as [<virtual host>/]<route name>.' }),
  host: field(arr(str()), { description: 'Virtual hosts, as <host>[:<port>].' }),
  service: field(arr(str()), { description: 'Slime: unused.' }),
  plugins: field(arr(pluginNode), { description: 'The filter configurations.' }),
  gateway: field(arr(str()), { description: 'Slime: unused.' }),
  user: field(arr(str()), { description: 'Slime: unused.' }),
  isGroupSetting: field(bool(), { aliases: ['is_group_setting'], description: 'Deprecated.' }),
  listener: field(arr(envoyPluginListenerNode), { description: 'Route configurations, by listener.' }),
  workloadSelector: field(obj({ labels: field(map(str()), { description: 'Labels the workload has.' }) }), {
    aliases: ['workload_selector'],
    description: 'The workloads it applies to; none: every one in the namespace.',
  }),
  priority: field(int({ format: 'int32' }), {
    description: "The EnvoyFilter's priority: lower ones are applied first.",
  }),
});

export const pluginStatusNode = obj({
  conditions: field(arr(conditionNode)),
  observedGeneration: field(int({ format: 'int64', min: 0 })),
});

export type WasmPlugin = Infer<typeof wasmNode>;
export type RiderPlugin = Infer<typeof riderNode>;
export type InlinePlugin = Infer<typeof inlineNode>;
export type Plugin = Infer<typeof pluginNode>;
export type PluginManagerSpec = Infer<typeof pluginManagerSpecNode>;
export type EnvoyPluginListener = Infer<typeof envoyPluginListenerNode>;
export type EnvoyPluginSpec = Infer<typeof envoyPluginSpecNode>;
export type PluginStatus = Infer<typeof pluginStatusNode>;

export const pluginManagerSpecSchema = toZod(pluginManagerSpecNode);
export const envoyPluginSpecSchema = toZod(envoyPluginSpecNode);
export const pluginStatusSchema = toZod(pluginStatusNode);

interface PluginObject<K extends string, S> {
  apiVersion: typeof PLUGIN_API_VERSION;
  kind: K;
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: S;
  status?: PluginStatus;
}
export type PluginManager = PluginObject<typeof PLUGINMANAGER_KIND, PluginManagerSpec>;
export type EnvoyPlugin = PluginObject<typeof ENVOYPLUGIN_KIND, EnvoyPluginSpec>;

function objectSchema<K extends string>(kind: K, spec: z.ZodType<unknown>) {
  return z.object({
    apiVersion: z.literal(PLUGIN_API_VERSION, {
      error: (iss) => `expected ${PLUGIN_API_VERSION}, got ${JSON.stringify(iss.input)}`,
    }),
    kind: z.literal(kind),
    metadata: objectMetaSchema.and(
      z.object({
        name: z.string({ error: 'required' }).min(1, 'required'),
        namespace: z.string().default('default'),
      }),
    ),
    spec: spec.default({}),
    status: pluginStatusSchema.optional(),
  });
}

export const pluginManagerSchema = objectSchema(
  PLUGINMANAGER_KIND,
  pluginManagerSpecSchema as z.ZodType<unknown>,
) as unknown as z.ZodType<PluginManager>;
export const envoyPluginSchema = objectSchema(
  ENVOYPLUGIN_KIND,
  envoyPluginSpecSchema as z.ZodType<unknown>,
) as unknown as z.ZodType<EnvoyPlugin>;

/** Parses a PluginManager once at the boundary: typed issues, unknown fields as warnings with a suggestion. */
export const parsePluginManager = (input: unknown): ParseResult<PluginManager> =>
  parseResource(pluginManagerSchema, pluginManagerSpecNode, input);

/** Parses an EnvoyPlugin once at the boundary: typed issues, unknown fields as warnings with a suggestion. */
export const parseEnvoyPlugin = (input: unknown): ParseResult<EnvoyPlugin> =>
  parseResource(envoyPluginSchema, envoyPluginSpecNode, input);
