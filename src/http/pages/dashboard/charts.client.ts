/**
 * The spend charts, drawn with uPlot (loaded beside the page) and drawn again at the new width when
 * the window is resized (a phone turned): bars of one value per label, and bars stacked by part.
 */
import { $, text } from './page.client.js';
import type { Stack } from './spend-stacks.client.js';

declare const uPlot: typeof import('uplot');

/** how to draw each chart again, by element id */
const charts = new Map<string, () => void>();
let redraw: ReturnType<typeof setTimeout> | undefined;
addEventListener('resize', () => {
  clearTimeout(redraw);
  redraw = setTimeout(() => {
    for (const draw of charts.values()) draw();
  }, 100);
});

/** the width a chart takes in its section */
const widthOf = (id: string) => Math.min(560, ($(id).parentElement as HTMLElement).clientWidth - 32);
/** tick steps along the labels (whole labels only, a week and its multiples for days) */
const LABEL_STEPS = [1, 2, 3, 7, 14, 28, 56, 91, 182, 364];
/** A label cut to the room between two ticks (about 7 px a character), so neighbours never overlap: a tool's whole name is in the table. */
const fitted = (label: string, room: number) => {
  const chars = Math.max(3, Math.floor(room / 7) - 1);
  return label.length <= chars ? label : label.slice(0, chars - 1) + '…';
};
/** USDC on the value axis, without float noise */
const usdcTicks = (_u: unknown, ticks: number[]) => ticks.map((t) => String(Number(t.toFixed(6))));

function draw(id: string, labels: string[], series: Stack[]) {
  const bars = uPlot.paths.bars?.({ size: [0.7, 48] });
  new uPlot(
    {
      width: widthOf(id),
      height: 200,
      // the labels are the positions 0..n-1; half a bar of room either side
      scales: { x: { time: false, range: () => [-0.5, labels.length - 0.5] } },
      legend: { show: false },
      cursor: { show: false },
      padding: [8, 24, 0, 8],
      axes: [
        // at least 64 px from one label to the next: fewer ticks on a narrow screen
        { space: 64, incrs: LABEL_STEPS, values: (_u, ticks, _axis, room) => ticks.map((t) => fitted(labels[t] ?? '', room)) },
        { label: 'USDC', size: 56, values: usdcTicks },
      ],
      series: [
        {},
        ...series.map((s) => ({ label: s.label, fill: s.color, stroke: s.color, width: 0, paths: bars, points: { show: false } })),
      ],
    },
    [labels.map((_, i) => i), ...series.map((s) => s.values)],
    $(id),
  );
}

/** Bars of one value per label (an empty chart says `empty` instead). */
export function bars(id: string, labels: string[], values: number[], empty: string) {
  const show = () => {
    $(id).innerHTML = '';
    if (!labels.length) $(id).textContent = empty;
    else draw(id, labels, [{ label: 'USDC', color: '#1d4ed8', values }]);
  };
  charts.set(id, show);
  show();
}

/**
 * Bars stacked by part, with a legend naming each part in its colour (`legendId`). uPlot does not
 * stack: each part is drawn as a bar up to its running total, the tallest first, so every part shows
 * above the ones before it. Without any value above zero, the chart says `empty` instead.
 */
export function stackedBars(id: string, legendId: string, labels: string[], stacks: Stack[], empty: string) {
  const running = labels.map(() => 0);
  const totals = stacks.map((stack) => ({ ...stack, values: stack.values.map((value, i) => (running[i] = (running[i] ?? 0) + value)) }));
  const tallestFirst = totals.reverse();
  const some = running.some((total) => total > 0);
  const show = () => {
    $(id).innerHTML = '';
    if (!some) $(id).textContent = empty;
    else draw(id, labels, tallestFirst);
  };
  charts.set(id, show);
  show();
  $(legendId).innerHTML = some
    ? stacks
        .map(
          (stack) =>
            '<li><span class="swatch" style="background:' +
            stack.color +
            '"></span><span style="color:' +
            stack.color +
            '">' +
            text(stack.label) +
            '</span></li>',
        )
        .join('')
    : '';
}
