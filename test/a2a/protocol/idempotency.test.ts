/**
 * Idempotency by messageId: a resent or concurrent message returns its first task and is charged
 * once, in either wire generation; the same messageId in two organizations is two tasks.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { account, COST, expectResult, expectRpcError, ledger, toolCall, v1Data, v1Send, v1Text, v03Data, v03Send } from '../support.js';
import { useProtocolSuite } from './suite.js';

const { suite, rpc } = useProtocolSuite();

describe('idempotency by messageId', () => {
  const summary = () => v1Data(toolCall('getReputationSummary', { agentId: 4 }));

  it('the same message sent twice returns the same task and is charged once', async () => {
    const messageId = randomUUID();
    const before = await account(suite.gateway, suite.org.orgId);
    const first = expectResult(await rpc('SendMessage', v1Send([summary()], { messageId }))).task;
    const second = expectResult(await rpc('SendMessage', v1Send([summary()], { messageId }))).task;
    expect(second.id).toBe(first.id);
    expect(second.status.state).toBe('TASK_STATE_COMPLETED');
    expect(second.artifacts).toEqual(first.artifacts);
    // also when the retry comes in the other generation
    const third = expectResult(
      await rpc('message/send', v03Send([v03Data(toolCall('getReputationSummary', { agentId: 4 }))], { messageId })),
    );
    expect(third.id).toBe(first.id);
    expect(third.status.state).toBe('completed');

    expect((await account(suite.gateway, suite.org.orgId))?.balance).toBe((before?.balance ?? 0n) - COST.getReputationSummary);
    const entries = (await ledger(suite.gateway, suite.org.orgId)).filter((row) => row.task_id === first.id);
    expect(entries.map((row) => [row.kind, row.amount, row.reserved_delta])).toEqual([['charge', -COST.getReputationSummary, 0n]]);
  });

  it('the same message sent concurrently creates one task and one charge', async () => {
    const messageId = randomUUID();
    const before = await account(suite.gateway, suite.org.orgId);
    const replies = await Promise.all(Array.from({ length: 4 }, () => rpc('SendMessage', v1Send([summary()], { messageId }))));
    const ids = replies.map((reply) => expectResult(reply).task.id);
    expect(new Set(ids).size).toBe(1);
    const [row] = await suite.gateway.database.db.rows(
      z.object({ n: z.bigint() }),
      sql`select count(*)::int8 as n from tasks where org_id = ${suite.org.orgId} and message_id = ${messageId}`,
    );
    expect(row?.n).toBe(1n);
    const entries = (await ledger(suite.gateway, suite.org.orgId)).filter((entry) => entry.task_id === ids[0]);
    expect(entries.map((entry) => entry.kind)).toEqual(['charge']);
    expect((await account(suite.gateway, suite.org.orgId))?.balance).toBe((before?.balance ?? 0n) - COST.getReputationSummary);
  });

  it('a text message resent returns the same waiting task', async () => {
    const messageId = randomUUID();
    const first = expectResult(await rpc('SendMessage', v1Send([v1Text('hi')], { messageId }))).task;
    const again = expectResult(await rpc('SendMessage', v1Send([v1Text('hi')], { messageId }))).task;
    expect(again.id).toBe(first.id);
    expect(again.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
  });

  it('the same messageId from two organizations makes two independent tasks, each charged', async () => {
    const other = await suite.gateway.createOrg({ name: 'other', credits: 100_000n });
    const messageId = `shared-${randomUUID()}`;
    const mineBefore = await account(suite.gateway, suite.org.orgId);
    const theirsBefore = await account(suite.gateway, other.orgId);
    const mine = expectResult(await rpc('SendMessage', v1Send([summary()], { messageId }))).task;
    const theirs = expectResult(await rpc('SendMessage', v1Send([summary()], { messageId }), other.apiKey.key)).task;
    expect(theirs.id).not.toBe(mine.id);
    expect(mine.status.state).toBe('TASK_STATE_COMPLETED');
    expect(theirs.status.state).toBe('TASK_STATE_COMPLETED');
    expect((await account(suite.gateway, suite.org.orgId))?.balance).toBe((mineBefore?.balance ?? 0n) - COST.getReputationSummary);
    expect((await account(suite.gateway, other.orgId))?.balance).toBe((theirsBefore?.balance ?? 0n) - COST.getReputationSummary);
    expectRpcError(await rpc('GetTask', { id: mine.id }, other.apiKey.key), -32001);
  });
});
