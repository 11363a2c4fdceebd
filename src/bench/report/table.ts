/** Number formatting and markdown tables for the generated report (markdown.ts and its sibling sections). */

/** en-US grouping, exactly `digits` decimals. */
export function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** `fmt`, or an em dash for a figure not measured. */
export function fmtOrDash(value: number | undefined, digits = 0): string {
  return value === undefined ? '—' : fmt(value, digits);
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}
