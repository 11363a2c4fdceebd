/**
 * The metric names a PromQL expression selects, found by a small tokenizer rather than
 * a regular expression over the text: it skips string literals, label matchers (`{…}`),
 * ranges and subqueries (`[…]`), Grafana variables (`$__rate_interval`, `${job}`),
 * numbers and durations, keywords and aggregation operators, the label lists after
 * `by`, `without`, `on`, `ignoring`, `group_left` and `group_right`, and any name
 * followed by `(` (a function). What is left is a metric name. `{__name__="x"}` names
 * `x`. It is for checking our own dashboard and rules, not a full PromQL parser: an
 * expression it cannot read throws rather than passing silently.
 */

/** Aggregation operators: keywords in PromQL, whether or not `(` follows at once. */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
/** Keywords followed by a parenthesised list of label names. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const OTHER_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

const IDENTIFIER = /^[A-Za-z_:][A-Za-z0-9_:]*/;
/** A duration (`5m`, `1h30m`) or a number (`0.99`, `1e3`, `0x1f`). */
const NUMBER = /^(?:(?:\d+(?:ms|s|m|h|d|w|y))+|0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/;
/** `${name}`, `${name:format}`, `$name`, `$__rate_interval`. */
const GRAFANA_VARIABLE = /^\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)/;

export function promqlMetricNames(expr: string): string[] {
  const names: string[] = [];
  let at = 0;
  /** Open parentheses: never below 0, 0 at the end. */
  let depth = 0;
  const rest = () => expr.slice(at);
  const nextNonSpace = (from: number) => {
    let i = from;
    while (i < expr.length && /\s/.test(expr[i]!)) i++;
    return i;
  };
  while (at < expr.length) {
    const char = expr[at]!;
    if (/\s/.test(char)) {
      at++;
    } else if (char === '#') {
      const end = expr.indexOf('\n', at);
      at = end === -1 ? expr.length : end;
    } else if (char === '"' || char === "'" || char === '`') {
      at = skipString(expr, at);
    } else if (char === '{') {
      const end = skipGroup(expr, at, '{', '}');
      const byName = /__name__\s*=\s*"([^"]+)"/.exec(expr.slice(at, end));
      if (byName !== null) names.push(byName[1]!);
      at = end;
    } else if (char === '[') {
      at = skipGroup(expr, at, '[', ']');
    } else if (char === '$') {
      const variable = GRAFANA_VARIABLE.exec(rest());
      if (variable === null) throw new Error(`promql: a lone $ at ${at} in ${expr}`);
      at += variable[0].length;
    } else if (/[0-9.]/.test(char) && NUMBER.test(rest())) {
      at += NUMBER.exec(rest())![0].length;
    } else if (IDENTIFIER.test(rest())) {
      const name = IDENTIFIER.exec(rest())![0];
      at += name.length;
      const after = nextNonSpace(at);
      const keyword = name.toLowerCase(); // PromQL keywords are case-insensitive
      if (LABEL_LIST_KEYWORDS.has(keyword)) {
        // `group_left` may stand alone; the others always take a list.
        if (expr[after] === '(') at = skipGroup(expr, after, '(', ')');
      } else if (AGGREGATIONS.has(keyword) || OTHER_KEYWORDS.has(keyword)) {
        // an operator, not a series
      } else if (expr[after] !== '(') {
        names.push(name);
      }
    } else if (char === '(' || char === ')') {
      depth += char === '(' ? 1 : -1;
      if (depth < 0) throw new Error(`promql: unbalanced ) at ${at} in ${expr}`);
      at++;
    } else if ('+-*/%^=!<>,@'.includes(char)) {
      at++;
    } else {
      throw new Error(`promql: unexpected ${JSON.stringify(char)} at ${at} in ${expr}`);
    }
  }
  if (depth !== 0) throw new Error(`promql: unbalanced ( in ${expr}`);
  return names;
}

/** The index past the string literal that starts at `from`. */
function skipString(expr: string, from: number): number {
  const quote = expr[from]!;
  for (let i = from + 1; i < expr.length; i++) {
    if (expr[i] === '\\' && quote !== '`') i++;
    else if (expr[i] === quote) return i + 1;
  }
  throw new Error(`promql: unterminated string at ${from} in ${expr}`);
}

/** The index past the `close` matching the `open` at `from`; strings inside are skipped. */
function skipGroup(expr: string, from: number, open: string, close: string): number {
  let depth = 0;
  for (let i = from; i < expr.length;) {
    const char = expr[i]!;
    if (char === '"' || char === "'" || char === '`') {
      i = skipString(expr, i);
      continue;
    }
    if (char === open) depth++;
    else if (char === close && --depth === 0) return i + 1;
    i++;
  }
  throw new Error(`promql: unbalanced ${open} at ${from} in ${expr}`);
}

/**
 * The series names a `/metrics` text declares: from each `# TYPE name kind`, the name
 * itself, or for a histogram `name_bucket`, `name_sum`, `name_count` (a histogram's own
 * name selects nothing), for a summary the name plus `_sum` and `_count`. Declared
 * rather than sampled: a labelled counter with no event yet (store errors on a healthy
 * node) has a TYPE line and no samples, and is still a name a rule may use.
 */
export function servedSeriesNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const match of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, kind] = match as unknown as [string, string, string];
    if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}

/** Prometheus' own series, which no node serves: `up` and the scrape figures. */
export const PROMETHEUS_SERIES: ReadonlySet<string> = new Set(['up']);

/**
 * Each name `expressions` select that is neither served nor Prometheus' own, with the
 * expression it came from.
 */
export function unknownMetricNames(
  expressions: readonly string[],
  served: ReadonlySet<string>,
): { name: string; expr: string }[] {
  return expressions.flatMap((expr) =>
    promqlMetricNames(expr)
      .filter((name) => !served.has(name) && !PROMETHEUS_SERIES.has(name))
      .map((name) => ({ name, expr })),
  );
}
