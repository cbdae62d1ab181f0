/** Reading input files and rendering every SmartLimiter in them: shared by `render` and `replay`. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SmartLimiter } from '@governor/crd-types';
import {
  formatProblem,
  renderSmartLimiter,
  type ClusterContext,
  type RateLimitServiceOptions,
  type RenderResult,
} from '../modules/limiter/render';
import { emptyObjects, formatLoadProblem, loadText, type LoadProblem } from './load';
import { UsageError, type CliIo } from './io';

export const METRIC_VALUE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const METRIC_KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** `--metric KEY=VALUE` flags: keys like `_base.cpu.sum`, values decimal numbers (kept exact as text). */
export function parseMetricFlags(flags: readonly string[]): Record<string, string> {
  const metrics: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    const key = eq > 0 ? f.slice(0, eq).trim() : '';
    const value = eq > 0 ? f.slice(eq + 1).trim() : '';
    if (!METRIC_KEY.test(key))
      throw new UsageError(`--metric ${f}: expected KEY=VALUE with a key like _base.cpu.sum`);
    if (!METRIC_VALUE.test(value)) throw new UsageError(`--metric ${f}: the value must be a number`);
    metrics[key] = value;
  }
  return metrics;
}

/** Reads a file relative to the caller's directory, or standard input for "-". */
export async function readInput(file: string, io: CliIo): Promise<string> {
  if (file === '-') {
    if (!io.stdin) throw new UsageError('no standard input to read');
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of io.stdin)
      text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    return text;
  }
  return readFile(resolve(io.cwd, file), 'utf8');
}

export const byNamespaceName = (
  a: { metadata: { namespace?: string; name: string } },
  b: { metadata: { namespace?: string; name: string } },
): number => {
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

export interface PipelineResult {
  readonly context: ClusterContext;
  readonly results: { file: string; limiter: SmartLimiter; result: RenderResult }[];
  /** Every problem, already written to standard error. */
  readonly problems: LoadProblem[];
}

/**
 * Loads the files, renders each SmartLimiter (sorted by namespace/name) and writes warnings and problems to
 * standard error, each with its file, object and field path.
 */
export async function loadAndRender(opts: {
  files: readonly string[];
  metrics: Record<string, string>;
  rateLimitService: RateLimitServiceOptions;
  io: CliIo;
}): Promise<PipelineResult> {
  const { io } = opts;
  const objects = emptyObjects();
  const problems: LoadProblem[] = [];
  const warnings: LoadProblem[] = [];
  for (const file of opts.files) {
    let text: string;
    try {
      text = await readInput(file, io);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      problems.push({ file, message: e instanceof Error ? e.message.replace(/^ENOENT: /, '') : String(e) });
      continue;
    }
    const r = loadText(file, text, objects);
    problems.push(...r.problems);
    warnings.push(...r.warnings);
  }

  const seen = new Map<string, string>();
  for (const { file, object } of objects.smartLimiters) {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ file, object: `SmartLimiter ${key}`, message: `defined twice (first in ${first})` });
    } else seen.set(key, file);
  }

  const context: ClusterContext = {
    services: objects.services,
    pods: objects.pods,
    destinationRules: objects.destinationRules,
    serviceEntries: objects.serviceEntries,
  };
  const now = new Date();
  const results: PipelineResult['results'] = [];
  for (const { file, object: limiter } of [...objects.smartLimiters].sort((a, b) =>
    byNamespaceName(a.object, b.object),
  )) {
    const result = renderSmartLimiter({
      limiter,
      context,
      metrics: opts.metrics,
      options: { rateLimitService: opts.rateLimitService, now },
    });
    results.push({ file, limiter, result });
    const object = `SmartLimiter ${limiter.metadata.namespace}/${limiter.metadata.name}`;
    for (const p of result.problems) problems.push({ file, object, message: formatProblem(p) });
    for (const w of result.warnings) warnings.push({ file, object, message: w });
  }

  for (const w of warnings) io.stderr.write(`warning: ${formatLoadProblem(w)}\n`);
  for (const p of problems) io.stderr.write(`error: ${formatLoadProblem(p)}\n`);
  if (objects.smartLimiters.length === 0 && problems.length === 0) {
    io.stderr.write('warning: no SmartLimiter in the input\n');
  }
  return { context, results, problems };
}
