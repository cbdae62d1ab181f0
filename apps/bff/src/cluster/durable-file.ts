/**
 * Writing files so that a crash at any moment leaves a readable state: whole-file replacement through a
 * synced temp file and rename, the directory synced after, and leftover temp files cleaned up.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The file's text, or undefined when there is no such file. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

const TEMP_SUFFIX = /^\.\d+\.[0-9a-f]+\.tmp$/;

function tempFileFor(file: string): string {
  return join(dirname(file), `${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Temp files of writes that never reached their rename: a crash. The target file is intact. */
export async function removeLeftoverTempFiles(file: string): Promise<void> {
  const prefix = `${basename(file)}.`;
  for (const entry of await readdir(dirname(file))) {
    if (!entry.startsWith(prefix) || !TEMP_SUFFIX.test(entry.slice(prefix.length - 1))) continue;
    await unlink(join(dirname(file), entry)).catch(() => undefined);
  }
}

/**
 * Replaces `file` with `text` so that a crash at any moment leaves either the old or the new content:
 * write a temp file in the same directory, fsync it, rename it over the target (atomic on POSIX), then
 * fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = tempFileFor(file);
  try {
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(file));
}

/** Makes the directory's entries (a rename, a new file) durable. */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(directory, 'r');
  } catch (error) {
    // Some platforms (Windows) cannot open a directory; the rename is as durable as they allow.
    if (isErrnoException(error) && (error.code === 'EISDIR' || error.code === 'EPERM')) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!isErrnoException(error) || (error.code !== 'EINVAL' && error.code !== 'EPERM')) throw error;
  } finally {
    await handle.close();
  }
}

export const isErrnoException = (error: unknown): error is NodeJS.ErrnoException =>
  error instanceof Error && 'code' in error;
