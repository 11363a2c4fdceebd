import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes a directory's entries (a created, renamed or removed file) durable. */
export async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `path` with `data` atomically and durably: write a temporary file next to
 * it, fsync, rename over `path`, fsync the directory. A crash leaves the old file or
 * the new one, never a mix (a stale `.tmp` at most, which the next write replaces).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.tmp`;
  const fh = await open(temporary, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(temporary, path);
  await fsyncDir(dirname(path));
}
