/**
 * Money under repeated messageIds: copies of one paid call in a batch, and retries racing their
 * first attempt, open one task and charge it once.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AGENTS, serialize, validPaidCall } from './arbitraries.js';
import { DATABASE_LABEL, isRecord, PROPERTY_TIMEOUT_MS, runs, sendAndCheck, useFuzzGateway } from './harness.js';

const suite = useFuzzGateway('message-ids');

describe(`fuzzing POST /a2a: repeated messageIds (${DATABASE_LABEL})`, () => {
  it(
    'the same messageId several times in one batch opens one task and charges it once',
    async () => {
      await fc.assert(
        fc.asyncProperty(validPaidCall, fc.integer({ min: 2, max: 6 }), fc.boolean(), async (call, copies, sameRpcId) => {
          const elements = Array.from({ length: copies }, (_, i) => ({ ...call, id: sameRpcId ? call.id : i }));
          const answers = await sendAndCheck(serialize(elements));
          const ids = new Set(
            answers.map((answer) => {
              expect(answer.error, JSON.stringify(answer)).toBeUndefined();
              const result = answer.result as Record<string, unknown>;
              return ((isRecord(result.task) ? result.task : result) as { id: string }).id;
            }),
          );
          expect(ids.size).toBe(1);
          const messageIdValue = (call.params.message as { messageId: string }).messageId;
          const tasks = await suite.gateway.database.db.rows(
            z.object({ id: z.string(), state: z.string(), captures: z.bigint() }),
            sql`
            select t.id::text as id, t.state::text as state,
                   (select count(*) from ledger_entries l where l.task_id = t.id and l.kind in ('capture', 'charge'))::int8 as captures
              from tasks t where t.message_id = ${messageIdValue}`,
          );
          expect(tasks).toEqual([{ id: [...ids][0], state: 'completed', captures: 1n }]);
        }),
        runs(100),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  /**
   * Found by the property above, on PostgreSQL, with held calls: a retry's
   * reserve holds the account row and waits on the unique-index entry (org, messageId) that the
   * original task's capture has just written, while that capture waits for the account row. PostgreSQL
   * aborts one as a deadlock victim after deadlock_timeout: the retry gets -32603, or the original's
   * capture fails and its successful tool call ends `failed` (tool_failed), uncharged.
   * Fixed by retrying a single autocommit statement aborted with SQLSTATE 40P01 (src/db/client.ts)
   * and by the messageId guard on every hold and charge (src/tasks/store.ts).
   */
  it(
    "a client's retries racing its first attempt (2–6 copies of one paid call at once, 250 times) all get the one task, completed and charged once",
    async () => {
      const broken: string[] = [];
      for (let round = 0; round < 250; round++) {
        const messageIdValue = randomUUID();
        const body = JSON.stringify({
          jsonrpc: '2.0',
          id: round,
          method: 'SendMessage',
          params: {
            message: {
              messageId: messageIdValue,
              role: 'ROLE_USER',
              parts: [{ data: { tool: 'getAgentProfile', arguments: { agentId: (round % AGENTS) + 1 } } }],
            },
          },
        });
        const copies = 2 + (round % 5);
        const answers = (await Promise.all(Array.from({ length: copies }, () => sendAndCheck(body)))).flat();
        const tasks = new Set(answers.map((answer) => (answer.result as { task?: { id?: string } } | undefined)?.task?.id));
        const errors = answers.filter((answer) => answer.error !== undefined);
        const [row] = await suite.gateway.database.db.rows(
          z.object({ state: z.string(), reason: z.string().nullable() }),
          sql`
          select state::text as state, error->>'reason' as reason from tasks where message_id = ${messageIdValue}`,
        );
        if (errors.length > 0 || tasks.size !== 1 || row?.state !== 'completed') {
          broken.push(
            `round ${round}: ${copies} copies → task ${row?.state} ${row?.reason ?? ''}, answers ${JSON.stringify(errors.map((e) => e.error))}`,
          );
        }
      }
      expect(broken, broken.slice(0, 10).join('\n')).toEqual([]);
    },
    PROPERTY_TIMEOUT_MS,
  );
});
