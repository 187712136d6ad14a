/**
 * The official A2A SDKs, unchanged, against the gateway on a real loopback port:
 * `@a2a-js/sdk` 1.3 (A2A 1.0, card discovery through `supportedInterfaces`) and
 * `@a2a-js/sdk` 0.3.14 installed as `a2a-sdk-v03` (A2A 0.3, card `url`).
 */
import { randomUUID } from 'node:crypto';
import { type Message, type Part, Role, type Task, TaskState } from '@a2a-js/sdk';
import { type Client, ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import {
  isJsonRpcError,
  JsonRpcTaskNotCancelableError,
  JsonRpcTaskNotFoundError,
  JsonRpcUnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import type { MessageSendParams, Task as V03Task } from 'a2a-sdk-v03';
import { A2AClient } from 'a2a-sdk-v03/client';
import { describe, expect, it } from 'vitest';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { account, COST, ledger } from './support.js';

interface SeenRequest {
  url: string;
  method: string;
  authorization: string | null;
  a2aVersion: string | null;
  status: number;
}

/** A fetch that adds the org's API key to every request and remembers what went over the wire. */
function authenticatingFetch(apiKey: string, seen: SeenRequest[]): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${apiKey}`);
    const response = await fetch(input, { ...init, headers });
    seen.push({
      url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      method: init?.method ?? 'GET',
      authorization: headers.get('authorization'),
      a2aVersion: headers.get('a2a-version'),
      status: response.status,
    });
    return response;
  };
}

const suite = useSeededGateway({ listen: true });

describe('A2A 1.0: @a2a-js/sdk 1.3 ClientFactory', () => {
  function sdkPart(content: NonNullable<Part['content']>): Part {
    return { content, metadata: undefined, filename: '', mediaType: '' };
  }

  function sdkMessage(parts: Part[], taskId = ''): Message {
    return {
      messageId: randomUUID(),
      contextId: '',
      taskId,
      role: Role.ROLE_USER,
      parts,
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    };
  }

  async function connect(apiKey: string, seen: SeenRequest[]): Promise<Client> {
    const fetchImpl = authenticatingFetch(apiKey, seen);
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      }),
    );
    return factory.createFromUrl(suite.baseUrl);
  }

  function asTask(result: Message | Task): Task {
    expect('status' in result, 'SendMessage answered with a Task').toBe(true);
    return result as Task;
  }

  it('discovers the card, completes a paid tool call, and gets and lists the task; charged exactly the tool cost', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const seen: SeenRequest[] = [];
    const client = await connect(org.apiKey.key, seen);
    expect(client.protocolVersion).toBe('1.0');

    // discovery read the well-known card, then the 1.0 interface points at /a2a
    expect(seen[0]?.url).toBe(`${suite.baseUrl}/.well-known/agent-card.json`);
    expect(seen[0]?.status).toBe(200);

    const before = await account(suite.gateway, org.orgId);
    const task = asTask(
      await client.sendMessage({
        tenant: '',
        configuration: undefined,
        metadata: undefined,
        message: sdkMessage([sdkPart({ $case: 'data', value: { tool: 'getAgentProfile', arguments: { agentId: 1 } } })]),
      }),
    );
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(task.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(task.artifacts).toHaveLength(1);
    const content = task.artifacts[0]?.parts[0]?.content;
    expect(content?.$case).toBe('data');
    expect(content?.value).toMatchObject({ agent_id: 1, name: 'Demo Agent 1' });
    expect(task.metadata).toMatchObject({ tool: 'getAgentProfile', cost_micro_usdc: '1000', charged: true });
    expect(task.history[0]?.role).toBe(Role.ROLE_USER);

    const after = await account(suite.gateway, org.orgId);
    expect(after?.balance).toBe((before?.balance ?? 0n) - COST.getAgentProfile);
    expect(after?.reserved).toBe(0n);
    const entries = (await ledger(suite.gateway, org.orgId)).filter((row) => row.task_id === task.id);
    expect(entries.map((row) => [row.kind, row.amount, row.reserved_delta])).toEqual([['charge', -1_000n, 0n]]);

    const fetched = await client.getTask({ tenant: '', id: task.id });
    expect(fetched.id).toBe(task.id);
    expect(fetched.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(fetched.artifacts[0]?.parts[0]?.content?.value).toMatchObject({ agent_id: 1 });

    const listed = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    expect(listed.tasks.map((t) => t.id)).toContain(task.id);
    expect(listed.totalSize).toBe(1);
    expect(listed.nextPageToken).toBe('');

    // every JSON-RPC call carried the key and announced A2A 1.0
    const rpcCalls = seen.filter((r) => r.method === 'POST');
    expect(rpcCalls).toHaveLength(3);
    for (const r of rpcCalls) {
      expect(r.url).toBe(`${suite.baseUrl}/a2a`);
      expect(r.authorization).toBe(`Bearer ${org.apiKey.key}`);
      expect(r.a2aVersion).toBe('1.0');
      expect(r.status).toBe(200);
    }
  });

  it('a text-only message opens an input-required task; cancel → canceled; cancel again throws -32002; nothing charged', async () => {
    const org = await suite.gateway.createOrg({ credits: 50_000n });
    const client = await connect(org.apiKey.key, []);
    const before = await account(suite.gateway, org.orgId);

    const task = asTask(
      await client.sendMessage({
        tenant: '',
        configuration: undefined,
        metadata: undefined,
        message: sdkMessage([sdkPart({ $case: 'text', value: 'what can you do?' })]),
      }),
    );
    expect(task.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(task.status?.message?.role).toBe(Role.ROLE_AGENT);
    const instructions = task.status?.message?.parts.find((p) => p.content?.$case === 'text')?.content?.value;
    expect(instructions).toContain('getAgentProfile');

    const canceled = await client.cancelTask({ tenant: '', id: task.id, metadata: undefined });
    expect(canceled.id).toBe(task.id);
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);

    const again = await client.cancelTask({ tenant: '', id: task.id, metadata: undefined }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(again).toBeInstanceOf(JsonRpcTaskNotCancelableError);
    expect(isJsonRpcError(again)).toBe(true);
    if (!isJsonRpcError(again)) return;
    expect(again.envelopeCode).toBe(-32002);
    // A2A 1.0 §9.5: data is an array holding a google.rpc.ErrorInfo; our details are its metadata
    expect(again.data).toEqual([
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'TASK_NOT_CANCELABLE',
        domain: 'a2a-protocol.org',
        metadata: { taskId: task.id, state: 'canceled' },
      },
    ]);

    expect((await client.getTask({ tenant: '', id: task.id })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    expect(await account(suite.gateway, org.orgId)).toEqual(before);
    expect(await ledger(suite.gateway, org.orgId)).toHaveLength(1); // the grant only
  });

  it("a refused paid call reads as the SDK's UnsupportedOperationError with the credit details in its ErrorInfo, streaming or not", async () => {
    const poor = await suite.gateway.createOrg({ credits: 5_000n });
    const client = await connect(poor.apiKey.key, []);
    const before = await account(suite.gateway, poor.orgId);
    const params = () => ({
      tenant: '',
      configuration: undefined,
      metadata: undefined,
      message: sdkMessage([sdkPart({ $case: 'data', value: { tool: 'getReputationSummary', arguments: { agentId: 1 } } })]),
    });
    const expectedInfo = {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'UNSUPPORTED_OPERATION',
      domain: 'a2a-protocol.org',
      metadata: { reason: 'insufficient_credits', required: '10000', available: '5000' },
    };

    const sent = await client.sendMessage(params()).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(sent).toBeInstanceOf(JsonRpcUnsupportedOperationError);
    expect(isJsonRpcError(sent) && sent.message).toBe('Insufficient credits');
    expect(isJsonRpcError(sent) && sent.data).toEqual([expectedInfo]);

    // the stream is refused with one event; the SDK throws with the reason, its cause the typed error
    const streamed = await (async () => {
      for await (const event of client.sendMessageStream(params())) throw new Error(`unexpected event ${JSON.stringify(event)}`);
    })().then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(streamed?.message).toContain('Insufficient credits');
    expect(streamed?.message).toContain('-32004');
    expect(streamed?.message).toContain('insufficient_credits');
    expect(streamed?.cause).toBeInstanceOf(JsonRpcUnsupportedOperationError);
    expect((streamed?.cause as { data?: unknown } | undefined)?.data).toEqual([expectedInfo]);

    expect(await account(suite.gateway, poor.orgId)).toEqual(before);
  });

  it("another organization's task is TaskNotFound (-32001) through the SDK", async () => {
    const owner = await suite.gateway.createOrg({ credits: 10_000n });
    const stranger = await suite.gateway.createOrg({ credits: 10_000n });
    const ownerClient = await connect(owner.apiKey.key, []);
    const strangerClient = await connect(stranger.apiKey.key, []);
    const task = asTask(
      await ownerClient.sendMessage({
        tenant: '',
        configuration: undefined,
        metadata: undefined,
        message: sdkMessage([sdkPart({ $case: 'text', value: 'hello' })]),
      }),
    );
    for (const attempt of [
      () => strangerClient.getTask({ tenant: '', id: task.id }),
      () => strangerClient.cancelTask({ tenant: '', id: task.id, metadata: undefined }),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(JsonRpcTaskNotFoundError);
      expect(isJsonRpcError(error) && error.envelopeCode).toBe(-32001);
      expect(isJsonRpcError(error) && error.data).toEqual([
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'TASK_NOT_FOUND',
          domain: 'a2a-protocol.org',
          metadata: { taskId: task.id },
        },
      ]);
    }
    // the stranger's cancel did not touch it
    expect((await ownerClient.getTask({ tenant: '', id: task.id })).status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
  });
});

describe('A2A 0.3: @a2a-js/sdk 0.3.14 A2AClient', () => {
  async function connect(apiKey: string, seen: SeenRequest[] = []): Promise<A2AClient> {
    return A2AClient.fromCardUrl(`${suite.baseUrl}/.well-known/agent-card.json`, {
      fetchImpl: authenticatingFetch(apiKey, seen),
    });
  }

  function send(parts: MessageSendParams['message']['parts'], taskId?: string, messageId = randomUUID()): MessageSendParams {
    return { message: { kind: 'message', messageId, role: 'user', parts, ...(taskId ? { taskId } : {}) } };
  }

  function resultTask(response: { result?: unknown; error?: unknown }): V03Task {
    expect(response.error, JSON.stringify(response.error)).toBeUndefined();
    const task = response.result as V03Task;
    expect(task.kind).toBe('task');
    return task;
  }

  it('message/send with a data part completes a paid task; tasks/get reads it; charged exactly once', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const seen: SeenRequest[] = [];
    const client = await connect(org.apiKey.key, seen);
    const before = await account(suite.gateway, org.orgId);

    const task = resultTask(
      await client.sendMessage(send([{ kind: 'data', data: { tool: 'getAgentProfile', arguments: { agentId: 1 } } }])),
    );
    expect(task.status.state).toBe('completed');
    const part = task.artifacts?.[0]?.parts[0];
    expect(part?.kind).toBe('data');
    expect(part?.kind === 'data' && part.data).toMatchObject({ agent_id: 1 });
    expect(task.history?.[0]).toMatchObject({ kind: 'message', role: 'user' });

    const fetched = resultTask(await client.getTask({ id: task.id }));
    expect(fetched.id).toBe(task.id);
    expect(fetched.status.state).toBe('completed');

    const after = await account(suite.gateway, org.orgId);
    expect(after?.balance).toBe((before?.balance ?? 0n) - COST.getAgentProfile);
    expect(after?.reserved).toBe(0n);

    // the card's 0.3 `url` was followed, with the key on every call
    const rpcCalls = seen.filter((r) => r.method === 'POST');
    expect(rpcCalls.length).toBe(2);
    for (const r of rpcCalls) {
      expect(r.url).toBe(`${suite.baseUrl}/a2a`);
      expect(r.authorization).toBe(`Bearer ${org.apiKey.key}`);
    }
  });

  it('tasks/cancel on a text-opened task → canceled; again → error -32002 (and a completed one is not cancelable)', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    const client = await connect(org.apiKey.key);

    const waiting = resultTask(await client.sendMessage(send([{ kind: 'text', text: 'hi' }])));
    expect(waiting.status.state).toBe('input-required');
    expect(waiting.status.message).toMatchObject({ kind: 'message', role: 'agent' });

    const canceled = resultTask(await client.cancelTask({ id: waiting.id }));
    expect(canceled.status.state).toBe('canceled');

    const again = await client.cancelTask({ id: waiting.id });
    expect('error' in again && again.error.code).toBe(-32002);
    expect('error' in again && again.error.data).toMatchObject({ taskId: waiting.id, state: 'canceled' });

    const done = resultTask(
      await client.sendMessage(send([{ kind: 'data', data: { tool: 'getAgentProfile', arguments: { agentId: 2 } } }])),
    );
    expect(done.status.state).toBe('completed');
    const late = await client.cancelTask({ id: done.id });
    expect('error' in late && late.error.code).toBe(-32002);
    expect(resultTask(await client.getTask({ id: done.id })).status.state).toBe('completed');

    const unknown = await client.getTask({ id: randomUUID() });
    expect('error' in unknown && unknown.error.code).toBe(-32001);
  });

  it('a refused message/stream or tasks/resubscribe throws with the real reason, not a Content-Type complaint', async () => {
    const poor = await suite.gateway.createOrg({ credits: 5_000n });
    const client = await connect(poor.apiKey.key);
    const before = await account(suite.gateway, poor.orgId);
    const failure = async (events: AsyncIterable<unknown>) => {
      try {
        for await (const event of events) return `unexpected event ${JSON.stringify(event)}`;
        return 'the stream ended without an error';
      } catch (error) {
        return (error as Error).message;
      }
    };

    const credits = await failure(
      client.sendMessageStream(send([{ kind: 'data', data: { tool: 'getTrend', arguments: { agentId: 1 } } }])),
    );
    expect(credits).toContain('Insufficient credits');
    expect(credits).toContain('-32004');
    expect(credits).toContain('"reason":"insufficient_credits"');

    const unknownTool = await failure(client.sendMessageStream(send([{ kind: 'data', data: { tool: 'noSuchTool', arguments: {} } }])));
    expect(unknownTool).toContain('-32602');
    expect(unknownTool).toContain('"reason":"unknown_tool"');

    const done = resultTask(
      await client.sendMessage(send([{ kind: 'data', data: { tool: 'getAgentProfile', arguments: { agentId: 1 } } }])),
    );
    const finished = await failure(client.resubscribeTask({ id: done.id }));
    expect(finished).toContain('-32004');
    expect(finished).toContain('"reason":"task_finished"');
    expect((await account(suite.gateway, poor.orgId))?.balance).toBe((before?.balance ?? 0n) - COST.getAgentProfile);
  });

  it('follow-up: a text message opens input-required, a message on that taskId with a tool call completes it, charged once', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const client = await connect(org.apiKey.key);
    const before = await account(suite.gateway, org.orgId);

    const opened = resultTask(await client.sendMessage(send([{ kind: 'text', text: 'reputation of agent 3?' }])));
    expect(opened.status.state).toBe('input-required');

    const followUpId = randomUUID();
    const followUp = send([{ kind: 'data', data: { tool: 'getReputationSummary', arguments: { agentId: 3 } } }], opened.id, followUpId);
    const completed = resultTask(await client.sendMessage(followUp));
    expect(completed.id).toBe(opened.id);
    expect(completed.contextId).toBe(opened.contextId);
    expect(completed.status.state).toBe('completed');
    const part = completed.artifacts?.[0]?.parts[0];
    expect(part?.kind === 'data' && part.data).toMatchObject({ agent_id: 3 });
    // user text, agent instructions, user tool call
    expect(completed.history?.map((m) => m.role)).toEqual(['user', 'agent', 'user']);

    // the same follow-up again is a replay of the same task, not a second charge
    const replay = resultTask(await client.sendMessage(followUp));
    expect(replay.id).toBe(opened.id);
    expect(replay.status.state).toBe('completed');

    const after = await account(suite.gateway, org.orgId);
    expect(after?.balance).toBe((before?.balance ?? 0n) - COST.getReputationSummary);
    const entries = (await ledger(suite.gateway, org.orgId)).filter((row) => row.task_id === opened.id);
    expect(entries.map((row) => row.kind)).toEqual(['reserve', 'capture']);
    expect(entries[1]?.amount).toBe(-COST.getReputationSummary);

    // a finished task takes no more messages
    const closed = await client.sendMessage(
      send([{ kind: 'data', data: { tool: 'getAgentProfile', arguments: { agentId: 3 } } }], opened.id),
    );
    expect('error' in closed && closed.error.code).toBe(-32004);
    expect('error' in closed && closed.error.data).toMatchObject({ reason: 'task_not_accepting_input' });
    expect((await account(suite.gateway, org.orgId))?.balance).toBe(after?.balance);
  });
});
