export * from './context';
export * from './descriptor-id';
export * from './envoy-json';
export * from './match';
export * from './render';
export * from './rls-config';
export * from './status';
