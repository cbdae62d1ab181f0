/**
 * An xDS client for tests, built from Envoy's own `ads.proto` and `rds.proto` with grpc-js: streams whose
 * responses queue up for `next()`, as a MetaProtocol proxy's subscription would see them.
 */
import * as grpc from '@grpc/grpc-js';
import { discoveryClientConstructors } from '../../src/xds/discovery-service';

type Duplex = grpc.ClientDuplexStream<object, unknown>;
export type XdsClient = grpc.Client & Record<string, () => Duplex>;

/** A client of `service` on 127.0.0.1:`port`; `track` collects it for closing after the test. */
export function xdsClient(
  port: number,
  service: 'ads' | 'rds',
  track: grpc.Client[],
  options: grpc.ClientOptions = {},
): XdsClient {
  const Client = discoveryClientConstructors()[service];
  const c = new Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
    options,
  ) as unknown as XdsClient;
  track.push(c);
  return c;
}

/** A stream whose messages queue up for `next()`; `status` settles when the server ends it. */
export function openStream<T>(c: XdsClient, method: string) {
  const call = c[method]!();
  const queue: T[] = [];
  const waiting: ((m: T) => void)[] = [];
  call.on('data', (m: T) => {
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('error', () => undefined);
  return {
    call,
    status,
    send: (m: object) => call.write(m),
    next: (ms = 2000) =>
      new Promise<T>((resolve, reject) => {
        const q = queue.shift();
        if (q !== undefined) return resolve(q);
        const t = setTimeout(() => reject(new Error('no response')), ms);
        waiting.push((m) => {
          clearTimeout(t);
          resolve(m);
        });
      }),
    /** Resolves true when nothing arrives within `ms`. */
    quiet: (ms = 300) =>
      new Promise<boolean>((resolve) => {
        if (queue.length > 0) return resolve(false);
        const waiter = (m: T) => {
          clearTimeout(t);
          queue.unshift(m);
          resolve(false);
        };
        const t = setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          resolve(true);
        }, ms);
        waiting.push(waiter);
      }),
  };
}
