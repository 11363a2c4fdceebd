/** Golden files for scenario tests: compared, never written unless asked. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Returns the expected text stored at `path`. With `update` (OPLOG_UPDATE_GOLDEN=1) it
 * first rewrites it from `actual`, for a human to review in the diff. A missing file is
 * an error otherwise: writing it on the spot would make the test pass on whatever the
 * code does today, which is exactly what a golden file must not do.
 */
export function goldenText(path: string, actual: string, update: boolean): string {
  if (update) writeFileSync(path, actual);
  else if (!existsSync(path))
    throw new Error(`${path} missing: run with OPLOG_UPDATE_GOLDEN=1 and review it`);
  return readFileSync(path, 'utf8');
}
