import { readFile } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { rollUpUsage } from '../../src/billing/usage-rollup.js';
import { rangeLabel } from '../../src/http/pages/dashboard/range.client.js';
import { call, expectResult, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { ARTIFACTS, signedInWithWallet, useBrowserSite, type Visit } from '../helpers/browser.js';
import type { TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { rest, signIn } from '../helpers/sign-in.js';

const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
/** the UTC day `daysAgo` days back, YYYY-MM-DD */
const dayOf = (daysAgo: number) => new Date(today - daysAgo * DAY).toISOString().slice(0, 10);
const midnight = (daysAgo: number) => new Date(today - daysAgo * DAY).toISOString();

/** WCAG contrast of an `rgb(r, g, b)` colour against white */
function contrastOnWhite(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+/g) ?? []).map((c) => {
    const v = Number(c) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05);
}

describe('the dashboard reads spend and usage over a chosen range, stacked by tool, and exports it as CSV', needs('chromium'), () => {
  let gateway: TestGateway;
  let baseUrl: string;
  let browser: Browser;
  const wallet = privateKeyToAccount(generatePrivateKey());

  /** A paid call dated `daysAgo` days back at 10:00 UTC: its task and its ledger rows. */
  async function paidCall(key: string, tool: string, daysAgo: number) {
    const reply = await call(gateway, request('SendMessage', v1Send([v1Data(toolCall(tool, { agentId: 1 }))])), key);
    const taskId = String(expectResult(reply).task.id);
    const at = new Date(today - daysAgo * DAY + 10 * 3_600_000).toISOString();
    await gateway.database.db.run(sql`update tasks set created_at = ${at}::timestamptz where id = ${taskId}`);
    await gateway.database.db.run(sql`update ledger_entries set created_at = ${at}::timestamptz where task_id = ${taskId}`);
  }

  useBrowserSite((site) => ({ gateway, baseUrl, browser } = site));
  beforeAll(async () => {
    // The wallet's organization, with credits and a key its agent calls with.
    const owner = await signIn(gateway, wallet);
    await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 5_000_000n, reason: 'test', by: OPERATOR });
    const key = ((await (await rest(gateway, 'POST', '/v1/keys', { name: 'agent' }, owner.token)).json()) as { key: string }).key;
    // 45 days ago a summary (outside 30 days); 20 days ago two summaries; 3 days ago a profile and
    // a summary; today two profiles. Another organization calls today too, never counted here.
    await paidCall(key, 'getReputationSummary', 45);
    await paidCall(key, 'getReputationSummary', 20);
    await paidCall(key, 'getReputationSummary', 20);
    await paidCall(key, 'getAgentProfile', 3);
    await paidCall(key, 'getReputationSummary', 3);
    await paidCall(key, 'getAgentProfile', 0);
    await paidCall(key, 'getAgentProfile', 0);
    const other = await gateway.createOrg({ credits: 1_000_000n });
    await paidCall(other.apiKey.key, 'getTrend', 0);
    await paidCall(other.apiKey.key, 'getAgentProfile', 3);
    // closed days read from the rollups, today from the tasks
    await rollUpUsage(gateway.database.db);
  }, 120_000);

  async function usageTable(page: Page) {
    const rows: string[][] = [];
    for (const row of await page.locator('#usage tr:has(td)').all()) rows.push(await row.locator('td').allTextContents());
    return rows;
  }
  const usageAsked = (seen: Visit) => seen.requested.filter((line) => line === 'GET /v1/usage').length;

  async function downloaded(page: Page, button: string) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    const path = await download.path();
    return { name: download.suggestedFilename(), lines: (await readFile(path, 'utf8')).trimEnd().split('\r\n') };
  }

  it('30 days, today, a custom range, a bad one refused, and both CSV files of the range', async () => {
    const seen = await signedInWithWallet(browser, baseUrl, wallet);
    const { page } = seen;

    // 30 days (the default): both tools in the legend, each in a colour that reads on white; the table's totals.
    await expect.poll(() => page.locator('#chart-day-legend li').allTextContents()).toEqual(['getReputationSummary', 'getAgentProfile']);
    const legendColours = await page.evaluate<string[]>(
      `Array.from(document.querySelectorAll('#chart-day-legend li span:last-child'), (name) => getComputedStyle(name).color)`,
    );
    expect(legendColours).toHaveLength(2);
    for (const colour of legendColours) expect(contrastOnWhite(colour)).toBeGreaterThanOrEqual(4.5);
    expect(await page.textContent('#range-shown')).toBe(`Showing ${rangeLabel({ from: dayOf(29), to: dayOf(0) })}`);
    expect(await usageTable(page)).toEqual([
      ['getAgentProfile', '3', '3', '0', '0.003 USDC', expect.any(String)],
      ['getReputationSummary', '3', '3', '0', '0.03 USDC', expect.any(String)],
    ]);
    expect(await page.textContent('#usage-total')).toBe('Total: 0.033 USDC over 6 calls');
    expect(await page.locator('#chart-day canvas').count()).toBeGreaterThan(0);
    expect(await page.getAttribute('#chart-day', 'aria-label')).toBe(
      `Spend per day, ${rangeLabel({ from: dayOf(29), to: dayOf(0) })}, stacked by tool: getReputationSummary, getAgentProfile`,
    );
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-reading-30d.png`, fullPage: true });

    // Today: the table changes to today's calls.
    await page.getByLabel('Today').check();
    await expect.poll(() => usageTable(page)).toEqual([['getAgentProfile', '2', '2', '0', '0.002 USDC', expect.any(String)]]);
    expect(await page.textContent('#range-shown')).toBe(
      `Showing ${Number(dayOf(0).slice(8))} ${new Date(today).toUTCString().slice(8, 11)} ${dayOf(0).slice(0, 4)}, UTC`,
    );
    expect(await page.locator('#chart-day-legend li').allTextContents()).toEqual(['getAgentProfile']);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-reading-today.png`, fullPage: true });

    // Custom: from 45 days ago to 3 days ago, both days included; typed and sent by keyboard (Enter).
    await page.getByLabel('Custom').check();
    await page.getByLabel('First day (UTC)').fill(dayOf(45));
    await page.getByLabel('Last day (UTC, included)').fill(dayOf(3));
    await page.getByLabel('Last day (UTC, included)').press('Enter');
    await expect
      .poll(() => usageTable(page))
      .toEqual([
        ['getAgentProfile', '1', '1', '0', '0.001 USDC', expect.any(String)],
        ['getReputationSummary', '4', '4', '0', '0.04 USDC', expect.any(String)],
      ]);
    expect(await page.textContent('#usage-total')).toBe('Total: 0.041 USDC over 5 calls');
    expect(await page.textContent('#range-error')).toBe('');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-reading-custom.png`, fullPage: true });

    // The CSV files of that range, fetched with the credential and saved under the server's names.
    const usage = await downloaded(page, '#usage-csv');
    expect(usage.name).toBe('usage-by-day-and-tool.csv');
    expect(usage.lines[0]).toBe('key,tool,calls,succeeded,failed,spent_micro_usdc,success_rate,p50_ms,p95_ms');
    expect(
      usage.lines.slice(1).map((line) =>
        line
          .split(',')
          .slice(0, 3)
          .concat(line.split(',')[5] ?? ''),
      ),
    ).toEqual([
      [dayOf(45), 'getReputationSummary', '1', '10000'],
      [dayOf(20), 'getReputationSummary', '2', '20000'],
      [dayOf(3), 'getAgentProfile', '1', '1000'],
      [dayOf(3), 'getReputationSummary', '1', '10000'],
    ]);
    const ledger = await downloaded(page, '#ledger-csv');
    expect(ledger.name).toBe('ledger.csv');
    expect(ledger.lines[0]).toBe('id,created_at,kind,amount_micro_usdc,reserved_delta_micro_usdc,task_id,reason,tool');
    const rows = ledger.lines.slice(1).map((line) => line.split(','));
    // every row of the range (charges of those five calls, none of today's or of the grant), none outside it
    expect(rows.filter((row) => row[2] === 'charge').map((row) => [row[1]?.slice(0, 10), row[3], row[7]])).toEqual([
      [dayOf(3), '-10000', 'getReputationSummary'],
      [dayOf(3), '-1000', 'getAgentProfile'],
      [dayOf(20), '-10000', 'getReputationSummary'],
      [dayOf(20), '-10000', 'getReputationSummary'],
      [dayOf(45), '-10000', 'getReputationSummary'],
    ]);
    for (const row of rows) expect(row[1]! >= midnight(45) && row[1]! < midnight(2), row.join(',')).toBe(true);
    expect(await page.textContent('#csv-status')).toContain('Saved ledger.csv');

    // A bad custom range is said plainly and not sent: the shown range and table stay as they were.
    const asked = usageAsked(seen);
    await page.getByLabel('First day (UTC)').fill(dayOf(1));
    await page.getByLabel('Last day (UTC, included)').fill(dayOf(5));
    await page.click('#range-custom button[type="submit"]');
    await expect.poll(() => page.textContent('#range-error')).toBe(`The first day (${dayOf(1)}) is after the last day (${dayOf(5)}).`);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-reading-bad-range.png`, fullPage: true });
    await page.getByLabel('First day (UTC)').fill(dayOf(400));
    await page.getByLabel('Last day (UTC, included)').fill(dayOf(0));
    await page.click('#range-custom button[type="submit"]');
    await expect
      .poll(() => page.textContent('#range-error'))
      .toBe(`A range is at most 366 days; ${dayOf(400)} to ${dayOf(0)} is 401 days.`);
    expect(usageAsked(seen)).toBe(asked);
    expect((await usageTable(page)).map((row) => row[0])).toEqual(['getAgentProfile', 'getReputationSummary']);

    // Back to 30 days: the message goes, the range is read again.
    await page.getByLabel('30 days').check();
    await expect.poll(() => page.textContent('#usage-total')).toBe('Total: 0.033 USDC over 6 calls');
    expect(await page.textContent('#range-error')).toBe('');
    expect(seen.errors).toEqual([]);
    expect(seen.refused).toEqual([]);
  }, 120_000);

  it('at 390 px the stacked chart, its legend and the range controls fit without sideways scrolling', async () => {
    const { page, errors } = await signedInWithWallet(browser, baseUrl, wallet, 390);
    await expect.poll(() => page.locator('#chart-day-legend li').count()).toBe(2);
    await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const chart = await page.locator('#chart-day canvas').first().boundingBox();
    expect(chart && chart.x + chart.width).toBeLessThanOrEqual(390);
    await page.locator('#range-title').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-reading-390.png`, fullPage: true });
    await page.getByLabel('Custom').check();
    await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.locator('#range-form').screenshot({ path: `${ARTIFACTS}/dashboard-reading-390-custom.png` });
    expect(errors).toEqual([]);
  }, 60_000);
});
