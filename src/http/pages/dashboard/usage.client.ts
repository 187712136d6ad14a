/**
 * What was spent in the chosen range of UTC days: per day stacked by tool, per tool as a chart and
 * the table, and the range's usage and ledger as CSV files.
 */
import { api } from './api.client.js';
import { bars, stackedBars } from './charts.client.js';
import { saveDownload } from './download.client.js';
import { $, onSubmit, table, usdc } from './page.client.js';
import { customRange, type DayRange, daysOf, type Preset, presetRange, rangeLabel, rangeQuery, shortDay } from './range.client.js';
import { stacksOf, type UsageRow } from './spend-stacks.client.js';

/** the preset chosen (its days follow the clock: read again at each load), or null for custom days */
let preset: Preset | null = '30';
let range: DayRange = presetRange(preset);
/** the newest load asked: an answer to an older one (the range changed meanwhile) is dropped */
let asked = 0;

export async function loadUsage() {
  const mine = ++asked;
  if (preset) range = presetRange(preset);
  const shown = range;
  const [byDayAndTool, byTool] = await Promise.all([
    api<{ usage: UsageRow[] }>('/v1/usage?by=day&split=tool&' + rangeQuery(shown)),
    api<{ usage: UsageRow[] }>('/v1/usage?by=tool&' + rangeQuery(shown)),
  ]);
  if (mine !== asked) return;
  $('range-shown').textContent = 'Showing ' + rangeLabel(shown);
  const days = daysOf(shown);
  const stacks = stacksOf(days, byDayAndTool.usage);
  stackedBars('chart-day', 'chart-day-legend', days.map(shortDay), stacks, 'No spend in this range.');
  // what the canvas shows, said to a screen reader (the table below has each tool's figures)
  $('chart-day').setAttribute(
    'aria-label',
    'Spend per day, ' + rangeLabel(shown) + ', stacked by tool: ' + (stacks.map((stack) => stack.label).join(', ') || 'none'),
  );
  bars(
    'chart-tool',
    byTool.usage.map((r) => r.key),
    byTool.usage.map((r) => Number(r.spentMicroUsdc) / 1e6),
    'No paid calls in this range.',
  );
  table(
    'usage',
    [['Tool'], ['Calls', 'num'], ['OK', 'num'], ['Failed', 'num'], ['Spent', 'num'], ['p50 ms', 'num']],
    byTool.usage.map((r) => [r.key, r.calls, r.succeeded, r.failed, r.spentDisplay, r.p50Ms ?? '']),
    '',
  );
  $('usage').hidden = !byTool.usage.length;
  const spent = byTool.usage.reduce((sum, r) => sum + BigInt(r.spentMicroUsdc), 0n);
  const calls = byTool.usage.reduce((sum, r) => sum + r.calls, 0);
  $('usage-total').textContent = byTool.usage.length
    ? 'Total: ' + usdc(spent.toString()) + ' over ' + calls + (calls === 1 ? ' call' : ' calls')
    : '';
}

/** Reads the range chosen, or says why the custom days are not one and reads nothing. */
function choose(next: DayRange | string, chosenPreset: Preset | null) {
  $('range-error').textContent = typeof next === 'string' ? next : '';
  if (typeof next === 'string') return;
  range = next;
  preset = chosenPreset;
  loadUsage().catch((error: Error) => {
    $('range-error').textContent = 'The usage could not be read: ' + error.message;
  });
}

async function download(button: string, path: string, fallbackName: string) {
  $(button).disabled = true;
  $('csv-status').textContent = 'Preparing ' + fallbackName + '…';
  try {
    $('csv-status').textContent = 'Saved ' + (await saveDownload(path, fallbackName)) + ' (' + rangeLabel(range) + ').';
  } catch (error) {
    $('csv-status').textContent = 'The file could not be saved: ' + (error as Error).message;
  } finally {
    $(button).disabled = false;
  }
}

export function wireUsage() {
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="range"]')) {
    radio.onchange = () => {
      const custom = radio.value === 'custom';
      $('range-custom').hidden = !custom;
      if (!custom) return choose(presetRange(radio.value as Preset), radio.value as Preset);
      // the custom days start as the range shown
      $('range-from').value = range.from;
      $('range-to').value = range.to;
    };
  }
  onSubmit('range-form', () => choose(customRange($('range-from').value, $('range-to').value), null));
  $('usage-csv').onclick = () => download('usage-csv', '/v1/usage.csv?by=day&split=tool&' + rangeQuery(range), 'usage.csv');
  $('ledger-csv').onclick = () => download('ledger-csv', '/v1/ledger.csv?' + rangeQuery(range), 'ledger.csv');
}
