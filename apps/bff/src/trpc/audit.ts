/**
 * The audit log: every change made through the API (who, when, what, before, after), appended to a JSON
 * lines file in the data directory so it survives restarts. Policy history and rollback read it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type AuditAction = 'apply' | 'delete' | 'rollback' | 'login' | 'login-failed' | 'load';

export interface AuditRecord {
  readonly id: number;
  readonly at: string;
  readonly user: string;
  readonly action: AuditAction;
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
  readonly namespace?: string;
  readonly name?: string;
  readonly kind?: string;
  readonly user?: string;
  readonly action?: AuditAction;
  /** Records with a smaller id (paging back). */
  readonly beforeId?: number;
  readonly limit?: number;
}

export class AuditLog {
  private readonly records: AuditRecord[] = [];

  /** `file`: where records are appended (and read back from at start); none keeps them in memory. */
  constructor(
    private readonly file?: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (file && existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          this.records.push(JSON.parse(line) as AuditRecord);
        } catch {
          // A torn last line from a crash: the records before it stand.
        }
      }
    }
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  record(entry: Omit<AuditRecord, 'id' | 'at'>): AuditRecord {
    const record: AuditRecord = {
      id: (this.records.at(-1)?.id ?? 0) + 1,
      at: this.now().toISOString(),
      ...entry,
    };
    if (this.file) appendFileSync(this.file, `${JSON.stringify(record)}\n`);
    this.records.push(record);
    return record;
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
      if (q.namespace !== undefined && r.namespace !== q.namespace) continue;
      if (q.name !== undefined && r.name !== q.name) continue;
      if (q.kind !== undefined && r.kind !== q.kind) continue;
      if (q.user !== undefined && r.user !== q.user) continue;
      if (q.action !== undefined && r.action !== q.action) continue;
      out.push(r);
    }
    return out;
  }
}
