import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { rollUpUsage } from '../../src/billing/usage-rollup.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { COST, call, expectResult, request, toolCall, v1Data, v1Send, v1Text } from '../a2a/support.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest } from '../helpers/sign-in.js';

const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const at = (daysAgo: number, hour: number) => new Date(today - daysAgo * DAY + hour * 3_600_000).toISOString();

interface UsageAnswer {
  usage: {
    key: string;
    calls: number;
    succeeded: number;
    failed: number;
    spentMicroUsdc: string;
    p50Ms: number | null;
    p95Ms: number | null;
  }[];
}

/** Ranges whose edges fall inside days, on day boundaries, and none at all. */
const RANGES = ['', `&from=${at(4, 10)}`, `&to=${at(1, 15)}`, `&from=${at(3, 0)}&to=${at(1, 0)}`, `&from=${at(5, 12)}&to=${at(0, 23)}`];

describe('usage rollup: closed days read from rollups answer exactly what the tasks answer', () => {
  let gateway: TestGateway;
  let org: NewOrganization;
  let other: NewOrganization;
  let waitingTaskId: string;

  const usage = async (query: string, key = org.apiKey.key) => {
    const response = await rest(gateway, 'GET', `/v1/usage?${query}`, undefined, key);
    expect(response.status).toBe(200);
    return (await response.json()) as UsageAnswer;
  };
  const everyAnswer = async () => {
    const answers: Record<string, UsageAnswer> = {};
    for (const by of ['tool', 'tier', 'day']) for (const range of RANGES) answers[`by=${by}${range}`] = await usage(`by=${by}${range}`);
    return answers;
  };
  /** Sends a message and answers its task's id (a failed call's is in the error's data). */
  const send = async (key: string, parts: Record<string, unknown>[], extra: { taskId?: string } = {}) => {
    const reply = await call(gateway, request('SendMessage', v1Send(parts, extra)), key);
    return { id: String(reply.body.error ? reply.body.error.data?.taskId : expectResult(reply).task.id) };
  };
  /** Dates the organization's newest task `daysAgo` days back at `hour` UTC, with a set duration. */
  const backdate = async (taskId: string, daysAgo: number, hour: number, durationMs?: number) =>
    gateway.database.db.run(sql`
      update tasks set created_at = ${at(daysAgo, hour)}::timestamptz, duration_ms = coalesce(${durationMs ?? null}::int, duration_ms)
       where id = ${taskId}`);

  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 5, validationsPerAgent: 2 });
    org = await gateway.createOrg({ credits: 5_000_000n });
    other = await gateway.createOrg({ credits: 5_000_000n });
    // Five days of calls, several a day, at hours either side of the ranges' edges.
    const durations = [4, 9, 15, 27, 88, 130, 999, 1234, 15_678];
    let n = 0;
    for (let daysAgo = 5; daysAgo >= 0; daysAgo--) {
      for (const hour of [3, 11, 13, 20]) {
        const tool = n % 3 === 0 ? 'getReputationSummary' : 'getAgentProfile';
        const agentId = n % 7 === 6 ? 999_999 : 1; // an unknown agent: failed, not charged
        const task = await send(org.apiKey.key, [v1Data(toolCall(tool, { agentId }))]);
        await backdate(task.id, daysAgo, hour, durations[n % durations.length]);
        const theirs = await send(other.apiKey.key, [v1Data(toolCall('getTrend', { agentId: 1 }))]);
        await backdate(theirs.id, daysAgo, hour);
        n++;
      }
    }
    const waiting = await send(org.apiKey.key, [v1Text('what do you sell?')]);
    waitingTaskId = waiting.id;
    await backdate(waitingTaskId, 2, 12);
  });
  afterAll(() => gateway.close());

  it('rolls up closed days once, even with two passes at once, and every answer stays the same', async () => {
    const fromTasks = await everyAnswer();
    expect(fromTasks['by=tool']?.usage.map((row) => [row.key, row.calls])).toEqual([
      ['getAgentProfile', 16],
      ['getReputationSummary', 8],
    ]);

    const passes = await Promise.all([rollUpUsage(gateway.database.db), rollUpUsage(gateway.database.db)]);
    expect(passes.reduce((days, pass) => days + pass.days, 0)).toBe(5);
    const [rolled] = await gateway.database.db.rows(
      z.object({ calls: z.number().nullable() }),
      sql`select sum(calls)::int as calls from usage_rollups where org_id = ${org.orgId}`,
    );
    expect(rolled?.calls).toBe(20); // the five closed days' 4 calls each, once
    const pending = await gateway.database.db.rows(z.object({ task_id: z.string() }), sql`select task_id from usage_rollup_pending`);
    expect(pending.map((row) => row.task_id)).toEqual([waitingTaskId]);

    expect(await everyAnswer()).toEqual(fromTasks);
    expect(await usage('by=tool', other.apiKey.key)).toEqual({
      by: 'tool',
      usage: [expect.objectContaining({ key: 'getTrend', calls: 24 })],
    });
  });

  it('percentiles are nearest-rank over durations kept to 6 significant bits (exact below 64 ms)', async () => {
    const [row] = (await usage(`by=day&from=${at(5, 0)}&to=${at(4, 0)}`)).usage;
    // durations 4, 9, 15, 27 ms on that day: the 2nd and the 4th of four
    expect(row).toMatchObject({ key: new Date(today - 5 * DAY).toISOString().slice(0, 10), calls: 4, p50Ms: 9, p95Ms: 27 });
    const buckets = await gateway.database.db.rows(
      z.object({ bucket: z.string() }),
      sql`
      select distinct bucket from usage_rollups, jsonb_object_keys(latency) bucket where org_id = ${org.orgId}`,
    );
    expect(
      buckets
        .map((entry) => Number(entry.bucket))
        .sort((a, b) => b - a)
        .slice(0, 3),
    ).toEqual([15_616, 1216, 992]); // from 15,678, 1,234 and 999 ms;
  });

  it('a task of a rolled-up day that takes its call later is counted, then folded in by the next pass', async () => {
    const day = new Date(today - 2 * DAY).toISOString().slice(0, 10);
    const before = (await usage('by=day')).usage.find((row) => row.key === day);
    await send(org.apiKey.key, [v1Data(toolCall('getAgentProfile', { agentId: 1 }))], { taskId: waitingTaskId });
    const after = await everyAnswer();
    expect(after['by=day']?.usage.find((row) => row.key === day)).toMatchObject({
      calls: (before?.calls ?? 0) + 1,
      succeeded: (before?.succeeded ?? 0) + 1,
      spentMicroUsdc: String(BigInt(before?.spentMicroUsdc ?? '0') + COST.getAgentProfile),
    });

    expect(await rollUpUsage(gateway.database.db)).toEqual({ days: 0, folded: 1 });
    expect(await gateway.database.db.rows(z.object({ task_id: z.string() }), sql`select task_id from usage_rollup_pending`)).toEqual([]);
    expect(await everyAnswer()).toEqual(after);
    expect(await rollUpUsage(gateway.database.db)).toEqual({ days: 0, folded: 0 });
    expect(await everyAnswer()).toEqual(after);
  });
});
