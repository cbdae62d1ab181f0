/**
 * One BFF per data directory. The store, the audit log and the admin token's file each assume a single
 * writer: two processes on one directory hand out the same audit ids and overwrite each other's saves.
 *
 * The lock is a pid file, `governor.lock`, in the manner of PostgreSQL's postmaster.pid: it names the
 * holder (pid, host, when it started), so a refusal can say who holds the directory, and a holder that
 * died without cleaning up (SIGKILL, power loss) is recognised and its lock taken over. Node has no
 * flock(2) of its own, and a native addon would need a compiler and Node's headers at install time.
 *
 * - The file appears with its content in one step (a private file hard-linked into place: `link` fails
 *   when the name exists), so nobody ever reads a half-written lock.
 * - A holder on this machine is alive when its pid exists and, on Linux, that process started when the
 *   lock says (a pid reused by an unrelated process, or a restarted container's pid 1, is not the holder).
 * - A lock from another machine (a shared file system) cannot be checked: it is refused, never broken.
 * - Taking over a stale lock moves the file aside first and checks that what it moved is the stale lock
 *   it judged (and puts it back when it is not), so two starters racing for the same stale lock do not
 *   both win by deleting each other's fresh one.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'governor.lock';

/** Who holds a data directory. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** When the holder took the lock (ISO 8601). */
  readonly since: string;
  /** Linux: the kernel's boot id and the process's start time in clock ticks since boot. */
  readonly bootId?: string;
  readonly processStart?: string;
}

/** The data directory is held by another live process (or by one on another machine). */
export class DataDirLockedError extends Error {
  constructor(
    message: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Removes the lock (only when the file is still this holder's). Idempotent. */
  release(): void;
}

const MAX_ATTEMPTS = 5;

/** Takes the lock on `directory` (which must exist), or throws {@link DataDirLockedError}. */
export function lockDataDir(directory: string, now: () => Date = () => new Date()): DataDirLock {
  const file = join(directory, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: now().toISOString(),
    ...linuxIdentity(process.pid),
  };
  const content = `${JSON.stringify(holder)}\n`;
  const mine = privateFile(file);
  writePrivate(mine, content);
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        linkSync(mine, file);
        return held(file, holder, content);
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      const seen = readIfExists(file);
      if (seen === undefined) continue; // released meanwhile
      const other = parseHolder(seen);
      const refusal = other === undefined ? undefined : liveHolderRefusal(directory, other);
      if (refusal !== undefined) throw refusal;
      takeOver(file, seen);
    }
  } finally {
    unlinkQuietly(mine);
  }
  throw new DataDirLockedError(
    `the data directory ${directory} is contended: its lock ${file} kept changing hands while this process tried to take it`,
    undefined,
  );
}

function held(file: string, holder: LockHolder, content: string): DataDirLock {
  let released = false;
  return {
    file,
    holder,
    release() {
      if (released) return;
      released = true;
      // Never remove a lock someone else has taken over (after judging this process dead, say).
      if (readIfExists(file) === content) unlinkQuietly(file);
    },
  };
}

/** Why `other` still holds the directory, or undefined when its lock is stale. */
function liveHolderRefusal(directory: string, other: LockHolder): DataDirLockedError | undefined {
  const by = `process ${other.pid} on ${other.host}, since ${other.since}`;
  const advice = 'Stop that BFF first, or give this one another GOVERNOR_DATA_DIR.';
  if (other.host !== hostname()) {
    return new DataDirLockedError(
      `the data directory ${directory} is in use by ${by}; a lock from another machine cannot be checked, so it is never broken. ` +
        `${advice} If that process is gone for sure, delete ${join(directory, LOCK_FILE)}.`,
      other,
    );
  }
  if (!isAlive(other)) return undefined;
  return new DataDirLockedError(
    `the data directory ${directory} is in use by another Governor BFF (${by}). ${advice}`,
    other,
  );
}

function isAlive(other: LockHolder): boolean {
  const identity = linuxIdentity(other.pid);
  if (other.bootId !== undefined && identity.bootId !== undefined && other.bootId !== identity.bootId) {
    return false; // the machine rebooted since
  }
  if (other.processStart !== undefined && identity.bootId !== undefined) {
    // On Linux /proc answers both questions: is there such a process, and is it the one that locked.
    return identity.processStart === other.processStart;
  }
  try {
    process.kill(other.pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}

/** Removes the stale lock whose text is `stale`, unless someone replaced it in the meantime. */
function takeOver(file: string, stale: string): void {
  const aside = privateFile(file);
  try {
    renameSync(file, aside);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  if (readIfExists(aside) !== stale) {
    // A starter that won the same race a moment ago: give its lock back.
    try {
      linkSync(aside, file);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
  }
  unlinkQuietly(aside);
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (
      Number.isInteger(value.pid) &&
      (value.pid ?? 0) > 0 &&
      typeof value.host === 'string' &&
      typeof value.since === 'string'
    ) {
      return value as LockHolder;
    }
  } catch {
    // not a lock this code wrote
  }
  return undefined;
}

/** The boot id and a process's start time, where /proc has them (Linux). */
function linuxIdentity(pid: number): { bootId?: string; processStart?: string } {
  let bootId: string;
  try {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return {};
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) is parenthesised and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return start === undefined ? { bootId } : { bootId, processStart: start };
  } catch {
    return { bootId };
  }
}

function privateFile(file: string): string {
  return `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
}

function writePrivate(file: string, content: string): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
