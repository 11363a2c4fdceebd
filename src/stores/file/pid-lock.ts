/**
 * An exclusive lock file holding `<pid> <start time>` of its owner. Created with
 * O_EXCL; a lock whose owner is dead (no such pid, or the pid was reused by a process
 * that started later) is stale and taken over. Used for the single writer of a file
 * store and, briefly, around the epoch file's compare-and-set.
 */
import { readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { LockedError, StoreUnavailableError } from '../../core/errors.js';

export class PidLock {
  private constructor(readonly path: string) {}

  /** Takes the lock or throws {@link LockedError} naming the live holder. */
  static async acquire(path: string): Promise<PidLock> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(path, 'wx');
        await fh.writeFile(ownerTag(process.pid));
        await fh.sync();
        await fh.close();
        return new PidLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new StoreUnavailableError('file lock', { path }, { cause: error });
      }
      const holder = await readFile(path, 'utf8').catch(() => '');
      if (holder !== '' && isAlive(holder)) throw new LockedError(path, `process ${holder.split(' ')[0]}`);
      // Stale (or half-written by a process that died creating it): take it over.
      await unlink(path).catch(() => undefined);
    }
    throw new LockedError(path, 'a process that keeps re-creating it');
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
  }
}

function ownerTag(pid: number): string {
  return `${pid} ${startTime(pid) ?? '?'}`;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), to detect pid reuse. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(tag: string): boolean {
  const [pidText, started] = tag.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(pid);
  return started === '?' || now === undefined || now === started;
}
