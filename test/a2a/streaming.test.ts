/**
 * Streaming with the official SDKs of both generations: SendStreamingMessage / message/stream
 * answer with Server-Sent Events (the task, status updates, the artifact, a final status), and
 * SubscribeToTask / tasks/resubscribe re-attach to a running task.
 */
import { randomUUID } from 'node:crypto';
import { type Message, type Part, Role, TaskState } from '@a2a-js/sdk';
import { type Client, ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import type { MessageSendParams } from 'a2a-sdk-v03';
import { A2AClient } from 'a2a-sdk-v03/client';
import { describe, expect, it } from 'vitest';
import { checkLedgerAfterEach } from '../helpers/gateway.js';
import { useLlmGateway } from '../helpers/llm-suite.js';
import { account, call, errorDetails, expectStreamedError, request, toolCall, v1Data, v1Send, v03Data, v03Send } from './support.js';

const CREDITS = 10_000_000n;
const REPORT_COST = 200_000n;
const TIER0_COST = 1_000n;

const suite = useLlmGateway({
  credits: CREDITS,
  llmTimeoutMs: 5_000,
  listen: true,
  dataset: { agents: 3, feedbacksPerAgent: 5, validationsPerAgent: 2 },
});

checkLedgerAfterEach(() => [suite.gateway]);

const withKey =
  (apiKey: string): typeof fetch =>
  (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${apiKey}`);
    return fetch(input, { ...init, headers });
  };

describe('A2A 1.0 streaming, @a2a-js/sdk 1.3', () => {
  const part = (content: NonNullable<Part['content']>): Part => ({ content, metadata: undefined, filename: '', mediaType: '' });
  const message = (parts: Part[]): Message => ({
    messageId: randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  });

  async function connect(): Promise<Client> {
    const fetchImpl = withKey(suite.key);
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      }),
    );
    return factory.createFromUrl(suite.baseUrl);
  }

  /** The SDK's events as [kind, state] pairs, whatever shape each has. */
  function describeEvent(event: any): [string, string] {
    const payload = event?.payload ?? { $case: 'unknown', value: event };
    const value = payload.value;
    if (payload.$case === 'task') return ['task', TaskState[value.status?.state] ?? String(value.status?.state)];
    if (payload.$case === 'statusUpdate') return ['status', TaskState[value.status?.state] ?? String(value.status?.state)];
    if (payload.$case === 'artifactUpdate') return ['artifact', value.artifact?.artifactId ?? ''];
    return [String(payload.$case), JSON.stringify(value).slice(0, 80)];
  }

  it('streams a Tier 3 report: the task working, the artifact, then the final completed status; charged once', async () => {
    const client = await connect();
    const card = (await (await fetch(`${suite.baseUrl}/.well-known/agent-card.json`)).json()) as { capabilities: { streaming: boolean } };
    expect(card.capabilities.streaming).toBe(true);
    suite.llm.script('wait');
    const events: [string, string][] = [];
    const stream = client.sendMessageStream({
      tenant: '',
      configuration: undefined,
      metadata: undefined,
      message: message([part({ $case: 'data', value: { tool: 'getReputationReport', arguments: { agentId: 1 } } })]),
    });
    for await (const event of stream) {
      events.push(describeEvent(event));
      if (events.length === 1) {
        await suite.llm.received(1);
        suite.llm.release();
      }
    }
    expect(events[0]).toEqual(['task', 'TASK_STATE_WORKING']);
    expect(events.at(-2)?.[0]).toBe('artifact');
    expect(events.at(-1)).toEqual(['status', 'TASK_STATE_COMPLETED']);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });
  });

  it('streams an instant Tier 0 call as the completed task, its artifact and the final status', async () => {
    const client = await connect();
    const events: [string, string][] = [];
    for await (const event of client.sendMessageStream({
      tenant: '',
      configuration: undefined,
      metadata: undefined,
      message: message([part({ $case: 'data', value: { tool: 'getAgentProfile', arguments: { agentId: 1 } } })]),
    })) {
      events.push(describeEvent(event));
    }
    expect(events.map(([kind]) => kind)).toEqual(['task', 'artifact', 'status']);
    expect(events.at(-1)).toEqual(['status', 'TASK_STATE_COMPLETED']);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS - TIER0_COST, reserved: 0n });
  });

  it('SubscribeToTask re-attaches to a running task and sees it complete; a finished task answers -32004', async () => {
    suite.llm.script('wait');
    const accepted = await call(
      suite.gateway,
      request('SendMessage', {
        ...v1Send([v1Data(toolCall('getReputationReport', { agentId: 2 }))]),
        configuration: { returnImmediately: true },
      }),
      suite.key,
    );
    const taskId = accepted.body.result.task.id as string;
    await suite.llm.received(1);
    const client = await connect();
    const events: [string, string][] = [];
    for await (const event of client.resubscribeTask({ tenant: '', id: taskId })) {
      events.push(describeEvent(event));
      if (events.length === 1) suite.llm.release();
    }
    expect(events[0]).toEqual(['task', 'TASK_STATE_WORKING']);
    expect(events.at(-1)).toEqual(['status', 'TASK_STATE_COMPLETED']);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });

    const resubscribe = request('SubscribeToTask', { id: taskId });
    const again = expectStreamedError(await call(suite.gateway, resubscribe, suite.key), -32004, resubscribe.id as number);
    expect(again.data?.reason).toBe('task_finished');
  });
});

describe('A2A 0.3 streaming, @a2a-js/sdk 0.3.14', () => {
  const send = (parts: MessageSendParams['message']['parts']): MessageSendParams => ({
    message: { kind: 'message', messageId: randomUUID(), role: 'user', parts },
  });
  const connect = () => A2AClient.fromCardUrl(`${suite.baseUrl}/.well-known/agent-card.json`, { fetchImpl: withKey(suite.key) });

  it('message/stream yields the task, status-updates, the artifact-update and a final completed status-update', async () => {
    const client = await connect();
    suite.llm.script('wait');
    const events: any[] = [];
    for await (const event of client.sendMessageStream(
      send([{ kind: 'data', data: { tool: 'getReputationReport', arguments: { agentId: 1 } } }]),
    )) {
      events.push(event);
      if (events.length === 1) {
        await suite.llm.received(1);
        suite.llm.release();
      }
    }
    expect(events[0]).toMatchObject({ kind: 'task', status: { state: 'working' } });
    expect(events.at(-2)).toMatchObject({ kind: 'artifact-update', artifact: { parts: [{ kind: 'data' }] } });
    expect(events.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect(events.slice(0, -1).every((event) => event.final !== true)).toBe(true);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });
  });

  it('tasks/resubscribe re-attaches to a running task', async () => {
    suite.llm.script('wait');
    const client = await connect();
    const accepted = await client.sendMessage({
      ...send([{ kind: 'data', data: { tool: 'getReputationReport', arguments: { agentId: 3 } } }]),
      configuration: { blocking: false },
    });
    const taskId = (accepted as { result: { id: string } }).result.id;
    await suite.llm.received(1);
    const events: any[] = [];
    for await (const event of client.resubscribeTask({ id: taskId })) {
      events.push(event);
      if (events.length === 1) suite.llm.release();
    }
    expect(events[0]).toMatchObject({ kind: 'task', id: taskId });
    expect(events.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS - REPORT_COST, reserved: 0n });
  });
});

describe('streaming refusals', () => {
  it('a streaming method inside a batch is refused before it runs (-32600 in the batch answer)', async () => {
    const batch = await call(
      suite.gateway,
      [request('SendStreamingMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))]))],
      suite.key,
    );
    expect(batch.body).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: -32600 }) })]);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS, reserved: 0n });
  });

  it('a refused streaming call answers a stream of one event holding the error, in both generations', async () => {
    const poor = await suite.gateway.createOrg({ credits: 5_000n });
    const report = toolCall('getReputationReport', { agentId: 1 });
    for (const [method, params, headers] of [
      ['SendStreamingMessage', v1Send([v1Data(report)]), {}],
      ['message/stream', v03Send([v03Data(report)]), {}],
    ] as const) {
      const body = request(method, params);
      const error = expectStreamedError(await call(suite.gateway, body, poor.apiKey.key, headers), -32004, body.id as number);
      expect(error.data).toEqual({ reason: 'insufficient_credits', required: '200000', available: '5000' });
    }
    // bad params, an unknown tool, a finished task, a version the gateway does not speak: each as its one event
    const invalid = expectStreamedError(await call(suite.gateway, request('SendStreamingMessage', { message: 'nope' }), suite.key), -32602);
    expect(invalid.data?.issues).toBeDefined();
    const unknown = expectStreamedError(
      await call(suite.gateway, request('message/stream', v03Send([v03Data(toolCall('noSuchTool'))])), suite.key),
      -32602,
    );
    expect(unknown.data?.reason).toBe('unknown_tool');
    expectStreamedError(await call(suite.gateway, request('tasks/resubscribe', { id: randomUUID() }), suite.key), -32001);
    // with A2A-Version 1.0 the event holds the 1.0 error shape
    const v1 = expectStreamedError(
      await call(suite.gateway, request('SendStreamingMessage', v1Send([v1Data(report)])), poor.apiKey.key, { 'a2a-version': '1.0' }),
      -32004,
    );
    expect(errorDetails(v1).info).toMatchObject({
      reason: 'UNSUPPORTED_OPERATION',
      metadata: { reason: 'insufficient_credits', required: '200000' },
    });
    expect((await account(suite.gateway, poor.orgId))?.balance).toBe(5_000n);
    expect(await account(suite.gateway, suite.orgId)).toEqual({ balance: CREDITS, reserved: 0n });
  });
});
