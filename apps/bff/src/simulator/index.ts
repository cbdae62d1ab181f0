/** The traffic simulator of the embedded demo mesh. */
export * from './exposition';
export * from './load';
export * from './simulator';
export * from './embedded-mesh';
