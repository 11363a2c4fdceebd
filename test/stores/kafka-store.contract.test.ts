/** Runs the LogStore contract suite against the Kafka store on a real Kafka broker. */
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { harnessByClusterId, runLogStoreContract } from '../contract/log-store.contract.js';
import { describeWithKafka } from '../setup/servers.js';

describeWithKafka('kafka store contract', (endpoint) => {
  runLogStoreContract(
    'kafka',
    harnessByClusterId(
      (clusterId) => new KafkaLogStore({ brokers: endpoint, clusterId, topicPrefix: 'oplog-test' }),
    ),
  );
});
