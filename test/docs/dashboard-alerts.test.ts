/**
 * The operator files in docs/ name only metrics a live node serves: a primary and a
 * standby of `oplog serve` on the file store (child processes, real sockets) take
 * appends, and every metric name in every expression of docs/grafana/oplog.json
 * (panels, annotations, variables) and docs/prometheus/alerts.yml must be declared by
 * their `/metrics` — on the primary, and on the standby too unless it is the writer's.
 * The rules file is parsed and its structure checked, and `promtool check rules` and
 * `promtool test rules` (docs/prometheus/alerts.test.yml: each alert fires on the
 * series it is for) accept it. promtool is required: missing, it is installed as etcd is
 * (scripts/promtool.sh), and the test fails when that fails, unless OPLOG_SKIP_PROMTOOL=1
 * says on purpose that this machine goes without.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OplogClient } from '../../src/client/oplog-client.js';
import { STANDBY_STATES } from '../../src/core/standby-state.js';
import type { Metrics } from '../../src/core/telemetry.js';
import { WriterMetrics } from '../../src/primary/writer-metrics.js';
import {
  ALERTS_PATH,
  DASHBOARD_PATH,
  REPO,
  dashboardExpressions,
  promtool,
  readDashboard,
  readYaml,
  ruleGroups,
  variableExpressions,
} from '../helpers/ops-docs.js';
import { promqlMetricNames, servedSeriesNames, unknownMetricNames } from '../helpers/promql-names.js';
import { runServe, type ServeProcess } from '../helpers/serve-process.js';
import { untilValue } from '../helpers/waiting.js';

const ALERTS_TEST_PATH = 'docs/prometheus/alerts.test.yml';

describe('the PromQL name extractor', () => {
  it('keeps metric names and skips functions, keywords, label lists, matchers, ranges and variables', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (le, store) (rate(oplog_x_bucket{job=~"$job", le!="1"}[$__rate_interval])))',
      ),
    ).toEqual(['oplog_x_bucket']);
    expect(
      promqlMetricNames(
        'a_total / ignoring (code) group_left b offset 5m unless on (instance) (c == bool 1) OR d @ 1609746000',
      ),
    ).toEqual(['a_total', 'b', 'c', 'd']);
    expect(promqlMetricNames('SUM WITHOUT (state) (max_over_time(e[1h30m:1m])) * 1e3 > 0x1f')).toEqual(['e']);
    expect(
      promqlMetricNames('label_replace(f, "dst", "$1", "src", "(.*)") or {__name__="g", x="}"}'),
    ).toEqual(['f', 'g']);
    expect(promqlMetricNames('absent(up{job="oplog"}) # a comment naming h')).toEqual(['up']);
    expect(() => promqlMetricNames('sum(rate(x[5m])')).toThrow(/unbalanced/);
    expect(() => promqlMetricNames('x{job="a"')).toThrow(/unbalanced/);
  });

  it('reports a name no node serves, and only that one', () => {
    const served = new Set(['oplog_appends_total', 'oplog_append_duration_seconds_bucket']);
    const expressions = [
      'sum by (result) (rate(oplog_appends_total[5m]))',
      'histogram_quantile(0.5, sum by (le) (rate(oplog_append_duration_seconds_bucket[5m])))',
      // Made up: a histogram's own name, and a metric that does not exist.
      'rate(oplog_append_duration_seconds[5m]) + oplog_no_such_metric',
      'up == 0',
    ];
    expect(unknownMetricNames(expressions, served).map((u) => u.name)).toEqual([
      'oplog_append_duration_seconds',
      'oplog_no_such_metric',
    ]);
  });

  it('reads the PromQL out of Grafana variable queries', () => {
    expect(variableExpressions('label_values(oplog_build_info{job=~"$job"}, instance)')).toEqual([
      'oplog_build_info{job=~"$job"}',
    ]);
    expect(variableExpressions('label_values(job)')).toEqual([]);
    expect(() => variableExpressions('something_else(x)')).toThrow(/unknown/);
  });

  it('declares the series /metrics text says exist: a histogram as its _bucket, _sum and _count', () => {
    const text = [
      '# HELP a_total A.',
      '# TYPE a_total counter',
      '# TYPE b_seconds histogram',
      'b_seconds_bucket{le="+Inf"} 0',
      '# TYPE c gauge',
      'c 1',
    ].join('\n');
    expect([...servedSeriesNames(text)].sort()).toEqual([
      'a_total',
      'b_seconds_bucket',
      'b_seconds_count',
      'b_seconds_sum',
      'c',
    ]);
  });
});

/** The series names WriterMetrics declares: only a node with a writer serves them. */
function writerSeriesNames(): Set<string> {
  const names = new Set<string>();
  const add = (name: string, suffixes: readonly string[]) => suffixes.forEach((s) => names.add(name + s));
  const none = { inc() {}, set() {}, observe() {} };
  const recorder: Metrics = {
    counter: (name) => (add(name, ['']), none),
    gauge: (name) => (add(name, ['']), none),
    histogram: (name) => (add(name, ['_bucket', '_sum', '_count']), none),
  };
  new WriterMetrics(recorder);
  return names;
}

describe('docs/ on a live primary and standby', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oplog-docs-'));
  let primary: ServeProcess;
  let standby: ServeProcess;
  let onPrimary: Set<string>;
  let onStandby: Set<string>;

  const serve = (role: string, name: string) =>
    runServe([
      '--cluster',
      'docs',
      '--store',
      `file:${join(dir, 'data')}`,
      '--role',
      role,
      '--http',
      '127.0.0.1:0',
      '--node-id',
      name,
      '--snapshot-dir',
      join(dir, `snapshots-${name}`),
    ]);

  beforeAll(async () => {
    primary = await serve('primary', 'p1');
    standby = await serve('standby', 's1');
    // Writer metrics appear on promotion; the standby applies what the primary wrote.
    const client = await untilValue('the primary accepting appends', async () => {
      const c = new OplogClient({ urls: [primary.url] });
      await c.append({ type: 'put', key: 'probe', value: Buffer.from('p') });
      return c;
    });
    const { seqs } = await client.append(
      Array.from({ length: 50 }, (_, i) => ({ type: 'put', key: `k${i}`, value: Buffer.from('v') })),
    );
    await new OplogClient({ urls: [standby.url] }).get('k0', { minSeq: seqs.at(-1)! });
    onPrimary = servedSeriesNames(await (await fetch(`${primary.url}/metrics`)).text());
    onStandby = servedSeriesNames(await (await fetch(`${standby.url}/metrics`)).text());
  }, 90_000);

  afterAll(async () => {
    await Promise.all([primary, standby].map((p) => p?.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  const checkServed = (expressions: readonly string[]) => {
    const writer = writerSeriesNames();
    expect(writer.has('oplog_appends_total')).toBe(true);
    expect(unknownMetricNames(expressions, onPrimary), 'not served by the primary').toEqual([]);
    const followerOnly = expressions.map((expr) => promqlMetricNames(expr).filter((n) => !writer.has(n)));
    expect(
      unknownMetricNames(followerOnly.flat(), onStandby),
      'not served by the standby (and not a writer metric)',
    ).toEqual([]);
  };

  it(`every metric ${DASHBOARD_PATH} names is served`, () => {
    const expressions = dashboardExpressions(readDashboard());
    expect(expressions.length).toBeGreaterThan(30);
    checkServed(expressions);
  });

  it(`every metric ${ALERTS_PATH} names is served`, () => {
    const expressions = ruleGroups(readYaml(ALERTS_PATH)).flatMap((g) => g.rules.map((r) => r.expr));
    expect(expressions.length).toBeGreaterThan(10);
    checkServed(expressions);
  });
});

describe(DASHBOARD_PATH, () => {
  const dashboard = readDashboard();
  type Panel = Record<string, unknown> & { type: string; title: string; id: number };
  const panels = dashboard['panels'] as Panel[];
  const names = new Set(dashboardExpressions(dashboard).flatMap(promqlMetricNames));

  it('is a Grafana dashboard with a data source variable, a job and a node variable', () => {
    expect(dashboard['schemaVersion']).toBe(39);
    expect(dashboard['uid']).toBe('oplog');
    const variables = (dashboard['templating'] as { list: Record<string, unknown>[] }).list;
    expect(variables.find((v) => v['name'] === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    expect(variables.find((v) => v['name'] === 'instance')).toMatchObject({ type: 'query', multi: true });
    expect(variables.find((v) => v['name'] === 'job')).toMatchObject({ type: 'query' });
  });

  it('queries through the data source variable, with unique ids, inside the 24-column grid', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const grid = panel['gridPos'] as { x: number; w: number; h: number; y: number };
      expect(grid.x + grid.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel['datasource'], panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const targets = panel['targets'] as Record<string, unknown>[];
      expect(targets.length, panel.title).toBeGreaterThan(0);
      for (const target of targets) expect(target['datasource'], panel.title).toEqual(panel['datasource']);
    }
  });

  it('has the panels an operator looks for, by the metrics they show', () => {
    for (const metric of [
      'oplog_appends_total', // throughput
      'oplog_append_duration_seconds_bucket', // commit latency
      'oplog_store_append_duration_seconds_bucket', // per store
      'oplog_store_errors_total',
      'oplog_replication_lag_entries',
      'oplog_replication_lag_seconds',
      'oplog_state', // state over time
      'oplog_is_primary',
      'oplog_divergent',
      'oplog_gaps_total', // gaps opened, filled, skipped
      'oplog_checksum_failures_total', // corruption
      'oplog_checkpoint_mismatches_total',
      'oplog_epoch', // failovers
      'oplog_fenced_total',
    ])
      expect(names, metric).toContain(metric);
  });

  it('maps every lifecycle state in its state-over-time panel', () => {
    const panel = panels.find((p) => p.title === 'State over time')!;
    const expr = (panel['targets'] as { expr: string }[])[0]!.expr;
    const mapping = (
      panel['fieldConfig'] as { defaults: { mappings: { options: Record<string, { text: string }> }[] } }
    ).defaults.mappings[0]!.options;
    for (const [index, state] of STANDBY_STATES.entries()) {
      expect(expr, state).toContain(`state="${state}"} * ${index + 1}`);
      expect(mapping[String(index + 1)]?.text, state).toBe(state);
    }
  });
});

describe(ALERTS_PATH, () => {
  const groups = ruleGroups(readYaml(ALERTS_PATH));
  const rules = groups.flatMap((g) => g.rules);

  it('has groups of alerting rules, each with expr, for, a severity and a summary and description', () => {
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) {
      expect(group.name).toMatch(/^oplog-/);
      expect(group.rules.length, group.name).toBeGreaterThan(0);
    }
    for (const rule of rules) {
      expect(Object.keys(rule).sort(), rule.alert).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
      expect(rule.alert).toMatch(/^Oplog[A-Z][A-Za-z]+$/);
      expect(typeof rule.expr, rule.alert).toBe('string');
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels.severity);
      expect(Object.keys(rule.annotations).sort(), rule.alert).toEqual(['description', 'summary']);
      expect(rule.annotations.summary.length, rule.alert).toBeGreaterThan(10);
      expect(rule.annotations.description.length, rule.alert).toBeGreaterThan(40);
    }
    const alerts = rules.map((r) => r.alert);
    expect(new Set(alerts).size).toBe(alerts.length);
  });

  it('covers lag, degraded, divergent, primaries, checkpoints, store errors, corruption and node down', () => {
    const expr = (alert: string) => rules.find((r) => r.alert === alert)?.expr ?? '';
    expect(expr('OplogReplicationLagEntries')).toMatch(/^oplog_replication_lag_entries > \d+$/);
    expect(expr('OplogReplicationLagSeconds')).toMatch(/^oplog_replication_lag_seconds > \d+$/);
    expect(expr('OplogDegraded')).toBe('oplog_state{state="degraded"} == 1');
    expect(expr('OplogDivergent')).toBe('oplog_divergent == 1');
    expect(expr('OplogNoPrimary')).toContain('sum by (job) (oplog_is_primary) == 0');
    expect(expr('OplogMoreThanOnePrimary')).toBe('sum by (job) (oplog_is_primary) > 1');
    expect(promqlMetricNames(expr('OplogCheckpointMismatch'))).toEqual(['oplog_checkpoint_mismatches_total']);
    expect(promqlMetricNames(expr('OplogStoreErrors'))).toEqual(['oplog_store_errors_total']);
    expect(promqlMetricNames(expr('OplogChecksumFailures'))).toEqual(['oplog_checksum_failures_total']);
    expect(expr('OplogNodeDown')).toBe('up{job="oplog"} == 0');
  });

  // promtool is installed when missing (scripts/promtool.sh); skipped only on purpose.
  const promtoolIt = process.env['OPLOG_SKIP_PROMTOOL'] === '1' ? it.skip : it;

  promtoolIt(
    'passes promtool check rules and promtool test rules',
    () => {
      const bin = promtool()!;
      const check = spawnSync(bin, ['check', 'rules', ALERTS_PATH], { cwd: REPO, encoding: 'utf8' });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
      expect(check.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
      const test = spawnSync(bin, ['test', 'rules', ALERTS_TEST_PATH], { cwd: REPO, encoding: 'utf8' });
      expect(test.status, `${test.stdout}${test.stderr}`).toBe(0);
      expect(test.stdout).toContain('SUCCESS');
    },
    600_000, // an install, when promtool is missing, takes minutes
  );

  it('has a promtool test for every alert', () => {
    const tests = (readYaml(ALERTS_TEST_PATH) as { rule_files: string[]; tests: Record<string, unknown>[] })
      .tests;
    const tested = new Set(
      tests.flatMap((t) => (t['alert_rule_test'] as { alertname: string }[]).map((a) => a.alertname)),
    );
    expect([...tested].sort()).toEqual(rules.map((r) => r.alert).sort());
  });
});
