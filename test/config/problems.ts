/** Test helpers: run something that must refuse a config, and get its problems. */
import { expect } from 'vitest';
import { InvalidConfigError, type ConfigProblem } from '../../src/config/config-error.js';
import { ConfigError } from '../../src/core/errors.js';

/** The problems `fn` threw as an InvalidConfigError (which must also be a ConfigError). */
export function problemsOf(fn: () => unknown): readonly ConfigProblem[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error).toBeInstanceOf(ConfigError);
    const refusal = error as InvalidConfigError;
    expect(refusal.code).toBe('OPLOG_CONFIG');
    // The error's own field/value/rule are the first problem's.
    expect(refusal.problems[0]).toEqual({ field: refusal.field, value: refusal.value, rule: refusal.rule });
    return refusal.problems;
  }
  throw new Error('the config was accepted');
}

/** The one problem `fn` threw. */
export function problemOf(fn: () => unknown): ConfigProblem {
  const problems = problemsOf(fn);
  expect(problems, JSON.stringify(problems, null, 2)).toHaveLength(1);
  return problems[0]!;
}
