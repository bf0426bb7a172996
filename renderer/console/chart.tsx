// A time-series chart over uPlot, redrawn when its data changes.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a chart. */
export interface Line {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
  /** Fill under the line (for stacked areas). */
  readonly fill?: boolean;
}

/** Props of a chart: x in seconds since the epoch. */
export interface ChartProps {
  readonly title: string;
  readonly times: readonly number[];
  readonly lines: readonly Line[];
  readonly format?: (v: number) => string;
  readonly id: string;
}

/** A chart of the last hour. */
export function Chart({ title, times, lines, format, id }: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = lines.map((l) => l.label).join('\u0000');

  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth || 480),
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      axes: [
        { stroke: '#9aa0a6', grid: { stroke: '#2a313b' } },
        { stroke: '#9aa0a6', grid: { stroke: '#2a313b' }, size: 70, values: (_u, vals) => vals.map((v) => (format ? format(v) : String(v))) },
      ],
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 2, ...(l.fill ? { fill: `${l.color}55` } : {}) }))],
    };
    const p = new uPlot(opts, [[...times], ...lines.map((l) => [...l.values])] as uPlot.AlignedData, el);
    plot.current = p;
    const resize = new ResizeObserver(() => p.setSize({ width: Math.max(280, el.clientWidth), height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
    // Rebuilt only when the set of lines changes; new samples go through setData below.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([[...times], ...lines.map((l) => [...l.values])] as uPlot.AlignedData);
  }, [times, lines]);

  return (
    <section class="panel chart" id={id}>
      <h3>{title}</h3>
      <div ref={host} />
    </section>
  );
}
