import { open } from 'node:fs/promises';

/** Makes a directory's entries (a created, renamed or removed file) durable. */
export async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
