/** Runs the LogStore contract suite against the etcd store on a real etcd server. */
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { runLogStoreContract } from '../contract/log-store.contract.js';
import { describeWithEtcd } from '../setup/servers.js';

describeWithEtcd('etcd store contract', (endpoint) => {
  const run = `${process.pid}-${Date.now()}`;
  let counter = 0;
  const clusterOf = new WeakMap<LogStore, string>();
  const open = (clusterId: string) => {
    const store = new EtcdLogStore({ hosts: endpoint, clusterId, prefix: 'oplog-test', pageRecords: 7 });
    clusterOf.set(store, clusterId);
    return store;
  };
  runLogStoreContract('etcd', {
    create: async () => open(`c${run}-${++counter}`),
    reopen: async (store) => {
      await store.close();
      return open(clusterOf.get(store)!);
    },
  });
});
