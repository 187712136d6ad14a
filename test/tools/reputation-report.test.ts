import { describe, expect, it } from 'vitest';
import { account, call, expectResult, expectRpcError, ledger, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { FAKE_REPORT } from '../helpers/fake-llm.js';
import { expectLedgerInvariant, startTestGateway } from '../helpers/gateway.js';
import { useLlmGateway } from '../helpers/llm-suite.js';

const REPORT_COST = 200_000n;
const CREDITS = 10_000_000n;

function reportCall(args: Record<string, unknown>) {
  return request('SendMessage', v1Send([v1Data(toolCall('getReputationReport', args))]));
}

describe('getReputationReport (Tier 3) with an OpenAI-compatible LLM', () => {
  const suite = useLlmGateway({
    credits: CREDITS,
    llmTimeoutMs: 1_500,
    dataset: { agents: 3, feedbacksPerAgent: 12, validationsPerAgent: 3 },
  });

  it('delivers a validated report and charges 0.20 USDC once', async () => {
    const task = expectResult(await call(suite.gateway, reportCall({ agentId: 1 }), suite.key)).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    const report = task.artifacts[0].parts[0].data;
    expect(report).toEqual({ agent_id: 1, ...FAKE_REPORT, generated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect((await account(suite.gateway, suite.orgId))?.balance).toBe(CREDITS - REPORT_COST);
    expect((await ledger(suite.gateway, suite.orgId)).map((row) => [row.kind, row.amount, row.reserved_delta])).toEqual([
      ['grant', CREDITS, 0n],
      ['reserve', 0n, REPORT_COST],
      ['capture', -REPORT_COST, -REPORT_COST],
    ]);
    expect(suite.llm.requests).toHaveLength(1);
    expect(suite.llm.requests[0]).toMatchObject({ model: 'test-model', authorization: 'Bearer test-llm-key' });
    const facts = JSON.parse(suite.llm.requests[0]?.messages.at(-1)?.content ?? '{}');
    expect(Object.keys(facts).sort()).toEqual(['profile', 'summary', 'trend', 'validations']);
    await expectLedgerInvariant(suite.gateway);
  });

  it('leaves recommendations out when not asked for them', async () => {
    const task = expectResult(await call(suite.gateway, reportCall({ agentId: 2, includeRecommendations: false }), suite.key)).task;
    expect(task.artifacts[0].parts[0].data).not.toHaveProperty('recommendations');
  });

  it('asks once more after a malformed answer, and charges once', async () => {
    suite.llm.script('malformed', 'report');
    const task = expectResult(await call(suite.gateway, reportCall({ agentId: 1 }), suite.key)).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(suite.llm.requests).toHaveLength(2);
    expect(suite.llm.requests[1]?.messages.at(-1)?.content).toMatch(/not valid/);
    expect((await account(suite.gateway, suite.orgId))?.balance).toBe(CREDITS - REPORT_COST);
  });

  it.each([
    ['malformed twice', ['malformed', 'malformed'], 'tool_failed'],
    ['an HTTP error', ['fail'], 'tool_failed'],
    ['no answer in time', ['hang'], 'timeout'],
  ] as const)('fails uncharged on %s', async (_, script, reason) => {
    suite.llm.script(...script);
    const task = expectResult(await call(suite.gateway, reportCall({ agentId: 1 }), suite.key)).task;
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(JSON.stringify(task.status)).toContain(reason);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS, reserved: 0n });
    expect((await ledger(suite.gateway, suite.orgId)).map((row) => row.kind)).toEqual(['grant', 'reserve', 'release']);
    await expectLedgerInvariant(suite.gateway);
  });

  it('in the background, an LLM that never answers: WORKING with the cost reserved, then FAILED timeout at its deadline, uncharged', async () => {
    suite.llm.script('hang');
    const send = request('SendMessage', {
      ...v1Send([v1Data(toolCall('getReputationReport', { agentId: 1 }))]),
      configuration: { returnImmediately: true },
    });
    const accepted = expectResult(await call(suite.gateway, send, suite.key)).task;
    expect(accepted.status.state).toBe('TASK_STATE_WORKING');
    await suite.llm.received(1);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS, reserved: REPORT_COST });

    // the run ends at the LLM's deadline (LLM_TIMEOUT_MS, 1.5 s here), not when the LLM answers: it never does
    expect(await suite.gateway.leases.idle(10_000)).toBe(true);
    const task = expectResult(await call(suite.gateway, request('GetTask', { id: accepted.id }), suite.key));
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(JSON.stringify(task.status)).toContain('timeout');
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS, reserved: 0n });
    expect((await ledger(suite.gateway, suite.orgId)).map((row) => row.kind)).toEqual(['grant', 'reserve', 'release']);
    expect(suite.llm.requests).toHaveLength(1);
    await expectLedgerInvariant(suite.gateway);
  });

  it('an unknown agent is the caller’s mistake: -32602 before any LLM call, nothing charged', async () => {
    const error = expectRpcError(await call(suite.gateway, reportCall({ agentId: 999_999 }), suite.key), -32602);
    expect(error.data?.reason).toBe('agent_not_found');
    expect(suite.llm.requests).toHaveLength(0);
    expect((await account(suite.gateway, suite.orgId))?.balance).toBe(CREDITS);
  });

  it('is on the agent card and in the price list', async () => {
    const card = (await (await suite.gateway.app.request('/.well-known/agent-card.json')).json()) as { skills: { id: string }[] };
    expect(card.skills.map((skill) => skill.id)).toContain('getReputationReport');
    const prices = (await (await suite.gateway.app.request('/v1/tools')).json()) as { tools: { name: string; enabled: boolean }[] };
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
      const prices = (await (await gateway.app.request('/v1/tools')).json()) as {
        tools: { name: string; enabled: boolean; disabled_reason?: string }[];
      };
      expect(prices.tools.find((tool) => tool.name === 'getReputationReport')).toMatchObject({
        enabled: false,
        disabled_reason: expect.stringContaining('LLM'),
      });
    } finally {
      await gateway.close();
    }
  });
});
