/** Runs the LogStore contract suite against the in-memory store. */
import { MemoryLogStore } from '../../src/stores/memory-store.js';
import { runLogStoreContract } from '../contract/log-store.contract.js';

runLogStoreContract('memory', { create: async () => new MemoryLogStore(16) });
