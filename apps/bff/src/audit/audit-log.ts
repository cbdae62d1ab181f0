/**
 * The audit log: every change made through the API (who, when, what, before, after), appended to a JSON
 * lines file in the data directory so it survives restarts. Policy history and rollback read it.
 *
 * A record is acknowledged (its promise resolves) only once it is on disk: appended and fdatasync'd.
 * Records that arrive while a write is under way go out together in the next one (group commit). The
 * file is crash-safe: a torn last line (a crash in the middle of an append) is cut off when the log
 * opens, and kept aside in `<file>.torn`, so the next record starts on a line of its own; a line in the
 * middle that is not a record is left where it is and reported. Ids stay unique and increasing across
 * restarts: the next id follows the largest in the file.
 */
import {
  closeSync,
  constants,
  fdatasync,
  fsyncSync,
  ftruncate,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  write,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

export type AuditAction = 'apply' | 'delete' | 'rollback' | 'login' | 'login-failed' | 'load' | 'outage';

export interface AuditRecord {
  readonly id: number;
  readonly at: string;
  readonly user: string;
  readonly action: AuditAction;
  /** The cluster changed, where there are several. */
  readonly cluster?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** The object (its spec and metadata a user controls) before and after; null when absent. */
  readonly before?: unknown;
  readonly after?: unknown;
  /** For a rollback: the record whose `after` was restored. */
  readonly restoredFrom?: number;
  readonly detail?: string;
}

export interface AuditQuery {
  /**
   * One cluster's records; `home` also takes those that name no cluster (written before there were
   * several). Absent: every cluster's.
   */
  readonly cluster?: { readonly name: string; readonly home: boolean };
  readonly namespace?: string;
  readonly name?: string;
  readonly kind?: string;
  readonly user?: string;
  readonly action?: AuditAction;
  /** Records with a smaller id (paging back). */
  readonly beforeId?: number;
  readonly limit?: number;
}

/** What the API reads and writes of the log: one cluster's records ({@link AuditLog.forCluster}). */
export interface AuditView {
  record(entry: Omit<AuditRecord, 'id' | 'at'>): Promise<AuditRecord>;
  get(id: number): AuditRecord | undefined;
  list(q?: AuditQuery): AuditRecord[];
  /** Every cluster's records. */
  all(q?: AuditQuery): AuditRecord[];
}

export interface AuditLogOptions {
  readonly now?: () => Date;
  /** What the log repaired or skipped when it opened, and records it could not write. Default: a process warning. */
  readonly onWarning?: (message: string) => void;
}

interface Pending {
  readonly record: AuditRecord;
  readonly line: string;
  readonly resolve: (record: AuditRecord) => void;
  readonly reject: (error: unknown) => void;
}

const writeAt = promisify(write);
const datasync = promisify(fdatasync);
const truncate = promisify(ftruncate);

export class AuditLog {
  private readonly records: AuditRecord[] = [];
  private nextId = 1;
  private readonly now: () => Date;
  private readonly warn: (message: string) => void;
  private fd: number | undefined;
  /** Where the next record goes: the end of the last whole record on disk. */
  private end = 0;
  /** A failed write may have left part of a record past `end`: cut it off before the next write. */
  private tornTail = false;
  private pending: Pending[] = [];
  private writing: Promise<void> | undefined;

  /** `file`: where records are appended (and read back from at start); none keeps them in memory. */
  constructor(
    private readonly file?: string,
    options: AuditLogOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.warn = options.onWarning ?? ((message) => process.emitWarning(message));
    if (file === undefined) return;
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      this.end = this.load(file, fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.fd = fd;
  }

  /**
   * Appends a record; resolves with it once it is on disk (in memory: at once). Rejects when it cannot
   * be written; a caller that does not wait still has the failure reported through `onWarning`.
   */
  record(entry: Omit<AuditRecord, 'id' | 'at'>): Promise<AuditRecord> {
    const record: AuditRecord = { id: this.nextId++, at: this.now().toISOString(), ...entry };
    if (this.fd === undefined) {
      this.records.push(record);
      return Promise.resolve(record);
    }
    const written = new Promise<AuditRecord>((resolve, reject) => {
      this.pending.push({ record, line: `${JSON.stringify(record)}\n`, resolve, reject });
    });
    this.writing ??= this.writePending();
    written.catch((error: unknown) =>
      this.warn(
        `audit record ${record.id} (${record.action} by ${record.user}) was not written to ${this.file}: ${messageOf(error)}`,
      ),
    );
    return written;
  }

  get(id: number): AuditRecord | undefined {
    return this.records.find((r) => r.id === id);
  }

  /** Newest first. */
  list(q: AuditQuery = {}): AuditRecord[] {
    const out: AuditRecord[] = [];
    for (let i = this.records.length - 1; i >= 0 && out.length < (q.limit ?? 100); i--) {
      const r = this.records[i]!;
      if (q.beforeId !== undefined && r.id >= q.beforeId) continue;
      if (q.cluster && (r.cluster ?? (q.cluster.home ? q.cluster.name : undefined)) !== q.cluster.name)
        continue;
      if (q.namespace !== undefined && r.namespace !== q.namespace) continue;
      if (q.name !== undefined && r.name !== q.name) continue;
      if (q.kind !== undefined && r.kind !== q.kind) continue;
      if (q.user !== undefined && r.user !== q.user) continue;
      if (q.action !== undefined && r.action !== q.action) continue;
      out.push(r);
    }
    return out;
  }

  /** The log as one cluster's API sees it: its records, and what it records names it. */
  forCluster(name: string, home: boolean): AuditView {
    const cluster = { name, home };
    return {
      record: (entry) => this.record({ cluster: name, ...entry }),
      get: (id) => {
        const r = this.get(id);
        return r && (r.cluster ?? (home ? name : undefined)) === name ? r : undefined;
      },
      list: (q = {}) => this.list({ cluster, ...q }),
      all: (q = {}) => this.list(q),
    };
  }

  /** Waits for the records under way, then closes the file; later records stay in memory only. */
  async close(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** Writes the pending records, batch after batch, until none are left. */
  private async writePending(): Promise<void> {
    const fd = this.fd;
    try {
      for (let batch = this.pending; batch.length > 0 && fd !== undefined; batch = this.pending) {
        this.pending = [];
        try {
          if (this.tornTail) {
            await truncate(fd, this.end);
            this.tornTail = false;
          }
          const bytes = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
          this.tornTail = true;
          for (let done = 0; done < bytes.length;) {
            const { bytesWritten } = await writeAt(fd, bytes, done, bytes.length - done, this.end + done);
            done += bytesWritten;
          }
          await datasync(fd);
          this.tornTail = false;
          this.end += bytes.length;
        } catch (error) {
          for (const p of batch) p.reject(error);
          continue;
        }
        for (const p of batch) {
          this.records.push(p.record);
          p.resolve(p.record);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Reads the records in `file`, repairing a torn last line; returns where the next record goes. */
  private load(file: string, fd: number): number {
    const text = readFileSync(fd, 'utf8');
    const lines = text.split('\n');
    const tail = lines.pop() ?? '';
    let end = Buffer.byteLength(text, 'utf8') - Buffer.byteLength(tail, 'utf8');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const record = parseRecord(line);
      if (record !== undefined) {
        this.records.push(record);
        return;
      }
      // An old crash glued a whole record onto a torn one: keep the whole one.
      const glued = parseRecord(line.slice(line.lastIndexOf('{"id":')));
      if (glued !== undefined) this.records.push(glued);
      this.warn(
        `${file} line ${i + 1} is not an audit record${glued !== undefined ? ` (kept the whole record ${glued.id} at its end)` : ''}; left in the file and skipped`,
      );
    });
    if (tail !== '') {
      const record = parseRecord(tail);
      if (record !== undefined) {
        // The crash came between the record and its newline: finish the line.
        writeSync(fd, '\n', end + Buffer.byteLength(tail, 'utf8'));
        end += Buffer.byteLength(tail, 'utf8') + 1;
        this.records.push(record);
      } else {
        keepAside(`${file}.torn`, tail);
        ftruncateSync(fd, end);
        this.warn(
          `${file} ended in a torn record (${Buffer.byteLength(tail, 'utf8')} bytes, from a crash in the middle of a write): moved to ${file}.torn`,
        );
      }
      fsyncSync(fd);
    }
    this.records.sort((a, b) => a.id - b.id);
    this.nextId = (this.records.at(-1)?.id ?? 0) + 1;
    return end;
  }
}

function parseRecord(line: string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, at, user, action } = value as Partial<Record<keyof AuditRecord, unknown>>;
  const valid =
    Number.isSafeInteger(id) &&
    (id as number) > 0 &&
    typeof at === 'string' &&
    typeof user === 'string' &&
    typeof action === 'string';
  return valid ? (value as AuditRecord) : undefined;
}

function keepAside(file: string, text: string): void {
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
