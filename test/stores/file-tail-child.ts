/**
 * Child process for the file-store tailing test: opens the log as a reader,
 * subscribes from seq 1, prints `following` once visible, then each record's firstSeq,
 * and exits once it has seen `untilSeq`.
 */
import { FileLogStore } from '../../src/stores/file/file-store.js';
import { seq } from '../../src/core/types.js';

const [dataDir, clusterId, untilSeq] = process.argv.slice(2);
const store = await FileLogStore.open({
  dataDir: dataDir!,
  clusterId: clusterId!,
  mode: 'reader',
  pollIntervalMs: 5_000,
});
const subscription = store.subscribe(seq(1n));
const deadline = setTimeout(() => process.exit(2), 20_000);
for await (const event of subscription) {
  if (event.type === 'visibility') {
    if (event.visibility === 'visible') process.stdout.write('following\n');
    continue;
  }
  process.stdout.write(`${event.record.firstSeq}\n`);
  if (event.record.lastSeq >= BigInt(untilSeq!)) break;
}
clearTimeout(deadline);
subscription.close();
await store.close();
