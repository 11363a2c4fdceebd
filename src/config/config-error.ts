/**
 * How a bad config is reported: one {@link InvalidConfigError} listing every problem
 * found, each naming the field (a dotted path such as `standby.applier.skipTimeoutMs`
 * or `stores[1].hosts[0]`, or the variable or flag it came from), the value and the
 * rule it broke. It is a ConfigError (code `OPLOG_CONFIG`, exit 2 in the CLI), whose
 * `field`, `value` and `rule` are the first problem's.
 */
import { assert, ConfigError } from '../core/errors.js';

export interface ConfigProblem {
  /** A dotted path into the config (`server.tls.keyFile`), or an `OPLOG_*` variable or a flag. */
  readonly field: string;
  /** The offending value as given (undefined for a missing one). */
  readonly value: unknown;
  /** The rule it broke, in words, with where the value came from when known. */
  readonly rule: string;
}

/** Longest rendering of one value in a message: a hostile megabyte stays out of logs. */
const VALUE_CHARS_MAX = 200;

export class InvalidConfigError extends ConfigError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: ErrorOptions) {
    const first = problems[0];
    assert(first !== undefined, 'InvalidConfigError needs at least one problem');
    super(first.field, first.value, first.rule, options);
    this.problems = problems;
    this.message =
      problems.length === 1
        ? `config ${describeProblem(first)}`
        : `config has ${problems.length} problems:\n${problems.map((p) => `  ${describeProblem(p)}`).join('\n')}`;
  }
}

/** Throws one InvalidConfigError for `problems`, when there is any. */
export function throwProblems(problems: readonly ConfigProblem[]): void {
  if (problems.length > 0) throw new InvalidConfigError(problems);
}

/** `field=value: rule`, or `field: rule` when the value is missing. */
export function describeProblem(problem: ConfigProblem): string {
  const { field, value, rule } = problem;
  return value === undefined ? `${field}: ${rule}` : `${field}=${renderValue(value)}: ${rule}`;
}

function renderValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > VALUE_CHARS_MAX ? `${text.slice(0, VALUE_CHARS_MAX)}… (${text.length} chars)` : text;
}
