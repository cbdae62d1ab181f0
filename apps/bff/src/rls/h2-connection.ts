/**
 * One server-side HTTP/2 connection (RFC 9113) carrying request/response exchanges of small messages,
 * written straight on a TCP socket. It is the transport under the unary gRPC server of the rate-limit
 * service, which answers one call per request crossing a sidecar: there, what the transport costs per call
 * (objects, callbacks, system calls) is most of what a decision costs. Node's own `node:http2` makes a
 * stream object, several event emissions and a native round trip per call; this keeps a plain record per
 * stream, decodes headers into the three fields a gRPC server looks at, and writes every frame produced in
 * one turn of the event loop with one system call.
 *
 * What it implements: the connection preface and SETTINGS exchange, HEADERS with CONTINUATION (HPACK
 * decoding with the dynamic table), DATA with padding, flow control both ways (receive windows replenished
 * as data is read, sends held back while the peer's windows are closed and split to its frame size),
 * RST_STREAM, PING, WINDOW_UPDATE, GOAWAY both ways (a graceful close lets the calls in progress finish),
 * and the protocol errors a peer can make (answered as stream or connection errors with GOAWAY). What it
 * does not: server push, priorities (PRIORITY frames are read and ignored, as RFC 9113 allows), the
 * `http/1.1` upgrade (gRPC always uses prior knowledge) and TLS (a sidecar's mTLS ends in the sidecar).
 */
import type { Socket } from 'node:net';
import { HeaderListTooLarge, HpackDecoder, HpackError } from './hpack';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

const enum Flag {
  END_STREAM = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

/** HTTP/2 error codes (RFC 9113 §7). */
const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

const enum Setting {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
}

/** The flag of SETTINGS and PING acknowledgements (END_STREAM's bit, on frames without streams). */
const ACK = 0x1;
const FRAME_HEADER = 9;
const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
/** The largest frame this side accepts (the protocol's default; it is not raised). */
const MAX_FRAME_IN = 16_384;
/** Each stream's receive window, advertised in SETTINGS: a whole request of usual size without a pause. */
const STREAM_WINDOW = 1 << 20;
/** The connection's receive window: many streams' worth. */
const CONNECTION_WINDOW = 16 << 20;
/** Answers written but not yet taken by a client beyond which the connection is dropped. */
const MAX_UNREAD_OUTPUT = 64 << 20;

/** Settings this side sends in its preface. */
export interface H2ConnectionLimits {
  /** Streams a client may have open at once (more are refused with REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** Decoded size of one request's header list (RFC 9113 §6.5.2). */
  readonly maxHeaderListSize: number;
}

/** A request stream as the connection's user sees it. */
export interface H2Stream {
  readonly id: number;
  /** The `:method`, `:path` and `content-type` of the request (empty when absent). */
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  /** Set when the peer reset the stream or the connection closed: answers to it are dropped. */
  readonly cancelled: boolean;
}

/** What the connection asks of its user. */
export interface H2Handler {
  /**
   * A request's headers have arrived; returns the most body octets it accepts (beyond which the stream is
   * answered by {@link onTooLarge}), or -1 when it has answered the stream already (the rest is dropped).
   */
  onHeaders(stream: H2Stream, connection: H2Connection): number;
  /** The whole request body has arrived. */
  onRequest(stream: H2Stream, body: Buffer, connection: H2Connection): void;
  /** The body grew past what {@link onHeaders} accepted. */
  onTooLarge(stream: H2Stream, connection: H2Connection): void;
}

class Stream implements H2Stream {
  method = '';
  path = '';
  headersDone = false;
  contentType = '';
  cancelled = false;
  /** The client has sent END_STREAM. */
  remoteEnded = false;
  /** Headers (with END_STREAM) have been queued: nothing more may be sent. */
  localEnded = false;
  /** -1: the body is dropped (the stream was answered early or refused). */
  maxBody = 0;
  first: Buffer | null = null;
  chunks: Buffer[] | null = null;
  size = 0;
  /** Octets received since the last WINDOW_UPDATE for this stream. */
  unacked = 0;
  sendWindow: number;
  /** DATA waiting for flow-control credit, and the trailers to send after it. */
  pendingData: Buffer | null = null;
  pendingTrailers: Buffer | null = null;

  constructor(
    readonly id: number,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }
}

/** A growing output buffer of frames, written with one call per turn of the event loop. */
class Output {
  private chunk = Buffer.allocUnsafe(16_384);
  private pos = 0;
  private full: Buffer[] = [];

  /** Room for `n` octets in {@link buffer}; returns the offset to write at. */
  reserve(n: number): number {
    if (this.pos + n > this.chunk.length) {
      if (this.pos > 0) this.full.push(this.chunk.subarray(0, this.pos));
      this.chunk = Buffer.allocUnsafe(Math.max(16_384, n));
      this.pos = 0;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  get buffer(): Buffer {
    return this.chunk;
  }

  get empty(): boolean {
    return this.pos === 0 && this.full.length === 0;
  }

  /** Everything written so far, as one buffer; the next writes go to fresh memory. */
  take(): Buffer {
    let out: Buffer;
    if (this.full.length === 0) out = this.chunk.subarray(0, this.pos);
    else {
      this.full.push(this.chunk.subarray(0, this.pos));
      out = Buffer.concat(this.full);
      this.full = [];
    }
    // The written part now belongs to the socket; keep filling the rest of the chunk only if it is large.
    if (this.chunk.length - this.pos >= 4096) this.chunk = this.chunk.subarray(this.pos);
    else this.chunk = Buffer.allocUnsafe(16_384);
    this.pos = 0;
    return out;
  }
}

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class H2Connection {
  private readonly decoder: HpackDecoder;
  private readonly streams = new Map<number, Stream>();
  private readonly out = new Output();
  private flushScheduled = false;
  private input: Buffer | null = null;
  private prefaceSeen = false;
  private settingsSeen = false;
  /** The stream whose header block is being continued, and the block so far. */
  private continuing: Stream | null = null;
  /** 0, or why the stream whose header block is read is not served (REFUSED_STREAM, STREAM_CLOSED). */
  private continuingDrop = 0;
  private continuingEndStream = false;
  private headerBlock: Buffer[] = [];
  private headerBlockSize = 0;
  private lastStreamId = 0;
  /** Peer settings that matter to what this side sends. */
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16_384;
  private sendWindow = DEFAULT_WINDOW;
  /** Streams with DATA or trailers held back by flow control. */
  private readonly blocked = new Set<Stream>();
  /** Octets received on the connection since its last WINDOW_UPDATE. */
  private connectionUnacked = 0;
  private receiveWindow = DEFAULT_WINDOW;
  private goingAway = false;
  private closed = false;
  /** Shutting down: the socket ends once no stream is left. */
  private closing = false;

  constructor(
    private readonly socket: Socket,
    private readonly handler: H2Handler,
    private readonly limits: H2ConnectionLimits,
  ) {
    this.decoder = new HpackDecoder(4096, limits.maxHeaderListSize);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    this.sendSettings();
    // Open the connection's receive window from the protocol's 64 KiB to many streams' worth.
    this.writeWindowUpdate(0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    this.receiveWindow = CONNECTION_WINDOW;
  }

  /**
   * Graceful close: GOAWAY with the last stream this side will answer, then the socket ends once those
   * calls have been answered. Resolves when the socket is closed.
   */
  shutdown(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      this.socket.once('close', () => resolve());
      if (!this.goingAway) {
        this.goingAway = true;
        this.writeGoaway(this.lastStreamId, H2Error.NO_ERROR);
      }
      this.closing = true;
      if (this.streams.size === 0) this.end();
      else this.scheduleFlush();
    });
  }

  /** Closes the socket now; answers not yet written are lost. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.cancelled = true;
    this.streams.clear();
    this.blocked.clear();
    this.socket.destroy();
  }

  /** Answers a stream with headers, one DATA payload and trailers (a gRPC unary response). */
  respond(stream: H2Stream, headerBlock: Buffer, data: Buffer, trailerBlock: Buffer): void {
    const s = stream as Stream;
    if (s.cancelled || s.localEnded) return;
    s.localEnded = true;
    this.writeHeaders(s.id, headerBlock, false);
    s.pendingData = data;
    s.pendingTrailers = trailerBlock;
    this.pump(s);
    this.scheduleFlush();
  }

  /** Answers a stream with one header block that ends it (a trailers-only gRPC answer, an HTTP error). */
  respondHeadersOnly(stream: H2Stream, headerBlock: Buffer): void {
    const s = stream as Stream;
    if (s.cancelled || s.localEnded) return;
    s.localEnded = true;
    this.writeHeaders(s.id, headerBlock, true);
    this.finishLocal(s);
    this.scheduleFlush();
  }

  // ---- input ----

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let buf = this.input === null ? chunk : Buffer.concat([this.input, chunk]);
    let at = 0;
    try {
      if (!this.prefaceSeen) {
        if (buf.length < PREFACE.length) {
          if (!PREFACE.subarray(0, buf.length).equals(buf))
            throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not HTTP/2');
          this.input = buf;
          return;
        }
        if (!PREFACE.equals(buf.subarray(0, PREFACE.length)))
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not HTTP/2');
        this.prefaceSeen = true;
        at = PREFACE.length;
      }
      while (buf.length - at >= FRAME_HEADER && !this.closed) {
        const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
        if (length > MAX_FRAME_IN) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'frame too large');
        if (buf.length - at < FRAME_HEADER + length) break;
        const type = buf[at + 3]!;
        const flags = buf[at + 4]!;
        const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
        const start = at + FRAME_HEADER;
        at = start + length;
        this.onFrame(type, flags, id, buf, start, at);
      }
    } catch (error) {
      if (error instanceof ConnectionError) this.connectionError(error.code);
      else this.connectionError(H2Error.INTERNAL_ERROR);
      return;
    }
    if (this.closed) return;
    if (at < buf.length) {
      buf = buf.subarray(at);
      // A partial frame keeps the rest of the socket's chunk alive; copy it when it is small.
      this.input = buf.length < 1024 ? Buffer.from(buf) : buf;
    } else this.input = null;
    this.scheduleFlush();
  }

  private onFrame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (!this.settingsSeen && type !== FrameType.SETTINGS)
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'the client preface must start with SETTINGS');
    if (this.continuing !== null && (type !== FrameType.CONTINUATION || id !== this.continuing.id))
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a header block was interrupted');
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(flags, id, buf, start, end);
        return;
      case FrameType.HEADERS:
        this.onHeadersFrame(flags, id, buf, start, end);
        return;
      case FrameType.CONTINUATION:
        if (this.continuing === null)
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION out of place');
        this.addHeaderFragment(buf.subarray(start, end));
        if (flags & Flag.END_HEADERS) this.endHeaderBlock();
        return;
      case FrameType.SETTINGS:
        this.onSettings(flags, id, buf, start, end);
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(id, buf, start, end);
        return;
      case FrameType.PING:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream');
        if (end - start !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING of the wrong size');
        if (!(flags & ACK)) this.writeFrame(FrameType.PING, ACK, 0, buf.subarray(start, end));
        return;
      case FrameType.RST_STREAM: {
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on the connection');
        if (end - start !== 4)
          throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
        if (id > this.lastStreamId)
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
        const s = this.streams.get(id);
        if (s !== undefined) {
          s.cancelled = true;
          this.forget(s);
        }
        return;
      }
      case FrameType.PRIORITY:
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on the connection');
        if (end - start !== 5) this.resetStream(id, H2Error.FRAME_SIZE_ERROR);
        return;
      case FrameType.GOAWAY:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
        // The client opens no more streams; the ones it has keep their answers.
        this.goingAway = true;
        return;
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a client may not push');
      default:
        // Unknown frame types are ignored (RFC 9113 §4.1).
        return;
    }
  }

  private onSettings(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & ACK) {
      if (end !== start) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if ((end - start) % 6 !== 0)
      throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
    this.settingsSeen = true;
    for (let at = start; at < end; at += 6) {
      const key = buf.readUInt16BE(at);
      const value = buf.readUInt32BE(at + 2);
      switch (key) {
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_PUSH must be 0 or 1');
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW)
            throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW)
              throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'window overflow');
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < 16_384 || value > 16_777_215)
            throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
          this.peerMaxFrame = value;
          break;
        default:
          // HEADER_TABLE_SIZE: this side's encoder uses no dynamic table, so any size is honoured.
          // MAX_CONCURRENT_STREAMS: this side opens none. MAX_HEADER_LIST_SIZE: answers stay small.
          break;
      }
    }
    this.writeFrame(FrameType.SETTINGS, ACK, 0, null);
    // A larger window may unblock held-back answers.
    for (const s of this.blocked) this.pump(s);
  }

  private onWindowUpdate(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4)
      throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW)
        throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'window overflow');
      for (const s of this.blocked) {
        this.pump(s);
        if (this.sendWindow <= 0) break;
      }
      return;
    }
    const s = this.streams.get(id);
    if (increment === 0) {
      if (s !== undefined) this.failStream(s, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (s === undefined) return;
    s.sendWindow += increment;
    if (s.sendWindow > MAX_WINDOW) {
      this.failStream(s, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    if (this.blocked.has(s)) this.pump(s);
  }

  private onHeadersFrame(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0 || (id & 1) === 0)
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on a server stream id');
    let at = start;
    let stop = end;
    if (flags & Flag.PADDED) {
      if (at >= stop) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short');
      stop -= buf[at]!;
      at += 1;
    }
    if (flags & Flag.PRIORITY) at += 5;
    if (stop < at) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS padding too long');
    let stream = this.streams.get(id);
    let drop = 0;
    if (stream === undefined) {
      if (id <= this.lastStreamId) {
        // A closed stream: its header block is still decoded, to keep the HPACK table in step.
        drop = H2Error.STREAM_CLOSED;
        stream = new Stream(id, 0);
      } else {
        this.lastStreamId = id;
        stream = new Stream(id, this.peerInitialWindow);
        if (this.goingAway || this.streams.size >= this.limits.maxConcurrentStreams)
          drop = H2Error.REFUSED_STREAM;
        else this.streams.set(id, stream);
      }
    } else if (!(flags & Flag.END_STREAM)) {
      // A second header block is the request's trailers, and trailers end the stream.
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a second header block that does not end the stream');
    } else if (stream.remoteEnded) {
      drop = H2Error.STREAM_CLOSED;
    }
    this.continuing = stream;
    this.continuingDrop = drop;
    this.continuingEndStream = (flags & Flag.END_STREAM) !== 0;
    this.headerBlock = [];
    this.headerBlockSize = 0;
    this.addHeaderFragment(buf.subarray(at, stop));
    if (flags & Flag.END_HEADERS) this.endHeaderBlock();
  }

  private addHeaderFragment(fragment: Buffer): void {
    this.headerBlockSize += fragment.length;
    // HPACK can compress a header list several times over; a block this large is abuse, not headers.
    if (this.headerBlockSize > 4 * this.limits.maxHeaderListSize + 4096)
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large');
    this.headerBlock.push(fragment);
  }

  private endHeaderBlock(): void {
    const stream = this.continuing!;
    const drop = this.continuingDrop;
    const endStream = this.continuingEndStream;
    const block = this.headerBlock.length === 1 ? this.headerBlock[0]! : Buffer.concat(this.headerBlock);
    this.continuing = null;
    this.headerBlock = [];
    const isTrailers = drop === 0 && stream.headersDone;
    let tooLarge = false;
    try {
      if (drop !== 0 || isTrailers) this.decoder.decode(block, ignoreField);
      else
        this.decoder.decode(block, (name, value) => {
          if (name === ':path') stream.path = value;
          else if (name === ':method') stream.method = value;
          else if (name === 'content-type') stream.contentType = value;
        });
    } catch (error) {
      if (error instanceof HeaderListTooLarge) tooLarge = true;
      else if (error instanceof HpackError)
        throw new ConnectionError(H2Error.COMPRESSION_ERROR, error.message);
      else throw error;
    }
    if (drop !== 0) {
      if (this.streams.get(stream.id) === stream) this.failStream(stream, drop);
      else this.writeRstStream(stream.id, drop);
      return;
    }
    if (tooLarge) {
      this.failStream(stream, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (isTrailers) {
      this.onRemoteEnd(stream);
      return;
    }
    stream.headersDone = true;
    // Marked before the handler runs, so that an answer it gives at once sees the request as whole.
    if (endStream) stream.remoteEnded = true;
    stream.maxBody = this.handler.onHeaders(stream, this);
    if (endStream) this.deliver(stream);
  }

  private onDataFrame(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on the connection');
    const length = end - start;
    // Flow control counts the whole frame, padding included, whatever becomes of the stream.
    this.receiveWindow -= length;
    if (this.receiveWindow < 0)
      throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window exceeded');
    this.connectionUnacked += length;
    if (this.connectionUnacked >= CONNECTION_WINDOW / 2) {
      this.writeWindowUpdate(0, this.connectionUnacked);
      this.receiveWindow += this.connectionUnacked;
      this.connectionUnacked = 0;
    }
    let at = start;
    let stop = end;
    if (flags & Flag.PADDED) {
      if (length < 1) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'DATA too short');
      stop -= buf[at]!;
      at += 1;
      if (stop < at) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA padding too long');
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
      // A stream answered early, reset or refused: its data is dropped (the window above still counts it).
      return;
    }
    if (s.remoteEnded) {
      this.failStream(s, H2Error.STREAM_CLOSED);
      return;
    }
    if (s.localEnded) return;
    if (s.maxBody >= 0 && stop > at) {
      s.size += stop - at;
      if (s.size > s.maxBody) {
        s.maxBody = -1;
        s.first = null;
        s.chunks = null;
        this.handler.onTooLarge(s, this);
      } else {
        const piece = buf.subarray(at, stop);
        if (s.first === null) s.first = piece;
        else (s.chunks ??= [s.first]).push(piece);
      }
    }
    if (flags & Flag.END_STREAM) {
      this.onRemoteEnd(s);
      return;
    }
    s.unacked += length;
    if (s.unacked >= STREAM_WINDOW / 2) {
      this.writeWindowUpdate(s.id, s.unacked);
      s.unacked = 0;
    }
  }

  private onRemoteEnd(s: Stream): void {
    s.remoteEnded = true;
    this.deliver(s);
  }

  /** The request is whole: hand it over, or end the exchange if it was answered early. */
  private deliver(s: Stream): void {
    if (s.localEnded) {
      if (s.pendingData === null && s.pendingTrailers === null) this.forget(s);
      return;
    }
    if (s.maxBody < 0) return;
    const body = s.chunks !== null ? Buffer.concat(s.chunks) : (s.first ?? EMPTY);
    s.first = null;
    s.chunks = null;
    this.handler.onRequest(s, body, this);
  }

  // ---- output ----

  /** Sends what flow control allows of a stream's held-back DATA, then its trailers. */
  private pump(s: Stream): void {
    let data = s.pendingData;
    while (data !== null) {
      const n = Math.min(data.length, s.sendWindow, this.sendWindow, this.peerMaxFrame);
      if (n <= 0 && data.length > 0) {
        this.blocked.add(s);
        return;
      }
      this.writeFrame(FrameType.DATA, 0, s.id, n === data.length ? data : data.subarray(0, n));
      s.sendWindow -= n;
      this.sendWindow -= n;
      data = n === data.length ? null : data.subarray(n);
      s.pendingData = data;
    }
    this.blocked.delete(s);
    if (s.pendingTrailers !== null) {
      this.writeHeaders(s.id, s.pendingTrailers, true);
      s.pendingTrailers = null;
      this.finishLocal(s);
    }
  }

  /** This side has ended the stream: forget it, or ask the client to stop sending if it has not finished. */
  private finishLocal(s: Stream): void {
    if (!s.remoteEnded && this.streams.has(s.id)) this.writeRstStream(s.id, H2Error.NO_ERROR);
    this.forget(s);
  }

  private forget(s: Stream): void {
    this.streams.delete(s.id);
    this.blocked.delete(s);
    if (this.streams.size === 0 && this.closing) this.scheduleFlush();
  }

  /** A stream error: reset it and forget it. */
  private failStream(s: Stream, code: number): void {
    s.cancelled = true;
    this.writeRstStream(s.id, code);
    this.forget(s);
  }

  private resetStream(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s !== undefined) this.failStream(s, code);
    else this.writeRstStream(id, code);
  }

  private connectionError(code: number): void {
    if (this.closed) return;
    this.writeGoaway(this.lastStreamId, code);
    this.flush();
    this.end();
  }

  private end(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    for (const s of this.streams.values()) s.cancelled = true;
    this.streams.clear();
    this.blocked.clear();
    this.socket.end();
  }

  private sendSettings(): void {
    const payload = Buffer.alloc(18);
    payload.writeUInt16BE(Setting.MAX_CONCURRENT_STREAMS, 0);
    payload.writeUInt32BE(this.limits.maxConcurrentStreams, 2);
    payload.writeUInt16BE(Setting.INITIAL_WINDOW_SIZE, 6);
    payload.writeUInt32BE(STREAM_WINDOW, 8);
    payload.writeUInt16BE(Setting.MAX_HEADER_LIST_SIZE, 12);
    payload.writeUInt32BE(this.limits.maxHeaderListSize, 14);
    this.writeFrame(FrameType.SETTINGS, 0, 0, payload);
  }

  /** A header block as HEADERS and, beyond the peer's frame size, CONTINUATION frames. */
  private writeHeaders(id: number, block: Buffer, endStream: boolean): void {
    const flags = endStream ? Flag.END_STREAM : 0;
    if (block.length <= this.peerMaxFrame) {
      this.writeFrame(FrameType.HEADERS, flags | Flag.END_HEADERS, id, block);
      return;
    }
    let at = 0;
    let type: FrameType = FrameType.HEADERS;
    let frameFlags = flags;
    while (at < block.length) {
      const next = Math.min(block.length, at + this.peerMaxFrame);
      this.writeFrame(
        type,
        next === block.length ? frameFlags | Flag.END_HEADERS : frameFlags,
        id,
        block.subarray(at, next),
      );
      at = next;
      type = FrameType.CONTINUATION;
      frameFlags = 0;
    }
  }

  private writeRstStream(id: number, code: number): void {
    this.writeWords(FrameType.RST_STREAM, id, code);
  }

  private writeWindowUpdate(id: number, increment: number): void {
    this.writeWords(FrameType.WINDOW_UPDATE, id, increment);
  }

  private writeGoaway(lastId: number, code: number): void {
    this.writeWords(FrameType.GOAWAY, 0, lastId, code);
  }

  /** A frame whose payload is one or two 32-bit words (RST_STREAM, WINDOW_UPDATE, GOAWAY). */
  private writeWords(type: number, id: number, first: number, second?: number): void {
    const length = second === undefined ? 4 : 8;
    const at = this.out.reserve(FRAME_HEADER + length);
    const b = this.out.buffer;
    writeFrameHeader(b, at, length, type, 0, id);
    b.writeUInt32BE(first, at + FRAME_HEADER);
    if (second !== undefined) b.writeUInt32BE(second, at + FRAME_HEADER + 4);
    this.scheduleFlush();
  }

  private writeFrame(type: number, flags: number, id: number, payload: Buffer | null): void {
    const length = payload === null ? 0 : payload.length;
    const at = this.out.reserve(FRAME_HEADER + length);
    const b = this.out.buffer;
    writeFrameHeader(b, at, length, type, flags, id);
    if (payload !== null) payload.copy(b, at + FRAME_HEADER);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    // After the current callback and its promise reactions: every answer settled by one Redis reply (or
    // every frame read from one socket chunk) goes out in one write.
    process.nextTick(this.flushNow);
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flush();
    if (this.closing && this.streams.size === 0) this.end();
  };

  private flush(): void {
    if (this.closed || this.out.empty) return;
    this.socket.write(this.out.take());
    // A client that sends calls but does not read the answers would grow this side's memory without end.
    if (this.socket.writableLength > MAX_UNREAD_OUTPUT) this.destroy();
  }
}

const EMPTY = Buffer.alloc(0);
const ignoreField = (): void => undefined;

function writeFrameHeader(
  b: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  id: number,
): void {
  b[at] = (length >>> 16) & 0xff;
  b[at + 1] = (length >>> 8) & 0xff;
  b[at + 2] = length & 0xff;
  b[at + 3] = type;
  b[at + 4] = flags;
  b.writeUInt32BE(id, at + 5);
}
