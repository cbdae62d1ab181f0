/**
 * The hand-written RateLimitRequest decoder and RateLimitResponse encoder, judged against protobufjs as
 * @grpc/proto-loader sets it up for the service (the same proto, the same options): requests serialized by
 * it decode to the same objects, responses encoded here read back through it as the objects that were
 * encoded (byte for byte the same when no field is at its default), unknown fields of every wire type are
 * skipped at every level, and malformed input is refused with RlsDecodeError.
 */
import fc from 'fast-check';
import { Root } from 'protobufjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { thrownBy } from '../../test/support/thrown';
import {
  decodeRateLimitRequest,
  encodeRateLimitResponse,
  DEFAULT_RLS_REQUEST_LIMITS,
  RlsDecodeError,
  RlsLimitError,
  type RlsDescriptorStatus,
  type RlsRequest,
  type RlsResponse,
  type RlsUnit,
} from './rls-codec';
import { rlsClientConstructor, type RlsServer } from './rls-server';

// ---------------------------------------------------------------------------------------------------------
// The reference: protobufjs through proto-loader, exactly as the server loads it.
// ---------------------------------------------------------------------------------------------------------

const reference = rlsClientConstructor().service['ShouldRateLimit']!;

interface ReferenceRequestInput {
  domain?: string;
  descriptors?: {
    entries: { key: string; value: string }[];
    limit?: { requests_per_unit: number; unit: string };
  }[];
  hits_addend?: number;
}

const serializeRequest = (r: ReferenceRequestInput): Buffer => reference.requestSerialize(r);
const serializeResponse = (r: RlsResponse): Buffer => reference.responseSerialize(r);
const deserializeResponse = (b: Buffer): unknown => reference.responseDeserialize(b);

/** What the reference decodes a request into, reduced to the fields the codec reads. */
function referenceDecodeRequest(b: Buffer): RlsRequest {
  const r = reference.requestDeserialize(b) as RlsRequest;
  return {
    domain: r.domain,
    descriptors: r.descriptors.map((d) => ({
      entries: d.entries.map((e) => ({ key: e.key, value: e.value })),
    })),
    hits_addend: r.hits_addend,
  };
}

/** UTF-8 round trip: what a string becomes on the wire (lone surrogates turn into U+FFFD). */
const wellFormed = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** The object the reference decodes an encoded response into: proto3 defaults filled in, as proto-loader does. */
function asReferenceDecodes(r: RlsResponse): unknown {
  return {
    overall_code: r.overall_code,
    statuses: r.statuses.map((s) => ({
      code: s.code,
      current_limit: s.current_limit
        ? {
            requests_per_unit: s.current_limit.requests_per_unit,
            unit: s.current_limit.unit,
            name: wellFormed(s.current_limit.name),
          }
        : null,
      limit_remaining: s.limit_remaining ?? 0,
      duration_until_reset: s.duration_until_reset
        ? { seconds: s.duration_until_reset.seconds, nanos: s.duration_until_reset.nanos }
        : null,
      quota: null,
    })),
    response_headers_to_add: [],
    request_headers_to_add: [],
    raw_body: Buffer.alloc(0),
    dynamic_metadata: null,
    quota: null,
  };
}

const UNITS: readonly RlsUnit[] = ['UNKNOWN', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'YEAR'];

// ---------------------------------------------------------------------------------------------------------
// Bytes by hand.
// ---------------------------------------------------------------------------------------------------------

/** A varint of up to 64 bits; negative numbers as their 64-bit two's complement (10 bytes). */
function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const key = (field: number, wire: number): number[] => varint(BigInt(field) * 8n + BigInt(wire));
const varintField = (field: number, v: number | bigint): number[] => [...key(field, 0), ...varint(v)];
const lenField = (field: number, payload: readonly number[]): number[] => [
  ...key(field, 2),
  ...varint(payload.length),
  ...payload,
];
const stringField = (field: number, s: string): number[] => lenField(field, [...Buffer.from(s, 'utf8')]);
const fixed64Field = (field: number): number[] => [...key(field, 1), 1, 2, 3, 4, 5, 6, 7, 0xff];
const fixed32Field = (field: number): number[] => [...key(field, 5), 0xff, 0xfe, 0x80, 0x00];
const bytes = (...parts: (readonly number[])[]): Buffer => Buffer.from(parts.flat());

/**
 * Unknown fields of every valid wire type, numbered from `from` (and the highest field number protobuf
 * allows, whose tag takes 5 bytes). The length-delimited one holds bytes that would be malformed if parsed
 * (a group tag, field number 0), to show that skipped fields are not looked into.
 */
function unknownFields(from: number): number[] {
  return [
    ...varintField(from, 300),
    ...varintField(from + 1, -1),
    ...fixed64Field(from + 2),
    ...lenField(from + 3, [0x0b, 0x00, 0x0f, 0xff]),
    ...fixed32Field(from + 4),
    ...lenField(from + 5, []),
    ...varintField(536_870_911, 1),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// A newer Envoy's descriptor (a per-descriptor `hits_addend`, google.protobuf.UInt32Value = 3), which this
// proto version does not have: built as protobufjs would from the current upstream ratelimit.proto.
// ---------------------------------------------------------------------------------------------------------

const newer = Root.fromJSON({
  nested: {
    google: {
      nested: { protobuf: { nested: { UInt32Value: { fields: { value: { type: 'uint32', id: 1 } } } } } },
    },
    RateLimitUnit: {
      values: { UNKNOWN: 0, SECOND: 1, MINUTE: 2, HOUR: 3, DAY: 4, MONTH: 5, YEAR: 6, WEEK: 7 },
    },
    RateLimitRequest: {
      fields: {
        domain: { type: 'string', id: 1 },
        descriptors: { rule: 'repeated', type: 'RateLimitDescriptor', id: 2 },
        hits_addend: { type: 'uint32', id: 3 },
      },
    },
    RateLimitDescriptor: {
      fields: {
        entries: { rule: 'repeated', type: 'Entry', id: 1 },
        limit: { type: 'RateLimitOverride', id: 2 },
        hits_addend: { type: 'google.protobuf.UInt32Value', id: 3 },
      },
      nested: {
        Entry: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        RateLimitOverride: {
          fields: { requests_per_unit: { type: 'uint32', id: 1 }, unit: { type: 'RateLimitUnit', id: 2 } },
        },
      },
    },
  },
}).lookupType('RateLimitRequest');

const encodeNewer = (r: object): Buffer => Buffer.from(newer.encode(newer.fromObject(r)).finish());

// ---------------------------------------------------------------------------------------------------------
// Arbitraries.
// ---------------------------------------------------------------------------------------------------------

/** Any Unicode text (whole code points), ASCII more often since that is what Envoy sends. */
const text = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 40 }), fc.string({ unit: 'binary' }));
const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });

const requestArb = fc.record({
  domain: text,
  descriptors: fc.array(
    fc.record(
      {
        entries: fc.array(fc.record({ key: text, value: text }), { maxLength: 5 }),
        limit: fc.record({ requests_per_unit: uint32, unit: fc.constantFrom(...UNITS) }),
      },
      { requiredKeys: ['entries'] },
    ),
    { maxLength: 5 },
  ),
  hits_addend: fc.oneof(uint32, fc.constantFrom(0, 1, 0xffff_ffff)),
});

const code = fc.constantFrom<'OK' | 'OVER_LIMIT'>('OK', 'OVER_LIMIT');
const statusArb: fc.Arbitrary<RlsDescriptorStatus> = fc.record(
  {
    code,
    current_limit: fc.record({ requests_per_unit: uint32, unit: fc.constantFrom(...UNITS), name: text }),
    limit_remaining: uint32,
    duration_until_reset: fc.record({
      seconds: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.maxSafeNat()),
      nanos: fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), int32),
    }),
  },
  { requiredKeys: ['code'] },
);
const responseArb: fc.Arbitrary<RlsResponse> = fc.record({
  overall_code: code,
  statuses: fc.array(statusArb, { maxLength: 6 }),
  response_headers_to_add: fc.constant([]),
});

/** Responses where no field is at its proto3 default, which protobufjs and the codec encode identically. */
const fullResponseArb: fc.Arbitrary<RlsResponse> = fc.record({
  overall_code: code,
  statuses: fc.array(
    fc.record({
      code,
      current_limit: fc.record({
        requests_per_unit: fc.integer({ min: 1, max: 0xffff_ffff }),
        unit: fc.constantFrom(...UNITS.filter((u) => u !== 'UNKNOWN')),
        name: fc.string({ unit: 'binary', minLength: 1 }),
      }),
      limit_remaining: fc.integer({ min: 1, max: 0xffff_ffff }),
      duration_until_reset: fc.record({
        seconds: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        nanos: int32.filter((n) => n !== 0),
      }),
    }),
    { maxLength: 4 },
  ),
  response_headers_to_add: fc.constant([]),
});

// ---------------------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------------------

describe('the shapes', () => {
  it('are those RlsServer works with', () => {
    type ServerRequest = Parameters<RlsServer['shouldRateLimit']>[0];
    type ServerResponse = Awaited<ReturnType<RlsServer['shouldRateLimit']>>;
    expectTypeOf<RlsRequest>().toEqualTypeOf<ServerRequest>();
    expectTypeOf<RlsResponse>().toEqualTypeOf<ServerResponse>();
  });
});

describe('decodeRateLimitRequest: requests serialized by protobufjs', () => {
  const typical = {
    domain: 'governor',
    descriptors: [{ entries: [{ key: 'generic_key', value: 'Service[productpage.default]-Id[bench]' }] }],
    hits_addend: 0,
  };

  it('an empty message is the defaults', () => {
    expect(decodeRateLimitRequest(Buffer.alloc(0))).toEqual({ domain: '', descriptors: [], hits_addend: 0 });
    expect(decodeRateLimitRequest(serializeRequest({}))).toEqual({
      domain: '',
      descriptors: [],
      hits_addend: 0,
    });
  });

  it('the typical one-descriptor request', () => {
    expect(decodeRateLimitRequest(serializeRequest(typical))).toEqual(typical);
  });

  it('several descriptors with several entries, in order', () => {
    const request = {
      domain: 'governor',
      descriptors: [
        { entries: [{ key: 'generic_key', value: 'default/reviews#0' }] },
        {
          entries: [
            { key: 'remote_address', value: '10.0.3.17' },
            { key: 'header_match', value: 'api' },
            { key: 'destination_cluster', value: 'outbound|9080||reviews.default.svc.cluster.local' },
          ],
        },
        { entries: [] },
        { entries: [{ key: 'k', value: '' }] },
      ],
      hits_addend: 3,
    };
    expect(decodeRateLimitRequest(serializeRequest(request))).toEqual(request);
  });

  it('unicode keys and values, on both sides of the ASCII fast path', () => {
    const values = [
      'héllo',
      '日本語のテキスト',
      'traffic 🚦 light',
      'a'.repeat(31) + 'é',
      'é' + 'a'.repeat(40),
      'x'.repeat(32),
      'x'.repeat(33),
      '\u0000\u007f',
      '\u0080',
      '\uffff',
      '𐀀𝄞🀄',
    ];
    const request = {
      domain: 'gövernor',
      descriptors: values.map((v) => ({ entries: [{ key: `ключ-${v.length}`, value: v }] })),
      hits_addend: 1,
    };
    expect(decodeRateLimitRequest(serializeRequest(request))).toEqual(request);
  });

  it.each([0, 1, 2, 1000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff])('hits_addend %d', (hits) => {
    const request = { ...typical, hits_addend: hits };
    expect(decodeRateLimitRequest(serializeRequest(request))).toEqual(request);
  });

  it('skips a descriptor’s limit override', () => {
    const request = {
      domain: 'governor',
      descriptors: [
        {
          entries: [{ key: 'generic_key', value: 'a' }],
          limit: { requests_per_unit: 42, unit: 'MINUTE' },
        },
        { entries: [{ key: 'generic_key', value: 'b' }], limit: { requests_per_unit: 0, unit: 'UNKNOWN' } },
      ],
      hits_addend: 7,
    };
    expect(decodeRateLimitRequest(serializeRequest(request))).toEqual({
      domain: 'governor',
      descriptors: [
        { entries: [{ key: 'generic_key', value: 'a' }] },
        { entries: [{ key: 'generic_key', value: 'b' }] },
      ],
      hits_addend: 7,
    });
  });

  it('skips a newer Envoy’s descriptor-level hits_addend (and limit), as the reference does', () => {
    const wire = encodeNewer({
      domain: 'governor',
      descriptors: [
        {
          entries: [{ key: 'generic_key', value: 'a' }],
          limit: { requests_per_unit: 10, unit: 'WEEK' },
          hits_addend: { value: 5 },
        },
        { hits_addend: { value: 0 }, entries: [{ key: 'generic_key', value: 'b' }] },
      ],
      hits_addend: 2,
    });
    const expected = {
      domain: 'governor',
      descriptors: [
        { entries: [{ key: 'generic_key', value: 'a' }] },
        { entries: [{ key: 'generic_key', value: 'b' }] },
      ],
      hits_addend: 2,
    };
    // The bytes really carry field 3 inside the first descriptor.
    expect(wire.includes(Buffer.from([0x1a, 0x02, 0x08, 0x05]))).toBe(true);
    expect(decodeRateLimitRequest(wire)).toEqual(expected);
    expect(referenceDecodeRequest(wire)).toEqual(expected);
  });

  it('reads from a Uint8Array that is not a Buffer, and from a view at an offset', () => {
    const wire = serializeRequest(typical);
    expect(decodeRateLimitRequest(new Uint8Array(wire))).toEqual(typical);
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, wire.length]), wire, Buffer.from([0xff, 0xff])]);
    expect(decodeRateLimitRequest(framed.subarray(5, 5 + wire.length))).toEqual(typical);
    const copy = new Uint8Array(framed);
    expect(decodeRateLimitRequest(copy.subarray(5, 5 + wire.length))).toEqual(typical);
  });

  it('property: random requests serialized by protobufjs decode to themselves', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const wire = serializeRequest(request);
        const expected: RlsRequest = {
          domain: request.domain,
          descriptors: request.descriptors.map((d) => ({ entries: d.entries })),
          hits_addend: request.hits_addend,
        };
        expect(decodeRateLimitRequest(wire)).toEqual(expected);
        expect(referenceDecodeRequest(wire)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeRateLimitRequest: wire-format details', () => {
  it('skips unknown fields of every wire type at the top level, in descriptors and in entries', () => {
    const entry = (k: string, v: string) =>
      lenField(1, [...unknownFields(3), ...stringField(1, k), ...unknownFields(10), ...stringField(2, v)]);
    const descriptor = (...entries: number[][]) =>
      lenField(2, [...unknownFields(4), ...entries.flat(), ...unknownFields(20)]);
    const wire = bytes(
      unknownFields(4),
      stringField(1, 'governor'),
      unknownFields(100),
      descriptor(entry('generic_key', 'a'), entry('remote_address', '10.0.0.1')),
      unknownFields(2_000),
      varintField(3, 9),
      descriptor(entry('x', 'ÿ')),
      unknownFields(536_870_900),
    );
    const expected = {
      domain: 'governor',
      descriptors: [
        {
          entries: [
            { key: 'generic_key', value: 'a' },
            { key: 'remote_address', value: '10.0.0.1' },
          ],
        },
        { entries: [{ key: 'x', value: 'ÿ' }] },
      ],
      hits_addend: 9,
    };
    expect(decodeRateLimitRequest(wire)).toEqual(expected);
    // protobufjs skips them too.
    expect(referenceDecodeRequest(wire)).toEqual(expected);
  });

  it('the last value wins for repeated occurrences of a scalar field; fields in any order', () => {
    const wire = bytes(
      varintField(3, 5),
      lenField(2, lenField(1, [...stringField(2, 'v1'), ...stringField(1, 'k1'), ...stringField(2, 'v2')])),
      stringField(1, 'first'),
      varintField(3, 6),
      stringField(1, 'second'),
    );
    const expected = {
      domain: 'second',
      descriptors: [{ entries: [{ key: 'k1', value: 'v2' }] }],
      hits_addend: 6,
    };
    expect(decodeRateLimitRequest(wire)).toEqual(expected);
    expect(referenceDecodeRequest(wire)).toEqual(expected);
  });

  it('uint32 keeps the low 32 bits of the varint (a 10-byte negative int32 parses)', () => {
    for (const [sent, kept] of [
      [-1, 0xffff_ffff],
      [-2, 0xffff_fffe],
      [0x1_0000_0005n, 5],
      [0xffff_ffff_ffff_ffffn, 0xffff_ffff],
      [0x8000_0000_0000_0000n, 0],
    ] as const) {
      const wire = bytes(varintField(3, sent));
      expect(decodeRateLimitRequest(wire).hits_addend).toBe(kept);
      expect(referenceDecodeRequest(wire).hits_addend).toBe(kept);
    }
    expect(bytes(varintField(3, -1))).toHaveLength(11); // tag + 10 bytes
  });

  it('accepts non-minimal varints (padded with continuation bytes)', () => {
    const padded = bytes([0x0a, 0x81, 0x80, 0x00, 0x61], [0x18, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    expect(decodeRateLimitRequest(padded)).toEqual({ domain: 'a', descriptors: [], hits_addend: 2 });
    // Not compared with protobufjs: past the fifth byte of a 32-bit varint it skips 5 more bytes without
    // looking (assuming a sign-extended 10-byte int32), so it misreads the 7-byte one above. It agrees on
    // 3-byte and 10-byte paddings.
    const ten = bytes([0x0a, 0x81, 0x80, 0x00, 0x61], [0x18, 0x82, ...new Array<number>(8).fill(0x80), 0x00]);
    expect(decodeRateLimitRequest(ten)).toEqual({ domain: 'a', descriptors: [], hits_addend: 2 });
    expect(referenceDecodeRequest(ten)).toEqual({ domain: 'a', descriptors: [], hits_addend: 2 });
  });

  it('skips a known field number sent with another wire type, as unknown', () => {
    const wire = bytes(
      varintField(1, 7), // domain as a varint
      fixed32Field(3), // hits_addend as fixed32
      lenField(3, [1, 2]), // hits_addend as length-delimited
      fixed64Field(2), // descriptors as fixed64
      lenField(2, [...varintField(1, 1), ...lenField(1, [...varintField(1, 3), ...fixed32Field(2)])]),
      stringField(1, 'd'),
    );
    expect(decodeRateLimitRequest(wire)).toEqual({
      domain: 'd',
      descriptors: [{ entries: [{ key: '', value: '' }] }],
      hits_addend: 0,
    });
  });

  it('malformed UTF-8 becomes U+FFFD, as with protobufjs', () => {
    for (const raw of [
      [0xff],
      [0x80],
      [0x61, 0xbf],
      [0x61, 0xc3],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
    ]) {
      const wire = bytes(
        lenField(1, raw),
        lenField(2, lenField(1, lenField(2, [...raw, ...Buffer.from('x'.repeat(40))]))),
      );
      const decoded = decodeRateLimitRequest(wire);
      expect(decoded).toEqual(referenceDecodeRequest(wire));
      expect(decoded.domain).toContain('\ufffd');
    }
  });
});

describe('decodeRateLimitRequest: malformed input throws RlsDecodeError', () => {
  const cases: [string, number[]][] = [
    ['a truncated tag', [0x80]],
    ['a truncated varint value', [0x18, 0x80]],
    ['a truncated 10-byte varint', [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['an 11-byte varint', [0x18, ...new Array<number>(10).fill(0x80), 0x01]],
    ['an 11-byte varint in an unknown field', [...key(9, 0), ...new Array<number>(10).fill(0xff), 0x00]],
    ['an 11-byte length', [0x0a, ...new Array<number>(10).fill(0x80), 0x00]],
    ['a truncated length prefix', [0x0a]],
    ['a truncated multi-byte length prefix', [0x0a, 0x85]],
    ['a truncated string', [0x0a, 0x05, 0x61, 0x62]],
    ['a length past the end', [0x12, 0x7f, 0x0a, 0x00]],
    // Its low 32 bits (1) would fit the one byte left: the bits above must not be dropped.
    ['a length of 2^32 + 1', [0x0a, 0x81, 0x80, 0x80, 0x80, 0x10, 0x61]],
    ['a length of 2^63 + 1', [0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x61]],
    ['a tag of 2^35 + 8', [0x88, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00]],
    ['a huge length', [0x0a, ...varint(0x7fff_ffff_ffffn)]],
    [
      'an entry running past the end of its descriptor',
      [0x12, 0x03, 0x0a, 0x05, 0x0a, 0x01, 0x61, 0x12, 0x01, 0x62],
    ],
    ['a varint running past the end of its entry', [0x12, 0x04, 0x0a, 0x02, 0x0a, 0x80, 0x01]],
    ['start group (wire type 3)', [0x0b, 0x0c]],
    ['end group (wire type 4)', [0x0c]],
    ['a group in a descriptor', [0x12, 0x02, 0x1b, 0x1c]],
    ['a group in an entry', [0x12, 0x04, 0x0a, 0x02, 0x23, 0x24]],
    ['wire type 6', [0x0e]],
    ['wire type 7', [0x0f, 0x00]],
    ['field number 0 (varint)', [0x00, 0x00]],
    ['field number 0 (length-delimited)', [0x02, 0x00]],
    ['field number 0 in a descriptor', [0x12, 0x02, 0x00, 0x00]],
    ['field number 0 in an entry', [0x12, 0x04, 0x0a, 0x02, 0x00, 0x00]],
    ['field number 0 in a multi-byte tag', [0x80, 0x00, 0x00]],
    ['a tag above 32 bits', [0x88, 0x80, 0x80, 0x80, 0x10, 0x00]],
    ['a truncated fixed64', [...key(9, 1), 1, 2, 3, 4, 5, 6, 7]],
    ['a truncated fixed32', [...key(9, 5), 1, 2, 3]],
    ['a fixed32 running past the end of its descriptor', [0x12, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x00]],
  ];

  it.each(cases)('%s', (_what, input) => {
    expect(() => decodeRateLimitRequest(Buffer.from(input))).toThrow(RlsDecodeError);
  });

  it('the error is an Error named RlsDecodeError, saying where', () => {
    const caught = thrownBy(() => decodeRateLimitRequest(Buffer.from([0x0a, 0x01, 0x61, 0x0e])));
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toBeInstanceOf(RlsDecodeError);
    expect((caught as Error).name).toBe('RlsDecodeError');
    expect((caught as Error).message).toMatch(/wire type 6.*offset 4/u);
  });

  it('every strict prefix of a valid request decodes or throws RlsDecodeError, nothing else', () => {
    const wire = encodeNewer({
      domain: 'governor',
      descriptors: [
        {
          entries: [
            { key: 'generic_key', value: 'ünïcode' },
            { key: 'k', value: 'v' },
          ],
          limit: { requests_per_unit: 300, unit: 'HOUR' },
          hits_addend: { value: 1000 },
        },
      ],
      hits_addend: 0xffff_ffff,
    });
    for (let n = 0; n < wire.length; n++) {
      try {
        decodeRateLimitRequest(wire.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(RlsDecodeError);
      }
    }
  });

  it('property: arbitrary bytes decode or throw RlsDecodeError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          decodeRateLimitRequest(input);
        } catch (e) {
          expect(e).toBeInstanceOf(RlsDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('decodeRateLimitRequest: limits', () => {
  const entry = (k: string, v: string) => lenField(1, [...stringField(1, k), ...stringField(2, v)]);
  const descriptor = (...entries: number[][]) => lenField(2, entries.flat());
  const { maxDescriptors, maxEntries, maxKeyBytes, maxValueBytes } = DEFAULT_RLS_REQUEST_LIMITS;

  it('decodes a request at every limit', () => {
    const full = bytes(
      stringField(1, 'governor'),
      ...Array.from({ length: maxDescriptors - 1 }, () => descriptor(entry('k', 'v'))),
      descriptor(
        ...Array.from({ length: maxEntries }, () =>
          entry('k'.repeat(maxKeyBytes), 'é'.repeat(maxValueBytes / 2)),
        ),
      ),
    );
    const r = decodeRateLimitRequest(full);
    expect(r.descriptors).toHaveLength(maxDescriptors);
    expect(r.descriptors.at(-1)!.entries).toHaveLength(maxEntries);
    expect(r.descriptors.at(-1)!.entries[0]!.value).toBe('é'.repeat(maxValueBytes / 2));
  });

  it('refuses one descriptor, entry, key byte or value byte too many with RlsLimitError, saying which', () => {
    const cases: [Buffer, RegExp][] = [
      [bytes(...Array.from({ length: maxDescriptors + 1 }, () => descriptor())), /more than 64 descriptors/],
      [
        bytes(descriptor(...Array.from({ length: maxEntries + 1 }, () => entry('k', 'v')))),
        /more than 32 entries/,
      ],
      [bytes(descriptor(entry('k'.repeat(maxKeyBytes + 1), 'v'))), /key longer than 256 bytes/],
      // Counted in bytes: 513 two-byte characters are 1,026 bytes.
      [bytes(descriptor(entry('k', 'é'.repeat(maxValueBytes / 2 + 1)))), /value longer than 1024 bytes/],
    ];
    for (const [wire, message] of cases) {
      const error = thrownBy(() => decodeRateLimitRequest(wire));
      expect(error).toBeInstanceOf(RlsLimitError);
      // Still a decode error for callers that only know that one.
      expect(error).toBeInstanceOf(RlsDecodeError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('stops at the first descriptor too many: what follows is never read', () => {
    // Malformed bytes after the 65th descriptor: reading on would report them instead.
    const wire = bytes(...Array.from({ length: maxDescriptors + 1 }, () => descriptor()), [0x0a, 0x7f]);
    expect(() => decodeRateLimitRequest(wire)).toThrow(RlsLimitError);
    // Two million empty descriptors (4 MB) are refused at the 65th.
    const huge = Buffer.alloc(4_000_000);
    for (let i = 0; i < huge.length; i += 2) huge[i] = 0x12;
    expect(() => decodeRateLimitRequest(huge)).toThrow(
      /more than 64 descriptors at|more than 64 descriptors/,
    );
    // And an over-long value is refused before its (malformed) bytes are looked at.
    const value = bytes(
      descriptor(lenField(1, [...key(2, 2), ...varint(5000), ...new Array<number>(5000).fill(0xff)])),
    );
    expect(() => decodeRateLimitRequest(value)).toThrow(RlsLimitError);
  });

  it('takes other limits', () => {
    const limits = { maxDescriptors: 2, maxEntries: 1, maxKeyBytes: 3, maxValueBytes: 4 };
    expect(
      decodeRateLimitRequest(bytes(descriptor(entry('abc', 'defg')), descriptor()), limits).descriptors,
    ).toHaveLength(2);
    expect(() => decodeRateLimitRequest(bytes(descriptor(), descriptor(), descriptor()), limits)).toThrow(
      RlsLimitError,
    );
    expect(() => decodeRateLimitRequest(bytes(descriptor(entry('a', 'b'), entry('a', 'b'))), limits)).toThrow(
      RlsLimitError,
    );
    expect(() => decodeRateLimitRequest(bytes(descriptor(entry('abcd', 'b'))), limits)).toThrow(
      RlsLimitError,
    );
    expect(() => decodeRateLimitRequest(bytes(descriptor(entry('a', 'bcdef'))), limits)).toThrow(
      RlsLimitError,
    );
  });
});

describe('encodeRateLimitResponse', () => {
  const status = (s: Partial<RlsDescriptorStatus> = {}): RlsDescriptorStatus => ({ code: 'OK', ...s });
  const response = (statuses: RlsDescriptorStatus[], overall: 'OK' | 'OVER_LIMIT' = 'OK'): RlsResponse => ({
    overall_code: overall,
    statuses,
    response_headers_to_add: [],
  });
  const roundTrip = (r: RlsResponse): unknown => deserializeResponse(encodeRateLimitResponse(r));

  it('returns a Buffer', () => {
    expect(Buffer.isBuffer(encodeRateLimitResponse(response([])))).toBe(true);
  });

  it('an OK answer without statuses, and one with a bare status per descriptor', () => {
    for (const r of [response([]), response([status(), status(), status()])]) {
      expect(roundTrip(r)).toEqual(asReferenceDecodes(r));
    }
    expect([...encodeRateLimitResponse(response([]))]).toEqual([0x08, 0x01]);
  });

  it('OK and OVER_LIMIT, overall and per status', () => {
    const r = response([status({ code: 'OVER_LIMIT' }), status({ code: 'OK' })], 'OVER_LIMIT');
    expect(roundTrip(r)).toEqual(asReferenceDecodes(r));
    expect(roundTrip(response([status()], 'OK'))).toMatchObject({ overall_code: 'OK' });
  });

  it.each(UNITS)('unit %s', (unit) => {
    const r = response([status({ current_limit: { requests_per_unit: 10, unit, name: 'rule' } })]);
    expect(roundTrip(r)).toEqual(asReferenceDecodes(r));
  });

  it('the typical answer', () => {
    const r = response([
      status({
        current_limit: {
          requests_per_unit: 100_000_000,
          unit: 'SECOND',
          name: 'Service[productpage.default]-Id[bench]',
        },
        limit_remaining: 99_999_876,
        duration_until_reset: { seconds: 0, nanos: 734_000_000 },
      }),
    ]);
    expect(roundTrip(r)).toEqual(asReferenceDecodes(r));
  });

  it('zero and non-zero remaining; zero is left out (proto3) and reads back as 0', () => {
    const zero = response([status({ code: 'OVER_LIMIT', limit_remaining: 0 })], 'OVER_LIMIT');
    const some = response([status({ limit_remaining: 1 }), status({ limit_remaining: 0xffff_ffff })]);
    expect(roundTrip(zero)).toEqual(asReferenceDecodes(zero));
    expect(roundTrip(some)).toEqual(asReferenceDecodes(some));
    expect(encodeRateLimitResponse(zero)).toEqual(
      encodeRateLimitResponse(response([status({ code: 'OVER_LIMIT' })], 'OVER_LIMIT')),
    );
  });

  it('durations: empty (still present), with nanos, large seconds, negative nanos', () => {
    for (const d of [
      { seconds: 0, nanos: 0 },
      { seconds: 0, nanos: 1 },
      { seconds: 1, nanos: 500_000_000 },
      { seconds: 59, nanos: 999_999_999 },
      { seconds: 86_400 * 365, nanos: 0 },
      { seconds: 2 ** 31, nanos: 0 },
      { seconds: 2 ** 32 + 1, nanos: 7 },
      { seconds: Number.MAX_SAFE_INTEGER, nanos: 0x7fff_ffff },
      { seconds: 0, nanos: -1 },
      { seconds: 3, nanos: -0x8000_0000 },
    ]) {
      const r = response([status({ duration_until_reset: d })]);
      expect(roundTrip(r)).toEqual(asReferenceDecodes(r));
    }
  });

  it('a present current_limit with every field at its default is still sent (message presence)', () => {
    const r = response([status({ current_limit: { requests_per_unit: 0, unit: 'UNKNOWN', name: '' } })]);
    expect(roundTrip(r)).toMatchObject({
      statuses: [{ current_limit: { requests_per_unit: 0, unit: 'UNKNOWN', name: '' } }],
    });
  });

  it('names: empty, ASCII around the copy-loop threshold, long, unicode, lone surrogates', () => {
    const names = [
      '',
      'a',
      'x'.repeat(16),
      'x'.repeat(17),
      'y'.repeat(200),
      'default/reviews#0',
      'règle',
      '限流規則',
      'rule 🚦',
      '🚦'.repeat(100),
      'a\ud800b',
      '\udc00',
    ];
    const r = response(
      names.map((name) => status({ current_limit: { requests_per_unit: 5, unit: 'MINUTE', name } })),
    );
    expect(roundTrip(r)).toEqual(asReferenceDecodes(r));
    const decoded = roundTrip(r) as { statuses: { current_limit: { name: string } }[] };
    expect(decoded.statuses[10]!.current_limit.name).toBe('a\ufffdb');
  });

  it.each([10, 1000, 5000])('%d statuses (2-byte and 3-byte lengths), then a small answer', (count) => {
    const many = response(
      Array.from({ length: count }, (_, i) =>
        status({
          code: i % 3 === 0 ? 'OVER_LIMIT' : 'OK',
          current_limit: {
            requests_per_unit: i * 1000,
            unit: UNITS[i % UNITS.length]!,
            name: `rule-${i}-${'n'.repeat(i % 150)}`,
          },
          limit_remaining: i,
          duration_until_reset: { seconds: i, nanos: (i % 1000) * 1_000_000 },
        }),
      ),
      'OVER_LIMIT',
    );
    const wire = encodeRateLimitResponse(many);
    expect(wire.length).toBeGreaterThan(count * 10);
    expect(deserializeResponse(wire)).toEqual(asReferenceDecodes(many));
    const small = response([status({ limit_remaining: 3 })]);
    expect(roundTrip(small)).toEqual(asReferenceDecodes(small));
  });

  it('byte for byte what protobufjs writes when no field is at its default', () => {
    const r = response(
      [
        status({
          code: 'OVER_LIMIT',
          current_limit: { requests_per_unit: 300, unit: 'HOUR', name: 'règle' },
          limit_remaining: 12,
          duration_until_reset: { seconds: 3599, nanos: -5 },
        }),
      ],
      'OVER_LIMIT',
    );
    expect(encodeRateLimitResponse(r).toString('hex')).toBe(serializeResponse(r).toString('hex'));
  });

  it('converts out-of-range uint32 and int32 values as protobufjs does', () => {
    const r = response([
      status({
        current_limit: { requests_per_unit: 2 ** 32 + 7, unit: 'DAY', name: 'n' },
        limit_remaining: -1,
        duration_until_reset: { seconds: 1, nanos: 2 ** 31 },
      }),
      status({
        limit_remaining: 2.9,
        current_limit: { requests_per_unit: Number.NaN, unit: 'DAY', name: 'm' },
      }),
    ]);
    expect(roundTrip(r)).toEqual(deserializeResponse(serializeResponse(r)));
    expect(roundTrip(r)).toMatchObject({
      statuses: [
        {
          current_limit: { requests_per_unit: 7 },
          limit_remaining: 0xffff_ffff,
          duration_until_reset: { nanos: -(2 ** 31) },
        },
        { current_limit: { requests_per_unit: 0 }, limit_remaining: 2 },
      ],
    });
  });

  it('throws RangeError for an unknown unit or code, bad seconds, or headers to add', () => {
    const limit = (unit: string) =>
      response([status({ current_limit: { requests_per_unit: 1, unit, name: 'r' } })]);
    expect(() => encodeRateLimitResponse(limit('WEEK'))).toThrow(RangeError);
    expect(() => encodeRateLimitResponse(limit('second'))).toThrow(RangeError);
    expect(() => encodeRateLimitResponse(limit('toString'))).toThrow(RangeError);
    const badCode = { ...response([]), overall_code: 'MAYBE' } as unknown as RlsResponse;
    expect(() => encodeRateLimitResponse(badCode)).toThrow(RangeError);
    const badStatus = response([{ code: 'NOPE' } as unknown as RlsDescriptorStatus]);
    expect(() => encodeRateLimitResponse(badStatus)).toThrow(RangeError);
    for (const seconds of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
      const r = response([status({ duration_until_reset: { seconds, nanos: 0 } })]);
      expect(() => encodeRateLimitResponse(r)).toThrow(RangeError);
    }
    const headers = { ...response([]), response_headers_to_add: [{ header: { key: 'a', value: 'b' } }] };
    expect(() => encodeRateLimitResponse(headers as unknown as RlsResponse)).toThrow(RangeError);
  });

  it('property: random responses read back through protobufjs as themselves (modulo proto3 defaults)', () => {
    fc.assert(
      fc.property(responseArb, (r) => {
        expect(roundTrip(r)).toEqual(asReferenceDecodes(r));
      }),
      { numRuns: 300 },
    );
  });

  it('property: with no field at its default, the bytes are exactly protobufjs’s', () => {
    fc.assert(
      fc.property(fullResponseArb, (r) => {
        expect(encodeRateLimitResponse(r).equals(serializeResponse(r))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
