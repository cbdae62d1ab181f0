/** The rate-limit engine. Pure TypeScript: no I/O in its core, time comes from an injected clock. */
export {};
