import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditRecord } from './audit-log';

let directory: string;
let file: string;
let warnings: string[];

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'governor-audit-'));
  file = join(directory, 'audit.jsonl');
  warnings = [];
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const open = (): AuditLog => new AuditLog(file, { onWarning: (m) => warnings.push(m) });

const linesOf = async (): Promise<AuditRecord[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);

const apply = (name: string) =>
  ({ user: 'ada', action: 'apply', kind: 'SmartLimiter', namespace: 'default', name }) as const;

describe('AuditLog', () => {
  it('acknowledges a record only once the file holds it', async () => {
    const log = open();
    try {
      const record = await log.record(apply('reviews')).then(async (r) => {
        // Read in the record's own continuation: nothing later can have written it.
        expect(await linesOf()).toEqual([r]);
        return r;
      });
      expect(record.id).toBe(1);
      expect(log.get(1)).toEqual(record);
    } finally {
      await log.close();
    }
  });

  it('writes concurrent records together, each whole and in id order', async () => {
    const log = open();
    try {
      const records = await Promise.all(Array.from({ length: 100 }, (_, i) => log.record(apply(`p-${i}`))));
      expect(records.map((r) => r.id)).toEqual(records.map((_, i) => i + 1));
      expect(await linesOf()).toEqual(records);
      expect(log.list({ limit: 1000 }).map((r) => r.id)).toEqual(records.map((r) => r.id).reverse());
    } finally {
      await log.close();
    }
  });

  it('cuts off a torn last line, keeps it aside, and keeps the next record', async () => {
    const first = open();
    const kept = await first.record(apply('one'));
    await first.close();
    const whole = `${JSON.stringify({ ...kept, id: 2, name: 'two' })}\n`;
    const torn = whole.slice(0, whole.length / 2);
    await writeFile(file, torn, { flag: 'a' });

    const second = open();
    expect(warnings.join('\n')).toMatch(/torn/);
    expect(await readFile(`${file}.torn`, 'utf8')).toBe(`${torn}\n`);
    // The id the torn record had is free again: it never was acknowledged.
    const next = await second.record(apply('three'));
    expect(next.id).toBe(2);
    await second.close();

    // Without the repair, this record would have been glued onto the torn fragment and lost.
    expect(await linesOf()).toEqual([kept, next]);
    const third = open();
    expect(third.list().map((r) => r.name)).toEqual(['three', 'one']);
    await third.close();
  });

  it('finishes a last record that lost only its newline', async () => {
    const first = open();
    const one = await first.record(apply('one'));
    await first.close();
    const two = { ...one, id: 2, name: 'two' };
    await writeFile(file, JSON.stringify(two), { flag: 'a' });

    const second = open();
    const three = await second.record(apply('three'));
    await second.close();
    expect(three.id).toBe(3);
    expect(await linesOf()).toEqual([one, two, three]);
  });

  it('keeps ids unique and increasing across restarts', async () => {
    const ids: number[] = [];
    for (let run = 0; run < 3; run++) {
      const log = open();
      for (let i = 0; i < 3; i++) ids.push((await log.record(apply(`r${run}-${i}`))).id);
      await log.close();
    }
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reports a line in the middle that is not a record, leaves it, and keeps the whole record glued to it', async () => {
    const first = open();
    const one = await first.record(apply('one'));
    await first.close();
    const two = { ...one, id: 2, name: 'two' };
    const three = { ...one, id: 3, name: 'three' };
    // What an append without repair used to make of a torn record: the next one glued onto it.
    const glued = `${JSON.stringify(two).slice(0, 30)}${JSON.stringify(three)}`;
    await writeFile(file, `not json\n${glued}\n`, { flag: 'a' });

    const second = open();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/line 2 is not an audit record/);
    expect(warnings[1]).toMatch(/line 3 .*kept the whole record 3/);
    expect(second.list().map((r) => r.id)).toEqual([3, 1]);
    expect((await second.record(apply('four'))).id).toBe(4);
    await second.close();
    expect(await readFile(file, 'utf8')).toContain('not json\n');
  });

  it('rejects a record it cannot write, reports it, and writes the next one on a line of its own', async () => {
    const log = open();
    const one = await log.record(apply('one'));
    // An fd that no longer accepts writes, as after a disk error.
    const fd = (log as unknown as { fd: number }).fd;
    const { closeSync, openSync } = await import('node:fs');
    closeSync(fd);
    const readOnly = openSync(file, 'r');
    expect(readOnly).toBe(fd);
    await expect(log.record(apply('lost'))).rejects.toThrow();
    expect(warnings.join('\n')).toMatch(/audit record 2 \(apply by ada\) was not written/);
    expect(log.get(2)).toBeUndefined();
    closeSync(readOnly);
    expect(openSync(file, 'r+')).toBe(fd);

    const three = await log.record(apply('three'));
    await log.close();
    expect(await linesOf()).toEqual([one, three]);
  });

  it('keeps records in memory without a file', async () => {
    const log = new AuditLog();
    const record = await log.record(apply('reviews'));
    expect(log.list()).toEqual([record]);
  });
});

describe('a cluster view of the log', () => {
  it("records with the cluster's name and lists its own records; the home cluster also those with none", async () => {
    const log = new AuditLog();
    await log.record({ user: 'ann', action: 'apply', namespace: 'default', name: 'reviews' });
    const east = log.forCluster('east', true);
    const west = log.forCluster('west', false);
    const w = await west.record({ user: 'bob', action: 'apply', namespace: 'default', name: 'reviews' });
    await east.record({ user: 'cid', action: 'delete', namespace: 'default', name: 'reviews' });
    expect(w.cluster).toBe('west');
    expect(east.list({ name: 'reviews' }).map((r) => r.user)).toEqual(['cid', 'ann']);
    expect(west.list({ name: 'reviews' }).map((r) => r.user)).toEqual(['bob']);
    expect(west.get(w.id)?.user).toBe('bob');
    expect(west.get(1)).toBeUndefined();
    expect(east.all().map((r) => r.user)).toEqual(['cid', 'bob', 'ann']);
  });
});
