/**
 * A Kafka store closed while it is still starting up leaves no client behind, on a
 * real broker: a subscription closed during its catch-up read starts no follow
 * consumer afterwards, and an admin client whose connect (and topic creation) was in
 * flight at close() is disconnected, with no socket left open. Either leak kept a process alive after it was done (seen as `oplog
 * serve` not exiting after a failed start).
 */
import { Kafka, type Admin } from 'kafkajs';
import { afterEach, expect, it, vi } from 'vitest';
import { seq } from '../../src/core/types.js';
import { KafkaLogStore } from '../../src/stores/kafka/kafka-store.js';
import { KafkaTopics } from '../../src/stores/kafka/kafka-topics.js';
import { until } from '../helpers/waiting.js';
import { describeWithKafka } from '../setup/servers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** This process's open TCP sockets. */
const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** Records the admin clients the stores make: which connected, which were disconnected, whether topics are being created. */
function watchAdmins() {
  const seen = { connected: [] as Admin[], disconnected: [] as Admin[], creating: false };
  const admin = Kafka.prototype.admin;
  vi.spyOn(Kafka.prototype, 'admin').mockImplementation(function (this: Kafka, config) {
    const client = admin.call(this, config);
    const { connect, disconnect, createTopics } = client;
    client.connect = async () => {
      await connect.call(client);
      seen.connected.push(client);
    };
    client.disconnect = async () => {
      seen.disconnected.push(client);
      await disconnect.call(client);
    };
    client.createTopics = (options) => {
      seen.creating = true;
      return createTopics.call(client, options);
    };
    return client;
  });
  return seen;
}

describeWithKafka('kafka store closed while starting', (brokers) => {
  it('a subscription closed during its catch-up read starts no consumer afterwards', async () => {
    const store = new KafkaLogStore({ brokers, clusterId: `close-sub-${process.pid}-${Date.now()}` });
    // Hold the catch-up read right after its offsets came back, until the store is closed.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    const endOffsets = KafkaTopics.prototype.endOffsets;
    vi.spyOn(KafkaTopics.prototype, 'endOffsets').mockImplementation(async function (
      this: KafkaTopics,
      topic,
    ) {
      const offsets = await endOffsets.call(this, topic);
      held = true;
      await gate;
      return offsets;
    });
    const consumers = vi.spyOn(Kafka.prototype, 'consumer');
    const subscription = store.subscribe(seq(1n));
    await until(() => held, 'the catch-up read reaches its offsets', 20_000);
    subscription.close();
    await store.close();
    const before = consumers.mock.calls.length;
    release();
    // Long enough for the loop to have gone on to follow the topic, had it.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(consumers.mock.calls.length - before).toBe(0);
  }, 30_000);

  it('an admin client still connecting at close() is disconnected, and no socket stays open', async () => {
    const admins = watchAdmins();
    const socketsBefore = tcpSockets();
    const store = new KafkaLogStore({ brokers, clusterId: `close-admin-${process.pid}-${Date.now()}` });
    // head() starts the admin's connect before it returns; close() comes at once.
    const head = store.head().catch((e: unknown) => e);
    await store.close();
    expect(await head).toMatchObject({ code: 'OPLOG_CLOSED' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(admins.connected.length).toBeGreaterThan(0);
    for (const client of admins.connected) expect(admins.disconnected).toContain(client);
    expect(tcpSockets()).toBe(socketsBefore);
  }, 30_000);

  it('a store closed while it creates its topics leaves no socket open', async () => {
    const admins = watchAdmins();
    const socketsBefore = tcpSockets();
    const store = new KafkaLogStore({ brokers, clusterId: `close-create-${process.pid}-${Date.now()}` });
    const head = store.head().catch((e: unknown) => e);
    // kafkajs's createTopics then polls for the new topics' leaders, reconnecting a
    // connection cut meanwhile.
    await until(() => admins.creating, 'the topics being created', 20_000);
    await store.close();
    await head;
    await new Promise((r) => setTimeout(r, 1_000));
    for (const client of admins.connected) expect(admins.disconnected).toContain(client);
    expect(tcpSockets()).toBe(socketsBefore);
  }, 30_000);
});
