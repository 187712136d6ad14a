import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { FAKE_REPORT } from '../helpers/fake-llm.js';
import { checkLedgerAfterEach } from '../helpers/gateway.js';
import { useLlmGateway } from '../helpers/llm-suite.js';
import { connectMcp } from '../helpers/mcp-client.js';

const REPORT_COST = 200_000n;
const CREDITS = 1_000_000n;

/** The held tool: getReputationReport reserves its price, runs the (fake) LLM, and captures only a report. */
describe('a held tool over MCP: progress while it runs, cancellation releases its hold', () => {
  const suite = useLlmGateway({
    credits: CREDITS,
    llmTimeoutMs: 10_000,
    listen: true,
    dataset: { agents: 2, feedbacksPerAgent: 5, validationsPerAgent: 2 },
  });
  checkLedgerAfterEach(() => [suite.gateway], { idle: false });
  const clients: Client[] = [];
  afterEach(async () => {
    suite.llm.release();
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  const client = async () => {
    const connected = await connectMcp(suite.baseUrl, { apiKey: suite.key });
    clients.push(connected);
    return connected;
  };
  const account = async () => getCreditAccount(suite.gateway.database.db, suite.orgId);
  const taskStates = async () =>
    suite.gateway.database.db.rows(
      z.object({ id: z.string(), state: z.string() }),
      sql`select id, state from tasks where org_id = ${suite.orgId}`,
    );

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('the report is answered and charged its price once, after progress notifications naming its task', async () => {
    suite.llm.script('wait');
    const progress: Progress[] = [];
    const mcp = await client();
    const answer = mcp.callTool({ name: 'getReputationReport', arguments: { agentId: 1 } }, undefined, {
      onprogress: (update) => progress.push(update),
      resetTimeoutOnProgress: true,
    });
    await suite.llm.received(1);
    // held: the price is reserved while it runs
    expect(await account()).toMatchObject({ balance: CREDITS, reserved: REPORT_COST });
    await until(
      async () => progress.length,
      (n) => n >= 2,
    );
    suite.llm.release();
    const result = await answer;

    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ overall_rating: FAKE_REPORT.overall_rating });
    expect(result._meta).toMatchObject({ charged: true, costMicroUsdc: '200000', balanceMicroUsdc: String(CREDITS - REPORT_COST) });
    expect(await account()).toMatchObject({ balance: CREDITS - REPORT_COST, reserved: 0n });
    expect(progress[0]?.message).toBe(`task ${result._meta?.taskId} accepted: working`);
    expect(progress[1]?.message).toMatch(new RegExp(`^task ${result._meta?.taskId} working, \\d+ s$`));
    expect(progress.map((update) => update.progress)).toEqual(progress.map((_, i) => i + 1));
  });

  it('without a progress token the call simply answers when the tool is done', async () => {
    const result = await (await client()).callTool({ name: 'getReputationReport', arguments: { agentId: 2 } });
    expect(result._meta).toMatchObject({ state: 'completed', charged: true });
    expect(await account()).toMatchObject({ balance: CREDITS - REPORT_COST, reserved: 0n });
  });

  it("the client's cancellation cancels the task, stops the LLM request and releases the hold: nothing is charged", async () => {
    suite.llm.script('wait');
    const abandonedBefore = suite.llm.abandoned;
    const canceled = new AbortController();
    const mcp = await client();
    const answer = mcp
      .callTool({ name: 'getReputationReport', arguments: { agentId: 1 } }, undefined, { signal: canceled.signal, onprogress: () => {} })
      .catch((error: unknown) => error);
    await suite.llm.received(1);
    expect(await account()).toMatchObject({ reserved: REPORT_COST });
    canceled.abort('the user changed their mind');
    expect(await answer).toBeInstanceOf(Error);

    const tasks = await until(taskStates, (rows) => rows.every((row) => row.state === 'canceled'));
    expect(tasks).toEqual([{ id: expect.any(String), state: 'canceled' }]);
    expect(await until(account, (now) => now?.reserved === 0n)).toMatchObject({ balance: CREDITS, reserved: 0n });
    expect(
      await until(
        async () => suite.llm.abandoned,
        (n) => n > abandonedBefore,
      ),
    ).toBe(abandonedBefore + 1);
    // the same client goes on calling
    suite.llm.otherwise = 'report';
    expect((await mcp.callTool({ name: 'getReputationReport', arguments: { agentId: 1 } }))._meta).toMatchObject({ charged: true });
  });

  it('a tool that fails is a free isError result: the hold is released', async () => {
    suite.llm.script('fail');
    const result = await (await client()).callTool({ name: 'getReputationReport', arguments: { agentId: 1 } });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ state: 'failed', charged: false, costMicroUsdc: '0' });
    expect((result.content as { text: string }[])[0]?.text).toMatch(/nothing was charged/i);
    expect(await account()).toMatchObject({ balance: CREDITS, reserved: 0n });
  });

  it("a cancellation from another key never reaches this key's call", async () => {
    suite.llm.script('wait');
    const mine = await client();
    const answer = mine.callTool({ name: 'getReputationReport', arguments: { agentId: 1 } });
    await suite.llm.received(1);
    // the other organization's client sends a cancellation of the same request id on its own key
    const other = await suite.gateway.createOrg({ credits: 0n });
    const response = await fetch(`${suite.baseUrl}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${other.apiKey.key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }),
    });
    expect(response.status).toBe(202);
    for (const requestId of [0, 1, 2, 3]) {
      await fetch(`${suite.baseUrl}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${other.apiKey.key}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId } }),
      });
    }
    suite.llm.release();
    expect((await answer)._meta).toMatchObject({ state: 'completed', charged: true });
  });

  it('a canceled request is not answered: its event stream ends without a response (raw HTTP, as curl sees it)', async () => {
    suite.llm.script('wait');
    const headers = {
      authorization: `Bearer ${suite.key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      'mcp-session-id': 'raw-session-1',
    };
    const call = await fetch(`${suite.baseUrl}/mcp`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'call-7',
        method: 'tools/call',
        params: { name: 'getReputationReport', arguments: { agentId: 1 }, _meta: { progressToken: 'p' } },
      }),
    });
    expect(call.headers.get('content-type')).toBe('text/event-stream');
    await suite.llm.received(1);
    const cancel = await fetch(`${suite.baseUrl}/mcp`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'call-7', reason: 'stop' } }),
    });
    expect(cancel.status).toBe(202);
    const events = (await call.text())
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)));
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(event).toMatchObject({ method: 'notifications/progress', params: { progressToken: 'p' } });
    expect(await until(taskStates, (rows) => rows[0]?.state === 'canceled')).toMatchObject([{ state: 'canceled' }]);
    expect(await until(account, (now) => now?.reserved === 0n)).toMatchObject({ balance: CREDITS, reserved: 0n });
  });

  it('the same idempotency key sent again while its call runs follows that call: one task, one answer, charged once', async () => {
    suite.llm.script('wait');
    const mcp = await client();
    const call = () =>
      mcp.callTool({ name: 'getReputationReport', arguments: { agentId: 2 }, _meta: { idempotencyKey: 'report-once' } }, undefined, {
        onprogress: () => {},
      });
    const first = call();
    await suite.llm.received(1);
    const second = call();
    await until(taskStates, (rows) => rows.length === 1);
    suite.llm.release();
    const [one, two] = await Promise.all([first, second]);
    expect(two._meta?.taskId).toBe(one._meta?.taskId);
    expect(two.structuredContent).toEqual(one.structuredContent);
    // one run of the tool (the fake's 'wait' answers malformed text once released, so that run asks twice)
    const firstAttempts = suite.llm.requests.filter(
      (request) => !request.messages.at(-1)?.content.startsWith('Your last answer was not valid'),
    );
    expect(firstAttempts).toHaveLength(1);
    expect(await account()).toMatchObject({ balance: CREDITS - REPORT_COST, reserved: 0n });
  });

  it('over plain HTTP: a held call canceled meanwhile (over A2A) is 409 canceled, and free', async () => {
    suite.llm.script('wait');
    const answer = fetch(`${suite.baseUrl}/v1/tools/getReputationReport/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${suite.key}` },
      body: JSON.stringify({ agentId: 1 }),
    });
    await suite.llm.received(1);
    const [task] = await taskStates();
    const canceled = await suite.gateway.rpc({ jsonrpc: '2.0', id: 1, method: 'CancelTask', params: { id: task?.id } }, suite.key, {
      'a2a-version': '1.0',
    });
    expect(canceled.status).toBe(200);
    const response = await answer;
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: { code: 'conflict', reason: 'canceled', details: { taskId: task?.id } } });
    expect(await until(account, (now) => now?.reserved === 0n)).toMatchObject({ balance: CREDITS, reserved: 0n });
  });
});
