/** Runs the LogStore contract suite against the Kafka store on a real Kafka broker. */
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import type { LogStore } from '../../src/stores/log-store.js';
import { runLogStoreContract } from '../contract/log-store.contract.js';
import { describeWithKafka } from '../setup/servers.js';

describeWithKafka('kafka store contract', (endpoint) => {
  const run = `${process.pid}-${Date.now()}`;
  let counter = 0;
  const clusterOf = new WeakMap<LogStore, string>();
  const open = (clusterId: string) => {
    const store = new KafkaLogStore({ brokers: endpoint, clusterId, topicPrefix: 'oplog-test' });
    clusterOf.set(store, clusterId);
    return store;
  };
  runLogStoreContract('kafka', {
    create: async () => open(`c${run}-${++counter}`),
    reopen: async (store) => {
      await store.close();
      return open(clusterOf.get(store)!);
    },
  });
});
