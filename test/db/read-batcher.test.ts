import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { seedDemoData } from '../../src/db/demo-data.js';
import { createReadBatcher } from '../../src/db/read-batcher.js';
import { jsonText } from '../../src/db/sql.js';
import { getAgentProfile } from '../../src/tools/executors/get-agent-profile.js';
import { getMyFeedbacks } from '../../src/tools/executors/get-my-feedbacks.js';
import { call, expectResult, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Reads that arrive together share one statement (issue 18): each still gets its own answer, a
 * read the statement has no row for gets none, and a statement that fails fails only its group.
 */
describe('read batcher', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.dispose());

  const Row = z.object({ n: z.number(), doubled: z.bigint() });
  /** Doubles each number; no row for a negative one; a 0 makes the statement fail (division by zero). */
  const doubling = (groups: number[][]) =>
    createReadBatcher(database.db, {
      row: Row,
      statement: (numbers: readonly bigint[]) => {
        groups.push(numbers.map(Number));
        return sql`select want.n::int as n, (want.x::int8 * 2 + 0 / want.x::int8) as doubled
          from json_array_elements_text(${jsonText(numbers)}::json) with ordinality as want(x, n) where want.x::int8 >= 0`;
      },
      inFlight: 1,
      maxRequests: 3,
    });

  it('groups the reads that wait, at most maxRequests a statement, each answered with its own row', async () => {
    const groups: number[][] = [];
    const batcher = doubling(groups);
    const answers = await Promise.all([1n, 2n, -3n, 4n, 5n, 6n, 7n].map((x) => batcher.read(x)));
    expect(answers.map((row) => row?.doubled)).toEqual([2n, 4n, undefined, 8n, 10n, 12n, 14n]);
    // the first found the slot free and went alone; the others waited for it and went three by three
    expect(groups).toEqual([[1], [2, -3, 4], [5, 6, 7]]);
  });

  it('fails only the group whose statement failed', async () => {
    const groups: number[][] = [];
    const batcher = doubling(groups);
    const settled = await Promise.allSettled([1n, 2n, 0n, 4n, 5n].map((x) => batcher.read(x)));
    expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    expect(groups).toEqual([[1], [2, 0, 4], [5]]);
  });

  it('answers the tools as single reads do, whatever else is read at the same time', async () => {
    await seedDemoData(database.db, { now: new Date(), agents: 6, feedbacksPerAgent: 5, validationsPerAgent: 1 });
    const ctx = { db: database.db, taskId: 'test-task', signal: new AbortController().signal, now: new Date() };
    const asks = [1n, 2n, 99n, 3n, 4n, 5n, 6n, 2n];
    const alone = [];
    for (const agentId of asks) {
      alone.push([
        await getAgentProfile({ agentId }, ctx).then(
          (answer) => answer.text,
          () => 'not found',
        ),
        await getMyFeedbacks({ agentId, limit: 2, offset: Number(agentId % 3n), includeRevoked: agentId % 2n === 0n }, ctx).then(
          (answer) => answer.text,
          () => 'not found',
        ),
      ]);
    }
    const together = await Promise.all(
      asks.map((agentId) =>
        Promise.all([
          getAgentProfile({ agentId }, ctx).then(
            (answer) => answer.text,
            () => 'not found',
          ),
          getMyFeedbacks({ agentId, limit: 2, offset: Number(agentId % 3n), includeRevoked: agentId % 2n === 0n }, ctx).then(
            (answer) => answer.text,
            () => 'not found',
          ),
        ]),
      ),
    );
    expect(together).toEqual(alone);
    expect(together[2]).toEqual(['not found', 'not found']);
  });
});

describe('paid calls answered together', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 20, feedbacksPerAgent: 3, validationsPerAgent: 1 });
  });
  afterAll(() => gateway?.close());

  it("each organization's call gets its own agent's answer, as the same call alone gets it", async () => {
    const keys = await Promise.all([1, 2, 3, 4].map(async () => (await gateway.createOrg({ credits: 1_000_000n })).apiKey.key));
    const calls = Array.from({ length: 40 }, (_, index) => ({
      key: keys[index % keys.length] ?? '',
      agentId: 1 + (index % 20),
      tool: index % 2 === 0 ? 'getAgentProfile' : 'getMyFeedbacks',
    }));
    const answerOf = async (each: (typeof calls)[number]) => {
      const reply = await call(gateway, request('SendMessage', v1Send([v1Data(toolCall(each.tool, { agentId: each.agentId }))])), each.key);
      return expectResult(reply).task.artifacts[0].parts[0].data;
    };
    const alone = [];
    for (const each of calls) alone.push(await answerOf(each));
    const together = await Promise.all(calls.map(answerOf));
    expect(together).toEqual(alone);
    // twenty different (tool, agent) pairs, each asked twice
    expect(new Set(together.map((answer) => JSON.stringify(answer))).size).toBe(20);
  });
});
