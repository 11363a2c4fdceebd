/**
 * A served node's logger (src/server/node-logger.ts), on an injected clock: every line
 * is stamped with the role and (while writing) the epoch the node has when the line is
 * written, a line's own fields win over the stamp, repeated warnings fold, and close()
 * logs what is still folded.
 */
import { describe, expect, it } from 'vitest';
import { NodeLogger, type NodeLogContext } from '../../src/server/node-logger.js';

function setup(warningIntervalMs: number) {
  const lines: [string, Record<string, unknown>, string][] = [];
  const record = (level: string) => (fields: object, message: string) =>
    void lines.push([level, fields as Record<string, unknown>, message]);
  const root = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const clock = { nowMs: 0 };
  const logger = new NodeLogger(root, { warningIntervalMs, nowMs: () => clock.nowMs });
  return { lines, clock, logger };
}

describe('NodeLogger', () => {
  it('stamps role, and epoch while writing, as the node is when the line is written', () => {
    const { lines, logger } = setup(0);
    logger.info({ url: 'http://x' }, 'listening');
    let context: NodeLogContext = { role: 'standby' };
    logger.bind(() => context);
    logger.debug({ seq: '3' }, 'applied');
    context = { role: 'primary', epoch: 7n };
    logger.info({}, 'promoted');
    logger.error({ epoch: '6', cause: 'x' }, 'writer stopped');
    expect(lines).toEqual([
      ['info', { role: 'standby', url: 'http://x' }, 'listening'],
      ['debug', { role: 'standby', seq: '3' }, 'applied'],
      ['info', { role: 'primary', epoch: '7' }, 'promoted'],
      // The line names the epoch it is about: that one wins.
      ['error', { role: 'primary', epoch: '6', cause: 'x' }, 'writer stopped'],
    ]);
  });

  it('folds repeated warnings on its clock and logs what is still folded on close, stamped', () => {
    const { lines, clock, logger } = setup(600_000);
    logger.bind(() => ({ role: 'standby' }));
    for (let i = 0; i < 4; i++) {
      logger.warn({ cause: `try ${i}` }, 'promotion at start failed; retrying');
      clock.nowMs += 1_000;
    }
    logger.error({}, 'an error is never folded');
    logger.error({}, 'an error is never folded');
    expect(lines.map(([level, , message]) => `${level} ${message}`)).toEqual([
      'warn promotion at start failed; retrying',
      'error an error is never folded',
      'error an error is never folded',
    ]);
    logger.close();
    expect(lines.at(-1)).toEqual([
      'warn',
      { role: 'standby', cause: 'try 3', folded: 3 },
      'promotion at start failed; retrying',
    ]);
    logger.info({}, 'stopped');
    expect(lines.at(-1)).toEqual(['info', { role: 'standby' }, 'stopped']);
  });
});
