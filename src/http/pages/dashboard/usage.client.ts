/** What was spent: per day and per tool, as charts and the per-tool table. */
import { api } from './api.client.js';
import { bars } from './charts.client.js';
import { $, table } from './page.client.js';

interface UsageRow {
  key: string;
  calls: number;
  succeeded: number;
  failed: number;
  spentMicroUsdc: string;
  spentDisplay: string;
  p50Ms: number | null;
}

export async function loadUsage() {
  const [byDay, byTool] = await Promise.all([
    api<{ usage: UsageRow[] }>('/v1/usage?by=day'),
    api<{ usage: UsageRow[] }>('/v1/usage?by=tool'),
  ]);
  bars(
    'chart-day',
    byDay.usage.map((r) => r.key.slice(5)),
    byDay.usage.map((r) => Number(r.spentMicroUsdc) / 1e6),
  );
  bars(
    'chart-tool',
    byTool.usage.map((r) => r.key),
    byTool.usage.map((r) => Number(r.spentMicroUsdc) / 1e6),
  );
  table(
    'usage',
    [['Tool'], ['Calls', 'num'], ['OK', 'num'], ['Failed', 'num'], ['Spent', 'num'], ['p50 ms', 'num']],
    byTool.usage.map((r) => [r.key, r.calls, r.succeeded, r.failed, r.spentDisplay, r.p50Ms ?? '']),
    '',
  );
  $('usage').hidden = !byTool.usage.length;
}
