/**
 * A small SVG line-chart renderer, enough for the bench report and no more: series of
 * (x, y) points on linear or log axes, "nice" ticks, axis labels, a legend, one <path>
 * per series. Pure: a chart description in, the SVG text out, byte-identical for the
 * same input (the report is regenerated, and regenerating must change nothing).
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
  /** Line style: solid (default) for ours, dashed or dotted for baselines. */
  readonly style?: 'solid' | 'dashed' | 'dotted';
  /** Palette slot (default: the series' index), so related series can share a colour. */
  readonly colorIndex?: number;
}

const DASHES = { solid: '', dashed: ' stroke-dasharray="6 4"', dotted: ' stroke-dasharray="2 3"' } as const;

export type ScaleKind = 'linear' | 'log';

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly xScale?: ScaleKind;
  readonly yScale?: ScaleKind;
  readonly width?: number;
  readonly height?: number;
}

/** Where the plot area sits inside the picture, in px. */
export interface Frame {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

export interface Scale {
  readonly kind: ScaleKind;
  /** Data domain [min, max] after rounding out to ticks. */
  readonly domain: readonly [number, number];
  readonly ticks: readonly number[];
  /** Maps a data value to a pixel coordinate. */
  map(value: number): number;
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
];
const LEGEND_ROW_PX = 16;

/** A scale whose domain covers `values` (rounded out to nice ticks), mapped onto [from, to] px. */
export function makeScale(kind: ScaleKind, values: readonly number[], from: number, to: number): Scale {
  const { domain, ticks } = kind === 'log' ? logTicks(values) : linearTicks(values);
  const [d0, d1] = domain;
  const project = kind === 'log' ? Math.log10 : (v: number) => v;
  const p0 = project(d0);
  const span = project(d1) - p0 || 1;
  return {
    kind,
    domain,
    ticks,
    map: (value) =>
      round2(from + ((project(kind === 'log' ? Math.max(value, d0) : value) - p0) / span) * (to - from)),
  };
}

function linearTicks(values: readonly number[]): { domain: [number, number]; ticks: number[] } {
  const finite = values.filter(Number.isFinite);
  const max = Math.max(0, ...finite);
  const min = Math.min(0, ...finite);
  if (max === min) return { domain: [0, 1], ticks: [0, 0.5, 1] };
  const step = niceStep((max - min) / 5);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(roundTo(t, step));
  return { domain: [lo, hi], ticks };
}

function logTicks(values: readonly number[]): { domain: [number, number]; ticks: number[] } {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  if (positive.length === 0) return { domain: [1, 10], ticks: [1, 10] };
  let lo = 10 ** Math.floor(Math.log10(Math.min(...positive)));
  let hi = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
  if (lo === hi) {
    lo /= 10;
    hi *= 10;
  }
  const decades = Math.round(Math.log10(hi / lo));
  // Few decades: 1-2-5 ticks inside each; many: powers of ten only.
  const multiples = decades <= 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let d = lo; d <= hi * 1.0001; d *= 10)
    for (const m of multiples) if (d * m <= hi * 1.0001) ticks.push(roundSig(d * m));
  return { domain: [lo, hi], ticks };
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

function roundTo(value: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(digits));
}

function roundSig(value: number): number {
  return Number(value.toPrecision(6));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A tick label: 1.5k, 20k, 3M; small values with up to 3 significant digits. */
export function tickLabel(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e3) return `${trim(value / 1e3)}k`;
  return trim(value);
}

function trim(value: number): string {
  return String(Number(value.toPrecision(3)));
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The plot frame of a chart: margins for the axes and a legend below the plot. */
export function frameOf(chart: LineChart): Frame & { width: number; height: number } {
  const width = chart.width ?? 640;
  const legendRows = Math.ceil(chart.series.length / 2);
  const height = chart.height ?? 360 + legendRows * LEGEND_ROW_PX;
  return {
    width,
    height,
    left: 70,
    right: width - 20,
    top: 36,
    bottom: height - 56 - legendRows * LEGEND_ROW_PX,
  };
}

export function renderLineChart(chart: LineChart): string {
  const frame = frameOf(chart);
  const points = chart.series.flatMap((s) => s.points);
  const x = makeScale(
    chart.xScale ?? 'linear',
    points.map((p) => p.x),
    frame.left,
    frame.right,
  );
  const y = makeScale(
    chart.yScale ?? 'linear',
    points.map((p) => p.y),
    frame.bottom,
    frame.top,
  );
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" viewBox="0 0 ${frame.width} ${frame.height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect x="0" y="0" width="${frame.width}" height="${frame.height}" fill="#ffffff"/>`,
    `<text class="title" x="${frame.width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(chart.title)}</text>`,
  ];
  for (const t of x.ticks) {
    const px = x.map(t);
    out.push(
      `<line class="grid" x1="${px}" y1="${frame.top}" x2="${px}" y2="${frame.bottom}" stroke="#e5e5e5"/>`,
      `<text class="tick x" x="${px}" y="${frame.bottom + 14}" text-anchor="middle">${tickLabel(t)}</text>`,
    );
  }
  for (const t of y.ticks) {
    const py = y.map(t);
    out.push(
      `<line class="grid" x1="${frame.left}" y1="${py}" x2="${frame.right}" y2="${py}" stroke="#e5e5e5"/>`,
      `<text class="tick y" x="${frame.left - 6}" y="${py + 4}" text-anchor="end">${tickLabel(t)}</text>`,
    );
  }
  out.push(
    `<line class="axis x" x1="${frame.left}" y1="${frame.bottom}" x2="${frame.right}" y2="${frame.bottom}" stroke="#333333"/>`,
    `<line class="axis y" x1="${frame.left}" y1="${frame.top}" x2="${frame.left}" y2="${frame.bottom}" stroke="#333333"/>`,
    `<text class="label x" x="${(frame.left + frame.right) / 2}" y="${frame.bottom + 32}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text class="label y" x="16" y="${(frame.top + frame.bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(frame.top + frame.bottom) / 2})">${escapeXml(chart.yLabel)}</text>`,
  );
  chart.series.forEach((series, index) => {
    const color = PALETTE[(series.colorIndex ?? index) % PALETTE.length]!;
    const dash = DASHES[series.style ?? 'solid'];
    const d = [...series.points]
      .sort((a, b) => a.x - b.x)
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x.map(p.x)} ${y.map(p.y)}`)
      .join(' ');
    out.push(
      `<path class="series" data-series="${escapeXml(series.name)}" d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`,
      // Markers too: a series of one point draws no line.
      ...series.points.map(
        (p) => `<circle class="point" cx="${x.map(p.x)}" cy="${y.map(p.y)}" r="2.5" fill="${color}"/>`,
      ),
    );
    const column = index % 2;
    const row = Math.floor(index / 2);
    const lx = frame.left + column * ((frame.right - frame.left) / 2);
    const ly = frame.bottom + 50 + row * LEGEND_ROW_PX;
    out.push(
      `<line class="legend" x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text class="legend" x="${lx + 30}" y="${ly}">${escapeXml(series.name)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}
