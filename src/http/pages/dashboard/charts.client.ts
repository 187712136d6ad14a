/** The spend charts, drawn with uPlot (loaded beside the page) and drawn again at the new width when the window is resized (a phone turned). */
import { $ } from './page.client.js';

declare const uPlot: typeof import('uplot');

/** the charts drawn, by element id */
const charts = new Map<string, [labels: string[], values: number[]]>();
let redraw: ReturnType<typeof setTimeout> | undefined;
addEventListener('resize', () => {
  clearTimeout(redraw);
  redraw = setTimeout(() => {
    for (const [id, [labels, values]] of charts) bars(id, labels, values);
  }, 100);
});

export function bars(id: string, labels: string[], values: number[]) {
  charts.set(id, [labels, values]);
  $(id).innerHTML = '';
  if (!labels.length) {
    $(id).textContent = 'No paid calls yet.';
    return;
  }
  new uPlot(
    {
      width: Math.min(560, ($(id).parentElement as HTMLElement).clientWidth - 32),
      height: 180,
      scales: { x: { time: false } },
      legend: { show: false },
      padding: [8, 16, 0, 16],
      axes: [
        { values: (_u, ticks) => ticks.map((t) => labels[t] ?? '') },
        { label: 'USDC', size: 56, values: (_u, ticks) => ticks.map((t) => String(Number(t.toFixed(6)))) },
      ],
      series: [
        {},
        { label: 'USDC', fill: '#4f6bed55', stroke: '#4f6bed', paths: uPlot.paths.bars?.({ size: [0.6, 60] }), points: { show: false } },
      ],
    },
    [labels.map((_, i) => i), values],
    $(id),
  );
}
