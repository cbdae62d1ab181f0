/** Governor's custom resource types: TypeScript types, runtime schemas and CRD manifests from one source. */
export * from './schema/dsl';
export * from './suggest';
export * from './meta';
export * from './parse';
export * from './smartlimiter';
export * from './servicefence';
export * from './plugin';
export * from './metaprotocol';
export * from './kube';
export * from './envoyfilter';
export * from './crd';
export * from './fanout';
