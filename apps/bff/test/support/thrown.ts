/** What `f` throws (undefined when it returns), for a test that looks at more of an error than `toThrow` does. */
export function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}
