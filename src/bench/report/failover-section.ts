/**
 * The report's failover tables: per mode the median and the largest time from kill -9
 * of the primary to the first append acknowledged by the new one, the parts the
 * promoted node logged, the clients' appends by outcome and the check of every store's
 * final log; then every run. A mode whose check found an anomaly says so in bold: its
 * times measure a broken failover. Results files before the scenario have no rows.
 */
import type { FailoverRow } from '../results.js';
import { fmt, table } from './markdown.js';

const ms = (value: number | undefined) => (value === undefined ? '—' : fmt(value));

export function failoverSection(rows: readonly FailoverRow[]): string {
  return [
    '#### Failover (kill -9 of the primary → first append acknowledged by the promoted node)',
    '',
    '`oplog serve` nodes as child processes; client loops append one entry at a time through the kill, each trying',
    'again 10 ms after a refusal. Manual: `POST /v1/promote` to the standby right after the kill (again every',
    '10 ms while refused); automatic: `serve --role auto`, the leader key’s lease expires and the standby campaigns.',
    'Parts from the promoted node’s log lines (ms): kill → promoting, promoting → primary, primary → first ack;',
    'each is a median on its own. Check: every store’s final log read back against every append the clients made.',
    '',
    table(
      [
        'store',
        'mode',
        'lease TTL s',
        'runs',
        'client loops',
        'p50 ms',
        'max ms',
        'detection p50 ms',
        'promotion p50 ms',
        'first ack p50 ms',
        'acked',
        'unknown outcome',
        'check',
      ],
      rows.map((r) => [
        r.store,
        r.mode,
        r.leaseTtlS === undefined ? '—' : fmt(r.leaseTtlS),
        fmt(r.runs.length),
        fmt(r.clientLoops),
        fmt(r.p50Ms),
        fmt(r.maxMs),
        ms(r.detectionP50Ms),
        ms(r.promotionP50Ms),
        ms(r.firstAckP50Ms),
        fmt(r.ackedOps),
        fmt(r.unknownOps),
        checkCell(r),
      ]),
    ),
    '',
    table(
      [
        'store',
        'mode',
        'run',
        'kill → first ack ms',
        'detection ms',
        'promotion ms',
        'first ack ms',
        'epoch',
      ],
      rows.flatMap((r) =>
        r.runs.map((run, index) => [
          r.store,
          r.mode,
          `#${index + 1}`,
          fmt(run.totalMs),
          ms(run.detectionMs),
          ms(run.promotionMs),
          ms(run.firstAckMs),
          `${run.fromEpoch} → ${run.toEpoch}`,
        ]),
      ),
    ),
  ].join('\n');
}

/** "none lost, doubled or misplaced (etcd 1,234 entries, …)", or the anomalies by name, in bold. */
function checkCell(row: FailoverRow): string {
  const logs = row.checks.map((c) => `${c.store} ${fmt(c.entries)} entries`).join(', ');
  if (row.anomalies === 0) return `none lost, doubled or misplaced (${logs})`;
  const found = row.checks.flatMap((c) =>
    (['lost', 'misplaced', 'duplicated', 'failedPresent', 'unexpected', 'seqErrors'] as const)
      .filter((name) => c[name] > 0)
      .map((name) => `${c.store} ${name} ${fmt(c[name])}`),
  );
  return `**BROKEN: ${found.join(', ')}**`;
}
