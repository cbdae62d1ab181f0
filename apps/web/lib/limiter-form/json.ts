/** Plain JSON values: a custom resource as its author wrote it, before any schema normalised it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export const isJsonObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A deep copy that shares nothing: YAML aliases parse to one object referenced twice, and an edit of one
 * place must not show up in the other.
 */
export const cloneJson = <T extends JsonValue>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Sets an own property, whatever its name: `o['__proto__'] = v` would set the prototype instead. */
export function setOwn(o: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Structural equality of two JSON values; key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isJsonObject(a) && isJsonObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}
