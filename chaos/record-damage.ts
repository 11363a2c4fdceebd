/**
 * Damage to stored records for the store faults (nemesis.ts), done straight to the
 * servers' data behind the nodes' backs: a flipped body byte in an etcd value or in a
 * Kafka segment file (corrupt-etcd, corrupt-kafka), and a run of etcd records deleted
 * from the middle of the log (long-gap). The damage is what a node must detect, and
 * repair from the other store; once the fault is judged, `restore()` puts the original
 * bytes back. Damage left in place would pile up over a long run into a double fault
 * no two-copy log survives: a 30-minute run had a long-gap hole in etcd when a later
 * Kafka restart truncated the partition at an earlier flipped byte (Kafka's recovery
 * after an unclean shutdown cuts a segment at its first bad CRC), so seqs 9361..9872
 * were in neither store and no promotion could reconcile.
 */
import { Etcd3, Range } from 'etcd3';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HEADER_BYTES, parseRecordHeader } from '../src/core/record-codec.js';
import type { Cluster } from './cluster.js';
import type { Random } from './fault-proxy.js';

/** Which record was damaged, and where. */
export interface Damaged {
  readonly firstSeq: bigint;
  readonly byteIndex: number;
  readonly copies: number;
  /** Puts the original bytes back where the damaged ones still are; says how many copies. */
  restore(): Promise<string>;
}

/** A run of records deleted from etcd: every seq from `fromSeq` through `toSeq`. */
export interface Hole {
  readonly fromSeq: bigint;
  readonly toSeq: bigint;
  readonly records: number;
  /** Puts every deleted record back under its key (where the key is still absent). */
  restore(): Promise<string>;
}

function logPrefix(cluster: Cluster): string {
  return `/oplog/${cluster.options.clusterId}/log/`;
}

function logKey(cluster: Cluster, seq: bigint): string {
  return `${logPrefix(cluster)}${seq.toString().padStart(20, '0')}`;
}

/** A client of every member: whichever is up (or leads) answers. */
function etcdClient(cluster: Cluster): Etcd3 {
  return new Etcd3({ hosts: cluster.etcd.endpoints.map((e) => `http://${e}`) });
}

/** Up to 50 stored records past `afterSeq`, by key; throws when there is none. */
async function recordsPast(client: Etcd3, cluster: Cluster, afterSeq: bigint) {
  const found = await client
    .getAll()
    .inRange(new Range(logKey(cluster, afterSeq + 1n), `${logPrefix(cluster)}~`))
    .limit(50)
    .buffers();
  if (Object.keys(found).length === 0) throw new Error(`no etcd record past seq ${afterSeq}`);
  return found;
}

/** Flips one body byte of a random etcd record past `afterSeq` (the put replicates it to every member). */
export async function flipEtcdRecord(cluster: Cluster, afterSeq: bigint, random: Random): Promise<Damaged> {
  const client = etcdClient(cluster);
  try {
    const found = await recordsPast(client, cluster, afterSeq);
    const keys = Object.keys(found);
    const key = keys[Math.floor(random() * keys.length)]!;
    const bytes = found[key]!;
    if (bytes.length <= HEADER_BYTES) throw new Error(`etcd record ${key} is too short`);
    const byteIndex = HEADER_BYTES + Math.floor(random() * (bytes.length - HEADER_BYTES));
    const damaged = Buffer.from(bytes);
    damaged[byteIndex]! ^= 0x20;
    await client.put(key).value(damaged);
    const restore = async (): Promise<string> => {
      const again = etcdClient(cluster);
      try {
        const done = await again.if(key, 'Value', '==', damaged).then(again.put(key).value(bytes)).commit();
        return done.succeeded ? 'etcd copy restored' : 'etcd copy NOT restored: its value changed';
      } finally {
        again.close();
      }
    };
    return { firstSeq: BigInt(key.slice(logPrefix(cluster).length)), byteIndex, copies: 1, restore };
  } finally {
    client.close();
  }
}

/**
 * Kafka holds each record as one message's value, byte for byte as etcd does: the
 * etcd copy of a record past `afterSeq` is found in the broker's segment files and one
 * body byte flipped in place (kafkajs does not check the batch CRC; our checksum does).
 */
export async function flipKafkaRecord(cluster: Cluster, afterSeq: bigint, random: Random): Promise<Damaged> {
  const client = etcdClient(cluster);
  let record: Buffer;
  let firstSeq: bigint;
  try {
    const found = await recordsPast(client, cluster, afterSeq);
    const keys = Object.keys(found);
    const key = keys[Math.floor(random() * keys.length)]!;
    record = found[key]!;
    firstSeq = BigInt(key.slice(logPrefix(cluster).length));
  } finally {
    client.close();
  }
  // Every copy: a transaction aborted and retried leaves one the readers skip.
  const dir = join(cluster.kafka.dir, 'logs', `oplog.${cluster.options.clusterId}-0`);
  const byteIndex = HEADER_BYTES + Math.floor(random() * (record.length - HEADER_BYTES));
  const flipped: { path: string; at: number }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    const path = join(dir, file);
    const segment = readFileSync(path);
    for (let at = segment.indexOf(record); at >= 0; at = segment.indexOf(record, at + 1)) {
      flipByteInFile(path, at + byteIndex);
      flipped.push({ path, at });
    }
  }
  if (flipped.length === 0) throw new Error(`the record at seq ${firstSeq} is in no segment of ${dir}`);
  const damaged = Buffer.from(record);
  damaged[byteIndex]! ^= 0x20;
  const restore = async (): Promise<string> => {
    let restored = 0;
    for (const { path, at } of flipped) {
      // Only where the damaged copy still is: the broker may have cut or deleted the segment.
      if (!existsSync(path) || !damaged.equals(readAt(path, at, damaged.length))) continue;
      flipByteInFile(path, at + byteIndex);
      restored++;
    }
    return `${restored} of ${flipped.length} Kafka copies restored`;
  };
  return { firstSeq, byteIndex, copies: flipped.length, restore };
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const out = Buffer.alloc(length);
    const read = readSync(fd, out, 0, length, offset);
    return out.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function flipByteInFile(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0]! ^= 0x20;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * Deletes from etcd every record whose firstSeq lies in [fromSeq, fromSeq + entries),
 * once a record at or past the end of that range is stored (so the writer has moved on
 * and the head record, which appends compare against, is never among them; the record
 * covering fromSeq − 1 stays too). The log then has a hole in its middle: an etcd read
 * from below it delivers up to the hole and fails with CorruptStoreError "records … are
 * missing", never skipping over it — a read from the first retained record's seq would
 * be truncation instead, fatal to a standby, which is why the hole starts past one.
 * Waits up to `timeoutMs` for the writer to get that far.
 */
export async function deleteEtcdRun(
  cluster: Cluster,
  { fromSeq, entries, timeoutMs }: { fromSeq: bigint; entries: number; timeoutMs: number },
): Promise<Hole> {
  const client = etcdClient(cluster);
  const from = logKey(cluster, fromSeq);
  const to = logKey(cluster, fromSeq + BigInt(entries));
  try {
    const deadline = Date.now() + timeoutMs;
    const reached = async () =>
      (
        await client
          .getAll()
          .inRange(new Range(to, `${logPrefix(cluster)}~`))
          .limit(1)
          .keys()
      ).length > 0;
    while (!(await reached())) {
      if (Date.now() > deadline)
        throw new Error(`the log did not reach seq ${fromSeq + BigInt(entries)} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const found = await client.getAll().inRange(new Range(from, to)).sort('Key', 'Ascend').buffers();
    const records = Object.values(found).map((bytes) => parseRecordHeader(bytes));
    if (records.length === 0) throw new Error(`no etcd record in [${fromSeq}, +${entries})`);
    await client.delete().inRange(new Range(from, to)).exec();
    const restore = async (): Promise<string> => {
      const again = etcdClient(cluster);
      try {
        let restored = 0;
        for (const [key, bytes] of Object.entries(found)) {
          const done = await again.if(key, 'Version', '==', 0).then(again.put(key).value(bytes)).commit();
          if (done.succeeded) restored++;
        }
        return `${restored} of ${records.length} deleted etcd records put back`;
      } finally {
        again.close();
      }
    };
    return {
      fromSeq: records[0]!.firstSeq,
      toSeq: records.at(-1)!.lastSeq,
      records: records.length,
      restore,
    };
  } finally {
    client.close();
  }
}
