/**
 * The a2a-x402 extension v0.2 (issue 21) with the official A2A SDK clients, unchanged, on a local
 * chain: `@a2a-js/sdk` 1.3 (A2A 1.0, `A2A-Extensions`) and `@a2a-js/sdk` 0.3.14 as `a2a-sdk-v03`
 * (A2A 0.3, `X-A2A-Extensions`), paying with an x402 client and a viem wallet.
 */
import { randomUUID } from 'node:crypto';
import { type Message, type Part, Role, type Task, TaskState } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  ServiceParameters,
  withA2AExtensions,
} from '@a2a-js/sdk/client';
import type { PaymentPayload, PaymentRequired } from '@x402/core/types';
import type { MessageSendParams, Task as V03Task } from 'a2a-sdk-v03';
import { A2AClient } from 'a2a-sdk-v03/client';
import { sql } from 'drizzle-orm';
import type { LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { X402_EXTENSION_URI } from '../../src/a2a/x402-extension.js';
import { connectMcp } from '../helpers/mcp-client.js';
import {
  a2aToolCall,
  balanceOf,
  bookedForTask,
  fundSettler,
  NETWORK,
  payer,
  useX402Chain,
  useX402Gateway,
  x402ClientOf,
} from './x402-kit.js';

const kit = useX402Chain();
const suite = useX402Gateway(kit);

/** What the payer's wallet signs for the PaymentRequired a task asked with: the x402 project's own client. */
function signPayment(account: LocalAccount, required: PaymentRequired): Promise<PaymentPayload> {
  return x402ClientOf(kit, account).createPaymentPayload(required);
}

const ledgerOf = (taskId: string) => bookedForTask(suite.gateway.database.db, taskId);

interface Seen {
  requestExtensions: string | null;
  responseExtensions: string | null;
  status: number;
}

/** A fetch with no API key that remembers the extension headers sent and echoed; `header` adds the 0.3 activation itself. */
function recordingFetch(seen: Seen[], header?: string): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    if (header) headers.set(header, X402_EXTENSION_URI);
    const response = await fetch(input, { ...init, headers });
    if ((init?.method ?? 'GET') === 'POST') {
      seen.push({
        requestExtensions: headers.get('a2a-extensions') ?? headers.get('x-a2a-extensions'),
        responseExtensions: response.headers.get('a2a-extensions') ?? response.headers.get('x-a2a-extensions'),
        status: response.status,
      });
    }
    return response;
  };
}

describe('the card and the callers the extension leaves alone', () => {
  it('the card declares the extension, not required', async () => {
    const card = (await (await fetch(`${suite.baseUrl}/.well-known/agent-card.json`)).json()) as {
      capabilities: { extensions?: { uri: string; required: boolean }[] };
    };
    expect(card.capabilities.extensions).toEqual([expect.objectContaining({ uri: X402_EXTENSION_URI, required: false })]);
    // the same card as an MCP host reads it
    const org = await suite.gateway.createOrg({ credits: 0n });
    const mcp = await connectMcp(suite.baseUrl, { apiKey: org.apiKey.key });
    try {
      const { contents } = await mcp.readResource({ uri: 'a2a-paygate://agent-card' });
      const text = contents[0] && 'text' in contents[0] ? contents[0].text : '';
      expect(JSON.parse(text).capabilities.extensions).toEqual([expect.objectContaining({ uri: X402_EXTENSION_URI })]);
    } finally {
      await mcp.close();
    }
  });

  const call = (headers: Record<string, string>) => a2aToolCall(suite.baseUrl, headers);

  it('without an API key and without the extension: 401 as before', async () => {
    const response = await call({});
    expect(response.status).toBe(401);
    expect(response.headers.get('x-a2a-extensions')).toBeNull();
  });

  it('with an API key the extension changes nothing: the call is paid from credits', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    const response = await call({ authorization: `Bearer ${org.apiKey.key}`, 'X-A2A-Extensions': X402_EXTENSION_URI });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: V03Task };
    expect(body.result.status.state).toBe('completed');
    expect(body.result.metadata).toMatchObject({ charged: true });
    expect(await ledgerOf(body.result.id)).toEqual([{ kind: 'charge', amount: -1_000n }]);
  });
});

describe('A2A 1.0: @a2a-js/sdk 1.3 with A2A-Extensions', () => {
  const activated = { serviceParameters: ServiceParameters.create(withA2AExtensions(X402_EXTENSION_URI)) };

  function sdkMessage(parts: Part[], extra: { taskId?: string; metadata?: Record<string, unknown> } = {}): Message {
    return {
      messageId: randomUUID(),
      contextId: '',
      taskId: extra.taskId ?? '',
      role: Role.ROLE_USER,
      parts,
      metadata: extra.metadata,
      extensions: [],
      referenceTaskIds: [],
    };
  }
  const dataPart = (value: Record<string, unknown>): Part => ({
    content: { $case: 'data', value },
    metadata: undefined,
    filename: '',
    mediaType: '',
  });
  const textPart = (text: string): Part => ({ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' });

  async function connect(seen: Seen[]) {
    const fetchImpl = recordingFetch(seen);
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      }),
    );
    return factory.createFromUrl(suite.baseUrl);
  }

  const asTask = (result: Message | Task): Task => {
    expect('status' in result, 'SendMessage answered with a Task').toBe(true);
    return result as Task;
  };

  type SdkClient = Awaited<ReturnType<typeof connect>>;
  /** SendMessage with the extension activated. */
  const send = (client: SdkClient, message: Message) =>
    client.sendMessage({ tenant: '', configuration: undefined, metadata: undefined, message }, activated);
  /** A call of getReputationSummary for `agentId`, which asks to be paid. */
  const ask = (client: SdkClient, agentId: number) =>
    send(client, sdkMessage([dataPart({ tool: 'getReputationSummary', arguments: { agentId } })]));
  /** `text` on the task `taskId`, submitting `payload` as its payment. */
  const submit = (client: SdkClient, taskId: string, text: string, payload: unknown) =>
    send(
      client,
      sdkMessage([textPart(text)], { taskId, metadata: { 'x402.payment.status': 'payment-submitted', 'x402.payment.payload': payload } }),
    );

  it('asks input-required with payment-required, is paid with payment-submitted, completes with payment-completed and its receipt', async () => {
    const seen: Seen[] = [];
    const client = await connect(seen);
    const account = await payer(kit);
    const before = await balanceOf(kit, kit.treasury);

    const asked = asTask(await ask(client, 3));
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(seen.at(-1)).toMatchObject({ requestExtensions: X402_EXTENSION_URI, responseExtensions: X402_EXTENSION_URI, status: 200 });
    const metadata = asked.status?.message?.metadata as Record<string, unknown>;
    expect(asked.status?.message?.role).toBe(Role.ROLE_AGENT);
    expect(metadata['x402.payment.status']).toBe('payment-required');
    const required = metadata['x402.payment.required'] as PaymentRequired;
    expect(required).toMatchObject({
      x402Version: 2,
      resource: { url: `${suite.baseUrl}/a2a` },
      accepts: [
        { scheme: 'exact', network: NETWORK, amount: '10000', asset: kit.token.address.toLowerCase(), payTo: kit.treasury.toLowerCase() },
      ],
    });
    // nothing in tasks until it is paid: no organization is known yet
    const [waiting] = await suite.gateway.database.db.rows(
      z.object({ n: z.coerce.number() }),
      sql`select count(*) as n from tasks where id = ${asked.id}`,
    );
    expect(waiting?.n).toBe(0);

    const payload = await signPayment(account, required);
    const done = asTask(await submit(client, asked.id, 'Here is the payment authorization.', payload));
    expect(done.id).toBe(asked.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const paid = done.status?.message?.metadata as Record<string, unknown>;
    expect(paid['x402.payment.status']).toBe('payment-completed');
    expect(paid['x402.payment.receipts']).toEqual([expect.objectContaining({ success: true, network: NETWORK })]);
    expect((paid['x402.payment.receipts'] as { transaction: string }[])[0]?.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    // the answer as a keyed call's completed task shows it
    expect(done.artifacts).toHaveLength(1);
    expect(done.artifacts[0]?.parts[0]?.content?.value).toMatchObject({ agent_id: 3 });
    expect(done.metadata).toMatchObject({ tool: 'getReputationSummary', cost_micro_usdc: '10000', charged: true });

    expect((await balanceOf(kit, kit.treasury)) - before).toBe(10_000n);
    expect(await balanceOf(kit, account.address)).toBe(990_000n);
    expect(await ledgerOf(done.id)).toEqual([
      { kind: 'x402_payment', amount: 10_000n },
      { kind: 'charge', amount: -10_000n },
    ]);

    // the offer was taken: the same payment again is refused as the task takes no more messages
    await expect(submit(client, asked.id, 'again', payload)).rejects.toThrow(/takes no more messages/);
    expect((await balanceOf(kit, kit.treasury)) - before).toBe(10_000n);
  });

  it('a tool that fails (an unknown agent) settles nothing: failed, payment-failed, no receipts', async () => {
    const client = await connect([]);
    const account = await payer(kit);
    const asked = asTask(await ask(client, 999_999));
    const required = asked.status?.message?.metadata?.['x402.payment.required'] as PaymentRequired;
    const before = await balanceOf(kit, account.address);
    const failed = asTask(await submit(client, asked.id, 'paid', await signPayment(account, required)));
    expect(failed.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    const metadata = failed.status?.message?.metadata as Record<string, unknown>;
    expect(metadata['x402.payment.status']).toBe('payment-failed');
    expect(metadata['x402.payment.receipts']).toEqual([]);
    expect(metadata['x402.payment.error']).toBeUndefined();
    expect(await balanceOf(kit, account.address)).toBe(before);
    expect(await ledgerOf(failed.id)).toEqual([]);
  });
});

describe('A2A 0.3: @a2a-js/sdk 0.3.14 A2AClient with X-A2A-Extensions', () => {
  async function connect(seen: Seen[] = []): Promise<A2AClient> {
    return A2AClient.fromCardUrl(`${suite.baseUrl}/.well-known/agent-card.json`, { fetchImpl: recordingFetch(seen, 'X-A2A-Extensions') });
  }

  const send = (parts: MessageSendParams['message']['parts'], extra: { taskId?: string; metadata?: Record<string, unknown> } = {}) => ({
    message: { kind: 'message' as const, messageId: randomUUID(), role: 'user' as const, parts, ...extra },
  });

  function resultTask(response: { result?: unknown; error?: unknown }): V03Task {
    expect(response.error, JSON.stringify(response.error)).toBeUndefined();
    const task = response.result as V03Task;
    expect(task.kind).toBe('task');
    return task;
  }

  async function offer(client: A2AClient, agentId = 2) {
    const task = resultTask(
      await client.sendMessage(send([{ kind: 'data', data: { tool: 'getReputationSummary', arguments: { agentId } } }])),
    );
    expect(task.status.state).toBe('input-required');
    expect(task.status.message?.metadata?.['x402.payment.status']).toBe('payment-required');
    return { task, required: task.status.message?.metadata?.['x402.payment.required'] as PaymentRequired };
  }

  const pay = (client: A2AClient, taskId: string, payload: unknown) =>
    client.sendMessage(
      send([{ kind: 'text', text: 'Here is the payment authorization.' }], {
        taskId,
        metadata: { 'x402.payment.status': 'payment-submitted', 'x402.payment.payload': payload },
      }),
    );

  it('pays and completes; the extension is echoed in X-A2A-Extensions', async () => {
    const seen: Seen[] = [];
    const client = await connect(seen);
    const account = await payer(kit);
    const before = await balanceOf(kit, kit.treasury);
    const { task, required } = await offer(client);
    expect(seen.at(-1)).toMatchObject({ responseExtensions: X402_EXTENSION_URI });

    const done = resultTask(await pay(client, task.id, await signPayment(account, required)));
    expect(done.status.state).toBe('completed');
    expect(done.status.message?.metadata).toMatchObject({
      'x402.payment.status': 'payment-completed',
      'x402.payment.receipts': [{ success: true, network: NETWORK }],
    });
    const part = done.artifacts?.[0]?.parts[0];
    expect(part?.kind === 'data' && part.data).toMatchObject({ agent_id: 2 });
    expect((await balanceOf(kit, kit.treasury)) - before).toBe(10_000n);
    expect(await ledgerOf(done.id)).toEqual([
      { kind: 'x402_payment', amount: 10_000n },
      { kind: 'charge', amount: -10_000n },
    ]);
  });

  it('a payload replayed on a second offer fails it with DUPLICATE_NONCE and pays once', async () => {
    const client = await connect();
    const account = await payer(kit);
    const first = await offer(client);
    const payload = await signPayment(account, first.required);
    expect(resultTask(await pay(client, first.task.id, payload)).status.state).toBe('completed');
    const before = await balanceOf(kit, kit.treasury);

    const second = await offer(client);
    const failed = resultTask(await pay(client, second.task.id, payload));
    expect(failed.status.state).toBe('failed');
    expect(failed.status.message?.metadata).toMatchObject({
      'x402.payment.status': 'payment-failed',
      'x402.payment.error': 'DUPLICATE_NONCE',
      'x402.payment.receipts': [{ success: false, transaction: '', network: NETWORK }],
    });
    expect(await balanceOf(kit, kit.treasury)).toBe(before);
    expect(await ledgerOf(second.task.id)).toEqual([]);
  });

  it('a settlement that fails (the settler has no gas) withholds the answer: failed, SETTLEMENT_FAILED, nothing paid or booked', async () => {
    const client = await connect();
    const account = await payer(kit);
    const { task, required } = await offer(client);
    const payload = await signPayment(account, required);
    const settler = privateKeyToAccount(suite.settlerKey).address;
    await kit.chain.testClient.setBalance({ address: settler, value: 0n });
    try {
      const failed = resultTask(await pay(client, task.id, payload));
      expect(failed.status.state).toBe('failed');
      expect(failed.status.message?.metadata).toMatchObject({
        'x402.payment.status': 'payment-failed',
        'x402.payment.error': 'SETTLEMENT_FAILED',
        'x402.payment.receipts': [{ success: false, network: NETWORK }],
      });
      expect(failed.artifacts ?? []).toEqual([]);
      expect(JSON.stringify(failed)).not.toContain(settler.slice(2).toLowerCase());
    } finally {
      await fundSettler(kit, suite.settlerKey);
    }
    expect(await balanceOf(kit, account.address)).toBe(1_000_000n);
    expect(await ledgerOf(task.id)).toEqual([]);
  });

  it('two payments sent at once for one task: one takes the offer and pays, the other is told the task takes no more messages', async () => {
    const client = await connect();
    const account = await payer(kit);
    const { task, required } = await offer(client);
    const before = await balanceOf(kit, kit.treasury);
    const answers = await Promise.all([
      pay(client, task.id, await signPayment(account, required)),
      pay(client, task.id, await signPayment(account, required)),
    ]);
    const completed = answers.filter((answer) => 'result' in answer && (answer.result as V03Task).status.state === 'completed');
    const refused = answers.filter((answer) => 'error' in answer);
    expect(completed).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0] as { error: unknown }).error).toMatchObject({ code: -32004, data: { reason: 'task_not_accepting_input' } });
    expect((await balanceOf(kit, kit.treasury)) - before).toBe(10_000n);
  });

  it('an offer past its time takes no payment and nothing is paid', async () => {
    const client = await connect();
    const account = await payer(kit);
    const { task, required } = await offer(client);
    await suite.gateway.database.db.run(sql`update x402_offers set expires_at = now() - interval '1 second' where task_id = ${task.id}`);
    const before = await balanceOf(kit, account.address);
    const late = await pay(client, task.id, await signPayment(account, required));
    expect('error' in late && late.error).toMatchObject({ code: -32004, data: { reason: 'payment_offer_expired', taskId: task.id } });
    expect(await balanceOf(kit, account.address)).toBe(before);
  });

  it('a payload that is not an x402 payment fails the task with INVALID_SIGNATURE', async () => {
    const client = await connect();
    const { task } = await offer(client);
    const failed = resultTask(await pay(client, task.id, { x402Version: 2, nonsense: 'x'.repeat(100) }));
    expect(failed.status.state).toBe('failed');
    expect(failed.status.message?.metadata).toMatchObject({ 'x402.payment.error': 'INVALID_SIGNATURE' });
  });

  it('payment-rejected cancels the task; it takes no payment after; an unknown task is TaskNotFound', async () => {
    const client = await connect();
    const account = await payer(kit);
    const { task, required } = await offer(client);
    const rejected = resultTask(
      await client.sendMessage(
        send([{ kind: 'text', text: 'no thanks' }], { taskId: task.id, metadata: { 'x402.payment.status': 'payment-rejected' } }),
      ),
    );
    expect(rejected.status.state).toBe('canceled');
    expect(rejected.status.message?.metadata).toMatchObject({ 'x402.payment.status': 'payment-rejected' });

    const late = await pay(client, task.id, await signPayment(account, required));
    expect('error' in late && late.error).toMatchObject({ code: -32004, data: { reason: 'task_not_accepting_input', state: 'canceled' } });

    const unknown = await pay(client, randomUUID(), await signPayment(account, required));
    expect('error' in unknown && unknown.error).toMatchObject({ code: -32001 });
  });

  it('a call with no tool call, or a message on the task with no payment status, is refused as invalid params', async () => {
    const client = await connect();
    const none = await client.sendMessage(send([{ kind: 'text', text: 'hello' }]));
    expect('error' in none && none.error).toMatchObject({ code: -32602, data: { reason: 'no_tool_call' } });
    const { task } = await offer(client);
    const silent = await client.sendMessage(send([{ kind: 'text', text: 'hm' }], { taskId: task.id }));
    expect('error' in silent && silent.error).toMatchObject({ code: -32602, data: { reason: 'x402_status_missing' } });
  });
});
