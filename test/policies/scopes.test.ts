import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { rest } from '../helpers/sign-in.js';
import { type CallAnswer, createKey, paidCall, walletOrg } from './support.js';

/**
 * A key's tool list and highest tier (issue 16): a call outside them is refused before anything
 * runs, with reason tool_not_allowed and the tools the key may call; nothing is charged or written.
 */

const taskCount = z.object({ n: z.bigint() });

describe('key scopes: tools and tiers', () => {
  const suite = useSeededGateway();

  async function call(key: string, tool: string, headers: Record<string, string> = {}) {
    const response = await suite.gateway.rpc(paidCall(tool), key, headers);
    expect(response.status).toBe(200);
    return (await response.json()) as CallAnswer;
  }

  async function untouched(orgId: string, credits: bigint) {
    expect((await getCreditAccount(suite.gateway.database.db, orgId))?.balance).toBe(credits);
    const [tasks] = await suite.gateway.database.db.rows(taskCount, sql`select count(*)::int8 as n from tasks where org_id = ${orgId}`);
    expect(tasks?.n).toBe(0n);
  }

  it("a tool outside the key's list is refused with the tools it may call, uncharged and unrecorded", async () => {
    const owner = await walletOrg(suite.gateway, 100_000n);
    const key = await createKey(suite.gateway, owner, { tools: ['getAgentProfile', 'getMyFeedbacks'] });
    const answer = await call(key.key, 'getReputationSummary');
    expect(answer.error?.code).toBe(-32004);
    expect(answer.error?.data).toEqual({
      reason: 'tool_not_allowed',
      tool: 'getReputationSummary',
      allowedTools: ['getMyFeedbacks', 'getAgentProfile'],
    });
    await untouched(owner.orgId, 100_000n);
    expect((await call(key.key, 'getAgentProfile')).result?.status.state).toBe('completed');
  });

  it("a tool above the key's tier is refused; A2A 1.0 callers read the reason in ErrorInfo", async () => {
    const owner = await walletOrg(suite.gateway, 100_000n);
    const key = await createKey(suite.gateway, owner, { maxTier: 0 });
    const response = await suite.gateway.rpc(
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: { message: { messageId: 'm-tier', role: 'ROLE_USER', parts: [{ data: { tool: 'getTrend', arguments: { agentId: 1 } } }] } },
      },
      key.key,
      { 'A2A-Version': '1.0' },
    );
    const answer = (await response.json()) as { error?: { code: number; data?: { reason: string; metadata: Record<string, string> }[] } };
    expect(answer.error?.code).toBe(-32004);
    expect(answer.error?.data?.[0]).toMatchObject({
      reason: 'UNSUPPORTED_OPERATION',
      metadata: { reason: 'tool_not_allowed', tool: 'getTrend', allowedTools: 'getMyFeedbacks,getAgentProfile', maxTier: '0' },
    });
    await untouched(owner.orgId, 100_000n);
  });

  it('a policy change holds from the next call: widening the list lets the tool through', async () => {
    const owner = await walletOrg(suite.gateway, 100_000n);
    const key = await createKey(suite.gateway, owner, { tools: ['getAgentProfile'] });
    expect((await call(key.key, 'getTrend')).error?.data?.reason).toBe('tool_not_allowed');
    const widened = await rest(suite.gateway, 'PATCH', `/v1/keys/${key.id}`, { tools: null }, owner.token);
    expect(widened.status).toBe(200);
    expect((await call(key.key, 'getTrend')).result?.status.state).toBe('completed');
  });
});
