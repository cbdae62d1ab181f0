/**
 * Governor as Envoy's access-log service (`envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs`,
 * from Envoy's own `als.proto` as shipped in `@grpc/grpc-js-xds`), the way Slime's lazyload runs in its
 * accesslog mode: each sidecar streams its HTTP (and TCP) access-log entries, and every outbound call is
 * counted per (source workload, destination service) into `ObservedCalls` (`via: 'accesslog'`).
 *
 * A stream's first message names the sidecar (`identifier.node`); a stream whose first message does not,
 * or whose message cannot be decoded or is over the limits, is ended with an error status and nothing
 * else is affected.
 */
import * as grpc from '@grpc/grpc-js';
import { envoyService } from '../envoy/grpc-services';
import { limitsOver } from '../lib/limits';
import type { ObservedCalls } from '../sources/observed-calls';
import {
  BadNodeError,
  destinationOf,
  sourceOfNode,
  type EnvoyNode,
  type ResolveOptions,
  type SourceWorkload,
} from './calls';

const accessLog = envoyService(
  'envoy/service/accesslog/v3/als.proto',
  'envoy.service.accesslog.v3.AccessLogService',
  Number,
);

/** The client constructor for tests and tools (a real gRPC client from the same proto). */
export const accessLogClientConstructor = accessLog.clientConstructor;

export interface AccessLogLimits {
  /** One message (Envoy flushes at its `buffer_size_bytes`, 16 KiB by default). Default 1 MiB. */
  readonly maxMessageBytes: number;
  /** Entries in one message. Default 10 000. */
  readonly maxEntriesPerMessage: number;
  /** Streams open at once, over every connection. Default 1024. */
  readonly maxStreams: number;
  /** Streams open at once on one connection (HTTP/2 `MAX_CONCURRENT_STREAMS`). Default 16. */
  readonly maxStreamsPerConnection: number;
  /** A stream that has not named its node by then is ended. Default 10 s. */
  readonly firstMessageTimeoutMs: number;
  /** Distinct (source, destination) pairs counted; later new pairs are dropped and reported. Default 100 000. */
  readonly maxPairs: number;
  /** A connection without a stream for this long is closed. Default 5 minutes. */
  readonly connectionIdleMs: number;
}

export const DEFAULT_ACCESSLOG_LIMITS: AccessLogLimits = Object.freeze({
  maxMessageBytes: 1024 * 1024,
  maxEntriesPerMessage: 10_000,
  maxStreams: 1024,
  maxStreamsPerConnection: 16,
  firstMessageTimeoutMs: 10_000,
  maxPairs: 100_000,
  connectionIdleMs: 5 * 60_000,
});

export interface AccessLogServerOptions {
  readonly calls: ObservedCalls;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  readonly limits?: Partial<AccessLogLimits>;
  /** How short authorities resolve (cluster domain, which names are namespaces). */
  readonly resolve?: ResolveOptions;
  readonly now?: () => number;
}

/** The parts of `StreamAccessLogsMessage` read here, as proto-loader decodes them. */
interface LogEntry {
  readonly common_properties?: { readonly upstream_cluster?: string | null } | null;
  readonly request?: { readonly authority?: string | null } | null;
}
interface StreamMessage {
  readonly identifier?: { readonly node?: EnvoyNode | null } | null;
  readonly http_logs?: { readonly log_entry?: readonly LogEntry[] | null } | null;
  readonly tcp_logs?: { readonly log_entry?: readonly LogEntry[] | null } | null;
}

const failure = (code: grpc.status, details: string): Partial<grpc.StatusObject> => ({ code, details });

export class AccessLogServer {
  readonly limits: AccessLogLimits;
  private readonly server: grpc.Server;
  private readonly counts = new Map<string, number>();
  private openStreams = 0;
  private droppedPairs = 0;
  private boundPort: number | undefined;
  private readonly now: () => number;

  constructor(private readonly options: AccessLogServerOptions) {
    const limits = limitsOver(DEFAULT_ACCESSLOG_LIMITS, options.limits);
    this.limits = limits;
    this.now = options.now ?? Date.now;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': limits.maxMessageBytes,
      'grpc.max_send_message_length': 1024,
      'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
      'grpc.max_connection_idle_ms': limits.connectionIdleMs,
    });
    this.server.addService(accessLog.definition(), {
      StreamAccessLogs: (
        call: grpc.ServerReadableStream<StreamMessage, object>,
        callback: grpc.sendUnaryData<object>,
      ) => this.stream(call, callback),
    });
  }

  /** Binds `host:port` and serves; resolves to the port bound. */
  async listen(): Promise<number> {
    const address = `${this.options.host ?? '127.0.0.1'}:${this.options.port ?? 0}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e, port) =>
        e ? reject(e) : resolve(port),
      ),
    );
    return this.boundPort;
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  /** Streams open now. */
  get streams(): number {
    return this.openStreams;
  }

  /** Stops taking streams; ends the open ones (Envoy reconnects elsewhere) and resolves once closed. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private stream(
    call: grpc.ServerReadableStream<StreamMessage, object>,
    callback: grpc.sendUnaryData<object>,
  ): void {
    if (this.openStreams >= this.limits.maxStreams) {
      callback(failure(grpc.status.RESOURCE_EXHAUSTED, `more than ${this.limits.maxStreams} streams open`));
      return;
    }
    this.openStreams++;
    let source: SourceWorkload | undefined;
    let done = false;
    const finish = (error?: Partial<grpc.StatusObject>) => {
      if (done) return;
      done = true;
      this.openStreams--;
      clearTimeout(timer);
      if (error) callback(error);
      else callback(null, {});
    };
    const timer = setTimeout(
      () =>
        finish(
          failure(
            grpc.status.DEADLINE_EXCEEDED,
            `no identifier within ${this.limits.firstMessageTimeoutMs} ms`,
          ),
        ),
      this.limits.firstMessageTimeoutMs,
    );
    timer.unref();
    call.on('data', (message: StreamMessage) => {
      if (done) return;
      try {
        if (source === undefined) {
          source = sourceOfNode(message.identifier?.node);
          clearTimeout(timer);
        }
        this.take(source, message);
      } catch (e) {
        finish(
          failure(
            grpc.status.INVALID_ARGUMENT,
            e instanceof BadNodeError || e instanceof RangeError
              ? e.message
              : 'a message that is not understood',
          ),
        );
      }
    });
    call.on('end', () => finish());
    call.on('error', () => finish(failure(grpc.status.CANCELLED, 'the stream failed')));
    call.on('cancelled', () => finish(failure(grpc.status.CANCELLED, 'cancelled')));
  }

  /** Counts a message's outbound calls; throws RangeError on a message over the limits. */
  private take(source: SourceWorkload, message: StreamMessage): void {
    const entries = message.http_logs?.log_entry ?? message.tcp_logs?.log_entry ?? [];
    if (entries.length > this.limits.maxEntriesPerMessage)
      throw new RangeError(`more than ${this.limits.maxEntriesPerMessage} entries in one message`);
    const perMessage = new Map<string, number>();
    for (const entry of entries) {
      const destination = destinationOf(
        entry.common_properties?.upstream_cluster,
        entry.request?.authority,
        source.namespace,
        this.options.resolve,
      );
      if (destination !== undefined) perMessage.set(destination, (perMessage.get(destination) ?? 0) + 1);
    }
    const at = this.now();
    for (const [destination, n] of perMessage) {
      const key = `${source.namespace}/${source.app}>${destination}`;
      const before = this.counts.get(key);
      if (before === undefined && this.counts.size >= this.limits.maxPairs) {
        this.droppedPairs++;
        this.options.calls.sourceFailed(
          'accesslog',
          `more than ${this.limits.maxPairs} distinct calls: ${this.droppedPairs} new ones not counted`,
        );
        continue;
      }
      const count = (before ?? 0) + n;
      this.counts.set(key, count);
      this.options.calls.record('accesslog', source, destination, count, at);
    }
  }
}
