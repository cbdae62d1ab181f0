import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { unitToMs } from '../fixed-window';
import type { WindowCount, WindowIncrement, WindowStore } from './window-store';

/**
 * Fixed-window increments for a whole batch in one call, timed by the server's clock (`TIME`), so every
 * replica puts a request in the same window whatever its own clock says. Per key, as envoyproxy/ratelimit:
 * `INCRBY` by the hits even when over limit, and an expiry of one window on the key's first increment
 * (the window start is part of the key, so a key never outlives its window by more than one unit).
 * Returns the server time (seconds, microseconds), then the window start and count of each key.
 */
export const WINDOW_BATCH_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1])
local out = { t[1], t[2] }
for i = 1, #KEYS do
  local hits = tonumber(ARGV[2 * i - 1])
  local unit = tonumber(ARGV[2 * i])
  local start = now - (now % unit)
  local key = KEYS[i] .. ':' .. start
  local count = redis.call('INCRBY', key, hits)
  if count == hits then redis.call('EXPIRE', key, unit) end
  out[2 * i + 1] = start
  out[2 * i + 2] = count
end
return out
`;

const SCRIPT_SHA = createHash('sha1').update(WINDOW_BATCH_SCRIPT).digest('hex');

/** Options of {@link RedisWindowStore}. */
export interface RedisWindowStoreOptions {
  /**
   * Connection options for the store's own client (host, port, password, db, tls...). The store overrides
   * the settings its failure handling depends on: no offline queue and no retried commands (a down Redis
   * must fail fast so decisions fall back), and endless reconnection with back-off.
   */
  readonly redis?: RedisOptions;
  /** Prefix of every counter key. Default `governor:rl:`. */
  readonly keyPrefix?: string;
  /** A batch not answered within this many milliseconds fails (and its decisions fall back). Default 100. */
  readonly timeoutMs?: number;
  /** Most increments per script call; a larger batch is split (the calls still share the connection's write). Default 1,000. */
  readonly maxBatch?: number;
  /** Longest wait between reconnection attempts. Default 1,000 ms. */
  readonly maxReconnectDelayMs?: number;
}

/** The store's view of its connection, for health endpoints. */
export interface RedisStoreHealth {
  readonly connected: boolean;
  readonly status: string;
  readonly lastError: string | null;
  /** Script calls made (each answers a whole batch). */
  readonly roundTrips: number;
  /** Increments sent. */
  readonly increments: number;
  readonly failures: number;
}

interface Pending {
  readonly request: WindowIncrement;
  readonly resolve: (count: WindowCount) => void;
  readonly reject: (error: unknown) => void;
}

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * A {@link WindowStore} on Redis (standalone; the derived per-window keys are not declared to the script,
 * so Redis Cluster is not supported). Increments requested in the same tick of the event loop are sent
 * as one `EVALSHA` of {@link WINDOW_BATCH_SCRIPT}: one round trip for a whole batch of decisions.
 */
export class RedisWindowStore implements WindowStore {
  readonly kind = 'redis';
  private readonly client: Redis;
  private readonly keyPrefix: string;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private lastError: string | null = null;
  private roundTrips = 0;
  private increments = 0;
  private failures = 0;

  constructor(options: RedisWindowStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? 'governor:rl:';
    this.maxBatch = options.maxBatch ?? 1000;
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    this.client = new Redis({
      ...options.redis,
      commandTimeout: options.timeoutMs ?? 100,
      connectTimeout: options.redis?.connectTimeout ?? 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * times, maxDelay),
    });
    // Without a listener an 'error' event would crash the process; errors surface through health().
    this.client.on('error', (error: Error) => {
      this.lastError = error.message;
    });
    this.client.on('ready', () => {
      this.lastError = null;
    });
  }

  /** Resolves when connected (or rejects after `timeoutMs`). Decisions made before fall back. */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error(`Redis not ready after ${timeoutMs} ms: ${this.lastError ?? this.client.status}`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  health(): RedisStoreHealth {
    return {
      connected: this.client.status === 'ready',
      status: this.client.status,
      lastError: this.lastError,
      roundTrips: this.roundTrips,
      increments: this.increments,
      failures: this.failures,
    };
  }

  increment(request: WindowIncrement): Promise<WindowCount> {
    if (this.closed) return Promise.reject(new Error('the Redis store is closed'));
    return new Promise<WindowCount>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: requests handled in the same I/O phase join the batch.
        setImmediate(this.flush);
      }
    });
  }

  /** Closes the connection; increments not yet sent fail. */
  async close(): Promise<void> {
    this.closed = true;
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) p.reject(new Error('the Redis store is closed'));
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else this.client.disconnect();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (let i = 0; i < batch.length; i += this.maxBatch) this.send(batch.slice(i, i + this.maxBatch));
  };

  private send(batch: Pending[]): void {
    const args: (string | number)[] = [];
    for (const p of batch) args.push(this.keyPrefix + p.request.key);
    for (const p of batch) args.push(p.request.hits, unitToMs(p.request.unit) / 1000);
    this.roundTrips++;
    this.increments += batch.length;
    this.client
      .evalsha(SCRIPT_SHA, batch.length, ...args)
      // After a Redis restart (or on first use) the script cache is empty: send the script itself once.
      .catch((error: unknown) =>
        isNoScript(error)
          ? this.client.eval(WINDOW_BATCH_SCRIPT, batch.length, ...args)
          : Promise.reject(error),
      )
      .then(
        (reply) => this.settle(batch, reply),
        (error: unknown) => this.fail(batch, error),
      );
  }

  private settle(batch: Pending[], reply: unknown): void {
    if (!Array.isArray(reply) || reply.length !== 2 + 2 * batch.length) {
      this.fail(batch, new Error('unexpected reply from the window script'));
      return;
    }
    const nowMs = Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
    batch.forEach((p, i) => {
      p.resolve({ windowStartMs: Number(reply[2 + 2 * i]) * 1000, count: Number(reply[3 + 2 * i]), nowMs });
    });
  }

  private fail(batch: Pending[], error: unknown): void {
    this.failures++;
    this.lastError = error instanceof Error ? error.message : String(error);
    for (const p of batch) p.reject(error);
  }
}
