/**
 * The file store's fencing epoch: one small file, replaced atomically (write a
 * temporary file, fsync, rename, fsync the directory), with a checksum so a damaged
 * file is reported instead of read as epoch 0.
 */
import { xxh64 } from '@node-rs/xxhash';
import { readFile } from 'node:fs/promises';
import { CorruptStoreError } from '../../core/errors.js';
import { epoch as toEpoch, type Epoch } from '../../core/types.js';
import { writeFileAtomic } from '../durable-fs.js';

const TAG = 'oplog-epoch v1';

export async function readEpochFile(path: string): Promise<Epoch> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return toEpoch(0n);
    throw error;
  }
  const match = /^oplog-epoch v1 (\d{1,20}) ([0-9a-f]{16})\n$/.exec(text);
  if (match === null || checksum(match[1]!) !== match[2])
    throw new CorruptStoreError(path, undefined, 'epoch file is damaged');
  return toEpoch(BigInt(match[1]!));
}

export async function writeEpochFile(path: string, epoch: Epoch): Promise<void> {
  await writeFileAtomic(path, `${TAG} ${epoch} ${checksum(String(epoch))}\n`);
}

function checksum(text: string): string {
  return xxh64(Buffer.from(text)).toString(16).padStart(16, '0');
}
