/**
 * Reading the operator files in docs/ for tests: every PromQL expression of the Grafana
 * dashboard (panel targets, annotations, template variables) and the alerting rules.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { provision } from '../setup/provisioning.js';

export const REPO = join(import.meta.dirname, '../..');
export const DASHBOARD_PATH = 'docs/grafana/oplog.json';
export const ALERTS_PATH = 'docs/prometheus/alerts.yml';

export function readDashboard(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO, DASHBOARD_PATH), 'utf8')) as Record<string, unknown>;
}

export function readYaml(path: string): unknown {
  return parse(readFileSync(join(REPO, path), 'utf8'));
}

/**
 * Every PromQL expression in a dashboard: each `expr` anywhere (panel targets, rows'
 * nested panels, annotations), and the PromQL inside each query variable.
 */
export function dashboardExpressions(dashboard: Record<string, unknown>): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === 'object' && node !== null)
      for (const [key, value] of Object.entries(node)) {
        if (key === 'expr' && typeof value === 'string') found.push(value);
        else if (key !== 'templating') walk(value);
      }
  };
  walk(dashboard);
  const variables = (dashboard['templating'] as { list?: Record<string, unknown>[] } | undefined)?.list ?? [];
  for (const variable of variables) {
    if (variable['type'] !== 'query') continue;
    const query = variable['query'];
    const text = typeof query === 'string' ? query : (query as { query?: unknown } | undefined)?.query;
    if (typeof text !== 'string') throw new Error(`variable ${String(variable['name'])} has no query text`);
    found.push(...variableExpressions(text));
  }
  return found;
}

/**
 * The PromQL inside a Grafana Prometheus variable query: `label_values(EXPR, label)` and
 * `query_result(EXPR)` hold one; `label_values(label)`, `label_names()` and
 * `metrics(regex)` none. Anything else throws: a form this does not know is not checked.
 */
export function variableExpressions(query: string): string[] {
  const text = query.trim();
  const labelValues = /^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/s.exec(text);
  if (labelValues !== null) return [labelValues[1]!];
  const queryResult = /^query_result\((.*)\)$/s.exec(text);
  if (queryResult !== null) return [queryResult[1]!];
  if (/^(label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)|label_names\(\)|metrics\(.*\))$/s.test(text)) return [];
  throw new Error(`unknown Grafana variable query form: ${query}`);
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: string };
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

/** The groups of a rules file, as parsed (structure unchecked: the test checks it). */
export function ruleGroups(document: unknown): RuleGroup[] {
  return ((document as { groups?: RuleGroup[] } | null)?.groups ?? []) as RuleGroup[];
}

/**
 * The promtool binary, installed when missing as `npm test` installs etcd
 * (scripts/promtool.sh install, run by .ci/run up front); throws naming what to install
 * when that fails. `undefined` only when OPLOG_SKIP_PROMTOOL=1 says on purpose that
 * this machine goes without.
 */
export function promtool(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['OPLOG_SKIP_PROMTOOL'] === '1') return undefined;
  return provision({
    what: 'promtool',
    find: () =>
      spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim() || undefined,
    script: 'promtool.sh',
    verb: 'install',
    install:
      'install promtool (Debian/Ubuntu: apt-get install prometheus; or a release from https://github.com/prometheus/prometheus/releases), or set OPLOG_SKIP_PROMTOOL=1 to go without on purpose',
  });
}
