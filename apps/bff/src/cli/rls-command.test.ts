import { execFileSync } from 'node:child_process';
import http2 from 'node:http2';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { RedisServer, freePort } from '@governor/limiter/testing';
import { parse } from 'yaml';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aerakiFixturesDir } from '@governor/crd-types/testing';
import { capturedIo as io, runCli, withBookinfo } from '../../test/support/cli';
import { rlsClientConstructor } from '../rls/rls-server';
import { main } from './main';

describe('governor render --rls-config', () => {
  it("prints the global descriptors as envoyproxy/ratelimit's configuration, in Slime's nesting", async () => {
    const { code, stdout } = await runCli(['render', ...withBookinfo('doc-e-global.yaml'), '--rls-config']);
    expect(code).toBe(0);
    const config = parse(stdout) as { domain: string; descriptors: unknown[] };
    expect(config.domain).toBe('governor');
    expect(config.descriptors).toEqual([
      {
        key: 'generic_key',
        value: expect.stringMatching(/^Service\[productpage\.default\]-Id\[\d+\]$/) as unknown as string,
        rate_limit: { unit: 'MINUTE', requests_per_unit: 100 },
      },
    ]);
  });
});

describe('governor rls', () => {
  it('serves the global limits of the files over gRPC until stopped', async () => {
    const stop = new AbortController();
    const { out, io: cli } = io({ signal: stop.signal });
    const running = main(['rls', ...withBookinfo('doc-e-global.yaml'), '--port', '0'], cli);
    await vi.waitFor(() => expect(out.stdout).toMatch(/listening on 127\.0\.0\.1:\d+/));
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out.stdout)![1]);
    expect(out.stdout).toContain('1 global descriptor(s)');
    const Client = rlsClientConstructor();
    const client = new Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      ShouldRateLimit: (
        req: unknown,
        cb: (
          e: Error | null,
          r: { overall_code: string; statuses: { current_limit?: { requests_per_unit: number } }[] },
        ) => void,
      ) => void;
    };
    const value = /Service\[productpage\.default\]-Id\[\d+\]/.exec(
      (await runCli(['render', ...withBookinfo('doc-e-global.yaml'), '--rls-config'])).stdout,
    )![0];
    const answer = await new Promise<{
      overall_code: string;
      statuses: { current_limit?: { requests_per_unit: number } }[];
    }>((resolve, reject) =>
      client.ShouldRateLimit(
        { domain: 'governor', descriptors: [{ entries: [{ key: 'generic_key', value }] }] },
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    expect(answer.overall_code).toBe('OK');
    expect(answer.statuses[0]?.current_limit?.requests_per_unit).toBe(100);
    client.close();
    stop.abort();
    expect(await running).toBe(0);
  });

  it('counts in a Redis that needs a password without printing the password', async () => {
    const redis = await RedisServer.start();
    const password = 's3cret-Pa55word';
    const cli = (...args: string[]) =>
      execFileSync('redis-cli', ['-p', String(redis.port), '--no-auth-warning', ...args], {
        encoding: 'utf8',
      }).trim();
    try {
      cli('CONFIG', 'SET', 'requirepass', password);
      const stop = new AbortController();
      const { out, io: cli2 } = io({ signal: stop.signal });
      const url = `redis://:${password}@127.0.0.1:${redis.port}`;
      const running = main(
        ['rls', ...withBookinfo('doc-e-global.yaml'), '--port', '0', '--redis', url],
        cli2,
      );
      await vi.waitFor(() => expect(out.stdout).toMatch(/listening on 127\.0\.0\.1:\d+/));
      expect(out.stdout).toContain(`in Redis at redis://:***@127.0.0.1:${redis.port}`);
      expect(out.stdout + out.stderr).not.toContain(password);
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(out.stdout)![1]);
      const Client = rlsClientConstructor();
      const client = new Client(
        `127.0.0.1:${port}`,
        grpc.credentials.createInsecure(),
      ) as unknown as grpc.Client & {
        ShouldRateLimit: (req: unknown, cb: (e: Error | null, r: { overall_code: string }) => void) => void;
      };
      const rendered = await runCli(['render', ...withBookinfo('doc-e-global.yaml'), '--rls-config']);
      const value = /Service\[productpage\.default\]-Id\[\d+\]/.exec(rendered.stdout)![0];
      const call = () =>
        new Promise<{ overall_code: string }>((resolve, reject) =>
          client.ShouldRateLimit(
            { domain: 'governor', descriptors: [{ entries: [{ key: 'generic_key', value }] }] },
            (e, r) => (e ? reject(e) : resolve(r)),
          ),
        );
      // The counter is in Redis: the password given in the URL was used, though never printed.
      await vi.waitFor(async () => {
        await call();
        expect(cli('-a', password, '--scan', '--pattern', 'governor:rls:*')).not.toBe('');
      });
      client.close();
      stop.abort();
      expect(await running).toBe(0);
      expect(out.stdout + out.stderr).not.toContain(password);

      // A URL the service refuses is named in the error, with its password hidden.
      const bad = await runCli([
        'rls',
        ...withBookinfo('doc-e-global.yaml'),
        '--port',
        '0',
        '--redis',
        `http://:${password}@h:1`,
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('http://:***@h:1');
      expect(bad.stderr).not.toContain(password);
    } finally {
      await redis.close();
    }
  });

  it('waits for Redis before listening, and says so when Redis does not answer', async () => {
    const stop = new AbortController();
    const { out, io: cli } = io({ signal: stop.signal });
    const unused = await freePort();
    const running = main(
      ['rls', ...withBookinfo('doc-e-global.yaml'), '--port', '0', '--redis', `redis://127.0.0.1:${unused}`],
      cli,
    );
    await vi.waitFor(() => expect(out.stdout).toMatch(/listening on 127\.0\.0\.1:\d+/), { timeout: 15_000 });
    expect(out.stderr).toMatch(
      /Redis not ready after 5000 ms: .*ECONNREFUSED.*; counting in this process until it connects/,
    );
    stop.abort();
    expect(await running).toBe(0);
  }, 30_000);

  it('holds no more connections than --max-connections', async () => {
    const stop = new AbortController();
    const { out, io: cli } = io({ signal: stop.signal });
    const running = main(
      ['rls', ...withBookinfo('doc-e-global.yaml'), '--port', '0', '--max-connections', '1'],
      cli,
    );
    await vi.waitFor(() => expect(out.stdout).toMatch(/listening on 127\.0\.0\.1:\d+/));
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out.stdout)![1]);
    const held = http2.connect(`http://127.0.0.1:${port}`);
    await new Promise<void>((resolve, reject) =>
      held.once('remoteSettings', () => resolve()).once('error', reject),
    );
    // The second connection is closed as it arrives, before any HTTP/2 is spoken on it.
    const second = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    second.on('data', (d: Buffer) => received.push(d));
    await new Promise((resolve) => second.once('close', resolve));
    expect(Buffer.concat(received)).toHaveLength(0);
    expect(held.closed).toBe(false);
    held.close();
    stop.abort();
    expect(await running).toBe(0);
  });

  it('serves an envoyproxy/ratelimit rule file for its domain, with no SmartLimiter file', async () => {
    const stop = new AbortController();
    const { out, io: cli } = io({ signal: stop.signal });
    const config = join(aerakiFixturesDir, 'thrift/config.yaml');
    const running = main(['rls', '--config', config, '--port', '0'], cli);
    await vi.waitFor(() => expect(out.stdout).toMatch(/listening on 127\.0\.0\.1:\d+/));
    expect(out.stdout).toContain(
      `(domain governor, 0 global descriptor(s); domain production, 1 descriptor(s) from ${config}, counting in this process)`,
    );
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out.stdout)![1]);
    type Answer = {
      overall_code: string;
      statuses: { current_limit?: { requests_per_unit: number; unit: string; name: string } }[];
    };
    const Client = rlsClientConstructor();
    const client = new Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      ShouldRateLimit: (req: unknown, cb: (e: Error | null, r: Answer) => void) => void;
    };
    const answer = await new Promise<Answer>((resolve, reject) =>
      client.ShouldRateLimit(
        { domain: 'production', descriptors: [{ entries: [{ key: 'method', value: 'sayHello' }] }] },
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    expect(answer.statuses[0]!.current_limit).toEqual({
      requests_per_unit: 10,
      unit: 'MINUTE',
      name: 'production:method=sayHello',
    });
    client.close();
    stop.abort();
    expect(await running).toBe(0);
  });

  it("refuses an invalid rule file with its lines, and one for the SmartLimiters' domain", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'governor-rls-config-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(
        bad,
        'domain: production\ndescriptors:\n  - key: method\n    rate_limit: {unit: fortnight}\n',
      );
      const r = await runCli(['rls', '--config', bad, '--port', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${bad}:4:24: error: invalid rate limit unit 'fortnight'`);
      const own = join(dir, 'own.yaml');
      writeFileSync(own, 'domain: governor\n');
      const o = await runCli(['rls', '-c', own, '--port', '0']);
      expect(o.code).toBe(1);
      expect(o.stderr).toContain("domain governor is the SmartLimiters'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad usage with the help', async () => {
    const { out, io: cli } = io();
    expect(await main(['rls', '--port', '0'], cli)).toBe(2);
    expect(out.stderr).toContain('no input: give at least one -f FILE or --config FILE');
    expect(out.stderr).toContain('-c, --config FILE');
    expect(await main(['rls', '--port', 'x', '-f', 'doc-e-global.yaml'], cli)).toBe(2);
    expect(out.stderr).toContain('--port x');
    expect(await main(['rls', '--max-connections', '0', '-f', 'doc-e-global.yaml'], cli)).toBe(2);
    expect(out.stderr).toContain('--max-connections 0');
  });
});
