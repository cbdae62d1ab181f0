/**
 * HTTP/1.1 written by hand on a TCP socket, for requests no well-behaved client sends (a bad target, a body
 * cut off mid-way, broken headers), and a watch on the process for crashes a request might cause.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** The status code, or null when the connection closed without an answer. */
  readonly status: number | null;
  readonly head: string;
  readonly body: string;
}

export interface RawOptions {
  /** Destroy the connection this long after writing (a client that goes away mid-request). */
  readonly cutAfterMs?: number;
  /** Give up waiting for the connection to close after this long (default 5 s). */
  readonly timeoutMs?: number;
  /** Stop reading once the answer's head is in (a stream that never ends, say). */
  readonly untilHead?: boolean;
}

/**
 * Writes `request` to 127.0.0.1:`port` and reads until the server closes the connection (send
 * `connection: close`) or `timeoutMs` passes. The first answer on the connection is parsed.
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  options: RawOptions = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 5_000);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (options.untilHead && Buffer.concat(chunks).includes('\r\n\r\n')) finish();
    });
    socket.on('close', finish);
    socket.on('error', finish);
    socket.write(request);
    if (options.cutAfterMs !== undefined) setTimeout(() => socket.destroy(), options.cutAfterMs);
  });
}

function parseAnswer(text: string): RawAnswer {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  const split = text.indexOf('\r\n\r\n');
  return {
    status: m ? Number(m[1]) : null,
    head: split >= 0 ? text.slice(0, split) : text,
    body: split >= 0 ? text.slice(split + 4) : '',
  };
}

/** Records the process' unhandled rejections and uncaught exceptions (which stop a server) until stopped. */
export function watchForCrashes(): { readonly crashes: string[]; stop(): void } {
  const crashes: string[] = [];
  const onRejection = (reason: unknown) => crashes.push(`unhandledRejection: ${describe(reason)}`);
  const onException = (error: unknown) => crashes.push(`uncaughtException: ${describe(error)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    crashes,
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

const describe = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));
