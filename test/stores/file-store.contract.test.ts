/**
 * Runs the LogStore contract suite against the file store, with tiny segments so that
 * retention and reads cross segment boundaries, and a reopen check for durability.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { harnessByClusterId, runLogStoreContract } from '../contract/log-store.contract.js';

const dataDir = mkdtempSync(join(tmpdir(), 'oplog-file-contract-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

runLogStoreContract(
  'file',
  harnessByClusterId((clusterId) =>
    FileLogStore.open({ dataDir, clusterId, segmentBytesMax: 1, indexIntervalBytes: 1 }),
  ),
);
