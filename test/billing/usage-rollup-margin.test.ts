import { describe, expect, it } from 'vitest';
import { rollUpUsage } from '../../src/billing/usage-rollup.js';
import { call, expectResult, request, toolCall, v1Data, v1Send, v1Text } from '../a2a/support.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { rest } from '../helpers/sign-in.js';

const DAY = 86_400_000;

/**
 * When the rollup may close a day, and what a pass reports: a day still open is never rolled up
 * (its late calls would be counted nowhere), and a pass that both folds in late calls and rolls a
 * day reports both.
 */
describe('usage rollup: open days and what a pass reports', () => {
  const suite = useSeededGateway({ demoData: { agents: 1, feedbacksPerAgent: 1, validationsPerAgent: 1 }, org: { credits: 1_000_000n } });
  const tomorrow = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) + DAY;
  const today = new Date(tomorrow - DAY).toISOString().slice(0, 10);

  const send = async (parts: Record<string, unknown>[], extra: { taskId?: string } = {}) =>
    expectResult(await call(suite.gateway, request('SendMessage', v1Send(parts, extra)), suite.key)).task.id as string;
  const callsToday = async () => {
    const response = await rest(suite.gateway, 'GET', '/v1/usage?by=day', undefined, suite.key);
    expect(response.status).toBe(200);
    const { usage } = (await response.json()) as { usage: { key: string; calls: number }[] };
    return usage.find((row) => row.key === today)?.calls ?? 0;
  };

  it('leaves a day open until it has closed, then reports the day rolled and the late call folded in', async () => {
    await send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))]);
    const waiting = await send([v1Text('what do you sell?')]);

    // a minute before midnight the day is still open: nothing is rolled up
    expect(await rollUpUsage(suite.gateway.database.db, new Date(tomorrow - 60_000))).toEqual({ days: 0, folded: 0 });
    expect(await callsToday()).toBe(1);

    // an hour after midnight today is closed; the waiting task goes pending
    expect(await rollUpUsage(suite.gateway.database.db, new Date(tomorrow + 3_600_000))).toEqual({ days: 1, folded: 0 });
    expect(await callsToday()).toBe(1);

    // the waiting task takes its call; a pass a day later folds it in and rolls the next day
    await send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))], { taskId: waiting });
    expect(await callsToday()).toBe(2);
    expect(await rollUpUsage(suite.gateway.database.db, new Date(tomorrow + DAY + 3_600_000))).toEqual({ days: 1, folded: 1 });
    expect(await callsToday()).toBe(2);
  });
});
