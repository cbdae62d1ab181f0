/** The traffic simulator of the embedded demo mesh. */
export * from './exposition';
export * from './load';
export * from './simulator';
export * from './embedded-mesh';
export { type EdgeRate, type RuleSecond, type ServiceSecond } from './request-counts';
export { type FallbackCount, type SimulatedMetricValues } from './pod-metrics';
export { DEFAULT_ROOT_NAMESPACE, Fences, type Destination } from './fences';
export { DEFAULT_POD_MODEL, parseCpuQuantity, type PodModel } from './pods';
export {
  BOOKINFO_CALLS,
  BOOKINFO_LOADS,
  remoteBookinfo,
  DEFAULT_LOADS,
  DEFAULT_USERS,
  MAX_MESH_RPS,
  MAX_SERVICE_RPS,
  type SimulatedUser,
} from './traffic';
