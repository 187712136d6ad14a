import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { rollUpUsage } from '../../src/billing/usage-rollup.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { COST, call, expectResult, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { expectDocumentedAnswer } from '../helpers/documented-answer.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Spend per day and tool (`/v1/usage?by=day&split=tool`), what the dashboard's stacked per-day
 * chart reads: over real HTTP, from rolled-up days and from tasks alike, never another
 * organization's calls, the same rows as CSV, and a bounded range refused plainly when it is not.
 */

const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const midnight = (daysAgo: number) => new Date(today - daysAgo * DAY).toISOString();
const dayOf = (daysAgo: number) => midnight(daysAgo).slice(0, 10);

interface SplitRow {
  key: string;
  tool?: string;
  calls: number;
  succeeded: number;
  failed: number;
  spentMicroUsdc: string;
}

describe('usage split by tool: a row per day and tool', () => {
  let gateway: TestGateway;
  let baseUrl: string;
  let org: NewOrganization;
  let other: NewOrganization;

  /** GET over the socket, the answer checked against what /openapi.json documents */
  const get = async (path: string, key = org.apiKey.key) => {
    const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
    await expectDocumentedAnswer(gateway.app, 'GET', path, response);
    return response;
  };
  const split = async (from: string, to: string, key = org.apiKey.key) => {
    const response = await get(`/v1/usage?by=day&split=tool&from=${from}&to=${to}`, key);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as { by: string; usage: SplitRow[] };
  };
  /** A paid call of `tool` dated `daysAgo` days back at noon UTC (its task and its ledger rows). */
  const paidCall = async (key: string, tool: string, agentId: number, daysAgo: number) => {
    const reply = await call(gateway, request('SendMessage', v1Send([v1Data(toolCall(tool, { agentId }))])), key);
    const taskId = String(reply.body.error ? reply.body.error.data?.taskId : expectResult(reply).task.id);
    const at = new Date(today - daysAgo * DAY + 12 * 3_600_000).toISOString();
    await gateway.database.db.run(sql`update tasks set created_at = ${at}::timestamptz where id = ${taskId}`);
    await gateway.database.db.run(sql`update ledger_entries set created_at = ${at}::timestamptz where task_id = ${taskId}`);
  };

  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 4, validationsPerAgent: 1 });
    baseUrl = await gateway.listen();
    org = await gateway.createOrg({ credits: 5_000_000n });
    other = await gateway.createOrg({ credits: 5_000_000n });
    // 3 days ago: two profiles and a summary; 1 day ago: a summary and a failed profile (unknown
    // agent: not charged); today: a profile. The other organization calls the same tools each day.
    await paidCall(org.apiKey.key, 'getAgentProfile', 1, 3);
    await paidCall(org.apiKey.key, 'getAgentProfile', 1, 3);
    await paidCall(org.apiKey.key, 'getReputationSummary', 1, 3);
    await paidCall(org.apiKey.key, 'getReputationSummary', 1, 1);
    await paidCall(org.apiKey.key, 'getAgentProfile', 999_999, 1);
    await paidCall(org.apiKey.key, 'getAgentProfile', 1, 0);
    for (const daysAgo of [3, 2, 1, 0]) {
      await paidCall(other.apiKey.key, 'getAgentProfile', 1, daysAgo);
      await paidCall(other.apiKey.key, 'getReputationSummary', 1, daysAgo);
    }
  });
  afterAll(() => gateway.close());

  const EXPECTED: Array<[day: string, tool: string, calls: number, failed: number, spent: bigint]> = [
    [dayOf(3), 'getAgentProfile', 2, 0, 2n * COST.getAgentProfile],
    [dayOf(3), 'getReputationSummary', 1, 0, COST.getReputationSummary],
    [dayOf(1), 'getAgentProfile', 1, 1, 0n],
    [dayOf(1), 'getReputationSummary', 1, 0, COST.getReputationSummary],
    [dayOf(0), 'getAgentProfile', 1, 0, COST.getAgentProfile],
  ];
  const rowsOf = (answer: { usage: SplitRow[] }) =>
    answer.usage.map((row) => [row.key, row.tool, row.calls, row.failed, BigInt(row.spentMicroUsdc)]);

  it("answers the organization's spend per day and tool, never another organization's, the same before and after the rollup", async () => {
    const before = await split(midnight(6), midnight(-1));
    expect(before.by).toBe('day');
    expect(rowsOf(before)).toEqual(EXPECTED);

    // the closed days from usage_rollups, today from tasks: the same rows
    await rollUpUsage(gateway.database.db);
    expect(await split(midnight(6), midnight(-1))).toEqual(before);

    // a day's rows add up to its by=day row
    const byDay = (await (await get(`/v1/usage?by=day&from=${midnight(6)}&to=${midnight(-1)}`)).json()) as { usage: SplitRow[] };
    for (const day of byDay.usage) {
      const parts = before.usage.filter((row) => row.key === day.key);
      expect(parts.reduce((sum, row) => sum + BigInt(row.spentMicroUsdc), 0n)).toBe(BigInt(day.spentMicroUsdc));
      expect(parts.reduce((sum, row) => sum + row.calls, 0)).toBe(day.calls);
      expect(day).not.toHaveProperty('tool'); // unsplit rows name no tool
    }

    // [from, to): the day `to` starts is not read
    expect(rowsOf(await split(midnight(3), midnight(1)))).toEqual(EXPECTED.slice(0, 2));

    const theirs = await split(midnight(6), midnight(-1), other.apiKey.key);
    expect(theirs.usage.map((row) => [row.key, row.tool, row.calls])).toEqual(
      [3, 2, 1, 0].flatMap((daysAgo) => [
        [dayOf(daysAgo), 'getAgentProfile', 1],
        [dayOf(daysAgo), 'getReputationSummary', 1],
      ]),
    );
  });

  it('the CSV holds the same rows, with a tool column, under a filename that says so', async () => {
    const response = await get(`/v1/usage.csv?by=day&split=tool&from=${midnight(6)}&to=${midnight(-1)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="usage-by-day-and-tool.csv"');
    const lines = (await response.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('key,tool,calls,succeeded,failed,spent_micro_usdc,success_rate,p50_ms,p95_ms');
    expect(lines.slice(1).map((line) => line.split(',').slice(0, 6))).toEqual(
      EXPECTED.map(([day, tool, calls, failed, spent]) => [
        day,
        tool,
        String(calls),
        String(calls - failed),
        String(failed),
        String(spent),
      ]),
    );
    // unsplit, the CSV is as it was
    const plain = await (await get(`/v1/usage.csv?by=day&from=${midnight(6)}&to=${midnight(-1)}`)).text();
    expect(plain.split('\r\n')[0]).toBe('key,calls,succeeded,failed,spent_micro_usdc,success_rate,p50_ms,p95_ms');
  });

  it.each([
    ['split with another grouping', `by=tool&split=tool&from=${midnight(3)}&to=${midnight(0)}`, 'split', 'by=day only'],
    ['split without a range', 'by=day&split=tool', 'from', 'needs both from and to'],
    ['split without its end', `by=day&split=tool&from=${midnight(3)}`, 'to', 'needs both from and to'],
    ['an empty range', `by=day&split=tool&from=${midnight(1)}&to=${midnight(1)}`, 'to', 'after from'],
    ['from after to', `by=day&split=tool&from=${midnight(1)}&to=${midnight(3)}`, 'to', 'after from'],
    ['more than 366 days', `by=day&split=tool&from=${midnight(366)}&to=${midnight(-1)}`, 'to', 'at most 366 days'],
    ['a split by anything else', `by=day&split=tier&from=${midnight(3)}&to=${midnight(0)}`, 'split', ''],
  ])('%s is a 400 invalid_query naming the parameter', async (_, query, path, message) => {
    for (const route of ['/v1/usage', '/v1/usage.csv']) {
      const response = await get(`${route}?${query}`);
      const body = (await response.json()) as { error: { reason: string; details: { path: string; message: string }[] } };
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(body.error.reason).toBe('invalid_query');
      expect(body.error.details).toContainEqual(expect.objectContaining({ path, message: expect.stringContaining(message) }));
    }
  });

  it('366 whole days is the longest range a split reads', async () => {
    expect(rowsOf(await split(midnight(365), midnight(-1)))).toEqual(EXPECTED);
  });

  it('/openapi.json documents split and the row tool', async () => {
    const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: { name: string; schema: unknown; description?: string }[] } }>;
    };
    for (const route of ['/v1/usage', '/v1/usage.csv']) {
      const parameter = doc.paths[route]?.get.parameters.find((candidate) => candidate.name === 'split');
      expect(parameter?.schema).toMatchObject({ enum: ['tool'] });
      expect(JSON.stringify(parameter)).toContain('by=day only');
    }
  });
});
