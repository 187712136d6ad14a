import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/db/demo-data.js';
import { account, call, expectResult, expectRpcError, ledger, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { FAKE_REPORT, startFakeLlm, type FakeLlm } from '../helpers/fake-llm.js';
import { expectLedgerInvariant, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const REPORT_COST = 200_000n;
const CREDITS = 10_000_000n;

function reportCall(args: Record<string, unknown>) {
  return request('SendMessage', v1Send([v1Data(toolCall('getReputationReport', args))]));
}

describe('getReputationReport (Tier 3) with an OpenAI-compatible LLM', () => {
  let llm: FakeLlm;
  let gateway: TestGateway;
  let key: string;
  let orgId: string;

  beforeAll(async () => {
    llm = await startFakeLlm();
    gateway = await startTestGateway({ llm: { baseUrl: llm.baseUrl, timeoutMs: 1_500 } });
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 12, validationsPerAgent: 3 });
  });
  afterAll(async () => {
    await gateway?.close();
    await llm?.close();
  });
  beforeEach(async () => {
    const org = await gateway.createOrg({ credits: CREDITS });
    key = org.apiKey.key;
    orgId = org.orgId;
    llm.requests.length = 0;
    llm.otherwise = 'report';
  });

  it('delivers a validated report and charges 0.20 USDC once', async () => {
    const task = expectResult(await call(gateway, reportCall({ agentId: 1 }), key)).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    const report = task.artifacts[0].parts[0].data;
    expect(report).toEqual({ agent_id: 1, ...FAKE_REPORT, generated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect((await account(gateway, orgId))?.balance).toBe(CREDITS - REPORT_COST);
    expect((await ledger(gateway, orgId)).map((row) => [row.kind, row.amount, row.reserved_delta])).toEqual([
      ['grant', CREDITS, 0n],
      ['reserve', 0n, REPORT_COST],
      ['capture', -REPORT_COST, -REPORT_COST],
    ]);
    expect(llm.requests).toHaveLength(1);
    expect(llm.requests[0]).toMatchObject({ model: 'test-model', authorization: 'Bearer test-llm-key' });
    const facts = JSON.parse(llm.requests[0]?.messages.at(-1)?.content ?? '{}');
    expect(Object.keys(facts).sort()).toEqual(['profile', 'summary', 'trend', 'validations']);
    await expectLedgerInvariant(gateway);
  });

  it('leaves recommendations out when not asked for them', async () => {
    const task = expectResult(await call(gateway, reportCall({ agentId: 2, includeRecommendations: false }), key)).task;
    expect(task.artifacts[0].parts[0].data).not.toHaveProperty('recommendations');
  });

  it('asks once more after a malformed answer, and charges once', async () => {
    llm.script('malformed', 'report');
    const task = expectResult(await call(gateway, reportCall({ agentId: 1 }), key)).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(llm.requests).toHaveLength(2);
    expect(llm.requests[1]?.messages.at(-1)?.content).toMatch(/not valid/);
    expect((await account(gateway, orgId))?.balance).toBe(CREDITS - REPORT_COST);
  });

  it.each([
    ['malformed twice', ['malformed', 'malformed'], 'tool_failed'],
    ['an HTTP error', ['fail'], 'tool_failed'],
    ['no answer in time', ['hang'], 'timeout'],
  ] as const)('fails uncharged on %s', async (_, script, reason) => {
    llm.script(...script);
    const task = expectResult(await call(gateway, reportCall({ agentId: 1 }), key)).task;
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(JSON.stringify(task.status)).toContain(reason);
    expect(await account(gateway, orgId)).toEqual({ balance: CREDITS, reserved: 0n });
    expect((await ledger(gateway, orgId)).map((row) => row.kind)).toEqual(['grant', 'reserve', 'release']);
    await expectLedgerInvariant(gateway);
  });

  it('an unknown agent is the caller’s mistake: -32602 before any LLM call, nothing charged', async () => {
    const error = expectRpcError(await call(gateway, reportCall({ agentId: 999_999 }), key), -32602);
    expect(error.data?.reason).toBe('agent_not_found');
    expect(llm.requests).toHaveLength(0);
    expect((await account(gateway, orgId))?.balance).toBe(CREDITS);
  });

  it('is on the agent card and in the price list', async () => {
    const card = (await (await gateway.app.request('/.well-known/agent-card.json')).json()) as { skills: { id: string }[] };
    expect(card.skills.map((skill) => skill.id)).toContain('getReputationReport');
    const prices = (await (await gateway.app.request('/v1/tools')).json()) as { tools: { name: string; enabled: boolean }[] };
    expect(prices.tools.find((tool) => tool.name === 'getReputationReport')?.enabled).toBe(true);
  });
});

describe('getReputationReport without an LLM', () => {
  it('is listed disabled and a call to it gets -32602 saying so', async () => {
    const gateway = await startTestGateway();
    try {
      const org = await gateway.createOrg();
      const error = expectRpcError(await call(gateway, reportCall({ agentId: 1 }), org.apiKey.key), -32602);
      expect(error.data).toMatchObject({ reason: 'tool_disabled', tool: 'getReputationReport', why: expect.stringContaining('LLM') });
      const prices = (await (await gateway.app.request('/v1/tools')).json()) as { tools: { name: string; enabled: boolean; disabled_reason?: string }[] };
      expect(prices.tools.find((tool) => tool.name === 'getReputationReport')).toMatchObject({ enabled: false, disabled_reason: expect.stringContaining('LLM') });
    } finally {
      await gateway.close();
    }
  });
});
