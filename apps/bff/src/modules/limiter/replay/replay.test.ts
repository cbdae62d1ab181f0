import { describe, expect, it } from 'vitest';
import { contextOf, loadObjects, onlyLimiter, smartLimiterYaml } from '../../../../test/support/fixtures';
import { renderSmartLimiter } from '../render';
import {
  parseTrace,
  parseTraceInSlices,
  perSecondTable,
  replay,
  replayInSlices,
  TRACE_LIMITS,
  TraceTooLarge,
  type TraceLine,
} from './replay';

const bookinfo = contextOf(loadObjects('context-bookinfo.yaml'));

const render = (yaml: string, metrics: Record<string, number> = {}) =>
  renderSmartLimiter({ limiter: onlyLimiter(loadObjects({ text: yaml })), context: bookinfo, metrics });

const lineOf = (t: Partial<TraceLine>): TraceLine => ({
  service: 'reviews',
  namespace: 'default',
  port: 9080,
  t: 0,
  ...t,
});

function run(yaml: string, trace: Partial<TraceLine>[], metrics: Record<string, number> = {}) {
  const r = render(yaml, metrics);
  expect(r.problems).toEqual([]);
  return replay({ rules: r.rules, context: bookinfo, trace: trace.map(lineOf) });
}

const allowed = (r: ReturnType<typeof run>) => r.decisions.map((d) => (d.allowed ? 1 : 0)).join('');
const at = (ts: number[], extra: Partial<TraceLine> = {}) => ts.map((t) => ({ t, ...extra }));

describe('replay', () => {
  it('starts full, refills continuously and lets a denied request take nothing (Envoy token bucket)', () => {
    const r = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "2"}, condition: "true", target: {port: 9080}}`,
      ),
      at([0, 0, 0, 499, 500, 999, 1000, 1500]),
    );
    // 2 at once; at 499 ms 0.998 tokens; at 500 one token; at 999 again 0.998; at 1000 one; at 1500 one.
    expect(allowed(r)).toBe('11001011');
    expect(r.decisions[0]).toMatchObject({ limiter: 'default/reviews', set: '_base', remaining: 1 });
    expect(r.decisions[0]?.descriptor).toMatch(/^Service\[reviews\.default\]-Id\[\d+\]$/);
    expect(r.summary).toMatchObject({ requests: 8, allowed: 5, limited: 3 });
  });

  it('limits single and average rules per pod, global rules across pods', () => {
    const pods = ['reviews-v1-8f9d7b9c5-k1', 'reviews-v2-6c5bf657cf-k2', 'reviews-v3-7b5c8d8d8d-k3'];
    const trace = pods.flatMap((pod) => at([0, 0, 0, 0], { pod }));
    const single = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "3"}, condition: "true", target: {port: 9080}}`,
      ),
      trace,
    );
    expect(allowed(single)).toBe('111011101110');
    // average: 6 shared out across 3 running pods is 2 per pod.
    const average = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "6", strategy: average}, condition: "true", target: {port: 9080}}`,
      ),
      trace,
    );
    expect(allowed(average)).toBe('110011001100');
    const global = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "5", strategy: global}, condition: "true", target: {port: 9080}}`,
      ),
      trace,
    );
    expect(allowed(global)).toBe('111110000000');
  });

  it('counts global limits in windows aligned to the start', () => {
    const r = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "2", strategy: global}, condition: "true", target: {port: 9080}}`,
      ),
      at([0, 400, 999, 1000, 1001, 1999, 2500]),
    );
    expect(allowed(r)).toBe('1101101');
  });

  it('applies header, query and source-address matchers as Envoy does', () => {
    const r = run(
      smartLimiterYaml(`- {action: {fill_interval: {seconds: 60}, quota: "1"}, condition: "true", target: {port: 9080}, match: [{name: x-user, exact_match: alice}]}
- {action: {fill_interval: {seconds: 60}, quota: "1"}, condition: "true", target: {port: 9080}, match: [{name: page, prefix_match: "1", matchSource: QueryMatch}]}
- {action: {fill_interval: {seconds: 60}, quota: "1"}, condition: "true", target: {port: 9080}, match: [{matchSource: SourceIpMatch, exact_match: "10.0.0.1"}]}`),
      [
        { headers: { 'X-User': 'alice' } },
        { headers: { 'x-user': 'alice' } },
        { headers: { 'x-user': 'bob' } },
        { query: { page: '12' } },
        { query: { page: '12' } },
        { query: { page: '2' } },
        { sourceIp: '10.0.0.1' },
        { sourceIp: '10.0.0.1' },
        { sourceIp: '10.0.0.2' },
      ],
    );
    expect(allowed(r)).toBe('101101101');
    expect(r.decisions[2]?.limiter).toBeNull();
  });

  it('only applies rules to the port and the pods they select', () => {
    const r = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 60}, quota: "1"}, condition: "true", target: {port: 9080}}`,
      ),
      [{ port: 9080 }, { port: 9080 }, { port: 8080 }, { port: 8080 }],
    );
    expect(allowed(r)).toBe('1011');
  });

  it('decides in time order and answers in input order', () => {
    const r = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 60}, quota: "1"}, condition: "true", target: {port: 9080}}`,
      ),
      at([50, 10]),
    );
    expect(r.decisions.map((d) => [d.t, d.allowed])).toEqual([
      [50, false],
      [10, true],
    ]);
  });

  it('explains requests it cannot place', () => {
    const r = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "1"}, condition: "true", target: {port: 9080}}`,
      ),
      [{ pod: 'no-such-pod' }, { service: 'nosuch' }],
    );
    expect(r.problems).toEqual([
      { line: 1, message: 'no Pod default/no-such-pod in the context' },
      { line: 2, message: 'no Service default/nosuch in the context (or give "pod")' },
    ]);
  });

  it('prints allowed and limited per second per SmartLimiter', () => {
    const r = run(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "1"}, condition: "true", target: {port: 9080}}`,
      ),
      at([0, 10, 1000]),
    );
    expect(perSecondTable(r.decisions)).toBe(
      [
        'second  limiter          allowed  limited',
        '0       default/reviews        1        1',
        '1       default/reviews        1        0',
      ].join('\n'),
    );
  });
});

describe("regex_match, as Envoy's RE2", () => {
  const byRegex = (pattern: string, source = '') =>
    smartLimiterYaml(
      `- {action: {fill_interval: {seconds: 60}, quota: "1"}, condition: "true", target: {port: 9080}, match: [{name: x-user, regex_match: ${JSON.stringify(pattern)}${source}}]}`,
    );

  // With a backtracking engine, (a+)+b against 32 "a" took seconds (exponential in the length); RE2 is
  // linear, so even 100,000 characters finish well inside the test's timeout.
  it('matches (a+)+b in linear time, with the right answer', { timeout: 5_000 }, () => {
    const values = ['a'.repeat(32), 'a'.repeat(32) + 'b', 'a'.repeat(100_000), 'a'.repeat(100_000) + 'b'];
    const r = run(
      byRegex('(a+)+b'),
      values.map((v, i) => ({ t: i * 100_000, headers: { 'x-user': v } })),
    );
    // Matching values meet the limit (quota 1, refilled by the next); the others no rule at all.
    expect(r.decisions.map((d) => d.limiter)).toEqual([null, 'default/reviews', null, 'default/reviews']);
    const q = run(
      byRegex('(a+)+b', ', matchSource: QueryMatch'),
      values.map((v, i) => ({ t: i * 100_000, query: { 'x-user': v } })),
    );
    expect(q.decisions.map((d) => d.limiter)).toEqual([null, 'default/reviews', null, 'default/reviews']);
  });

  it('matches the whole value with RE2 syntax: inline flags, Unicode classes', () => {
    const r = run(byRegex('(?i)ali\\pL+'), [
      { t: 0, headers: { 'x-user': 'ALIcé' } },
      { t: 1, headers: { 'x-user': 'xalice' } },
      { t: 2, headers: { 'x-user': 'alice1' } },
    ]);
    expect(r.decisions.map((d) => d.limiter)).toEqual(['default/reviews', null, null]);
  });

  it('reports a pattern RE2 refuses, with its path, instead of rendering it', () => {
    for (const pattern of ['(a)\\1', '(?=a)a', '(?<!x)y', 'a{1001}', 'x'.repeat(1025)]) {
      const r = render(byRegex(pattern));
      expect(r.rules, pattern).toEqual([]);
      expect(r.problems, pattern).toEqual([
        expect.objectContaining({
          path: 'spec.sets._base.descriptor[0].match[0].regex_match',
          message: expect.stringMatching(/^not a regular expression Envoy's RE2 accepts: /),
        }),
      ]);
    }
    const q = render(byRegex('(?=a)a', ', matchSource: QueryMatch'));
    expect(q.problems.map((p) => p.path)).toEqual(['spec.sets._base.descriptor[0].match[0].regex_match']);
  });
});

describe('the time budget', () => {
  const rules = () =>
    render(
      smartLimiterYaml(
        `- {action: {fill_interval: {seconds: 1}, quota: "5"}, condition: "true", target: {port: 9080}}`,
      ),
    ).rules;
  const trace = Array.from({ length: 1_000 }, (_, i) => lineOf({ t: i }));

  /** A clock that moves `step` ms each time it is read. */
  const ticking = (step: number) => {
    let t = 0;
    return () => (t += step);
  };

  it('stops a replay whose budget ran out, with the earliest requests decided and marked truncated', () => {
    const full = replay({ rules: rules(), context: bookinfo, trace });
    expect(full.truncated).toBeNull();
    expect(full.summary.requests).toBe(1_000);
    const cut = replay({ rules: rules(), context: bookinfo, trace }, { ms: 3, now: ticking(1) });
    expect(cut.truncated).toEqual({ decided: expect.any(Number), of: 1_000, budgetMs: 3 });
    expect(cut.truncated!.decided).toBeGreaterThan(0);
    expect(cut.truncated!.decided).toBeLessThan(1_000);
    expect(cut.decisions).toEqual(full.decisions.slice(0, cut.truncated!.decided));
    // A budget that does not run out changes nothing.
    expect(replay({ rules: rules(), context: bookinfo, trace }, { ms: 1e9, now: ticking(1) })).toEqual(full);
  });

  it('in slices, lets other work run in between and stops the same way', async () => {
    let otherWorkRan = false;
    let ranDuringReplay = false;
    const clock = ticking(4);
    const now = () => {
      ranDuringReplay ||= otherWorkRan;
      return clock();
    };
    setImmediate(() => (otherWorkRan = true));
    const r = await replayInSlices(
      { rules: rules(), context: bookinfo, trace },
      { budget: { ms: 1e9, now }, sliceMs: 5 },
    );
    expect(ranDuringReplay).toBe(true);
    expect(r).toEqual(replay({ rules: rules(), context: bookinfo, trace }));
    const cut = await replayInSlices(
      { rules: rules(), context: bookinfo, trace },
      { budget: { ms: 10, now: ticking(4) } },
    );
    expect(cut.truncated).toMatchObject({ of: 1_000, budgetMs: 10 });
  });
});

describe('parseTrace', () => {
  it('in slices, reads the same and lets other work run in between', async () => {
    const text = Array.from({ length: 2_000 }, (_, t) =>
      t % 100 === 7 ? 'nope' : JSON.stringify({ t, service: 'reviews', port: 9080 }),
    ).join('\n');
    let otherWorkRan = false;
    let ranDuringParse = false;
    let t = 0;
    const now = () => {
      ranDuringParse ||= otherWorkRan;
      return (t += 4);
    };
    setImmediate(() => (otherWorkRan = true));
    expect(await parseTraceInSlices(text, { now, sliceMs: 5 })).toEqual(parseTrace(text));
    expect(ranDuringParse).toBe(true);
    await expect(parseTraceInSlices(' '.repeat(TRACE_LIMITS.bytes + 1))).rejects.toThrow(TraceTooLarge);
  });

  it('refuses a trace over the limits whole, and names lines with oversized fields', () => {
    const line = '{"t":0,"service":"reviews","port":9080}';
    expect(() =>
      parseTrace(
        Array(TRACE_LIMITS.lines + 1)
          .fill(line)
          .join('\n'),
      ),
    ).toThrow(TraceTooLarge);
    expect(() =>
      parseTrace(
        Array(TRACE_LIMITS.lines + 1)
          .fill(line)
          .join('\n'),
      ),
    ).toThrow(
      `the trace has ${TRACE_LIMITS.lines + 1} requests; a replay reads at most ${TRACE_LIMITS.lines}`,
    );
    expect(() => parseTrace(' '.repeat(TRACE_LIMITS.bytes + 1))).toThrow(/bytes; a replay reads at most/);
    const headers = Object.fromEntries(
      Array.from({ length: TRACE_LIMITS.fields + 1 }, (_, i) => [`h${i}`, 'v']),
    );
    const { lines, problems } = parseTrace(
      [
        line,
        JSON.stringify({ t: 0, service: 'reviews', port: 9080, headers }),
        JSON.stringify({
          t: 0,
          service: 'reviews',
          port: 9080,
          headers: { x: 'v'.repeat(TRACE_LIMITS.valueLength + 1) },
        }),
        JSON.stringify({
          t: 0,
          service: 'reviews',
          port: 9080,
          query: { ['n'.repeat(TRACE_LIMITS.nameLength + 1)]: 'v' },
        }),
      ].join('\n'),
    );
    expect(lines).toHaveLength(1);
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [2, `headers: more than ${TRACE_LIMITS.fields} entries`],
      [3, `headers.x: a value longer than ${TRACE_LIMITS.valueLength} characters`],
      [4, `query: a name longer than ${TRACE_LIMITS.nameLength} characters`],
    ]);
  });

  it('reads JSON Lines and names the bad lines', () => {
    const { lines, problems } = parseTrace(
      [
        '{"t":0,"service":"reviews","namespace":"default","port":9080}',
        '',
        'nope',
        '{"t":-1,"service":"reviews","port":9080}',
        '{"t":5,"port":"x","service":"s"}',
      ].join('\n'),
    );
    expect(lines).toHaveLength(1);
    expect(problems.map((p) => p.line)).toEqual([3, 4, 5]);
    expect(problems[0]?.message).toMatch(/^not JSON/);
    expect(problems[1]?.message).toMatch(/t: must be at least 0/);
    expect(problems[2]?.message).toMatch(/port/);
  });
});
