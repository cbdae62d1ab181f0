/**
 * HPACK (RFC 7541): the header compression of HTTP/2. The decoder turns one complete header block
 * (a HEADERS frame's fragment plus any CONTINUATION fragments, concatenated) into fields, keeping the
 * connection's dynamic table in step with the peer's encoder. The encoder side is only two helpers that
 * never touch the peer's dynamic table (indexed static entries and literals without indexing), which is
 * all a server answering with a handful of fixed response headers needs.
 *
 * Strings are treated as octets: every octet becomes one UTF-16 code unit ('latin1'), so a string's length
 * is its size in octets. That is what the table-size and header-list-size arithmetic counts, and it keeps
 * decoding to a single copy. Field names and values on the wire are ASCII in practice; anything else is
 * the HTTP layer's business to validate, not the compression layer's.
 *
 * Cost model: once a connection is warm, most fields of a gRPC request are single-octet references into
 * the dynamic table. Those return strings already stored in the table, so decoding them allocates nothing.
 * Literals cost one string each (raw ones straight out of the block, Huffman ones through a byte-at-a-time
 * state machine into a reused scratch buffer).
 */

/** A malformed header block: the caller must treat it as a connection error of type COMPRESSION_ERROR. */
export class HpackError extends Error {
  override name = 'HpackError';
}

/**
 * The decoded header list is over the advertised SETTINGS_MAX_HEADER_LIST_SIZE. Thrown only after the whole
 * block has been decoded, so the dynamic table is still in step and only the one stream need be refused.
 */
export class HeaderListTooLarge extends HpackError {
  override name = 'HeaderListTooLarge';
}

// ---------------------------------------------------------------------------------------------------------
// Static table (RFC 7541 Appendix A). Index 0 is unused so the arrays index like the RFC does.
// ---------------------------------------------------------------------------------------------------------

const STATIC_ENTRIES: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

const STATIC_COUNT = STATIC_ENTRIES.length; // 61
const STATIC_NAMES: readonly string[] = ['', ...STATIC_ENTRIES.map((e) => e[0])];
const STATIC_VALUES: readonly string[] = ['', ...STATIC_ENTRIES.map((e) => e[1])];

/** The first (lowest) static index of each name, for literals that reference a name by index. */
const STATIC_NAME_INDEX = new Map<string, number>();
for (let i = STATIC_COUNT; i >= 1; i--) STATIC_NAME_INDEX.set(STATIC_NAMES[i]!, i);

// ---------------------------------------------------------------------------------------------------------
// Huffman code (RFC 7541 Appendix B).
//
// The code is canonical: within a length, codes are consecutive in symbol order, and each length starts
// where the previous one ended, shifted left. So the 257 code lengths (256 octets plus EOS) determine
// every code, and the table below is all the data needed.
// ---------------------------------------------------------------------------------------------------------

// prettier-ignore
const CODE_LENGTHS = new Uint8Array([
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30, // EOS (symbol 256)
]);

const EOS = 256;

/** Codes (right-aligned, up to 30 bits) assigned canonically from CODE_LENGTHS. */
const CODES = new Uint32Array(257);
{
  const order = Array.from({ length: 257 }, (_, s) => s).sort(
    (a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b,
  );
  let code = 0;
  let length = CODE_LENGTHS[order[0]!]!;
  for (const symbol of order) {
    const len = CODE_LENGTHS[symbol]!;
    // Moving to a longer length appends zeros to the next free code (multiply, not shift: the running
    // value never exceeds 30 bits, but this keeps it clear of 32-bit sign trouble altogether).
    code *= 2 ** (len - length);
    length = len;
    CODES[symbol] = code;
    code++;
  }
}

/*
 * Decoding runs a state machine over whole input octets. States are the internal nodes of the code tree
 * (a complete binary tree over 257 leaves has 256 of them, so a state fits in an octet); for every state
 * and input octet a precomputed entry gives the next state and the symbols completed on the way. The
 * shortest code is 5 bits, so one octet completes at most two symbols (one finishing a code begun earlier,
 * one whole 5-bit code, and the start of a third).
 *
 * Entry layout: bits 0-7 next state, 8-15 first symbol, 16-23 second symbol, 24-25 symbol count,
 * bit 26 set when the octet runs into EOS (an error wherever it appears).
 */
const HUFF_FAIL = 1 << 26;
const HUFF_DECODE = new Uint32Array(256 * 256);
/** States where the input may end: the root, or up to 7 bits down the all-ones path (padding is EOS's prefix). */
const HUFF_ACCEPT = new Uint8Array(256);
{
  // The tree: child[node * 2 + bit] is an internal node id (>= 0) or ~symbol for a leaf.
  const child = new Int32Array(512).fill(0x7fffffff);
  let nodes = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const len = CODE_LENGTHS[symbol]!;
    const code = CODES[symbol]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const slot = node * 2 + (Math.floor(code / 2 ** i) & 1);
      if (i === 0) {
        child[slot] = ~symbol;
      } else {
        if (child[slot] === 0x7fffffff) child[slot] = nodes++;
        node = child[slot]!;
      }
    }
  }
  if (nodes !== 256 || child.includes(0x7fffffff))
    throw new Error('HPACK Huffman table is not a complete code');

  for (let depth = 0, node = 0; depth <= 7; depth++) {
    HUFF_ACCEPT[node] = 1;
    node = child[node * 2 + 1]!;
  }

  for (let state = 0; state < 256; state++) {
    for (let octet = 0; octet < 256; octet++) {
      let node = state;
      let count = 0;
      let symbols = 0;
      let fail = 0;
      for (let bit = 7; bit >= 0; bit--) {
        const next = child[node * 2 + ((octet >> bit) & 1)]!;
        if (next >= 0) {
          node = next;
          continue;
        }
        const symbol = ~next;
        if (symbol === EOS) {
          fail = HUFF_FAIL;
          break;
        }
        if (count === 2) throw new Error('HPACK Huffman table: more than two symbols in one octet');
        symbols |= symbol << (8 * count);
        count++;
        node = 0;
      }
      HUFF_DECODE[(state << 8) | octet] = node | (symbols << 8) | (count << 24) | fail;
    }
  }
}

/** Scratch space for Huffman output, grown on demand and reused (decoded text is copied out as a string). */
let scratch = new Uint8Array(1024);

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;
/**
 * Node's Buffer has an (undocumented but long-standing) `latin1Slice` that turns a byte range into a
 * one-byte string in a single native copy, and it accepts any Uint8Array as `this`, so no Buffer wrapper
 * is needed per block. The fallback only matters on runtimes without it.
 */
const latin1Slice: Latin1Slice =
  (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice ??
  function (this: Uint8Array, start: number, end: number): string {
    return Buffer.from(this.buffer, this.byteOffset, this.byteLength).toString('latin1', start, end);
  };

/** Decodes the Huffman-coded octets bytes[start, end) to a latin1 string. Throws HpackError if malformed. */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  if (start < 0 || end > bytes.length || start > end)
    throw new RangeError('huffmanDecode: range out of bounds');
  // 8 input bits yield at most 8 / 5 symbols; twice the input length is a safe bound.
  const bound = (end - start) * 2;
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  const out = scratch;
  let o = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const t = HUFF_DECODE[(state << 8) | bytes[i]!]!;
    if ((t & HUFF_FAIL) !== 0) throw new HpackError('Huffman string contains EOS');
    const count = (t >>> 24) & 3;
    if (count !== 0) {
      out[o++] = (t >>> 8) & 0xff;
      if (count === 2) out[o++] = (t >>> 16) & 0xff;
    }
    state = t & 0xff;
  }
  // Whatever is left over must be padding: at most 7 bits, all ones (the start of EOS).
  if (HUFF_ACCEPT[state] === 0) throw new HpackError('invalid Huffman padding');
  return latin1Slice.call(out, 0, o);
}

/** Huffman-encodes a string of latin1 characters (code units above 0xff are rejected). */
export function huffmanEncode(s: string): Buffer {
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError('huffmanEncode: only latin1 characters can be encoded');
    bits += CODE_LENGTHS[c]!;
  }
  const out = Buffer.allocUnsafe(Math.ceil(bits / 8));
  // acc holds fewer than 8 pending bits before each symbol is appended, so at most 37 bits: exact in a
  // double, hence arithmetic rather than 32-bit shifts.
  let acc = 0;
  let pending = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const len = CODE_LENGTHS[c]!;
    acc = acc * 2 ** len + CODES[c]!;
    pending += len;
    while (pending >= 8) {
      pending -= 8;
      const div = 2 ** pending;
      out[o++] = Math.floor(acc / div) & 0xff;
      acc %= div;
    }
  }
  if (pending > 0) out[o++] = ((acc << (8 - pending)) | ((1 << (8 - pending)) - 1)) & 0xff;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------------------

/** Largest integer accepted anywhere in a block; more is an attack or garbage, never a real length/index. */
const MAX_INT = 0x7fffffff;
/** Continuation octets allowed after a full prefix (5 × 7 bits covers MAX_INT). */
const MAX_CONTINUATION = 5;
/** Per-entry overhead in table and header-list size accounting (RFC 7541 §4.1, RFC 9113 §6.5.2). */
const ENTRY_OVERHEAD = 32;

export class HpackDecoder {
  /** The limit the peer's size updates may not exceed (our SETTINGS_HEADER_TABLE_SIZE). */
  private readonly maxTableSize: number;
  private readonly maxHeaderListSize: number;
  /** The table's current maximum size, as last set by the peer (starts at maxTableSize). */
  private capacity: number;
  private size = 0;

  /*
   * The dynamic table is a ring of parallel name/value arrays with a power-of-two length. `newest` is the
   * slot of HPACK index 62, so index 62 + k is slot (newest - k) & mask: lookups are O(1), insertion writes
   * one slot, eviction clears one slot at the old end. The ring doubles when full, which happens only a
   * few times per connection because every entry costs at least 32 octets of a bounded table.
   */
  private names: string[] = new Array<string>(16).fill('');
  private values: string[] = new Array<string>(16).fill('');
  private mask = 15;
  private newest = 15;
  private count = 0;

  /** Read position in the block being decoded (a field rather than a return value, so reads allocate nothing). */
  private pos = 0;

  constructor(maxTableSize = 4096, maxHeaderListSize = 16384) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INT) {
      throw new RangeError('maxTableSize must be an integer in [0, 2^31)');
    }
    if (!(maxHeaderListSize >= 0)) throw new RangeError('maxHeaderListSize must be non-negative');
    this.maxTableSize = maxTableSize;
    this.maxHeaderListSize = maxHeaderListSize;
    this.capacity = maxTableSize;
  }

  /** Current dynamic table size in octets (names + values + 32 per entry). */
  get tableSize(): number {
    return this.size;
  }

  /** The dynamic table's current maximum size, as last set by the peer. */
  get tableCapacity(): number {
    return this.capacity;
  }

  /** A copy of the dynamic table, newest (HPACK index 62) first. For tests and diagnostics. */
  tableEntries(): [name: string, value: string][] {
    const entries: [string, string][] = [];
    for (let k = 0; k < this.count; k++) {
      const slot = (this.newest - k) & this.mask;
      entries.push([this.names[slot]!, this.values[slot]!]);
    }
    return entries;
  }

  /**
   * Decodes one complete header block, calling onField for each field in order. Throws HpackError on
   * malformed input, after which the decoder is out of step with the peer and the connection must end.
   * Throws HeaderListTooLarge after decoding the whole block if the list exceeds maxHeaderListSize; fields
   * past the limit are not passed to onField, but the table is updated, so the decoder stays usable.
   * If onField throws, the block is abandoned half-way and the decoder is likewise out of step.
   */
  decode(block: Uint8Array, onField: (name: string, value: string) => void): void {
    const end = block.length;
    const limit = this.maxHeaderListSize;
    let listSize = 0;
    let sawField = false;
    this.pos = 0;
    while (this.pos < end) {
      const first = block[this.pos]!;
      let name: string;
      let value: string;
      if (first >= 0x80) {
        // Indexed field (1xxxxxxx): the common case on a warm connection; no allocation.
        const index = this.readInt(block, 7);
        if (index === 0) throw new HpackError('indexed field with index 0');
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index]!;
          value = STATIC_VALUES[index]!;
        } else {
          const k = index - STATIC_COUNT - 1;
          if (k >= this.count) throw new HpackError(`index ${index} out of range`);
          const slot = (this.newest - k) & this.mask;
          name = this.names[slot]!;
          value = this.values[slot]!;
        }
      } else if (first >= 0x40) {
        // Literal with incremental indexing (01xxxxxx).
        const index = this.readInt(block, 6);
        name = index === 0 ? this.readString(block) : this.nameAt(index);
        value = this.readString(block);
        this.insert(name, value);
      } else if (first >= 0x20) {
        // Dynamic table size update (001xxxxx): only before the first field (RFC 7541 §4.2).
        if (sawField) throw new HpackError('dynamic table size update after a header field');
        const size = this.readInt(block, 5);
        if (size > this.maxTableSize) {
          throw new HpackError(`dynamic table size update ${size} exceeds the limit ${this.maxTableSize}`);
        }
        this.capacity = size;
        this.evictTo(size);
        continue;
      } else {
        // Literal without indexing (0000xxxx) or never indexed (0001xxxx): the same to a decoder, since
        // the "never indexed" promise only binds intermediaries that re-encode.
        const index = this.readInt(block, 4);
        name = index === 0 ? this.readString(block) : this.nameAt(index);
        value = this.readString(block);
      }
      sawField = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize <= limit) onField(name, value);
    }
    if (listSize > limit) {
      throw new HeaderListTooLarge(`header list size ${listSize} exceeds the limit ${limit}`);
    }
  }

  /** Name of a static or dynamic entry, for literals that reference a name by index (index > 0). */
  private nameAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_NAMES[index]!;
    const k = index - STATIC_COUNT - 1;
    if (k >= this.count) throw new HpackError(`index ${index} out of range`);
    return this.names[(this.newest - k) & this.mask]!;
  }

  /** Reads an integer with an N-bit prefix (RFC 7541 §5.1) starting at this.pos, which must be in range. */
  private readInt(block: Uint8Array, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let p = this.pos;
    let value = block[p++]! & max;
    if (value < max) {
      this.pos = p;
      return value;
    }
    let multiplier = 1;
    for (let n = 1; ; n++) {
      if (p >= block.length) throw new HpackError('truncated integer');
      const octet = block[p++]!;
      value += (octet & 0x7f) * multiplier;
      if ((octet & 0x80) === 0) break;
      if (n >= MAX_CONTINUATION) throw new HpackError('integer overflow');
      multiplier *= 128;
    }
    if (value > MAX_INT) throw new HpackError('integer overflow');
    this.pos = p;
    return value;
  }

  /** Reads a string literal (RFC 7541 §5.2): H bit, 7-bit-prefix length, octets. */
  private readString(block: Uint8Array): string {
    if (this.pos >= block.length) throw new HpackError('truncated block: string expected');
    const huffman = (block[this.pos]! & 0x80) !== 0;
    const length = this.readInt(block, 7);
    const start = this.pos;
    const end = start + length;
    if (end > block.length) throw new HpackError('truncated string');
    this.pos = end;
    if (huffman) return huffmanDecode(block, start, end);
    return length === 0 ? '' : latin1Slice.call(block, start, end);
  }

  /** Adds an entry at index 62, evicting from the old end as needed (RFC 7541 §4.4). */
  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.capacity) {
      // Not an error: the table simply ends up empty and the field is still delivered.
      this.evictTo(0);
      return;
    }
    this.evictTo(this.capacity - entrySize);
    if (this.count === this.names.length) this.grow();
    this.newest = (this.newest + 1) & this.mask;
    this.names[this.newest] = name;
    this.values[this.newest] = value;
    this.count++;
    this.size += entrySize;
  }

  /** Evicts oldest entries until the table size is at most `size`. */
  private evictTo(size: number): void {
    while (this.size > size) {
      const slot = (this.newest - this.count + 1) & this.mask;
      this.size -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
      // Drop the references so evicted strings can be collected.
      this.names[slot] = '';
      this.values[slot] = '';
      this.count--;
    }
  }

  /** Doubles the ring, laying entries out oldest-first from slot 0. */
  private grow(): void {
    const length = this.names.length * 2;
    const names = new Array<string>(length).fill('');
    const values = new Array<string>(length).fill('');
    for (let k = 0; k < this.count; k++) {
      const slot = (this.newest - this.count + 1 + k) & this.mask;
      names[k] = this.names[slot]!;
      values[k] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.mask = length - 1;
    this.newest = this.count - 1;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoder helpers
// ---------------------------------------------------------------------------------------------------------

/** Octets needed for `value` as an integer with an N-bit prefix. */
function intLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (let rest = value - max; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}

/** Writes an integer with an N-bit prefix; `flags` are the representation's high bits of the first octet. */
function writeInt(out: Buffer, offset: number, value: number, prefixBits: number, flags: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[offset++] = flags | value;
    return offset;
  }
  out[offset++] = flags | max;
  let rest = value - max;
  while (rest >= 128) {
    out[offset++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[offset++] = rest;
  return offset;
}

/** Any code point above 0xff (including lone surrogates): not representable as one octet. */
const NOT_LATIN1 = /[\u{100}-\u{10ffff}]/u;

/** Writes a raw (non-Huffman) string literal. */
function writeRawString(out: Buffer, offset: number, s: string): number {
  offset = writeInt(out, offset, s.length, 7, 0);
  return offset + out.write(s, offset, 'latin1');
}

/**
 * Encodes a field as a literal without indexing (RFC 7541 §6.2.2), naming it by static index when the
 * static table has the name. Nothing is added to the peer's dynamic table, so the output can be cached and
 * replayed in any order on any connection. Strings go raw (no Huffman): cheaper to produce, and the few
 * octets saved do not matter for short response headers. The name is lower-cased, as HTTP/2 requires.
 */
export function encodeLiteralField(name: string, value: string): Buffer {
  const lower = name.toLowerCase();
  if (NOT_LATIN1.test(lower) || NOT_LATIN1.test(value)) {
    throw new RangeError('encodeLiteralField: names and values must be latin1 text');
  }
  const index = STATIC_NAME_INDEX.get(lower);
  const valueLength = intLength(value.length, 7) + value.length;
  if (index !== undefined) {
    const out = Buffer.allocUnsafe(intLength(index, 4) + valueLength);
    writeRawString(out, writeInt(out, 0, index, 4, 0x00), value);
    return out;
  }
  const out = Buffer.allocUnsafe(1 + intLength(lower.length, 7) + lower.length + valueLength);
  out[0] = 0x00;
  writeRawString(out, writeRawString(out, 1, lower), value);
  return out;
}

/** Encodes an indexed field referring to the static table (1..61), e.g. 8 for `:status: 200`. */
export function encodeIndexedField(index: number): Buffer {
  if (!Number.isInteger(index) || index < 1 || index > STATIC_COUNT) {
    throw new RangeError(`encodeIndexedField: ${index} is not a static table index`);
  }
  const out = Buffer.allocUnsafe(1);
  out[0] = 0x80 | index;
  return out;
}
