/**
 * The embedded store's rules for objects, as the API server applies them: validation of the fields the
 * store relies on, the metadata the server owns, preconditions, and when a change is a new generation.
 */
import { apiVersionOf, ConflictError, InvalidError, isClusterScoped, isKnownKind, kindInfo } from './store';
import type { Kind, KubeObject, ObjectMetadata } from './store';

const SYSTEM_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
] as const;

/** The metadata a client may set: everything but the fields the server owns. */
export function userMetadata(metadata: ObjectMetadata): ObjectMetadata {
  const result: ObjectMetadata = { ...metadata };
  for (const field of SYSTEM_METADATA) delete result[field];
  return result;
}

export function systemMetadata(metadata: ObjectMetadata): Partial<ObjectMetadata> {
  const result: Record<string, unknown> = {};
  for (const field of SYSTEM_METADATA) {
    if (metadata[field] !== undefined) result[field] = metadata[field];
  }
  return result as Partial<ObjectMetadata>;
}

/** The object's fields other than apiVersion, kind and metadata. */
export function withoutEnvelope(object: KubeObject): Record<string, unknown> {
  const { apiVersion: _apiVersion, kind: _kind, metadata: _metadata, ...rest } = object;
  return rest;
}

export function setStatus(object: KubeObject, status: unknown): void {
  if (status === undefined) delete object.status;
  else object.status = status;
}

/**
 * Whether two versions have the same content for `metadata.generation`: everything but metadata, and
 * but status where status is a subresource (the CustomResource rule; Kubernetes kinds follow it for spec).
 */
export function sameContent(a: KubeObject, b: KubeObject, hasStatus: boolean): boolean {
  const contentOf = (o: KubeObject): Record<string, unknown> => {
    const { status: _status, ...rest } = withoutEnvelope(o);
    return hasStatus ? rest : withoutEnvelope(o);
  };
  return jsonEqual(contentOf(a), contentOf(b));
}

export function checkPreconditions(kind: Kind, stored: KubeObject, given: ObjectMetadata): void {
  const { resourceVersion, uid } = given;
  if (
    resourceVersion !== undefined &&
    resourceVersion !== '' &&
    resourceVersion !== stored.metadata.resourceVersion
  ) {
    throw conflict(kind, given.name);
  }
  if (uid !== undefined && uid !== '' && uid !== stored.metadata.uid) {
    throw new ConflictError(
      `Precondition failed for ${resourceOf(kind)} "${given.name}": UID in precondition: ${uid}, UID in object meta: ${stored.metadata.uid ?? ''}`,
    );
  }
}

export const conflict = (kind: Kind, name: string): ConflictError =>
  new ConflictError(
    `Operation cannot be fulfilled on ${resourceOf(kind)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );

/** `smartlimiters.microservice.slime.io`, `pods`: how the API server names a resource in messages. */
export function resourceOf(kind: Kind): string {
  const { group, plural } = kindInfo(kind);
  return group === '' ? plural : `${plural}.${group}`;
}

export const keyFor = (namespace: string, name: string): string => `${namespace}/${name}`;

export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
export const byNamespaceAndName = (a: KubeObject, b: KubeObject): number =>
  compare(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
  compare(a.metadata.name, b.metadata.name);

/** Stored objects are plain JSON; callers get their own copy. */
export const copy = (object: KubeObject): KubeObject => structuredClone(object);

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra).filter((k) => ra[k] !== undefined);
  if (keys.length !== Object.keys(rb).filter((k) => rb[k] !== undefined).length) return false;
  return keys.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

// Validation, as the API server does it for the fields the store relies on.

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A JSON copy of the object (as if it had crossed the wire), checked. */
export function validated(object: KubeObject): { kind: Kind; input: KubeObject } {
  let input: unknown;
  try {
    input = JSON.parse(JSON.stringify(object)) as unknown;
  } catch (error) {
    throw new InvalidError(
      `the object is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const problem = objectProblem(input);
  if (problem !== undefined) throw new InvalidError(problem);
  const checked = input as KubeObject;
  // The API server drops the namespace of a cluster-scoped object.
  if (isClusterScoped(checked.kind as Kind)) delete checked.metadata.namespace;
  // As the API server does: selectors may pick a namespace by its name.
  if (checked.kind === 'Namespace')
    checked.metadata.labels = {
      ...checked.metadata.labels,
      'kubernetes.io/metadata.name': checked.metadata.name,
    };
  return { kind: checked.kind as Kind, input: checked };
}

/** What is wrong with a (JSON) object, or undefined. */
export function objectProblem(object: unknown): string | undefined {
  if (!isRecord(object)) return 'an object must be a JSON object';
  const { kind, apiVersion, metadata } = object;
  if (!isKnownKind(kind)) return `unknown kind "${String(kind)}"`;
  const expected = apiVersionOf(kind as Kind);
  if (apiVersion !== expected)
    return `${kind}: apiVersion must be "${expected}", not "${String(apiVersion)}"`;
  if (!isRecord(metadata)) return `${kind}: metadata is required`;
  const { name, namespace, labels, annotations, ownerReferences } = metadata;
  if (typeof name !== 'string' || name === '') return `${kind}: metadata.name is required`;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return `${kind} "${name}": metadata.name must be a lowercase RFC 1123 subdomain`;
  }
  if (isClusterScoped(kind as Kind)) {
    // No namespace: whatever is given is dropped.
  } else if (typeof namespace !== 'string' || namespace === '')
    return `${kind} "${name}": metadata.namespace is required`;
  else if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) {
    return `${kind} "${name}": metadata.namespace must be a lowercase RFC 1123 label`;
  }
  for (const [field, value] of [
    ['labels', labels],
    ['annotations', annotations],
  ] as const) {
    if (value === undefined) continue;
    if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
      return `${kind} "${name}": metadata.${field} must map strings to strings`;
    }
  }
  if (ownerReferences !== undefined) {
    const valid =
      Array.isArray(ownerReferences) &&
      ownerReferences.every(
        (r) =>
          isRecord(r) &&
          ['apiVersion', 'kind', 'name', 'uid'].every((f) => typeof r[f] === 'string' && r[f] !== ''),
      );
    if (!valid) return `${kind} "${name}": each ownerReference needs apiVersion, kind, name and uid`;
  }
  return undefined;
}
