/** Runs the LogStore contract suite against the etcd store on a real etcd server. */
import { EtcdLogStore } from '../../src/stores/etcd/etcd-store.js';
import { harnessByClusterId, runLogStoreContract } from '../contract/log-store.contract.js';
import { describeWithEtcd } from '../setup/servers.js';

describeWithEtcd('etcd store contract', (endpoint) => {
  runLogStoreContract(
    'etcd',
    harnessByClusterId(
      (clusterId) => new EtcdLogStore({ hosts: endpoint, clusterId, prefix: 'oplog-test', pageRecords: 7 }),
    ),
  );
});
