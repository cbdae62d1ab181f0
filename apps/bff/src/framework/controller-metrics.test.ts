import { describe, expect, it } from 'vitest';
import { ExpositionWriter } from '../simulator';
import { ControllerMetrics, joinExpositions, RECONCILE_DURATION_BUCKETS } from './controller-metrics';
import { parseExposition, valueOf, type Exposition } from '../../test/support/exposition';

async function scrape(m: ControllerMetrics): Promise<Exposition> {
  return parseExposition(await m.text());
}

describe('ControllerMetrics', () => {
  it('exposes every family, typed, in a text Prometheus reads', async () => {
    const m = new ControllerMetrics();
    expect(m.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const e = await scrape(m);
    expect(Object.fromEntries(e.types)).toEqual({
      governor_controller_reconciles_total: 'counter',
      governor_controller_reconcile_errors_total: 'counter',
      governor_controller_reconcile_duration_seconds: 'histogram',
      governor_controller_objects_written_total: 'counter',
      governor_controller_queue_depth: 'gauge',
      governor_engine_decisions_total: 'counter',
    });
    for (const name of e.types.keys()) expect(e.helps.get(name), name).toBeTruthy();
    // Nothing observed yet: no series, only the families.
    expect(e.samples).toEqual([]);
  });

  it('counts reconciles by result, and errors apart; both results start at zero', async () => {
    const m = new ControllerMetrics();
    m.observeReconcile('limiter', 0.002, 'success');
    let e = await scrape(m);
    expect(valueOf(e, 'governor_controller_reconciles_total', { module: 'limiter', result: 'success' })).toBe(
      1,
    );
    expect(valueOf(e, 'governor_controller_reconciles_total', { module: 'limiter', result: 'error' })).toBe(
      0,
    );
    expect(valueOf(e, 'governor_controller_reconcile_errors_total', { module: 'limiter' })).toBe(0);

    m.observeReconcile('limiter', 0.5, 'error');
    m.observeReconcile('limiter', 0.004, 'success');
    m.observeReconcile('other', 0.001, 'error');
    e = await scrape(m);
    expect(valueOf(e, 'governor_controller_reconciles_total', { module: 'limiter', result: 'success' })).toBe(
      2,
    );
    expect(valueOf(e, 'governor_controller_reconciles_total', { module: 'limiter', result: 'error' })).toBe(
      1,
    );
    expect(valueOf(e, 'governor_controller_reconcile_errors_total', { module: 'limiter' })).toBe(1);
    expect(valueOf(e, 'governor_controller_reconciles_total', { module: 'other', result: 'error' })).toBe(1);
    expect(valueOf(e, 'governor_controller_reconcile_errors_total', { module: 'other' })).toBe(1);
  });

  it('puts reconcile durations in cumulative buckets from 1 ms to 10 s, with sum and count', async () => {
    const m = new ControllerMetrics();
    expect(RECONCILE_DURATION_BUCKETS[0]).toBe(0.001);
    expect(RECONCILE_DURATION_BUCKETS.at(-1)).toBe(10);
    for (const seconds of [0.0005, 0.003, 0.003, 0.2, 7, 30])
      m.observeReconcile('limiter', seconds, 'success');
    const e = await scrape(m);
    const bucket = (le: string) =>
      valueOf(e, 'governor_controller_reconcile_duration_seconds_bucket', { module: 'limiter', le });
    expect(bucket('0.001')).toBe(1);
    expect(bucket('0.0025')).toBe(1);
    expect(bucket('0.005')).toBe(3);
    expect(bucket('0.25')).toBe(4);
    expect(bucket('5')).toBe(4);
    expect(bucket('10')).toBe(5);
    expect(bucket('+Inf')).toBe(6);
    const buckets = e.samples.filter(
      (s) => s.name === 'governor_controller_reconcile_duration_seconds_bucket',
    );
    expect(buckets.map((s) => s.labels.le)).toEqual([...RECONCILE_DURATION_BUCKETS.map(String), '+Inf']);
    // Cumulative: never decreasing.
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(valueOf(e, 'governor_controller_reconcile_duration_seconds_count', { module: 'limiter' })).toBe(6);
    expect(
      valueOf(e, 'governor_controller_reconcile_duration_seconds_sum', { module: 'limiter' }),
    ).toBeCloseTo(37.2065, 6);
  });

  it('counts a reconcile whose time is no number or negative without breaking the histogram', async () => {
    const m = new ControllerMetrics();
    m.observeReconcile('limiter', Number.NaN, 'success');
    m.observeReconcile('limiter', -1, 'success');
    const e = await scrape(m);
    expect(valueOf(e, 'governor_controller_reconciles_total', { module: 'limiter', result: 'success' })).toBe(
      2,
    );
    expect(valueOf(e, 'governor_controller_reconcile_duration_seconds_count', { module: 'limiter' })).toBe(1);
    expect(valueOf(e, 'governor_controller_reconcile_duration_seconds_sum', { module: 'limiter' })).toBe(0);
  });

  it('counts objects written by module, kind and operation', async () => {
    const m = new ControllerMetrics();
    m.countWrite('limiter', 'EnvoyFilter', 'apply');
    m.countWrite('limiter', 'EnvoyFilter', 'apply');
    m.countWrite('limiter', 'EnvoyFilter', 'delete');
    m.countWrite('limiter', 'SmartLimiter', 'status');
    m.countWrite('limiter', 'Event', 'event');
    const e = await scrape(m);
    const written = (kind: string, operation: string) =>
      valueOf(e, 'governor_controller_objects_written_total', { module: 'limiter', kind, operation });
    expect(written('EnvoyFilter', 'apply')).toBe(2);
    expect(written('EnvoyFilter', 'delete')).toBe(1);
    expect(written('SmartLimiter', 'status')).toBe(1);
    expect(written('Event', 'event')).toBe(1);
    expect(written('SmartLimiter', 'apply')).toBeUndefined();
  });

  it('reads queue depths when scraped; a later reader replaces an earlier one, a failing one is left out', async () => {
    const m = new ControllerMetrics();
    let depth = 3;
    m.trackQueue('limiter', () => depth);
    m.trackQueue('broken', () => {
      throw new Error('no queue');
    });
    expect(valueOf(await scrape(m), 'governor_controller_queue_depth', { module: 'limiter' })).toBe(3);
    depth = 0;
    let e = await scrape(m);
    expect(valueOf(e, 'governor_controller_queue_depth', { module: 'limiter' })).toBe(0);
    expect(valueOf(e, 'governor_controller_queue_depth', { module: 'broken' })).toBeUndefined();
    m.trackQueue('limiter', () => 42);
    e = await scrape(m);
    expect(e.samples.filter((s) => s.name === 'governor_controller_queue_depth')).toEqual([
      { name: 'governor_controller_queue_depth', labels: { module: 'limiter' }, value: 42 },
    ]);
  });

  it('counts engine decisions by source and outcome, and keeps counting across scrapes', async () => {
    const m = new ControllerMetrics();
    for (let i = 0; i < 5; i++) m.countDecision('mesh', 'allowed');
    m.countDecision('mesh', 'limited');
    m.countDecision('rls', 'shadow');
    let e = await scrape(m);
    const decisions = (source: string, outcome: string) =>
      valueOf(e, 'governor_engine_decisions_total', { source, outcome });
    expect(decisions('mesh', 'allowed')).toBe(5);
    expect(decisions('mesh', 'limited')).toBe(1);
    expect(decisions('rls', 'shadow')).toBe(1);
    expect(decisions('rls', 'allowed')).toBeUndefined();
    // A scrape reads the counts, it does not take them: they only grow.
    m.countDecision('mesh', 'allowed');
    e = await scrape(m);
    expect(decisions('mesh', 'allowed')).toBe(6);
    expect(decisions('mesh', 'limited')).toBe(1);
  });

  it('escapes label values so that they read back as written', async () => {
    const m = new ControllerMetrics();
    const odd = 'a"b\\c\nd} e,f="g"';
    m.observeReconcile(odd, 0.01, 'error');
    m.countWrite(odd, 'Kind"with\\quotes', 'apply');
    m.trackQueue(odd, () => 1);
    m.countDecision('rls', odd);
    const text = await m.text();
    // No raw newline inside a sample line: every line is a comment, a sample or empty.
    for (const line of text.split('\n')) expect(line).toMatch(/^(#.*|[a-zA-Z_:].* \S+|)$/);
    const e = parseExposition(text);
    expect(valueOf(e, 'governor_controller_reconcile_errors_total', { module: odd })).toBe(1);
    expect(
      valueOf(e, 'governor_controller_objects_written_total', {
        module: odd,
        kind: 'Kind"with\\quotes',
        operation: 'apply',
      }),
    ).toBe(1);
    expect(valueOf(e, 'governor_controller_queue_depth', { module: odd })).toBe(1);
    expect(valueOf(e, 'governor_engine_decisions_total', { source: 'rls', outcome: odd })).toBe(1);
  });

  it('keeps two instances apart (each has its own registry)', async () => {
    const a = new ControllerMetrics();
    const b = new ControllerMetrics();
    a.countDecision('mesh', 'allowed');
    expect(
      valueOf(await scrape(a), 'governor_engine_decisions_total', { source: 'mesh', outcome: 'allowed' }),
    ).toBe(1);
    expect((await scrape(b)).samples).toEqual([]);
  });
});

describe('joinExpositions', () => {
  it("serves the controller's families and the mesh's as one exposition, each family declared once", async () => {
    const m = new ControllerMetrics();
    m.observeReconcile('limiter', 0.01, 'success');
    m.countDecision('mesh', 'allowed');
    const mesh = new ExpositionWriter()
      .family('istio_requests_total', 'counter', 'Total number of requests.')
      .sample('istio_requests_total', { response_code: '200' }, 7)
      .toString();
    const e = parseExposition(joinExpositions([await m.text(), mesh]));
    expect(e.types.get('istio_requests_total')).toBe('counter');
    expect(e.types.get('governor_engine_decisions_total')).toBe('counter');
    expect(valueOf(e, 'istio_requests_total', { response_code: '200' })).toBe(7);
  });

  it('ends each part with a newline, so that no two lines are joined', () => {
    expect(joinExpositions(['a 1', '', 'b 2\n', 'c 3'])).toBe('a 1\nb 2\nc 3\n');
    expect(joinExpositions([])).toBe('');
  });

  it('is read as invalid by the parser when two parts declare the same family (the check the test relies on)', () => {
    const part = '# TYPE x counter\nx 1\n';
    expect(() => parseExposition(joinExpositions([part, part]))).toThrow(
      /second TYPE of x|after its samples/,
    );
  });
});

describe("clusters' views", () => {
  it("label each cluster's controller series and keep each cluster's queue", async () => {
    const m = new ControllerMetrics();
    const east = m.forCluster('east');
    const west = m.forCluster('west');
    east.trackQueue('limiter', () => 1);
    west.trackQueue('limiter', () => 2);
    east.observeReconcile('limiter', 0.01, 'success');
    west.countWrite('limiter', 'EnvoyFilter', 'apply');
    west.countDecision('mesh', 'allowed');
    const text = await m.text();
    expect(text).toContain('governor_controller_queue_depth{module="limiter",cluster="east"} 1');
    expect(text).toContain('governor_controller_queue_depth{module="limiter",cluster="west"} 2');
    expect(text).toContain(
      'governor_controller_reconciles_total{module="limiter",cluster="east",result="success"} 1',
    );
    expect(text).toContain(
      'governor_controller_objects_written_total{module="limiter",cluster="west",kind="EnvoyFilter",operation="apply"} 1',
    );
    expect(text).toContain('governor_engine_decisions_total{source="mesh",outcome="allowed"} 1');
  });
});
