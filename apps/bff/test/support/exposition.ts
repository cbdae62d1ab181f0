/** Prometheus' text format 0.0.4, read strictly: what the tests of every exposition Governor serves use. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly helps: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const unescape = (v: string, quote: boolean): string =>
  v.replace(quote ? /\\([\\"n])/g : /\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

/**
 * A strict reader of the text format 0.0.4, as Prometheus reads it: HELP and TYPE at most once per family and
 * before its samples, every sample of a declared family (a histogram's `_bucket`, `_sum`, `_count`), label
 * values with only `\\`, `\"` and `\n` escapes, values that are numbers. Throws on anything else.
 */
export function parseExposition(text: string): Exposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const sampled = new Set<string>();
  const samples: Sample[] = [];
  const familyOf = (name: string): string => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && types.get(base) === 'histogram') return base;
    }
    return name;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (sampled.has(name)) throw new Error(`${kind} of ${name} after its samples`);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`a second HELP of ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`bad escape in HELP: ${line}`);
        helps.set(name, unescape(rest, false));
      } else {
        if (types.has(name)) throw new Error(`a second TYPE of ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`unknown type: ${line}`);
        types.set(name, rest);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    if (labelText) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/gy;
      let consumed = 0;
      for (let lm = re.exec(labelText); lm; lm = re.exec(labelText)) {
        if (lm[1]! in labels) throw new Error(`label ${lm[1]} twice: ${line}`);
        labels[lm[1]!] = unescape(lm[2]!, true);
        consumed = re.lastIndex;
      }
      if (consumed !== labelText.length) throw new Error(`bad labels: ${JSON.stringify(labelText)}`);
    }
    const value =
      valueText === '+Inf'
        ? Infinity
        : valueText === '-Inf'
          ? -Infinity
          : valueText === 'NaN'
            ? NaN
            : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value: ${line}`);
    const family = familyOf(name);
    if (!types.has(family)) throw new Error(`a sample of ${name} without a TYPE`);
    sampled.add(family);
    samples.push({ name, labels, value });
  }
  return { types, helps, samples };
}

const sameLabels = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/** The value of the one sample of `name` with exactly these labels; undefined without one. */
export function valueOf(e: Exposition, name: string, labels: Record<string, string>): number | undefined {
  const found = e.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
