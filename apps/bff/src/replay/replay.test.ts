import { describe, expect, it } from 'vitest';
import { contextOf, loadObjects, onlyLimiter } from '../../test/support/fixtures';
import { renderSmartLimiter } from '../reconcile/render';
import { parseTrace, perSecondTable, replay, type TraceLine } from './replay';

const bookinfo = contextOf(loadObjects('context-bookinfo.yaml'));

const limiter = (descriptors: string, name = 'reviews') => `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: ${name}, namespace: default}
spec:
  sets:
    _base:
      descriptor:
${descriptors.replace(/^/gm, '      ')}`;

function run(yaml: string, trace: Partial<TraceLine>[], metrics: Record<string, number> = {}) {
  const r = renderSmartLimiter({
    limiter: onlyLimiter(loadObjects({ text: yaml })),
    context: bookinfo,
    metrics,
  });
  expect(r.problems).toEqual([]);
  const lines = trace.map((t) => ({ service: 'reviews', namespace: 'default', port: 9080, t: 0, ...t }));
  return replay({ rules: r.rules, context: bookinfo, trace: lines });
}

const allowed = (r: ReturnType<typeof run>) => r.decisions.map((d) => (d.allowed ? 1 : 0)).join('');
const at = (ts: number[], extra: Partial<TraceLine> = {}) => ts.map((t) => ({ t, ...extra }));

describe('replay', () => {
  it('starts full, refills continuously and lets a denied request take nothing (Envoy token bucket)', () => {
    const r = run(
      limiter(
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
      limiter(
        `- {action: {fill_interval: {seconds: 1}, quota: "3"}, condition: "true", target: {port: 9080}}`,
      ),
      trace,
    );
    expect(allowed(single)).toBe('111011101110');
    // average: 6 shared out across 3 running pods is 2 per pod.
    const average = run(
      limiter(
        `- {action: {fill_interval: {seconds: 1}, quota: "6", strategy: average}, condition: "true", target: {port: 9080}}`,
      ),
      trace,
    );
    expect(allowed(average)).toBe('110011001100');
    const global = run(
      limiter(
        `- {action: {fill_interval: {seconds: 1}, quota: "5", strategy: global}, condition: "true", target: {port: 9080}}`,
      ),
      trace,
    );
    expect(allowed(global)).toBe('111110000000');
  });

  it('counts global limits in windows aligned to the start', () => {
    const r = run(
      limiter(
        `- {action: {fill_interval: {seconds: 1}, quota: "2", strategy: global}, condition: "true", target: {port: 9080}}`,
      ),
      at([0, 400, 999, 1000, 1001, 1999, 2500]),
    );
    expect(allowed(r)).toBe('1101101');
  });

  it('applies header, query and source-address matchers as Envoy does', () => {
    const r = run(
      limiter(`- {action: {fill_interval: {seconds: 60}, quota: "1"}, condition: "true", target: {port: 9080}, match: [{name: x-user, exact_match: alice}]}
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
      limiter(
        `- {action: {fill_interval: {seconds: 60}, quota: "1"}, condition: "true", target: {port: 9080}}`,
      ),
      [{ port: 9080 }, { port: 9080 }, { port: 8080 }, { port: 8080 }],
    );
    expect(allowed(r)).toBe('1011');
  });

  it('decides in time order and answers in input order', () => {
    const r = run(
      limiter(
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
      limiter(
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
      limiter(
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

describe('parseTrace', () => {
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
