/**
 * The report's SVG line charts (src/bench/report/svg.ts): well-formed XML with the
 * title and both axis labels, one <path> per series whose points land where the
 * scales put them, linear and log scales that map values to the right pixels, and
 * text that cannot break the markup.
 */
import { describe, expect, it } from 'vitest';
import {
  frameOf,
  makeScale,
  renderLineChart,
  tickLabel,
  type LineChart,
} from '../../../src/bench/report/svg.js';
import { checkWellFormed } from '../../helpers/xml.js';

const chart: LineChart = {
  title: 'Throughput vs callers · file',
  xLabel: 'concurrent callers (log scale)',
  yLabel: 'entries/s',
  xScale: 'log',
  series: [
    {
      name: 'ours, 512 B',
      points: [
        { x: 1, y: 400 },
        { x: 16, y: 6_000 },
        { x: 256, y: 40_000 },
      ],
    },
    {
      name: 'no group commit, 512 B',
      style: 'dashed',
      points: [
        { x: 1, y: 380 },
        { x: 16, y: 900 },
        { x: 256, y: 1_100 },
      ],
    },
  ],
};

/** The (x, y) pairs of a path's `d`, in order. */
function pathPoints(d: string): { x: number; y: number }[] {
  return [...d.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
}

describe('renderLineChart', () => {
  const svg = renderLineChart(chart);

  it('is well-formed XML with one svg root, the title and both axis labels', () => {
    const elements = checkWellFormed(svg);
    expect(elements[0]).toBe('svg');
    expect(elements.filter((e) => e === 'svg')).toHaveLength(1);
    expect(svg).toContain('<title>Throughput vs callers · file</title>');
    expect(svg).toMatch(/<text class="label x"[^>]*>concurrent callers \(log scale\)<\/text>/);
    expect(svg).toMatch(/<text class="label y"[^>]*>entries\/s<\/text>/);
  });

  it('draws one path per series, dashed for a baseline, with a legend entry each', () => {
    const paths = [...svg.matchAll(/<path class="series" data-series="([^"]*)" d="([^"]*)"([^>]*)\/>/g)];
    expect(paths.map((p) => p[1])).toEqual(['ours, 512 B', 'no group commit, 512 B']);
    expect(paths[0]![3]).not.toContain('stroke-dasharray');
    expect(paths[1]![3]).toContain('stroke-dasharray="6 4"');
    // Colours come from the palette by index unless a series names its slot.
    const recoloured = renderLineChart({
      ...chart,
      series: chart.series.map((s) => ({ ...s, colorIndex: 0 })),
    });
    const strokes = [...recoloured.matchAll(/<path class="series"[^>]* stroke="(#[0-9a-f]{6})"/g)].map(
      (m) => m[1],
    );
    expect(strokes).toEqual(['#1f77b4', '#1f77b4']);
    expect([...svg.matchAll(/<text class="legend"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])).toEqual([
      'ours, 512 B',
      'no group commit, 512 B',
    ]);
    expect([...svg.matchAll(/<circle class="point"/g)]).toHaveLength(6);
  });

  it('puts every point where the scales map it', () => {
    const frame = frameOf(chart);
    const all = chart.series.flatMap((s) => s.points);
    const x = makeScale(
      'log',
      all.map((p) => p.x),
      frame.left,
      frame.right,
    );
    const y = makeScale(
      'linear',
      all.map((p) => p.y),
      frame.bottom,
      frame.top,
    );
    const d = /<path class="series" data-series="ours, 512 B" d="([^"]*)"/.exec(svg)![1]!;
    expect(pathPoints(d)).toEqual(chart.series[0]!.points.map((p) => ({ x: x.map(p.x), y: y.map(p.y) })));
    // The log x axis spans 1..1000 (whole decades): 1 at the left edge, 10 a third across.
    expect(x.domain).toEqual([1, 1000]);
    expect(x.map(1)).toBe(frame.left);
    expect(x.map(10)).toBeCloseTo(frame.left + (frame.right - frame.left) / 3, 1);
    // Higher values are higher up: SVG's y grows downwards.
    expect(y.map(40_000)).toBeLessThan(y.map(400));
    expect(y.map(0)).toBe(frame.bottom);
  });

  it('escapes text so names cannot break the markup', () => {
    const hostile = renderLineChart({
      ...chart,
      title: 'a <b> & "c"',
      series: [{ name: '</path><script>', points: [{ x: 1, y: 1 }] }],
    });
    checkWellFormed(hostile);
    expect(hostile).not.toContain('<script>');
    expect(hostile).toContain('&lt;/path&gt;&lt;script&gt;');
    expect(hostile).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
  });

  it('renders the same bytes for the same chart', () => {
    expect(renderLineChart(chart)).toBe(svg);
  });
});

describe('scales', () => {
  it('linear: from 0 to a nice maximum, values mapped proportionally', () => {
    const scale = makeScale('linear', [3, 97], 100, 600);
    expect(scale.domain).toEqual([0, 100]);
    expect(scale.ticks).toEqual([0, 20, 40, 60, 80, 100]);
    expect(scale.map(0)).toBe(100);
    expect(scale.map(50)).toBe(350);
    expect(scale.map(100)).toBe(600);
  });

  it('log: whole decades, 1-2-5 ticks for few decades, powers of ten for many', () => {
    const few = makeScale('log', [3, 400], 0, 300);
    expect(few.domain).toEqual([1, 1000]);
    expect(few.ticks).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    expect(few.map(100)).toBe(200);
    const many = makeScale('log', [0.5, 2_000_000], 0, 70);
    expect(many.ticks).toEqual([0.1, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000]);
    expect(many.map(1)).toBe(8.75);
    // A value at or below 0 (nothing measured) sits on the axis instead of at -Infinity.
    expect(few.map(0)).toBe(0);
  });

  it('labels ticks compactly', () => {
    expect([0.25, 5, 1_500, 20_000, 3_000_000].map(tickLabel)).toEqual(['0.25', '5', '1.5k', '20k', '3M']);
  });
});
