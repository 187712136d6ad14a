import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { createChargeCombiner } from '../../src/tasks/charge-combiner.js';
import type { AnsweredCall } from '../../src/tasks/store.js';
import { postOverSocket } from '../a2a/support.js';
import { BUILT_IN_VERSION, type TestGateway } from '../helpers/gateway.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/**
 * One organization must never make another's calls fail. Instant calls of many organizations are
 * charged together, one statement for a group (src/tasks/charge-combiner.ts): a call the database
 * refuses must fail alone. The poison here is a messageId past PostgreSQL's B-tree entry limit
 * (about 2.7 KB; random base64 does not compress below it), which made the charge statement fail
 * and, with it, every call grouped with it. On PostgreSQL the calls race over a pool; on PGlite
 * they still group, since calls answered while a statement runs wait for the next one.
 */

const TIER0_COST = 1_000n;

/** A messageId whose index entry PostgreSQL cannot store. */
const unindexableId = () => randomBytes(3_000).toString('base64');

interface RpcAnswer {
  result?: { task: { status: { state: string } } };
  error?: { code: number; data?: { issues?: { path: string; message: string }[] } };
}

function paidCall(messageId: string, agentId: number) {
  return {
    jsonrpc: '2.0',
    id: randomUUID(),
    method: 'SendMessage',
    params: { message: { messageId, role: 'ROLE_USER', parts: [{ data: { tool: 'getAgentProfile', arguments: { agentId } } }] } },
  };
}

/** this suite's calls over a real socket, read as its RpcAnswer */
const post = postOverSocket<RpcAnswer>;

async function chargedCalls(gateway: TestGateway, orgId: string): Promise<bigint> {
  const [row] = await gateway.database.db.rows(
    z.object({ n: z.bigint() }),
    sql`select count(*)::int8 as n from ledger_entries where org_id = ${orgId} and kind = 'charge'`,
  );
  return row?.n ?? -1n;
}

describe("one organization cannot fail another organization's calls", () => {
  const suite = useSeededGateway({ listen: true });

  it('a messageId over the documented bound is -32602 before anything runs, in both generations', async () => {
    const org = await suite.gateway.createOrg({ credits: 10n * TIER0_COST });
    const v1 = await post(suite.baseUrl, org.apiKey.key, paidCall('m'.repeat(201), 1));
    expect(v1.error?.code).toBe(-32602);
    expect(v1.error?.data?.issues?.[0]?.path).toBe('message.messageId');
    const v03 = await post(suite.baseUrl, org.apiKey.key, {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          messageId: 'm'.repeat(201),
          role: 'user',
          parts: [{ kind: 'data', data: { tool: 'getAgentProfile', arguments: { agentId: 1 } } }],
        },
      },
    });
    expect(v03.error?.code).toBe(-32602);
    const atBound = await post(suite.baseUrl, org.apiKey.key, paidCall('m'.repeat(200), 1));
    expect(atBound.result?.task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(await chargedCalls(suite.gateway, org.orgId)).toBe(1n);
  });

  it('over HTTP: while one organization sends unstorable messageIds 8 at a time, every concurrent call of another completes', async () => {
    const attacker = await suite.gateway.createOrg({ credits: 1_000n * TIER0_COST });
    const innocent = await suite.gateway.createOrg({ credits: 1_000n * TIER0_COST });
    const rounds = 6;
    const innocentAnswers: RpcAnswer[] = [];
    const attackerAnswers: RpcAnswer[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const [bad, good] = await Promise.all([
        Promise.all(Array.from({ length: 8 }, (_, i) => post(suite.baseUrl, attacker.apiKey.key, paidCall(unindexableId(), (i % 50) + 1)))),
        Promise.all(Array.from({ length: 24 }, (_, i) => post(suite.baseUrl, innocent.apiKey.key, paidCall(randomUUID(), (i % 50) + 1)))),
      ]);
      attackerAnswers.push(...bad);
      innocentAnswers.push(...good);
    }
    const innocentFailures = innocentAnswers.filter((answer) => answer.error !== undefined);
    expect(innocentFailures).toEqual([]);
    expect(innocentAnswers.every((answer) => answer.result?.task.status.state === 'TASK_STATE_COMPLETED')).toBe(true);
    expect(await chargedCalls(suite.gateway, innocent.orgId)).toBe(BigInt(rounds * 24));
    expect(attackerAnswers.every((answer) => answer.error?.code === -32602)).toBe(true);
    expect(await chargedCalls(suite.gateway, attacker.orgId)).toBe(0n);
  });

  it('the combiner: a call the database refuses fails alone, every other call of its group is charged', async () => {
    // Driven directly, so the poison gets past the wire's bound: the combiner must not depend on it.
    const attacker = await suite.gateway.createOrg({ credits: 1_000n * TIER0_COST });
    const innocent = await suite.gateway.createOrg({ credits: 1_000n * TIER0_COST });
    const combiner = createChargeCombiner(suite.gateway.database.db);
    const call = (org: NewOrganization, messageId: string): AnsweredCall => {
      const id = randomUUID();
      const contextId = randomUUID();
      return {
        id,
        orgId: org.orgId,
        keyId: org.apiKey.id,
        contextId,
        messageId,
        tool: 'getAgentProfile',
        ...BUILT_IN_VERSION,
        arguments: { agentId: 1 },
        cost: TIER0_COST,
        history: [{ messageId, role: 'user', parts: [{ kind: 'text', text: 'hi' }], taskId: id, contextId }],
        result: { agentId: 1 },
        durationMs: 1,
      };
    };
    // Interleaved, and many at once: all but the first two wait and go together in one group.
    const calls = Array.from({ length: 60 }, (_, i) =>
      i % 6 === 2 ? { poison: true, call: call(attacker, unindexableId()) } : { poison: false, call: call(innocent, randomUUID()) },
    );
    const outcomes = await Promise.allSettled(calls.map((entry) => combiner.charge(entry.call)));
    const innocentOutcomes = outcomes.filter((_, i) => !calls[i]?.poison);
    const poisonOutcomes = outcomes.filter((_, i) => calls[i]?.poison);
    expect(innocentOutcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    for (const outcome of innocentOutcomes) {
      expect(outcome.status === 'fulfilled' && outcome.value?.org_id).toBe(innocent.orgId);
    }
    expect(poisonOutcomes).toHaveLength(10);
    expect(poisonOutcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(await chargedCalls(suite.gateway, innocent.orgId)).toBe(50n);
    expect(await chargedCalls(suite.gateway, attacker.orgId)).toBe(0n);
  });
});
