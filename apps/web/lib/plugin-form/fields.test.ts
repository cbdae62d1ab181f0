import { describe, expect, it } from 'vitest';
import { fieldsOf, startsOpen, type SettingsSchema } from './fields';
import { DURATION, formatValue, parseInput } from './value';

/** The fault filter's schema, cut down, as `envoy.schema` serves it. */
export const FAULT: SettingsSchema = {
  $ref: '#/$defs/envoy.extensions.filters.http.fault.v3.HTTPFault',
  $defs: {
    'envoy.extensions.filters.http.fault.v3.HTTPFault': {
      title: 'envoy.extensions.filters.http.fault.v3.HTTPFault',
      properties: {
        abort: { $ref: '#/$defs/envoy.extensions.filters.http.fault.v3.FaultAbort', jsonName: 'abort' },
        upstream_cluster: { type: 'string', jsonName: 'upstreamCluster' },
        headers: { type: 'array', jsonName: 'headers' },
        max_active_faults: {
          type: 'integer',
          format: 'uint32',
          minimum: 0,
          maximum: 4294967295,
          jsonName: 'maxActiveFaults',
        },
        disable_downstream_cluster_stats: { type: 'boolean', jsonName: 'disableDownstreamClusterStats' },
        response_rate_limit_percent: {
          type: 'number',
          format: 'double',
          jsonName: 'responseRateLimitPercent',
        },
      },
      oneofs: {},
    },
    'envoy.extensions.filters.http.fault.v3.FaultAbort': {
      title: 'envoy.extensions.filters.http.fault.v3.FaultAbort',
      properties: {
        http_status: {
          type: 'integer',
          format: 'uint32',
          minimum: 0,
          maximum: 4294967295,
          jsonName: 'httpStatus',
          oneof: 'error_type',
        },
        grpc_status: {
          type: 'integer',
          format: 'uint32',
          minimum: 0,
          maximum: 4294967295,
          jsonName: 'grpcStatus',
          oneof: 'error_type',
        },
        percentage: { $ref: '#/$defs/envoy.type.v3.FractionalPercent', jsonName: 'percentage' },
        delay: { type: 'string', format: 'duration', jsonName: 'delay', deprecated: true },
      },
      oneofs: { error_type: ['http_status', 'grpc_status'] },
    },
    'envoy.type.v3.FractionalPercent': {
      title: 'envoy.type.v3.FractionalPercent',
      properties: {
        numerator: {
          type: 'integer',
          format: 'uint32',
          minimum: 0,
          maximum: 4294967295,
          jsonName: 'numerator',
        },
        denominator: {
          type: 'string',
          enum: ['HUNDRED', 'TEN_THOUSAND', 'MILLION'],
          jsonName: 'denominator',
        },
        big: { type: 'integer', format: 'uint64', minimum: 0, jsonName: 'big' },
      },
      oneofs: {},
    },
  },
};

describe('fieldsOf', () => {
  it('gives one field per property, of its kind', () => {
    const f = fieldsOf(FAULT);
    expect(f.map((x) => [x.key, x.kind.type])).toEqual([
      ['abort', 'message'],
      ['upstream_cluster', 'string'],
      ['headers', 'json'],
      ['max_active_faults', 'integer'],
      ['disable_downstream_cluster_stats', 'boolean'],
      ['response_rate_limit_percent', 'number'],
    ]);
    expect(f[0]!.kind).toEqual({
      type: 'message',
      ref: '#/$defs/envoy.extensions.filters.http.fault.v3.FaultAbort',
      size: 4,
    });
  });

  it('expands nested messages by their ref, with oneofs, enums, durations and deprecation', () => {
    const abort = fieldsOf(FAULT, '#/$defs/envoy.extensions.filters.http.fault.v3.FaultAbort');
    expect(abort[0]).toMatchObject({ key: 'http_status', jsonName: 'httpStatus', oneof: 'error_type' });
    expect(abort[3]).toMatchObject({ key: 'delay', kind: { type: 'duration' }, deprecated: true });
    const percent = fieldsOf(FAULT, '#/$defs/envoy.type.v3.FractionalPercent');
    expect(percent[1]!.kind).toEqual({ type: 'enum', values: ['HUNDRED', 'TEN_THOUSAND', 'MILLION'] });
    expect(percent[2]!.kind).toMatchObject({ type: 'integer', wide: true, max: undefined });
  });

  it('gives nothing for a message the schema does not hold', () => {
    expect(fieldsOf(FAULT, '#/$defs/nope')).toEqual([]);
  });

  it('opens shallow, small messages only', () => {
    const small = { type: 'message', ref: 'x', size: 3 } as const;
    expect(startsOpen(2, small)).toBe(true);
    expect(startsOpen(3, small)).toBe(false);
    expect(startsOpen(0, { ...small, size: 40 })).toBe(false);
  });
});

describe('parseInput', () => {
  const uint32 = { type: 'integer', min: 0, max: 4294967295, wide: false } as const;

  it('reads integers in range; empty unsets', () => {
    expect(parseInput(uint32, '42')).toEqual({ ok: true, value: 42 });
    expect(parseInput(uint32, '')).toEqual({ ok: true, value: undefined });
    expect(parseInput(uint32, '-1')).toMatchObject({ ok: false });
    expect(parseInput(uint32, '1.5')).toMatchObject({ ok: false });
    expect(
      parseInput({ type: 'integer', min: 0, max: undefined, wide: true }, '18446744073709551615'),
    ).toEqual({
      ok: true,
      value: '18446744073709551615',
    });
  });

  it('takes durations as protobuf JSON writes them', () => {
    expect(parseInput({ type: 'duration' }, '1s')).toEqual({ ok: true, value: '1s' });
    expect(parseInput({ type: 'duration' }, '0.25s')).toEqual({ ok: true, value: '0.25s' });
    for (const bad of ['1', '1m', 's', '1.s']) expect(DURATION.test(bad)).toBe(false);
    expect(parseInput({ type: 'duration' }, '5m')).toMatchObject({ ok: false });
  });

  it('reads lists and maps as JSON or YAML, of the right shape', () => {
    expect(parseInput({ type: 'json', shape: 'array' }, '[{"name": "x"}]')).toEqual({
      ok: true,
      value: [{ name: 'x' }],
    });
    expect(parseInput({ type: 'json', shape: 'object' }, 'a: 1')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseInput({ type: 'json', shape: 'array' }, '{}')).toMatchObject({ ok: false });
    expect(parseInput({ type: 'json', shape: 'any' }, '[')).toMatchObject({ ok: false });
    expect(formatValue({ type: 'json', shape: 'array' }, [1, 2])).toBe('[1,2]');
  });

  it('reads numbers', () => {
    expect(parseInput({ type: 'number' }, '2.5')).toEqual({ ok: true, value: 2.5 });
    expect(parseInput({ type: 'number' }, 'x')).toMatchObject({ ok: false });
  });
});
