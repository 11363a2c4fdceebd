/**
 * Renders the standby transition table as a Mermaid state diagram. docs/
 * standby-state-machine.md embeds this output, and a test fails when the two differ, so
 * the picture can never drift from the table the code runs.
 */
import { STANDBY_STATES, STANDBY_TRANSITIONS, TERMINAL_STATES, type StandbyState } from './standby-state.js';

/** A state whose `fatal` and `stop` go to failed and stopped: drawn once, as a note. */
function hasCommonExits(state: StandbyState): boolean {
  const row = STANDBY_TRANSITIONS[state];
  return row.fatal === 'failed' && row.stop === 'stopped';
}

export function renderStandbyDiagram(): string {
  const lines = ['stateDiagram-v2', '  [*] --> starting'];
  for (const from of STANDBY_STATES) {
    const byTarget = new Map<string, string[]>();
    for (const [event, to] of Object.entries(STANDBY_TRANSITIONS[from])) {
      if ((event === 'fatal' || event === 'stop') && hasCommonExits(from)) continue;
      const events = byTarget.get(to) ?? [];
      events.push(event);
      byTarget.set(to, events);
    }
    for (const [to, events] of byTarget) lines.push(`  ${from} --> ${to}: ${events.join(', ')}`);
  }
  for (const state of TERMINAL_STATES) lines.push(`  ${state} --> [*]`);
  const common = STANDBY_STATES.filter(hasCommonExits);
  lines.push(`  note left of failed`);
  lines.push(`    fatal → failed and stop → stopped`);
  lines.push(`    also leave: ${common.join(', ')}`);
  lines.push(`  end note`);
  return lines.join('\n');
}
