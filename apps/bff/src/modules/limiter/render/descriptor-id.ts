/**
 * Descriptor ids. Slime names a descriptor `Service[<name>.<namespace>]-Id[<adler32 of the evaluated
 * descriptor>]`: the quota is part of the hash, so every quota change renames the descriptor and Envoy
 * drops its bucket. Governor keeps the format but hashes only what identifies the rule (namespace, name,
 * set, match, target), so an adaptive quota change keeps the id and the bucket.
 */

import { canonicalJson } from '../../../lib/canonical-json';

export { canonicalJson };

/** FNV-1a, 32 bits, over the UTF-8 bytes of the text: small, stable and well spread for short strings. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export interface DescriptorIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly set: string;
  readonly match: unknown;
  readonly target: unknown;
  /** 0 for the first descriptor with this identity in a set, 1 for the next, and so on. */
  readonly occurrence: number;
}

export function descriptorHash(identity: DescriptorIdentity): number {
  const { occurrence, ...rest } = identity;
  // The occurrence only enters the hash when it is not 0, so a lone descriptor's id is the hash of what
  // identifies it and nothing else.
  return fnv1a32(canonicalJson(occurrence === 0 ? rest : identity));
}

export function descriptorValue(identity: DescriptorIdentity): string {
  return `Service[${identity.name}.${identity.namespace}]-Id[${descriptorHash(identity)}]`;
}

/** The descriptor key of a `request_headers` action (Slime's present_match_separate). */
export function requestHeaderDescriptorKey(identity: DescriptorIdentity): string {
  return `RequestHeader[${identity.name}.${identity.namespace}]-Id[${descriptorHash(identity)}]`;
}
