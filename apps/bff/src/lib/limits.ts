/** Limits given in part over defaults, as the network servers take them. */

/**
 * The defaults with each given limit in place of its default; an undefined one keeps the default.
 * Throws a RangeError naming the first limit that is not a positive number.
 */
export function limitsOver<L extends object>(defaults: L, given: Partial<L> | undefined): Readonly<L> {
  const limits = { ...defaults };
  for (const [name, value] of Object.entries(given ?? {}) as [keyof L & string, number | undefined][]) {
    if (value === undefined) continue;
    if (!(Number.isFinite(value) && value > 0))
      throw new RangeError(`${name} must be a positive number, got ${value}`);
    (limits as Record<string, number>)[name] = value;
  }
  return Object.freeze(limits);
}
