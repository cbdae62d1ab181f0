/**
 * The protobuf wire format of the two messages of Envoy's rate-limit service
 * (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`), written by hand: the request is decoded
 * straight into the plain objects the service works with, and the response is encoded straight from them.
 *
 * A general protobuf library (protobufjs behind @grpc/proto-loader) does more work per call than this
 * service needs: it decodes into message instances, converts them to plain objects (`toObject`), and on the
 * way out converts plain objects back into instances (`fromObject`) before encoding them, queuing one
 * operation object per field before it writes anything. The service is called for every request that
 * crosses a sidecar, so that cost is paid at the full request rate. The two messages are small and fixed,
 * so a direct codec is short.
 *
 * Field numbers and enum values are those of Envoy's `rls.proto` and `ratelimit.proto` as shipped in
 * `@grpc/grpc-js-xds` (`deps/envoy-api`). The object shapes are those proto-loader produces with
 * `keepCase: true, longs: Number, enums: String, defaults: true`, restricted to what the service reads and
 * writes, so a caller can switch between the two codecs without other changes.
 *
 * Decoding follows the protobuf rules a conforming parser applies:
 * - fields may come in any order; for a scalar field seen more than once the last value wins; each
 *   occurrence of a repeated message field is one more element;
 * - unknown fields (and known fields carrying an unexpected wire type, as the reference implementations
 *   treat them) are skipped, whatever their wire type, at every level; so are the fields of a descriptor
 *   this service does not use (`limit`, and the descriptor-level `hits_addend` of newer Envoys), without
 *   looking inside them;
 * - uint32 fields keep the low 32 bits of their varint, as protobuf specifies;
 * - strings are UTF-8; malformed sequences become U+FFFD, as protobufjs (through Node's decoder) does.
 * Anything that is not well-formed protobuf throws `RlsDecodeError`: truncated input, a length running past
 * the end of its enclosing message, a varint longer than 10 bytes, field number 0, and wire types 3/4
 * (groups, which proto3 never produces) and 6/7 (undefined). A request beyond the `RlsRequestLimits`
 * (descriptors, entries per descriptor, key and value bytes) throws `RlsLimitError` when the first field
 * too many or too long is met, so a message of millions of empty descriptors costs no more than the limit.
 *
 * Encoding follows proto3: a scalar field equal to its default (0, '', enum value 0) is left out, while a
 * present sub-message is written even when empty (its presence means something). Sizes are computed first,
 * so the message is written once into a single buffer of exactly the right size.
 */

export interface RlsEntry {
  key: string;
  value: string;
}

export interface RlsDescriptor {
  entries: RlsEntry[];
}

export interface RlsRequest {
  domain: string;
  descriptors: RlsDescriptor[];
  /** uint32; 0 when absent (Envoy then means 1). */
  hits_addend: number;
}

/** `RateLimitResponse.Code` values the service answers with (`UNKNOWN`, 0, is never sent). */
export type RlsCode = 'OK' | 'OVER_LIMIT';

/** The values of `RateLimitResponse.RateLimit.Unit`. */
export type RlsUnit = 'UNKNOWN' | 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY' | 'MONTH' | 'YEAR';

/** `RateLimitResponse.RateLimit`. */
export interface RlsRateLimit {
  /** uint32. */
  requests_per_unit: number;
  /** One of `RlsUnit`; any other string makes the encoder throw. */
  unit: string;
  name: string;
}

/** `google.protobuf.Duration`. */
export interface RlsDuration {
  /** int64, here a non-negative safe integer. */
  seconds: number;
  /** int32. */
  nanos: number;
}

export interface RlsDescriptorStatus {
  code: RlsCode;
  current_limit?: RlsRateLimit;
  /** uint32. */
  limit_remaining?: number;
  duration_until_reset?: RlsDuration;
}

export interface RlsResponse {
  overall_code: RlsCode;
  statuses: RlsDescriptorStatus[];
  /** Always empty: the service adds no headers (the encoder rejects a non-empty list rather than drop it). */
  response_headers_to_add: never[];
}

/** The bytes are not a well-formed serialized `RateLimitRequest`. */
export class RlsDecodeError extends Error {
  override name = 'RlsDecodeError';
}

/** A well-formed request beyond one of the {@link RlsRequestLimits}. */
export class RlsLimitError extends RlsDecodeError {
  override name = 'RlsLimitError';
}

/**
 * How much one request may ask for. Envoy sends one descriptor per rate-limit action (a handful) with an
 * entry per key; the caps keep a request's cost (objects decoded, counters touched, decisions made) in
 * proportion to what a sidecar sends, whatever fits in the message size.
 */
export interface RlsRequestLimits {
  /** Descriptors per request. */
  readonly maxDescriptors: number;
  /** Entries per descriptor. */
  readonly maxEntries: number;
  /** Bytes of an entry's key (UTF-8). */
  readonly maxKeyBytes: number;
  /** Bytes of an entry's value (UTF-8). */
  readonly maxValueBytes: number;
}

export const DEFAULT_RLS_REQUEST_LIMITS: RlsRequestLimits = Object.freeze({
  maxDescriptors: 64,
  maxEntries: 32,
  maxKeyBytes: 256,
  maxValueBytes: 1024,
});

// ---------------------------------------------------------------------------------------------------------
// Wire format constants.
// ---------------------------------------------------------------------------------------------------------

/** Protobuf wire types, by their number in a tag. */
const WIRE = { varint: 0, fixed64: 1, len: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

/** A tag is `field_number << 3 | wire_type`; the known fields all have numbers below 16, so one byte. */
const tag = (field: number, wire: number): number => (field << 3) | wire;

// RateLimitRequest
const REQ_DOMAIN = tag(1, WIRE.len);
const REQ_DESCRIPTORS = tag(2, WIRE.len);
const REQ_HITS_ADDEND = tag(3, WIRE.varint);
// RateLimitDescriptor
const DESC_ENTRIES = tag(1, WIRE.len);
// RateLimitDescriptor.Entry
const ENTRY_KEY = tag(1, WIRE.len);
const ENTRY_VALUE = tag(2, WIRE.len);
// RateLimitResponse
const RES_OVERALL_CODE = tag(1, WIRE.varint);
const RES_STATUSES = tag(2, WIRE.len);
// RateLimitResponse.DescriptorStatus
const STATUS_CODE = tag(1, WIRE.varint);
const STATUS_CURRENT_LIMIT = tag(2, WIRE.len);
const STATUS_LIMIT_REMAINING = tag(3, WIRE.varint);
const STATUS_DURATION_UNTIL_RESET = tag(4, WIRE.len);
// RateLimitResponse.RateLimit
const LIMIT_REQUESTS_PER_UNIT = tag(1, WIRE.varint);
const LIMIT_UNIT = tag(2, WIRE.varint);
const LIMIT_NAME = tag(3, WIRE.len);
// google.protobuf.Duration
const DURATION_SECONDS = tag(1, WIRE.varint);
const DURATION_NANOS = tag(2, WIRE.varint);

// ---------------------------------------------------------------------------------------------------------
// Decoding.
// ---------------------------------------------------------------------------------------------------------

/** Strings up to this many bytes are tried as ASCII in JavaScript before asking Node's UTF-8 decoder. */
const ASCII_FAST_PATH_MAX = 32;

/**
 * A cursor over the input. Every read is bounded by the end of the message being read (passed in), not
 * the end of the buffer, so a field cannot run out of its enclosing message.
 */
class Reader {
  pos = 0;
  /** Set by `varint()`: whether the varint had any bit above the low 32 set. */
  high = false;

  constructor(readonly buf: Buffer) {}

  fail(what: string): never {
    throw new RlsDecodeError(`RateLimitRequest: ${what} at offset ${this.pos}`);
  }

  /**
   * A varint of up to 10 bytes. Returns its low 32 bits as an unsigned number, which is what a uint32
   * field keeps (a negative int32 is sent as 10 bytes and must still parse); `high` tells whether anything
   * above them was set, which lengths and tags must reject.
   */
  varint(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= end) this.fail('truncated varint');
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      this.high = false;
      return b;
    }
    let value = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= end) this.fail('truncated varint');
      b = buf[pos++]!;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.high = false;
        return value >>> 0;
      }
    }
    // Fifth byte: its low 4 bits are bits 28..31, the other 3 the first bits above 32.
    if (pos >= end) this.fail('truncated varint');
    b = buf[pos++]!;
    value |= b << 28;
    let high = (b & 0x70) !== 0;
    // Bytes 6 to 10 only carry high bits; a tenth byte that still has its continuation bit is too long.
    for (let n = 5; b >= 0x80; n++) {
      if (n === 10) this.fail('varint longer than 10 bytes');
      if (pos >= end) this.fail('truncated varint');
      b = buf[pos++]!;
      if ((b & 0x7f) !== 0) high = true;
    }
    this.pos = pos;
    this.high = high;
    return value >>> 0;
  }

  /** A field's tag (the caller has checked that a byte is left); field number 0 is an error. */
  tag(end: number): number {
    // Every field this codec reads has a one-byte tag, so that case goes first.
    const first = this.buf[this.pos]!;
    let t: number;
    if (first < 0x80) {
      this.pos++;
      t = first;
    } else {
      t = this.varint(end);
      if (this.high) this.fail('tag longer than 32 bits');
    }
    if (t >>> 3 === 0) this.fail('field number 0');
    return t;
  }

  /** A length prefix, checked against what is left of the enclosing message. Returns the end offset. */
  lengthEnd(end: number): number {
    const len = this.varint(end);
    if (this.high || len > end - this.pos) this.fail('length past the end of the message');
    return this.pos + len;
  }

  /** A string; one longer than `max` bytes is refused before it is decoded. */
  string(end: number, max = Number.POSITIVE_INFINITY, what = 'a string'): string {
    const stop = this.lengthEnd(end);
    const start = this.pos;
    if (stop - start > max) throw new RlsLimitError(`RateLimitRequest: ${what} longer than ${max} bytes`);
    this.pos = stop;
    return utf8(this.buf, start, stop);
  }

  /** Skips a field this codec does not read, whatever its (valid) wire type. */
  skip(t: number, end: number): void {
    switch (t & 7) {
      case WIRE.varint:
        this.varint(end);
        return;
      case WIRE.fixed64:
        return this.skipFixed(8, end);
      case WIRE.len:
        this.pos = this.lengthEnd(end);
        return;
      case WIRE.fixed32:
        return this.skipFixed(4, end);
      case WIRE.startGroup:
      case WIRE.endGroup:
        // Groups are proto2-only and delimited by tags rather than a length; Envoy never sends them.
        return this.fail(`group wire type ${t & 7} (field ${t >>> 3})`);
      default:
        return this.fail(`invalid wire type ${t & 7} (field ${t >>> 3})`);
    }
  }

  private skipFixed(bytes: 4 | 8, end: number): void {
    if (end - this.pos < bytes) this.fail(`truncated fixed${bytes * 8}`);
    this.pos += bytes;
  }
}

/**
 * UTF-8 bytes to a string. Descriptor keys and values are short and almost always ASCII; for those,
 * collecting the bytes as character codes and making the string with one `String.fromCharCode` call costs
 * less than a call into Node's decoder (about a fifth less time for a request of short strings). Anything
 * else (a byte of 0x80 or more, or a longer string) goes to Node's decoder, as with protobufjs.
 */
function utf8(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return '';
  if (n <= ASCII_FAST_PATH_MAX) {
    const codes: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const c = buf[start + i]!;
      if (c >= 0x80) return buf.toString('utf8', start, end);
      codes[i] = c;
    }
    return String.fromCharCode.apply(null, codes);
  }
  return buf.toString('utf8', start, end);
}

function readEntry(r: Reader, end: number, limits: RlsRequestLimits): RlsEntry {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const t = r.tag(end);
    if (t === ENTRY_KEY) key = r.string(end, limits.maxKeyBytes, 'a descriptor key');
    else if (t === ENTRY_VALUE) value = r.string(end, limits.maxValueBytes, 'a descriptor value');
    else r.skip(t, end);
  }
  return { key, value };
}

function readDescriptor(r: Reader, end: number, limits: RlsRequestLimits): RlsDescriptor {
  const entries: RlsEntry[] = [];
  while (r.pos < end) {
    const t = r.tag(end);
    if (t === DESC_ENTRIES) {
      if (entries.length === limits.maxEntries)
        throw new RlsLimitError(`RateLimitRequest: more than ${limits.maxEntries} entries in a descriptor`);
      const stop = r.lengthEnd(end);
      entries.push(readEntry(r, stop, limits));
    } else r.skip(t, end);
  }
  return { entries };
}

/**
 * Decodes a serialized `RateLimitRequest` (domain = 1, descriptors = 2 {entries = 1 {key = 1, value = 2}},
 * hits_addend = 3). Throws `RlsDecodeError` when the bytes are not well-formed protobuf, and its subclass
 * `RlsLimitError` as soon as the request goes beyond one of `limits` (before decoding any more of it).
 */
export function decodeRateLimitRequest(
  bytes: Uint8Array,
  limits: RlsRequestLimits = DEFAULT_RLS_REQUEST_LIMITS,
): RlsRequest {
  // A Buffer view of the same memory (no copy), for Node's UTF-8 decoder.
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(buf);
  const end = buf.length;
  let domain = '';
  const descriptors: RlsDescriptor[] = [];
  let hitsAddend = 0;
  while (r.pos < end) {
    const t = r.tag(end);
    if (t === REQ_DESCRIPTORS) {
      if (descriptors.length === limits.maxDescriptors)
        throw new RlsLimitError(`RateLimitRequest: more than ${limits.maxDescriptors} descriptors`);
      const stop = r.lengthEnd(end);
      descriptors.push(readDescriptor(r, stop, limits));
    } else if (t === REQ_DOMAIN) domain = r.string(end);
    else if (t === REQ_HITS_ADDEND) hitsAddend = r.varint(end);
    else r.skip(t, end);
  }
  return { domain, descriptors, hits_addend: hitsAddend };
}

// ---------------------------------------------------------------------------------------------------------
// Encoding.
// ---------------------------------------------------------------------------------------------------------

/** The proto's numbers of `RateLimitResponse.Code` and `RateLimitResponse.RateLimit.Unit`, by name. */
const CODES: Readonly<Record<RlsCode | 'UNKNOWN', number>> = { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 };
const UNITS: Readonly<Record<RlsUnit, number>> = {
  UNKNOWN: 0,
  SECOND: 1,
  MINUTE: 2,
  HOUR: 3,
  DAY: 4,
  MONTH: 5,
  YEAR: 6,
};

/** The number of `name` in `numbers`; a RangeError for any other string (`toString` too). */
function enumNumber(numbers: Readonly<Record<string, number>>, what: string, name: string): number {
  const n = Object.hasOwn(numbers, name) ? numbers[name] : undefined;
  if (n === undefined) throw new RangeError(`RateLimitResponse: unknown ${what} ${JSON.stringify(name)}`);
  return n;
}

const codeNumber = (code: string): number => enumNumber(CODES, 'code', code);
const unitNumber = (unit: string): number => enumNumber(UNITS, 'unit', unit);

/** Bytes of a varint holding an unsigned 32-bit value. */
function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes of a varint holding a non-negative safe integer (at most 2^53, so at most 8 bytes). */
function varint53Size(v: number): number {
  let size = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    size++;
  }
  return size;
}

/** Bytes of an int32 field's varint: negative values are sign-extended to 64 bits, so always 10. */
function int32Size(v: number): number {
  return v < 0 ? 10 : varint32Size(v);
}

/** Bytes of a `google.protobuf.Duration` body (fields at their default omitted). */
function durationSize(seconds: number, nanos: number): number {
  return (seconds !== 0 ? 1 + varint53Size(seconds) : 0) + (nanos !== 0 ? 1 + int32Size(nanos) : 0);
}

function writeVarint32(buf: Buffer, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function writeVarint53(buf: Buffer, pos: number, v: number): number {
  // Above 31 bits the bitwise operators would truncate, so peel those groups off arithmetically.
  while (v > 0x7fffffff) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  return writeVarint32(buf, pos, v);
}

function writeInt32(buf: Buffer, pos: number, v: number): number {
  if (v >= 0) return writeVarint32(buf, pos, v);
  // Negative: the two's complement over 64 bits. The low 32 bits give 4 full groups and 4 bits of the
  // fifth; every bit above is 1: 3 more in the fifth byte, 7 in each of the next four, 1 in the tenth.
  const lo = v >>> 0;
  buf[pos++] = (lo & 0x7f) | 0x80;
  buf[pos++] = ((lo >>> 7) & 0x7f) | 0x80;
  buf[pos++] = ((lo >>> 14) & 0x7f) | 0x80;
  buf[pos++] = ((lo >>> 21) & 0x7f) | 0x80;
  buf[pos++] = (lo >>> 28) | 0xf0;
  buf[pos++] = 0xff;
  buf[pos++] = 0xff;
  buf[pos++] = 0xff;
  buf[pos++] = 0xff;
  buf[pos++] = 0x01;
  return pos;
}

/**
 * UTF-8 size of a string. Node's `Buffer.byteLength` is a fast native call, cheaper than scanning for
 * ASCII in JavaScript. The size equals the string's length exactly when the string is all ASCII (any other
 * UTF-16 unit takes two or three bytes, a surrogate pair four), which the writer relies on.
 */
function utf8Size(s: string): number {
  return s.length === 0 ? 0 : Buffer.byteLength(s, 'utf8');
}

/** Up to this many ASCII characters, copying them in JavaScript beats a call into Node's string writer. */
const ASCII_WRITE_LOOP_MAX = 16;

function writeString(buf: Buffer, pos: number, s: string, bytes: number): number {
  const n = s.length;
  if (bytes === n) {
    if (n <= ASCII_WRITE_LOOP_MAX) {
      for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
      return pos + n;
    }
    // ASCII is its own Latin-1 encoding, and Node's Latin-1 writer skips the UTF-8 encoder's work.
    return pos + buf.write(s, pos, bytes, 'latin1');
  }
  // Node writes a lone surrogate as U+FFFD (3 bytes), which is also what Buffer.byteLength counted.
  return pos + buf.write(s, pos, bytes, 'utf8');
}

function checkSeconds(seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0)
    throw new RangeError(
      `RateLimitResponse: duration seconds must be a non-negative safe integer, got ${seconds}`,
    );
  return seconds;
}

/**
 * Sizes worked out by the first pass and used by the second, three per status: the status body, the
 * current_limit body and the UTF-8 size of the limit's name. Kept between calls so that encoding allocates
 * nothing but its output (encoding is synchronous, so calls cannot interleave); grown up to
 * `SCRATCH_MAX_STATUSES`, beyond which a rare huge response gets an array of its own rather than leaving
 * a large one behind.
 */
let scratch = new Int32Array(16 * 3);
const SCRATCH_MAX_STATUSES = 1024;

function sizesFor(count: number): Int32Array {
  if (count * 3 <= scratch.length) return scratch;
  if (count > SCRATCH_MAX_STATUSES) return new Int32Array(count * 3);
  scratch = new Int32Array(Math.min(SCRATCH_MAX_STATUSES, count * 2) * 3);
  return scratch;
}

/**
 * Encodes a `RateLimitResponse` (overall_code = 1, statuses = 2 {code = 1, current_limit = 2
 * {requests_per_unit = 1, unit = 2, name = 3}, limit_remaining = 3, duration_until_reset = 4 {seconds = 1,
 * nanos = 2}}). uint32 and int32 values are converted as protobufjs converts them (`>>> 0`, `| 0`).
 * Throws `RangeError` for an unknown code or unit string, duration seconds that are not a non-negative
 * safe integer, or headers to add (not supported).
 */
export function encodeRateLimitResponse(response: RlsResponse): Buffer {
  if (response.response_headers_to_add?.length)
    throw new RangeError('RateLimitResponse: response_headers_to_add is not supported');
  const statuses = response.statuses;
  const count = statuses.length;
  const sizes = sizesFor(count);

  // First pass: every size, and every check, so that nothing is written for a response that throws.
  const overall = codeNumber(response.overall_code);
  let total = overall !== 0 ? 2 : 0;
  for (let i = 0; i < count; i++) {
    const s = statuses[i]!;
    let size = codeNumber(s.code) !== 0 ? 2 : 0;
    const limit = s.current_limit;
    let limitSize = -1;
    let nameBytes = 0;
    if (limit != null) {
      const rpu = limit.requests_per_unit >>> 0;
      const unit = unitNumber(limit.unit);
      nameBytes = utf8Size(limit.name);
      limitSize =
        (rpu !== 0 ? 1 + varint32Size(rpu) : 0) +
        (unit !== 0 ? 2 : 0) +
        (nameBytes !== 0 ? 1 + varint32Size(nameBytes) + nameBytes : 0);
      size += 1 + varint32Size(limitSize) + limitSize;
    }
    if (s.limit_remaining != null) {
      const remaining = s.limit_remaining >>> 0;
      if (remaining !== 0) size += 1 + varint32Size(remaining);
    }
    const d = s.duration_until_reset;
    if (d != null) {
      const seconds = checkSeconds(d.seconds);
      const nanos = d.nanos | 0;
      const dSize = durationSize(seconds, nanos);
      size += 1 + varint32Size(dSize) + dSize;
    }
    sizes[i * 3] = size;
    sizes[i * 3 + 1] = limitSize;
    sizes[i * 3 + 2] = nameBytes;
    total += 1 + varint32Size(size) + size;
  }

  // Second pass: write, in field-number order as protobuf encoders do.
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  if (overall !== 0) {
    buf[pos++] = RES_OVERALL_CODE;
    buf[pos++] = overall;
  }
  for (let i = 0; i < count; i++) {
    const s = statuses[i]!;
    buf[pos++] = RES_STATUSES;
    pos = writeVarint32(buf, pos, sizes[i * 3]!);
    const code = codeNumber(s.code);
    if (code !== 0) {
      buf[pos++] = STATUS_CODE;
      buf[pos++] = code;
    }
    const limit = s.current_limit;
    if (limit != null) {
      const limitSize = sizes[i * 3 + 1]!;
      const nameBytes = sizes[i * 3 + 2]!;
      buf[pos++] = STATUS_CURRENT_LIMIT;
      pos = writeVarint32(buf, pos, limitSize);
      const rpu = limit.requests_per_unit >>> 0;
      if (rpu !== 0) {
        buf[pos++] = LIMIT_REQUESTS_PER_UNIT;
        pos = writeVarint32(buf, pos, rpu);
      }
      const unit = unitNumber(limit.unit);
      if (unit !== 0) {
        buf[pos++] = LIMIT_UNIT;
        buf[pos++] = unit;
      }
      if (nameBytes !== 0) {
        buf[pos++] = LIMIT_NAME;
        pos = writeVarint32(buf, pos, nameBytes);
        pos = writeString(buf, pos, limit.name, nameBytes);
      }
    }
    if (s.limit_remaining != null) {
      const remaining = s.limit_remaining >>> 0;
      if (remaining !== 0) {
        buf[pos++] = STATUS_LIMIT_REMAINING;
        pos = writeVarint32(buf, pos, remaining);
      }
    }
    const d = s.duration_until_reset;
    if (d != null) {
      const seconds = d.seconds;
      const nanos = d.nanos | 0;
      buf[pos++] = STATUS_DURATION_UNTIL_RESET;
      pos = writeVarint32(buf, pos, durationSize(seconds, nanos));
      if (seconds !== 0) {
        buf[pos++] = DURATION_SECONDS;
        pos = writeVarint53(buf, pos, seconds);
      }
      if (nanos !== 0) {
        buf[pos++] = DURATION_NANOS;
        pos = writeInt32(buf, pos, nanos);
      }
    }
  }
  // The two passes must agree; a mismatch would send garbage (allocUnsafe), so it is worth one comparison.
  if (pos !== total) throw new Error(`RateLimitResponse: wrote ${pos} bytes, expected ${total}`);
  return buf;
}
