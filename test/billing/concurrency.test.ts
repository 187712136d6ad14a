import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { postOverSocket } from '../a2a/support.js';
import type { SettlementMode, TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { seededShuffle } from '../helpers/shuffle.js';

/**
 * Many paid calls at once, over real HTTP, against one PostgreSQL database with a pool of
 * connections: holds must serialize on the account row so that no account is ever overdrawn, a
 * duplicate messageId is charged once, and the ledger explains every balance afterwards.
 * PGlite has one connection and runs statements one at a time, so it cannot race at all.
 */

const TIER0_COST = 1_000n;
const TIER1_COST = 10_000n;

const TOOL_COST: Record<string, bigint> = {
  getAgentProfile: TIER0_COST,
  getMyFeedbacks: TIER0_COST,
  getReputationSummary: TIER1_COST,
  getTrend: TIER1_COST,
  getValidationHistory: TIER1_COST,
};

interface RpcAnswer {
  jsonrpc: '2.0';
  id: unknown;
  result?: {
    task: {
      id: string;
      status: { state: string };
      metadata: { tool?: string; cost_micro_usdc: string; charged: boolean };
    };
  };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

const ledgerCountsRow = z.object({ kind: z.string(), n: z.bigint(), amount: z.bigint(), reserved: z.bigint() });
type LedgerCounts = z.infer<typeof ledgerCountsRow>;

function paidCall(tool: string, agentId: number, messageId = randomUUID()) {
  return {
    jsonrpc: '2.0',
    id: messageId,
    method: 'SendMessage',
    params: {
      message: { messageId, role: 'ROLE_USER', parts: [{ data: { tool, arguments: { agentId } } }] },
    },
  };
}

/** this suite's calls over a real socket, read as its RpcAnswer */
const post = postOverSocket<RpcAnswer>;

async function ledgerCounts(gateway: TestGateway, orgId: string): Promise<Record<string, LedgerCounts>> {
  const rows = await gateway.database.db.rows(
    ledgerCountsRow,
    sql`
    select kind::text as kind, count(*)::int8 as n, sum(amount)::int8 as amount, sum(reserved_delta)::int8 as reserved
      from ledger_entries where org_id = ${orgId} group by kind`,
  );
  return Object.fromEntries(rows.map((row) => [row.kind, row]));
}

async function taskCount(gateway: TestGateway, orgId: string, state?: string): Promise<bigint> {
  const [row] = await gateway.database.db.rows(
    z.object({ n: z.bigint() }),
    sql`
    select count(*)::int8 as n from tasks
     where org_id = ${orgId} ${state ? sql`and state = ${state}::task_state` : sql``}`,
  );
  return row?.n ?? -1n;
}

async function account(gateway: TestGateway, orgId: string) {
  const found = await getCreditAccount(gateway.database.db, orgId);
  expect(found).toBeDefined();
  return found as NonNullable<typeof found>;
}

function expectInsufficientCredits(answer: RpcAnswer): void {
  expect(answer.result).toBeUndefined();
  expect(answer.error?.code).toBe(-32004);
  expect(answer.error?.data?.reason).toBe('insufficient_credits');
}

/**
 * `calls` new calls paid for `amount` in all, and nothing else: one charge each when settled
 * instantly, one reserve and one capture each when held; never a release.
 */
function expectPaidFor(ledger: Record<string, LedgerCounts>, settlement: SettlementMode, calls: bigint, amount: bigint) {
  const paid = settlement === 'hold' ? ledger.capture : ledger.charge;
  expect(paid?.n).toBe(calls);
  expect(paid?.amount).toBe(-amount);
  if (settlement === 'hold') {
    expect(ledger.reserve?.n).toBe(calls);
    expect(ledger.charge).toBeUndefined();
  } else {
    expect(ledger.reserve).toBeUndefined();
    expect(ledger.capture).toBeUndefined();
  }
  expect(ledger.release).toBeUndefined();
}

describe.each(['by-tool', 'hold'] as const)(
  'concurrent paid calls over HTTP, settlement %s (PostgreSQL only: set DATABASE_URL; PGlite has one connection and cannot race)',
  needs('postgres'),
  (settlement) => {
    const suite = useSeededGateway({ gateway: { settlement }, listen: true });

    it('200 Tier 0 calls at once on credits for exactly 37: 37 complete, 163 are refused, nothing is overdrawn', async () => {
      const org = await suite.gateway.createOrg({ credits: 37n * TIER0_COST });
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => post(suite.baseUrl, org.apiKey.key, paidCall('getAgentProfile', (i % 50) + 1))),
      );

      const completed = answers.filter((answer) => answer.result?.task.status.state === 'TASK_STATE_COMPLETED');
      const refused = answers.filter((answer) => answer.error !== undefined);
      expect(completed).toHaveLength(37);
      expect(refused).toHaveLength(163);
      for (const answer of refused) expectInsufficientCredits(answer);
      for (const answer of completed) {
        expect(answer.result?.task.metadata).toMatchObject({ cost_micro_usdc: '1000', charged: true });
      }
      expect(new Set(completed.map((answer) => answer.result?.task.id)).size).toBe(37);

      const after = await account(suite.gateway, org.orgId);
      expect(after.balance).toBe(0n);
      expect(after.reserved).toBe(0n);
      expectPaidFor(await ledgerCounts(suite.gateway, org.orgId), settlement, 37n, 37n * TIER0_COST);
      expect(await taskCount(suite.gateway, org.orgId)).toBe(37n);
      expect(await taskCount(suite.gateway, org.orgId, 'completed')).toBe(37n);
    });

    it('8 organizations racing at once, each able to afford a different number of calls: each gets exactly its number', async () => {
      const affordable = [1, 2, 3, 5, 8, 13, 21, 0];
      const orgs = await Promise.all(affordable.map((n) => suite.gateway.createOrg({ credits: BigInt(n) * TIER0_COST + 999n })));
      const { shuffled: calls, seed } = seededShuffle(
        orgs.flatMap((org) => Array.from({ length: 25 }, (_, i) => ({ org, body: paidCall('getAgentProfile', (i % 50) + 1) }))),
      );
      const answers = await Promise.all(calls.map((c) => post(suite.baseUrl, c.org.apiKey.key, c.body)));

      for (const [index, org] of orgs.entries()) {
        const mine = answers.filter((_, i) => calls[i]?.org === org);
        const completed = mine.filter((answer) => answer.result?.task.status.state === 'TASK_STATE_COMPLETED');
        expect(completed, `org ${index} (replay with SHUFFLE_SEED=${seed})`).toHaveLength(affordable[index] as number);
        for (const answer of mine.filter((a) => a.error)) expectInsufficientCredits(answer);
        const after = await account(suite.gateway, org.orgId);
        expect(after).toMatchObject({ balance: 999n, reserved: 0n });
        expect(await taskCount(suite.gateway, org.orgId, 'completed')).toBe(BigInt(affordable[index] as number));
      }
    });

    it('50 concurrent sends of the same messageId: one task, charged once', async () => {
      const org = await suite.gateway.createOrg({ credits: 1_000_000n });
      const messageId = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => post(suite.baseUrl, org.apiKey.key, paidCall('getAgentProfile', 7, messageId))),
      );

      for (const answer of answers) expect(answer.error).toBeUndefined();
      const ids = new Set(answers.map((answer) => answer.result?.task.id));
      expect(ids.size).toBe(1);
      const [taskId] = [...ids];
      expect(answers.some((answer) => answer.result?.task.status.state === 'TASK_STATE_COMPLETED')).toBe(true);
      for (const answer of answers) {
        expect(['TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']).toContain(answer.result?.task.status.state);
      }

      expect(await taskCount(suite.gateway, org.orgId)).toBe(1n);
      const [task] = await suite.gateway.database.db.rows(
        z.object({ id: z.string(), state: z.string() }),
        sql`select id::text, state::text from tasks where org_id = ${org.orgId}`,
      );
      expect(task).toEqual({ id: taskId, state: 'completed' });
      const after = await account(suite.gateway, org.orgId);
      expect(after.balance).toBe(1_000_000n - TIER0_COST);
      expect(after.reserved).toBe(0n);
      expectPaidFor(await ledgerCounts(suite.gateway, org.orgId), settlement, 1n, TIER0_COST);
    });

    it('20 concurrent tool calls on one task waiting for input: exactly one runs and is charged, the rest are refused', async () => {
      const org = await suite.gateway.createOrg({ credits: 1_000_000n });
      const opened = await post(suite.baseUrl, org.apiKey.key, {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'what do you sell?' }] } },
      });
      const taskId = opened.result?.task.id as string;
      expect(opened.result?.task.status.state).toBe('TASK_STATE_INPUT_REQUIRED');

      const followUps = Array.from({ length: 20 }, (_, i) => {
        const body = paidCall(i % 2 === 0 ? 'getAgentProfile' : 'getReputationSummary', 3);
        return { ...body, params: { message: { ...body.params.message, taskId } } };
      });
      const answers = await Promise.all(followUps.map((body) => post(suite.baseUrl, org.apiKey.key, body)));

      const ran = answers.filter((answer) => answer.result !== undefined);
      expect(ran).toHaveLength(1);
      expect(ran[0]?.result?.task).toMatchObject({ id: taskId, status: { state: 'TASK_STATE_COMPLETED' } });
      const cost = BigInt(ran[0]?.result?.task.metadata.cost_micro_usdc ?? '-1');
      for (const answer of answers.filter((a) => a.error !== undefined)) {
        expect(answer.error?.code).toBe(-32004);
        expect(answer.error?.data).toMatchObject({ reason: 'task_not_accepting_input', taskId });
      }

      const after = await account(suite.gateway, org.orgId);
      expect(after.balance).toBe(1_000_000n - cost);
      expect(after.reserved).toBe(0n);
      // a call on a waiting task is always held: the task exists already and may be canceled meanwhile
      expectPaidFor(await ledgerCounts(suite.gateway, org.orgId), 'hold', 1n, cost);
      expect(await taskCount(suite.gateway, org.orgId)).toBe(1n);
    });

    it('Tier 0 and Tier 1 calls racing for a balance that cannot afford them all: no overdraw, spent = completed costs', async () => {
      const credits = 123_500n;
      const org = await suite.gateway.createOrg({ credits });
      const tools = ['getAgentProfile', 'getMyFeedbacks', 'getReputationSummary', 'getTrend', 'getValidationHistory'];
      const calls = Array.from({ length: 90 }, (_, i) => {
        const tool = tools[i % tools.length] as string;
        return { tool, body: paidCall(tool, (i % 50) + 1) };
      });
      const demanded = calls.reduce((sum, c) => sum + (TOOL_COST[c.tool] as bigint), 0n);
      expect(demanded).toBeGreaterThan(credits);

      const answers = await Promise.all(calls.map((c) => post(suite.baseUrl, org.apiKey.key, c.body)));

      let spent = 0n;
      let completed = 0;
      const refusedCosts: bigint[] = [];
      answers.forEach((answer, i) => {
        const cost = TOOL_COST[calls[i]?.tool as string] as bigint;
        if (answer.error) {
          expectInsufficientCredits(answer);
          expect(answer.error.data?.required).toBe(cost.toString());
          refusedCosts.push(cost);
          return;
        }
        expect(answer.result?.task.status.state).toBe('TASK_STATE_COMPLETED');
        expect(answer.result?.task.metadata.cost_micro_usdc).toBe(cost.toString());
        spent += cost;
        completed += 1;
      });
      expect(refusedCosts.length).toBeGreaterThan(0);
      expect(completed + refusedCosts.length).toBe(calls.length);
      expect(spent).toBeLessThanOrEqual(credits);

      const after = await account(suite.gateway, org.orgId);
      expect(after.reserved).toBe(0n);
      expect(after.balance).toBe(credits - spent);
      // Available credit only ever went down, so every refused call was refused rightly: it costs
      // more than what is left even now.
      for (const cost of refusedCosts) expect(cost).toBeGreaterThan(after.balance);

      expectPaidFor(await ledgerCounts(suite.gateway, org.orgId), settlement, BigInt(completed), spent);
      const [captured] = await suite.gateway.database.db.rows(
        z.object({ total: z.bigint() }),
        sql`select coalesce(sum(cost), 0)::int8 as total from tasks where org_id = ${org.orgId} and state = 'completed'`,
      );
      expect(captured?.total).toBe(spent);
      expect(await taskCount(suite.gateway, org.orgId)).toBe(BigInt(completed));
    });
  },
);
