/**
 * The HPACK decoder and encoder helpers: the RFC 7541 Appendix C examples (fields and dynamic table after
 * each block), the Huffman code, every malformation the decoder must reject, the header-list size limit,
 * and interop with a real HTTP/2 client (node:http2, i.e. nghttp2) talking to a raw socket.
 */
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeIndexedField,
  encodeLiteralField,
  HeaderListTooLarge,
  HpackDecoder,
  HpackError,
  huffmanDecode,
  huffmanEncode,
} from './hpack';
import { frame, PREFACE } from '../../test/support/h2-frames';

type Field = [name: string, value: string];

/** Hex dump (whitespace ignored) to bytes, as the RFC prints them. */
function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/gu, ''), 'hex'));
}

function decodeAll(decoder: HpackDecoder, block: Uint8Array): Field[] {
  const fields: Field[] = [];
  decoder.decode(block, (name, value) => fields.push([name, value]));
  return fields;
}

interface Step {
  block: string;
  fields: Field[];
  /** Dynamic table, newest first. */
  table: Field[];
  size: number;
}

/** Decodes a series of blocks with one decoder (as on one connection), checking each step. */
function runSeries(maxTableSize: number, steps: Step[]): void {
  const decoder = new HpackDecoder(maxTableSize);
  for (const step of steps) {
    expect(decodeAll(decoder, hex(step.block))).toEqual(step.fields);
    expect(decoder.tableEntries()).toEqual(step.table);
    expect(decoder.tableSize).toBe(step.size);
  }
}

describe('RFC 7541 Appendix C examples', () => {
  it('C.2.1 literal with indexing', () => {
    const d = new HpackDecoder();
    const block = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    expect(decodeAll(d, block)).toEqual([['custom-key', 'custom-header']]);
    expect(d.tableEntries()).toEqual([['custom-key', 'custom-header']]);
    expect(d.tableSize).toBe(55);
  });

  it('C.2.2 literal without indexing', () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual([[':path', '/sample/path']]);
    expect(d.tableEntries()).toEqual([]);
    expect(d.tableSize).toBe(0);
  });

  it('C.2.3 literal never indexed', () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).toEqual([['password', 'secret']]);
    expect(d.tableEntries()).toEqual([]);
  });

  it('C.2.4 indexed field', () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex('82'))).toEqual([[':method', 'GET']]);
    expect(d.tableEntries()).toEqual([]);
  });

  const requests: Omit<Step, 'block'>[] = [
    {
      fields: [
        [':method', 'GET'],
        [':scheme', 'http'],
        [':path', '/'],
        [':authority', 'www.example.com'],
      ],
      table: [[':authority', 'www.example.com']],
      size: 57,
    },
    {
      fields: [
        [':method', 'GET'],
        [':scheme', 'http'],
        [':path', '/'],
        [':authority', 'www.example.com'],
        ['cache-control', 'no-cache'],
      ],
      table: [
        ['cache-control', 'no-cache'],
        [':authority', 'www.example.com'],
      ],
      size: 110,
    },
    {
      fields: [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/index.html'],
        [':authority', 'www.example.com'],
        ['custom-key', 'custom-value'],
      ],
      table: [
        ['custom-key', 'custom-value'],
        ['cache-control', 'no-cache'],
        [':authority', 'www.example.com'],
      ],
      size: 164,
    },
  ];

  it('C.3 requests without Huffman coding', () => {
    const blocks = [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ];
    runSeries(
      4096,
      requests.map((r, i) => ({ ...r, block: blocks[i]! })),
    );
  });

  it('C.4 requests with Huffman coding', () => {
    const blocks = [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ];
    runSeries(
      4096,
      requests.map((r, i) => ({ ...r, block: blocks[i]! })),
    );
  });

  const responses: Omit<Step, 'block'>[] = [
    {
      fields: [
        [':status', '302'],
        ['cache-control', 'private'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['location', 'https://www.example.com'],
      ],
      table: [
        ['location', 'https://www.example.com'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['cache-control', 'private'],
        [':status', '302'],
      ],
      size: 222,
    },
    {
      fields: [
        [':status', '307'],
        ['cache-control', 'private'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['location', 'https://www.example.com'],
      ],
      // Adding ':status: 307' (42 octets) to 222 evicts the oldest entry, ':status: 302'.
      table: [
        [':status', '307'],
        ['location', 'https://www.example.com'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['cache-control', 'private'],
      ],
      size: 222,
    },
    {
      fields: [
        [':status', '200'],
        ['cache-control', 'private'],
        ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
        ['location', 'https://www.example.com'],
        ['content-encoding', 'gzip'],
        ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
      ],
      table: [
        ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
        ['content-encoding', 'gzip'],
        ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ],
      size: 215,
    },
  ];

  it('C.5 responses without Huffman coding, table size 256 (evictions)', () => {
    const blocks = [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
       2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
       6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
       54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
       5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
       3d31`,
    ];
    runSeries(
      256,
      responses.map((r, i) => ({ ...r, block: blocks[i]! })),
    );
  });

  it('C.6 responses with Huffman coding, table size 256 (evictions)', () => {
    const blocks = [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
       2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
       77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
       9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ];
    runSeries(
      256,
      responses.map((r, i) => ({ ...r, block: blocks[i]! })),
    );
  });
});

describe('Huffman code', () => {
  /** The octets of one symbol's code followed by EOS padding, as the RFC's code table reads. */
  function codeBytes(code: number, length: number): number[] {
    const total = Math.ceil(length / 8) * 8;
    const pad = total - length;
    let v = code * 2 ** pad + (2 ** pad - 1);
    const out: number[] = [];
    for (let i = 0; i < total / 8; i++) {
      out.unshift(v % 256);
      v = Math.floor(v / 256);
    }
    return out;
  }

  it('assigns the RFC 7541 Appendix B codes (canonical construction from code lengths)', () => {
    const rfc: [symbol: number, code: number, length: number][] = [
      [0x30, 0b00000, 5], // '0'
      [0x61, 0b00011, 5], // 'a'
      [0x20, 0b010100, 6], // ' '
      [0x25, 0b010101, 6], // '%'
      [0x41, 0b100001, 6], // 'A'
      [0x7a, 0b1111011, 7], // 'z'
      [0x00, 0x1ff8, 13],
      [0x0a, 0x3ffffffc, 30], // '\n', one of the three 30-bit codes
      [0xff, 0x3ffffee, 26],
    ];
    for (const [symbol, code, length] of rfc) {
      expect([...huffmanEncode(String.fromCharCode(symbol))], `symbol ${symbol}`).toEqual(
        codeBytes(code, length),
      );
    }
    // EOS is 30 ones: 32 ones in a row reach it inside the string, which is an error.
    expect(() => huffmanDecode(hex('ffff fffc'), 0, 4)).toThrow(/EOS/);
    // 29 ones then padding is not EOS (and not a symbol): rejected as bad padding, not as EOS.
    expect(() => huffmanDecode(hex('ffff fff8'), 0, 4)).toThrow(/padding/);
  });

  it('round-trips every octet value, alone and all together', () => {
    for (let c = 0; c < 256; c++) {
      const s = String.fromCharCode(c);
      const enc = huffmanEncode(s);
      expect(huffmanDecode(enc, 0, enc.length)).toBe(s);
    }
    const all = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c)).join('');
    const enc = huffmanEncode(all + all.split('').reverse().join(''));
    expect(huffmanDecode(enc, 0, enc.length)).toBe(all + all.split('').reverse().join(''));
  });

  it('round-trips random strings, including within a larger buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 8 }), (bytes, prefix) => {
        const s = Buffer.from(bytes).toString('latin1');
        const enc = huffmanEncode(s);
        const framed = Buffer.concat([prefix, enc, Buffer.from([0x00, 0xff])]);
        expect(huffmanDecode(framed, prefix.length, prefix.length + enc.length)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('matches the RFC example encodings', () => {
    expect(huffmanEncode('www.example.com').toString('hex')).toBe('f1e3c2e5f23a6ba0ab90f4ff');
    expect(huffmanEncode('no-cache').toString('hex')).toBe('a8eb10649cbf');
    expect(huffmanDecode(hex('25a8 49e9 5ba9 7d7f'), 0, 8)).toBe('custom-key');
    expect(huffmanDecode(new Uint8Array(0), 0, 0)).toBe('');
  });

  it('rejects bad padding and padding longer than 7 bits', () => {
    expect(huffmanDecode(hex('1f'), 0, 1)).toBe('a'); // 00011 + 111
    expect(() => huffmanDecode(hex('18'), 0, 1)).toThrow(HpackError); // 00011 + 000: padding not ones
    expect(() => huffmanDecode(hex('1e'), 0, 1)).toThrow(/padding/); // 00011 + 110
    expect(() => huffmanDecode(hex('1fff'), 0, 2)).toThrow(/padding/); // 'a' + 11 bits of ones
    expect(() => huffmanDecode(hex('ff'), 0, 1)).toThrow(/padding/); // 8 bits of ones, no symbol
    expect(() => huffmanDecode(hex('00'), 0, 1)).toThrow(/padding/); // '0' + 000
  });

  it('rejects non-latin1 input to the encoder', () => {
    expect(() => huffmanEncode('\u0100')).toThrow(RangeError);
  });
});

describe('HpackDecoder errors', () => {
  const fails = (block: string, message: RegExp, decoder = new HpackDecoder()) =>
    expect(() => decodeAll(decoder, hex(block))).toThrow(message);

  it('rejects index 0 and indices beyond the tables', () => {
    fails('80', /index 0/);
    fails('be', /index 62 out of range/); // empty dynamic table
    fails('ff00', /index 127 out of range/);
    fails('7f00 0161', /index 63 out of range/); // literal naming a missing dynamic entry
    fails('0f2f 0161', /index 62 out of range/); // same, without indexing
    const d = new HpackDecoder();
    decodeAll(d, hex('4003 6b65 7901 76')); // key: v → index 62
    expect(decodeAll(d, hex('be'))).toEqual([['key', 'v']]);
    fails('bf', /index 63 out of range/, d);
  });

  it('rejects truncated integers and strings', () => {
    fails('ff', /truncated integer/);
    fails('ff80', /truncated integer/);
    fails('4005 61', /truncated string/); // name of 5 octets, 1 present
    fails('04', /string expected/); // value missing entirely
    fails('0003 6b65 79', /string expected/);
    fails('4003 6b65 7985 ffff', /truncated string/); // Huffman value of 5 octets, 2 present
  });

  it('rejects integer overflow', () => {
    fails('ffff ffff ffff ff0f', /overflow/); // six continuation octets
    fails('ffff ffff ffff 0f', /overflow/); // five, but over 2^31 - 1
    fails('3fff ffff ffff 0f', /overflow/); // in a size update too
  });

  it('accepts size updates up to the advertised limit, only before the first field', () => {
    // 4096 = 31 + 97 + 31 * 128; 4097 one more.
    fails('3fe2 1f', /exceeds the limit 4096/);
    fails('8220', /after a header field/);
    const d = new HpackDecoder();
    expect(decodeAll(d, hex('20 3fe1 1f 82'))).toEqual([[':method', 'GET']]); // two updates, then a field
    expect(d.tableCapacity).toBe(4096);
    fails('21', /exceeds the limit 0/, new HpackDecoder(0));
  });

  it('rejects a bad Huffman string inside a block', () => {
    fails('4003 6b65 7981 18', /padding/);
    fails('4003 6b65 7984 ffff ffff', /EOS/);
  });
});

describe('HpackDecoder dynamic table', () => {
  it('evicts on size updates and empties on an entry larger than the table', () => {
    const d = new HpackDecoder(256);
    decodeAll(d, hex('4003 6b65 7901 76 4003 6b65 7901 77')); // key: v, key: w
    expect(d.tableEntries()).toEqual([
      ['key', 'w'],
      ['key', 'v'],
    ]);
    expect(d.tableSize).toBe(72);
    decodeAll(d, hex('3f11')); // size 48: only the newest fits
    expect(d.tableEntries()).toEqual([['key', 'w']]);
    expect(d.tableCapacity).toBe(48);
    // key: xx is 37 octets: evicts key: w (36) rather than exceeding 48.
    expect(decodeAll(d, hex('4003 6b65 7902 7878'))).toEqual([['key', 'xx']]);
    expect(d.tableEntries()).toEqual([['key', 'xx']]);
    // An entry bigger than the table (3 + 20 + 32 > 48) is delivered but empties the table.
    const big = 'y'.repeat(20);
    const block = Buffer.concat([hex('4003 6b65 7914'), Buffer.from(big)]);
    expect(decodeAll(d, block)).toEqual([['key', big]]);
    expect(d.tableEntries()).toEqual([]);
    expect(d.tableSize).toBe(0);
    decodeAll(d, hex('20')); // size 0, then back up to 256 = 31 + 97 + 1 * 128
    decodeAll(d, hex('3fe1 01 4003 6b65 7901 7a'));
    expect(d.tableEntries()).toEqual([['key', 'z']]);
    expect(decodeAll(d, hex('be'))).toEqual([['key', 'z']]);
  });

  it('keeps indices right across ring growth and wrap-around', () => {
    const d = new HpackDecoder(4096);
    const inserted: Field[] = [];
    for (let i = 0; i < 1000; i++) {
      const value = `v${i}`;
      const block = Buffer.concat([hex('4001 6b'), Buffer.from([value.length]), Buffer.from(value)]);
      expect(decodeAll(d, block)).toEqual([['k', value]]);
      inserted.push(['k', value]);
    }
    const entries = d.tableEntries();
    // Every entry is 1 + 4 + 32 = 37 octets once i >= 100: 110 of them fit in 4096.
    expect(entries.length).toBe(110);
    expect(entries).toEqual(inserted.slice(-110).reverse());
    expect(d.tableSize).toBe(110 * 37);
    // An indexed field: one octet below 127, else the full 7-bit prefix and one continuation octet.
    const indexed = (index: number) => Buffer.from(index < 127 ? [0x80 | index] : [0xff, index - 127]);
    for (const k of [0, 1, 57, 64, 65, 109]) {
      expect(decodeAll(d, indexed(62 + k))).toEqual([entries[k]]);
    }
    expect(() => decodeAll(d, indexed(62 + 110))).toThrow(/index 172 out of range/);
  });
});

describe('header list size limit', () => {
  it('throws HeaderListTooLarge after the block, with the dynamic table updated', () => {
    const d = new HpackDecoder(4096, 100);
    const value = 'v'.repeat(30);
    // :method GET (42) + x-a: v*30 (65) = 107 > 100, then :path / (38).
    const block = Buffer.concat([hex('82 4003 782d 611e'), Buffer.from(value), hex('84')]);
    const seen: Field[] = [];
    expect(() => d.decode(block, (n, v) => seen.push([n, v]))).toThrow(HeaderListTooLarge);
    expect(seen).toEqual([[':method', 'GET']]); // nothing past the limit is delivered
    expect(d.tableEntries()).toEqual([['x-a', value]]);
    // The next block refers to the entry the oversized block added, and fits.
    expect(decodeAll(d, hex('be'))).toEqual([['x-a', value]]);
  });

  it('counts 32 octets per field plus name and value', () => {
    expect(decodeAll(new HpackDecoder(4096, 42), hex('82'))).toEqual([[':method', 'GET']]);
    expect(() => decodeAll(new HpackDecoder(4096, 41), hex('82'))).toThrow(HeaderListTooLarge);
    const err = (() => {
      try {
        decodeAll(new HpackDecoder(4096, 41), hex('82'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(HpackError);
  });
});

describe('encoder helpers', () => {
  it('encodes static indexed fields', () => {
    expect([...encodeIndexedField(8)]).toEqual([0x88]);
    expect(decodeAll(new HpackDecoder(), encodeIndexedField(8))).toEqual([[':status', '200']]);
    expect(decodeAll(new HpackDecoder(), encodeIndexedField(61))).toEqual([['www-authenticate', '']]);
    expect(() => encodeIndexedField(0)).toThrow(RangeError);
    expect(() => encodeIndexedField(62)).toThrow(RangeError);
  });

  it('encodes literals without indexing, by static name index where possible', () => {
    const ct = encodeLiteralField('content-type', 'application/grpc');
    // Index 31 with a 4-bit prefix is 0x0f 0x10; then a raw 16-octet string.
    expect(ct.toString('hex')).toBe(`0f1010${Buffer.from('application/grpc').toString('hex')}`);
    const status = encodeLiteralField('grpc-status', '0');
    expect(status.toString('hex')).toBe(`000b${Buffer.from('grpc-status').toString('hex')}0130`);

    const long = 'x'.repeat(300);
    const d = new HpackDecoder();
    const block = Buffer.concat([
      encodeIndexedField(8),
      ct,
      status,
      encodeLiteralField('Grpc-Message', long),
      encodeLiteralField('x-latin1', 'caf\u00e9'),
      encodeLiteralField(':status', '418'),
      encodeLiteralField('x-empty', ''),
    ]);
    expect(decodeAll(d, block)).toEqual([
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-status', '0'],
      ['grpc-message', long],
      ['x-latin1', 'caf\u00e9'],
      [':status', '418'],
      ['x-empty', ''],
    ]);
    expect(d.tableEntries()).toEqual([]); // nothing indexed
    expect(() => encodeLiteralField('x', '\u2603')).toThrow(RangeError);
  });
});

describe('interop with node:http2 (nghttp2)', () => {
  it('decodes the client’s Huffman-coded, dynamically indexed requests; the client reads our responses', async () => {
    const decoder = new HpackDecoder();
    const decoded: { streamId: number; block: Buffer; fields: Field[]; tableAfter: Field[] }[] = [];
    const errors: unknown[] = [];
    const sockets: net.Socket[] = [];

    const server = net.createServer((socket) => {
      sockets.push(socket);
      let buffered = Buffer.alloc(0);
      let prefaceSeen = false;
      let fragments: Buffer[] = [];
      let headersStream = 0;
      socket.write(frame(0x4, 0, 0, Buffer.alloc(0))); // our SETTINGS (all defaults)
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        try {
          buffered = Buffer.concat([buffered, chunk]);
          if (!prefaceSeen) {
            if (buffered.length < PREFACE.length) return;
            if (!buffered.subarray(0, PREFACE.length).equals(PREFACE)) throw new Error('bad preface');
            buffered = buffered.subarray(PREFACE.length);
            prefaceSeen = true;
          }
          while (buffered.length >= 9) {
            const length = buffered.readUIntBE(0, 3);
            if (buffered.length < 9 + length) break;
            const type = buffered[3]!;
            const flags = buffered[4]!;
            const streamId = buffered.readUInt32BE(5) & 0x7fffffff;
            let payload = buffered.subarray(9, 9 + length);
            buffered = buffered.subarray(9 + length);
            if (type === 0x4 && (flags & 0x1) === 0) socket.write(frame(0x4, 0x1, 0, Buffer.alloc(0)));
            if (type !== 0x1 && type !== 0x9) continue; // only HEADERS and CONTINUATION matter here
            if (type === 0x1) {
              if (flags & 0x8) payload = payload.subarray(1, payload.length - payload[0]!); // PADDED
              if (flags & 0x20) payload = payload.subarray(5); // PRIORITY
              fragments = [];
              headersStream = streamId;
            }
            fragments.push(Buffer.from(payload));
            if ((flags & 0x4) === 0) continue; // wait for END_HEADERS
            const block = Buffer.concat(fragments);
            const fields = decodeAll(decoder, block);
            decoded.push({ streamId: headersStream, block, fields, tableAfter: decoder.tableEntries() });
            const response = Buffer.concat([
              encodeIndexedField(8),
              encodeLiteralField('content-type', 'text/plain'),
              encodeLiteralField('x-reply', `stream ${headersStream}`),
            ]);
            socket.write(frame(0x1, 0x1 | 0x4, headersStream, response)); // END_STREAM | END_HEADERS
          }
        } catch (e) {
          errors.push(e);
          socket.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', (e) => errors.push(e));

    const longValue = 'abcdefghij'.repeat(20); // 200 octets, 143 Huffman-coded
    const headers = {
      ':method': 'POST',
      ':path': '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit',
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-request-id': 'a7f3c2d1-0b9e-4e5f-8a6b-123456789abc',
      'x-long': longValue,
      'x-secret': 'hunter2',
      [http2.sensitiveHeaders]: ['x-secret'], // sent as never-indexed literals
    };
    const request = () =>
      new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = client.request(headers, { endStream: true });
        let response: http2.IncomingHttpHeaders | undefined;
        req.on('response', (h) => (response = h));
        req.on('error', reject);
        req.resume();
        req.on('close', () => (response ? resolve(response) : reject(new Error('no response'))));
      });

    try {
      const first = await request();
      const second = await request();
      expect(errors).toEqual([]);
      expect(decoded.map((d) => d.streamId)).toEqual([1, 3]);

      const expected: Field[] = [
        [':method', 'POST'],
        [':path', headers[':path']],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['x-request-id', headers['x-request-id']],
        ['x-long', longValue],
        ['x-secret', 'hunter2'],
      ];
      for (const d of decoded) {
        expect(d.fields).toEqual(expect.arrayContaining(expected));
        expect(d.fields).toContainEqual([':authority', `127.0.0.1:${port}`]);
        expect(d.fields).toContainEqual([':scheme', 'http']);
      }
      // Both requests decode to the same list, though the second is mostly references to the first's entries.
      expect(decoded[1]!.fields).toEqual(decoded[0]!.fields);
      // The client Huffman-coded the long value (its code is the same, so the octets are too)...
      expect(decoded[0]!.block.includes(huffmanEncode(longValue))).toBe(true);
      expect(decoded[0]!.block.includes(Buffer.from(longValue))).toBe(false);
      // ...and indexed it, so the second block is a small fraction of the first.
      expect(decoded[0]!.tableAfter).toContainEqual(['x-long', longValue]);
      expect(decoded[0]!.tableAfter).toContainEqual(['x-request-id', headers['x-request-id']]);
      expect(decoded[0]!.tableAfter).not.toContainEqual(['x-secret', 'hunter2']);
      expect(decoded[1]!.block.length).toBeLessThan(decoded[0]!.block.length / 3);

      // The client understood the responses built with the encoder helpers.
      expect(first[':status']).toBe(200);
      expect(first['content-type']).toBe('text/plain');
      expect(first['x-reply']).toBe('stream 1');
      expect(second['x-reply']).toBe('stream 3');
    } finally {
      client.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
