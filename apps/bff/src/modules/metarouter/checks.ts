/** Aeraki's admission rules for a MetaRouter, as problems and warnings. */
import {
  parseGoDuration,
  type MetaDestination,
  type MetaRouteMatch,
  type MetaRouter,
  type MetaTokenBucket,
} from '@governor/crd-types';
import { RE2JS } from 're2js';
import type { PlanProblem } from '../../framework/module';

/* ---------- validation (Aeraki's admission rules, as problems) ---------- */

function checkMatch(match: MetaRouteMatch | undefined, at: string, problems: PlanProblem[]): void {
  for (const [name, m] of Object.entries(match?.attributes ?? {})) {
    const set = m ? (['exact', 'prefix', 'regex'] as const).filter((k) => m[k] !== undefined) : [];
    if (set.length > 1)
      problems.push({ path: `${at}.attributes.${name}`, message: `sets ${set.join(' and ')}: give one` });
    if (m?.regex !== undefined && m.regex !== '*') {
      if (m.regex === '') problems.push({ path: `${at}.attributes.${name}.regex`, message: 'empty' });
      else
        try {
          RE2JS.compile(m.regex);
        } catch (e) {
          problems.push({
            path: `${at}.attributes.${name}.regex`,
            message: `not an RE2 expression: ${(e as Error).message}`,
          });
        }
    }
  }
}

function checkBucket(b: MetaTokenBucket | undefined, at: string, problems: PlanProblem[]): void {
  if (!b) return;
  const ms = parseGoDuration(b.fillInterval);
  if (ms === null)
    problems.push({ path: `${at}.fillInterval`, message: `not a duration: "${b.fillInterval}" (e.g. 60s)` });
  else if (ms < 50)
    problems.push({ path: `${at}.fillInterval`, message: 'must be at least 50ms (Envoy refuses less)' });
  if ((b.maxTokens ?? 0) < 1) problems.push({ path: `${at}.maxTokens`, message: 'must be at least 1' });
  if (b.tokensPerFill !== undefined && b.tokensPerFill < 1)
    problems.push({ path: `${at}.tokensPerFill`, message: 'must be at least 1' });
}

function checkDestination(d: MetaDestination | undefined, at: string, problems: PlanProblem[]): void {
  if (!d) return;
  if (!d.host) problems.push({ path: `${at}.host`, message: 'required' });
  if (d.subset !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(d.subset))
    problems.push({ path: `${at}.subset`, message: `"${d.subset}" is not a subset name (DNS label)` });
}

/** What Aeraki's admission webhook refuses, as problems; what it would only log, as warnings. */
export function checkMetaRouter(r: MetaRouter): { problems: PlanProblem[]; warnings: string[] } {
  const problems: PlanProblem[] = [];
  const warnings: string[] = [];
  const { spec } = r;
  if ((spec.hosts ?? []).length === 0)
    problems.push({ path: 'spec.hosts', message: 'required: the service the rules are for' });
  if ((spec.routes ?? []).length === 0 && !spec.localRateLimit && !spec.globalRateLimit)
    problems.push({ path: 'spec', message: 'no routes, localRateLimit or globalRateLimit: nothing to do' });
  let catchAll = -1;
  (spec.routes ?? []).forEach((route, i) => {
    const at = `spec.routes[${i}]`;
    checkMatch(route.match, `${at}.match`, problems);
    if (!route.match) {
      if (catchAll >= 0)
        warnings.push(`${at}: never used, spec.routes[${catchAll}] before it matches every call`);
      catchAll = i;
    }
    const dests = route.route ?? [];
    if (dests.length === 0)
      problems.push({ path: `${at}.route`, message: 'required: at least one destination' });
    dests.forEach((d, j) => {
      checkDestination(d.destination, `${at}.route[${j}].destination`, problems);
      if ((d.weight ?? 0) > 100) problems.push({ path: `${at}.route[${j}].weight`, message: 'at most 100' });
    });
    const total = dests.reduce((s, d) => s + (d.weight ?? 0), 0);
    if (dests.length > 1 && total !== 100)
      problems.push({ path: `${at}.route`, message: `weights add up to ${total}, not 100` });
    checkDestination(route.mirror, `${at}.mirror`, problems);
    if (route.mirrorPercentage && !route.mirror)
      problems.push({ path: `${at}.mirrorPercentage`, message: 'set with mirror only' });
    const pct = route.mirrorPercentage?.value;
    if (pct !== undefined && (pct <= 0 || pct > 100))
      problems.push({
        path: `${at}.mirrorPercentage.value`,
        message: `must be above 0 and at most 100, got ${pct}`,
      });
    for (const k of ['requestMutation', 'responseMutation'] as const)
      (route[k] ?? []).forEach((kv, j) => {
        if (!kv.key) problems.push({ path: `${at}.${k}[${j}].key`, message: 'empty' });
        if (!kv.value) problems.push({ path: `${at}.${k}[${j}].value`, message: 'empty' });
      });
  });
  const local = spec.localRateLimit;
  if (local) {
    if (!local.tokenBucket && (local.conditions ?? []).length === 0)
      problems.push({ path: 'spec.localRateLimit', message: 'give tokenBucket, conditions or both' });
    checkBucket(local.tokenBucket, 'spec.localRateLimit.tokenBucket', problems);
    (local.conditions ?? []).forEach((c, i) => {
      checkMatch(c.match, `spec.localRateLimit.conditions[${i}].match`, problems);
      checkBucket(c.tokenBucket, `spec.localRateLimit.conditions[${i}].tokenBucket`, problems);
    });
  }
  const global = spec.globalRateLimit;
  if (global) {
    if (!global.domain) problems.push({ path: 'spec.globalRateLimit.domain', message: 'empty' });
    if (!global.rateLimitService)
      problems.push({ path: 'spec.globalRateLimit.rateLimitService', message: 'empty' });
    checkMatch(global.match, 'spec.globalRateLimit.match', problems);
    if (global.descriptors.length === 0)
      problems.push({ path: 'spec.globalRateLimit.descriptors', message: 'required: at least one' });
    global.descriptors.forEach((d, i) => {
      if (!d.property)
        problems.push({ path: `spec.globalRateLimit.descriptors[${i}].property`, message: 'empty' });
      if (!d.descriptorKey)
        problems.push({ path: `spec.globalRateLimit.descriptors[${i}].descriptorKey`, message: 'empty' });
    });
    if (global.requestTimeout !== undefined && parseGoDuration(global.requestTimeout) === null)
      problems.push({
        path: 'spec.globalRateLimit.requestTimeout',
        message: `not a duration: "${global.requestTimeout}" (e.g. 100ms)`,
      });
  }
  return { problems, warnings };
}
