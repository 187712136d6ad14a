/**
 * The JSON-RPC 2.0 / A2A surface on POST /a2a, raw: one block per row of DESIGN.md's error table,
 * then the envelope (batches, notifications, ids), idempotency by messageId, the two wire
 * generations, history, listing, versions, the public routes and the money around failures.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createApiKey, revokeApiKey } from '../../src/auth/api-keys.js';
import { createOrganization, type NewOrganization } from '../../src/auth/organizations.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { createTestDatabase } from '../helpers/database.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { testWalletAuth } from '../helpers/wallet-auth.js';
import { createToolRegistry } from '../../src/tools/registry.js';
import { createLeases } from '../../src/tasks/leases.js';
import {
  account,
  call,
  COST,
  ENABLED_TOOLS,
  expectResult,
  expectRpcError,
  ledger,
  orgWithoutCreditAccount,
  errorDetails,
  request,
  taskCount,
  toolCall,
  v03Data,
  v03Send,
  v03Text,
  v1Data,
  v1Send,
  v1Text,
  type Reply,
  type RpcAnswer,
} from './support.js';

const LIMIT_BYTES = 100 * 1024;

let gateway: TestGateway;
let org: NewOrganization;
let key: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  await seedDemoData(gateway.database.db, { now: new Date() });
  org = await gateway.createOrg({ name: 'main org', credits: 10_000_000n });
  key = org.apiKey.key;
});

afterAll(async () => {
  await gateway?.close();
});

checkLedgerAfterEach(() => [gateway]);

const rpc = (method: string, params?: unknown, apiKey: string = key, headers?: Record<string, string>) =>
  call(gateway, request(method, params), apiKey, headers);

/** A completed paid task for `apiKey` (v1 SendMessage), returned in its v1 shape. */
async function completedTask(apiKey: string = key, tool = 'getAgentProfile', args: Record<string, unknown> = { agentId: 1 }) {
  const task = expectResult(await rpc('SendMessage', v1Send([v1Data(toolCall(tool, args))]), apiKey)).task;
  expect(task.status.state).toBe('TASK_STATE_COMPLETED');
  return task;
}

/** A free task waiting for input (v1 SendMessage with text only). */
async function waitingTask(apiKey: string = key) {
  const task = expectResult(await rpc('SendMessage', v1Send([v1Text('hello')]), apiKey)).task;
  expect(task.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
  return task;
}

async function moneyOf(orgId: string) {
  return { account: await account(gateway, orgId), ledger: await ledger(gateway, orgId), tasks: await taskCount(gateway, orgId) };
}

describe('-32700: the body is not JSON', () => {
  it.each([
    ['plain text', 'this is not json'],
    ['a truncated object', '{"jsonrpc":"2.0","id":1,"method":"ListTasks"'],
    ['a truncated batch', '[{"jsonrpc":"2.0","id":1,"method":"ListTasks"},'],
    ['an empty body', ''],
    ['single quotes', "{'jsonrpc':'2.0','id':1,'method':'ListTasks'}"],
  ])('%s → -32700 with id null and a detail, over HTTP 200', async (_name, body) => {
    const before = await taskCount(gateway, org.orgId);
    const reply = await call(gateway, body, key);
    const error = expectRpcError(reply, -32700);
    expect(reply.body.id).toBeNull();
    expect(typeof error.data?.detail).toBe('string');
    expect(reply.headers.get('content-type')).toMatch(/application\/json/);
    expect(await taskCount(gateway, org.orgId)).toBe(before);
  });
});

describe('-32600: not a JSON-RPC 2.0 request', () => {
  it.each([
    ['jsonrpc "1.0"', { jsonrpc: '1.0', id: 7, method: 'ListTasks' }, 7, /jsonrpc/],
    ['jsonrpc 2 (a number)', { jsonrpc: 2, id: 'seven', method: 'ListTasks' }, 'seven', /jsonrpc/],
    ['no jsonrpc member', { id: 8, method: 'ListTasks' }, 8, /jsonrpc/],
    ['no method', { jsonrpc: '2.0', id: 9 }, 9, /method/],
    ['an empty method', { jsonrpc: '2.0', id: 10, method: '' }, 10, /method/],
    ['a numeric method', { jsonrpc: '2.0', id: 11, method: 42 }, 11, /method/],
    ['an object id', { jsonrpc: '2.0', id: { a: 1 }, method: 'ListTasks' }, null, /id/],
    ['an array id', { jsonrpc: '2.0', id: [1], method: 'ListTasks' }, null, /id/],
    ['a boolean id', { jsonrpc: '2.0', id: true, method: 'ListTasks' }, null, /id/],
    ['a string id over 200 characters (it would be echoed in every answer)', { jsonrpc: '2.0', id: 'i'.repeat(201), method: 'ListTasks' }, null, /at most 200/],
    ['string params', { jsonrpc: '2.0', id: 12, method: 'ListTasks', params: 'x' }, 12, /params/],
    ['numeric params', { jsonrpc: '2.0', id: 13, method: 'ListTasks', params: 5 }, 13, /params/],
    ['a bare number', 42, null, /object/],
    ['a bare string', 'hello', null, /object/],
    ['null', null, null, /object/],
  ])('%s → -32600', async (_name, body, expectedId, detail) => {
    const reply = await call(gateway, JSON.stringify(body), key);
    const error = expectRpcError(reply, -32600);
    expect(reply.body.id).toBe(expectedId);
    expect(error.message).toBe('Invalid Request');
    expect(String(error.data?.detail)).toMatch(detail);
  });

  it('an empty batch → a single -32600 error object (not an array) with id null', async () => {
    const reply = await call(gateway, '[]', key);
    expect(Array.isArray(reply.body)).toBe(false);
    const error = expectRpcError(reply, -32600);
    expect(reply.body.id).toBeNull();
    expect(String(error.data?.detail)).toMatch(/at least one/);
  });

  it('a batch of non-requests → one -32600 per element, in order, next to the valid one', async () => {
    const reply = await call<RpcAnswer[]>(gateway, [1, 'x', { jsonrpc: '2.0', id: 'ok', method: 'ListTasks' }], key);
    expect(reply.status).toBe(200);
    expect(reply.body).toHaveLength(3);
    expect(reply.body[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect(reply.body[1]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect(reply.body[2]?.id).toBe('ok');
    expect(reply.body[2]?.result).toBeDefined();
  });

  it('a batch of more than 100 requests → -32600 and none of them runs', async () => {
    const before = await taskCount(gateway, org.orgId);
    const batch = Array.from({ length: 101 }, () => request('SendMessage', v1Send([v1Text('hi')])));
    const reply = await call(gateway, batch, key);
    const error = expectRpcError(reply, -32600);
    expect(reply.body.id).toBeNull();
    expect(String(error.data?.detail)).toMatch(/100/);
    expect(await taskCount(gateway, org.orgId)).toBe(before);
  });

  describe('a body over 100 KB → HTTP 413 with a JSON-RPC -32600', () => {
    const oversized = JSON.stringify(request('SendMessage', v1Send([v1Text('x'.repeat(LIMIT_BYTES + 10))])));

    function expectTooLarge(status: number, body: RpcAnswer) {
      expect(status).toBe(413);
      expect(body).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32600,
          message: expect.any(String),
          data: { reason: 'body_too_large', limitBytes: LIMIT_BYTES },
        },
      });
    }

    it('with a Content-Length header', async () => {
      const before = await taskCount(gateway, org.orgId);
      const reply = await call(gateway, oversized, key);
      expectTooLarge(reply.status, reply.body);
      expect(reply.headers.get('content-type')).toMatch(/application\/json/);
      expect(await taskCount(gateway, org.orgId)).toBe(before);
    });

    it('streamed without a Content-Length', async () => {
      const bytes = new TextEncoder().encode(oversized);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0; offset < bytes.length; offset += 8192) controller.enqueue(bytes.subarray(offset, offset + 8192));
          controller.close();
        },
      });
      const req = new Request('http://localhost/a2a', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body,
        duplex: 'half',
      } as RequestInit);
      expect(req.headers.has('content-length')).toBe(false);
      const before = await taskCount(gateway, org.orgId);
      const response = await gateway.app.request(req);
      expectTooLarge(response.status, (await response.json()) as RpcAnswer);
      expect(await taskCount(gateway, org.orgId)).toBe(before);
    });

    it('chunked over a real socket (Transfer-Encoding: chunked, no Content-Length)', async () => {
      const baseUrl = gateway.baseUrl || (await gateway.listen());
      const before = await taskCount(gateway, org.orgId);
      const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(
          `${baseUrl}/a2a`,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${key}`,
              'transfer-encoding': 'chunked',
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        const buffer = Buffer.from(oversized);
        for (let offset = 0; offset < buffer.length; offset += 8192) req.write(buffer.subarray(offset, offset + 8192));
        req.end();
      });
      expectTooLarge(reply.status, JSON.parse(reply.text) as RpcAnswer);
      expect(await taskCount(gateway, org.orgId)).toBe(before);
    });

    it('exactly 100 KB is still served; one byte more is refused', async () => {
      const atLimit = JSON.stringify(request('ListTasks', {})).padEnd(LIMIT_BYTES, ' ');
      expect(Buffer.byteLength(atLimit)).toBe(LIMIT_BYTES);
      expectResult(await call(gateway, atLimit, key));
      const overLimit = `${atLimit} `;
      const reply = await call(gateway, overLimit, key);
      expectTooLarge(reply.status, reply.body);
    });
  });
});

describe('-32601: unknown method', () => {
  it.each(['tasks/list/all', 'sendMessage', 'message/SEND', 'Tasks/Get', 'toString', '__proto__', 'constructor', 'hasOwnProperty'])(
    '%s → -32601 naming the method',
    async (method) => {
      const reply = await call(gateway, { jsonrpc: '2.0', id: `m-${method}`, method, params: {} }, key);
      const error = expectRpcError(reply, -32601);
      expect(reply.body.id).toBe(`m-${method}`);
      expect(error.data).toEqual({ method });
    },
  );
});

describe('-32602: bad params', () => {
  const sendVariants = [
    ['v1 SendMessage', 'SendMessage', (data: unknown) => v1Send([v1Data(data)])],
    ['v0.3 message/send', 'message/send', (data: unknown) => v03Send([v03Data(data)])],
  ] as const;

  describe.each(sendVariants)('%s', (_label, method, paramsFor) => {
    it('an unknown tool → data.validTools lists exactly the enabled tools; nothing charged', async () => {
      const before = await moneyOf(org.orgId);
      for (const name of ['noSuchTool', 'getagentprofile', 'GetAgentProfile']) {
        const error = expectRpcError(await rpc(method, paramsFor(toolCall(name, { agentId: 1 }))), -32602);
        expect(error.data).toMatchObject({ reason: 'unknown_tool', tool: name });
        expect(error.data?.validTools).toEqual([...ENABLED_TOOLS]);
      }
      expect(await moneyOf(org.orgId)).toEqual(before);
    });

    it('the disabled getReputationReport → reason tool_disabled, and it is not among validTools; nothing charged', async () => {
      const before = await moneyOf(org.orgId);
      const error = expectRpcError(
        await rpc(method, paramsFor(toolCall('getReputationReport', { agentId: 1 }))),
        -32602,
      );
      expect(error.data).toMatchObject({ reason: 'tool_disabled', tool: 'getReputationReport' });
      expect(typeof error.data?.why).toBe('string');
      expect(error.data?.validTools).toEqual([...ENABLED_TOOLS]);
      expect(error.data?.validTools).not.toContain('getReputationReport');
      expect(await moneyOf(org.orgId)).toEqual(before);
    });

    it.each([
      ['getAgentProfile', {}, 'agentId'],
      ['getAgentProfile', { agentId: -1 }, 'agentId'],
      ['getAgentProfile', { agentId: 'abc' }, 'agentId'],
      ['getAgentProfile', { agentId: 1.5 }, 'agentId'],
      ['getAgentProfile', { agentId: '99999999999999999999' }, 'agentId'],
      ['getAgentProfile', { agentId: 1, unexpected: true }, undefined],
      ['getTrend', { agentId: 1, period: '400d' }, 'period'],
      ['getTrend', { agentId: 1, period: 'weekly' }, 'period'],
      ['getMyFeedbacks', { agentId: 1, limit: 0 }, 'limit'],
      ['getValidationHistory', { agentId: 1, offset: -1 }, 'offset'],
    ])('%s with %j fails its schema → data.issues; nothing charged', async (tool, args, path) => {
      const before = await moneyOf(org.orgId);
      const error = expectRpcError(await rpc(method, paramsFor(toolCall(tool, args))), -32602);
      expect(error.data).toMatchObject({ reason: 'invalid_arguments', tool });
      const issues = error.data?.issues as Array<{ path: string; message: string }>;
      expect(issues.length).toBeGreaterThan(0);
      for (const issue of issues) {
        expect(typeof issue.path).toBe('string');
        expect(typeof issue.message).toBe('string');
      }
      if (path) expect(issues.map((issue) => issue.path)).toContain(path);
      expect(await moneyOf(org.orgId)).toEqual(before);
    });

    it('a malformed tool call → invalid_tool_call; two tool calls in one message → multiple_tool_calls', async () => {
      const before = await moneyOf(org.orgId);
      for (const data of [{ tool: '' }, { tool: 42 }, { tool: 'getAgentProfile', arguments: 5 }]) {
        const error = expectRpcError(await rpc(method, paramsFor(data)), -32602);
        expect(error.data?.reason).toBe('invalid_tool_call');
        expect((error.data?.issues as unknown[]).length).toBeGreaterThan(0);
      }
      const two =
        method === 'SendMessage'
          ? v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 })), v1Data(toolCall('getTrend', { agentId: 1 }))])
          : v03Send([v03Data(toolCall('getAgentProfile', { agentId: 1 })), v03Data(toolCall('getTrend', { agentId: 1 }))]);
      const error = expectRpcError(await rpc(method, two), -32602);
      expect(error.data).toMatchObject({ reason: 'multiple_tool_calls', count: 2 });
      expect(await moneyOf(org.orgId)).toEqual(before);
    });
  });

  const part = { v1: { text: 'hi' }, v03: { kind: 'text', text: 'hi' } };
  const malformed: Array<[string, 'SendMessage' | 'message/send', unknown, string]> = [
    ['no messageId', 'SendMessage', { role: 'ROLE_USER', parts: [part.v1] }, 'message.messageId'],
    ['an empty messageId', 'SendMessage', { messageId: '', role: 'ROLE_USER', parts: [part.v1] }, 'message.messageId'],
    ['no role', 'SendMessage', { messageId: 'a', parts: [part.v1] }, 'message.role'],
    ['role ROLE_AGENT', 'SendMessage', { messageId: 'a', role: 'ROLE_AGENT', parts: [part.v1] }, 'message.role'],
    ['a 0.3 role', 'SendMessage', { messageId: 'a', role: 'user', parts: [part.v1] }, 'message.role'],
    ['no parts', 'SendMessage', { messageId: 'a', role: 'ROLE_USER' }, 'message.parts'],
    ['empty parts', 'SendMessage', { messageId: 'a', role: 'ROLE_USER', parts: [] }, 'message.parts'],
    ['an unknown part kind', 'SendMessage', { messageId: 'a', role: 'ROLE_USER', parts: [{ video: 'x' }] }, 'message.parts.0'],
    ['a part with two contents', 'SendMessage', { messageId: 'a', role: 'ROLE_USER', parts: [{ text: 'a', data: {} }] }, 'message.parts.0'],
    ['no message', 'SendMessage', undefined, 'message'],
    ['no messageId', 'message/send', { kind: 'message', role: 'user', parts: [part.v03] }, 'message.messageId'],
    ['an empty messageId', 'message/send', { kind: 'message', messageId: '', role: 'user', parts: [part.v03] }, 'message.messageId'],
    ['no role', 'message/send', { kind: 'message', messageId: 'a', parts: [part.v03] }, 'message.role'],
    ['role agent', 'message/send', { kind: 'message', messageId: 'a', role: 'agent', parts: [part.v03] }, 'message.role'],
    ['a 1.0 role', 'message/send', { kind: 'message', messageId: 'a', role: 'ROLE_USER', parts: [part.v03] }, 'message.role'],
    ['no parts', 'message/send', { kind: 'message', messageId: 'a', role: 'user' }, 'message.parts'],
    ['empty parts', 'message/send', { kind: 'message', messageId: 'a', role: 'user', parts: [] }, 'message.parts'],
    ['an unknown part kind', 'message/send', { kind: 'message', messageId: 'a', role: 'user', parts: [{ kind: 'video', url: 'x' }] }, 'message.parts.0.kind'],
    ['a part without kind (1.0 style)', 'message/send', { kind: 'message', messageId: 'a', role: 'user', parts: [part.v1] }, 'message.parts.0.kind'],
    ['no message', 'message/send', undefined, 'message'],
  ];

  it.each(malformed)('a message with %s → %s answers -32602 with data.issues at the path', async (_name, method, message, path) => {
    const before = await taskCount(gateway, org.orgId);
    const params = message === undefined ? {} : { message };
    const error = expectRpcError(await rpc(method, params), -32602);
    const issues = error.data?.issues as Array<{ path: string; message: string }>;
    expect(Array.isArray(issues)).toBe(true);
    expect(issues.map((issue) => issue.path), JSON.stringify(issues)).toContain(path);
    expect(await taskCount(gateway, org.orgId)).toBe(before);
  });

  it('params that are not an object (an array) → -32602', async () => {
    const error = expectRpcError(await rpc('GetTask', ['x']), -32602);
    expect(Array.isArray(error.data?.issues)).toBe(true);
  });
});

describe('-32603: internal error, logged with the request id, no stack or SQL in the response', () => {
  it('a broken schema under a live gateway answers -32603 with data.requestId only, and logs the cause with that id', async () => {
    const database = await createTestDatabase();
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = createApp({ db: database.db, log, config: { toolTimeoutMs: 10_000, taskDeadlineSlackMs: 30_000, publicUrl: undefined, settlement: 'by-tool' }, walletAuth: await testWalletAuth(database.db), tools: createToolRegistry(), leases: createLeases({ db: database.db, log, leaseMs: 15_000 }) });
    try {
      const own = await createOrganization(database.db, { name: 'broken', credits: 100_000n });
      // the database loses a table the task store needs (an operator's mistake, not a caller's)
      await database.db.rows(sql`alter table tasks rename to tasks_gone`);
      for (const [requestId, body] of [
        ['trace-list-1', request('ListTasks', {})],
        ['trace-send-2', request('SendMessage', v1Send([v1Text('hi')]))],
        ['trace-get-3', request('tasks/get', { id: randomUUID() })],
      ] as const) {
        const response = await app.request('/a2a', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${own.apiKey.key}`,
            'x-request-id': requestId,
          },
          body: JSON.stringify(body),
        });
        const text = await response.text();
        const reply: Reply = { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
        const error = expectRpcError(reply, -32603);
        expect(reply.body.id).toBe(body.id);
        expect(error).toEqual({ code: -32603, message: 'Internal error', data: { requestId } });
        expect(response.headers.get('x-request-id')).toBe(requestId);
        expect(text).not.toMatch(/tasks_gone|select|relation|stack|\.ts:|Error:/i);

        const logged = lines.find((line) => line.reqId === requestId && line.msg === 'internal error');
        expect(logged, `an error line for ${requestId}`).toBeDefined();
        expect(logged?.level).toBe(50);
        expect(JSON.stringify(logged?.err)).toMatch(/tasks/);
      }
    } finally {
      await database.dispose();
    }
  });
});

describe('-32001: task not found', () => {
  it.each([
    ['an unknown uuid', () => randomUUID()],
    ['a non-uuid id', () => 'not-a-task-id'],
    ['an empty id', () => ''],
    ['a sql-ish id', () => "' or 1=1 --"],
  ])('%s → -32001 on GetTask, CancelTask, tasks/get and tasks/cancel, echoing the id', async (_name, makeId) => {
    const id = makeId();
    for (const method of ['GetTask', 'CancelTask', 'tasks/get', 'tasks/cancel']) {
      const error = expectRpcError(await rpc(method, { id }), -32001);
      expect(error.data).toEqual({ taskId: id });
    }
  });

  it("another organization's task is not found, in any method, and stays untouched", async () => {
    const stranger = await gateway.createOrg({ name: 'stranger', credits: 1_000_000n });
    const waiting = await waitingTask();
    const done = await completedTask();
    const ownerBefore = await moneyOf(org.orgId);
    const strangerBefore = await moneyOf(stranger.orgId);

    for (const task of [waiting, done]) {
      for (const method of ['GetTask', 'CancelTask', 'tasks/get', 'tasks/cancel']) {
        const error = expectRpcError(await rpc(method, { id: task.id }, stranger.apiKey.key), -32001);
        expect(error.data).toEqual({ taskId: task.id });
      }
      // continuing someone else's task is not found either, for both generations
      const v1 = await rpc(
        'SendMessage',
        v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))], { taskId: task.id }),
        stranger.apiKey.key,
      );
      expect(expectRpcError(v1, -32001).data).toEqual({ taskId: task.id });
      const v03 = await rpc(
        'message/send',
        v03Send([v03Data(toolCall('getAgentProfile', { agentId: 1 }))], { taskId: task.id }),
        stranger.apiKey.key,
      );
      expect(expectRpcError(v03, -32001).data).toEqual({ taskId: task.id });
    }
    // the stranger's list does not show them
    const listed = expectResult(await rpc('ListTasks', {}, stranger.apiKey.key));
    expect(listed.totalSize).toBe(0);

    expect(expectResult(await rpc('GetTask', { id: waiting.id })).status.state).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(expectResult(await rpc('GetTask', { id: done.id })).status.state).toBe('TASK_STATE_COMPLETED');
    expect(await moneyOf(org.orgId)).toEqual(ownerBefore);
    expect(await moneyOf(stranger.orgId)).toEqual(strangerBefore);
  });
});

describe('-32002: task not cancelable', () => {
  it('a completed task → -32002 with its state, in both generations; the charge stands', async () => {
    const done = await completedTask();
    const before = await moneyOf(org.orgId);
    for (const method of ['CancelTask', 'tasks/cancel']) {
      const error = expectRpcError(await rpc(method, { id: done.id }), -32002);
      expect(error.data).toEqual({ taskId: done.id, state: 'completed' });
    }
    expect(await moneyOf(org.orgId)).toEqual(before);
    const entries = (await ledger(gateway, org.orgId)).filter((row) => row.task_id === done.id);
    expect(entries.map((row) => row.kind)).toEqual(['charge']);
    expect(expectResult(await rpc('GetTask', { id: done.id })).status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('a canceled task → -32002 (state canceled); a failed one → -32002 (state failed)', async () => {
    const waiting = await waitingTask();
    expect(expectResult(await rpc('CancelTask', { id: waiting.id })).status.state).toBe('TASK_STATE_CANCELED');
    expect(expectRpcError(await rpc('CancelTask', { id: waiting.id }), -32002).data).toEqual({
      taskId: waiting.id,
      state: 'canceled',
    });
    expect(expectRpcError(await rpc('tasks/cancel', { id: waiting.id }), -32002).data).toMatchObject({ state: 'canceled' });

    const failed = expectRpcError(
      await rpc('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 999_999 }))])),
      -32602,
    );
    const failedId = failed.data?.taskId as string;
    expect(expectRpcError(await rpc('CancelTask', { id: failedId }), -32002).data).toEqual({
      taskId: failedId,
      state: 'failed',
    });
  });
});

describe('-32004: credits (and operations the gateway does not offer)', () => {
  it('an organization without a credit account → reason no_credit_account; no task, no ledger, no account appears', async () => {
    const bare = await orgWithoutCreditAccount(gateway);
    for (const [method, params] of [
      ['SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])],
      ['message/send', v03Send([v03Data(toolCall('getReputationSummary', { agentId: 1 }))])],
    ] as const) {
      const error = expectRpcError(await rpc(method, params, bare.apiKey.key), -32004);
      expect(error.data).toEqual({ reason: 'no_credit_account' });
    }
    expect(await account(gateway, bare.orgId)).toBeUndefined();
    expect(await ledger(gateway, bare.orgId)).toEqual([]);
    expect(await taskCount(gateway, bare.orgId)).toBe(0);
    // the key itself is fine: free methods work
    expect(expectResult(await rpc('ListTasks', {}, bare.apiKey.key)).totalSize).toBe(0);
  });

  it('available < cost → reason insufficient_credits with required and available as strings; nothing moves', async () => {
    const poor = await gateway.createOrg({ name: 'poor', credits: 5_000n });
    const before = await moneyOf(poor.orgId);
    for (const [method, params] of [
      ['SendMessage', v1Send([v1Data(toolCall('getReputationSummary', { agentId: 1 }))])],
      ['message/send', v03Send([v03Data(toolCall('getTrend', { agentId: 1 }))])],
    ] as const) {
      const error = expectRpcError(await rpc(method, params, poor.apiKey.key), -32004);
      expect(error.data).toEqual({ reason: 'insufficient_credits', required: '10000', available: '5000' });
    }
    expect(await moneyOf(poor.orgId)).toEqual(before);

    // a cheaper call fits, and the next refusal reports what is left
    await completedTask(poor.apiKey.key, 'getAgentProfile', { agentId: 2 });
    expect((await account(gateway, poor.orgId))?.balance).toBe(4_000n);
    const error = expectRpcError(
      await rpc('SendMessage', v1Send([v1Data(toolCall('getValidationHistory', { agentId: 1 }))]), poor.apiKey.key),
      -32004,
    );
    expect(error.data).toEqual({ reason: 'insufficient_credits', required: '10000', available: '4000' });
  });

  it('a streaming method answers Server-Sent Events a plain HTTP client can read: one JSON-RPC response per event', async () => {
    const org = await gateway.createOrg({ credits: 100_000n });
    const body = request('SendStreamingMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))]));
    const response = await gateway.rpc(body, org.apiKey.key);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await response.text())
      .split('\n\n')
      .filter((chunk) => chunk.startsWith('data:'))
      .map((chunk) => JSON.parse(chunk.slice('data:'.length)) as RpcAnswer);
    expect(events.every((event) => event.jsonrpc === '2.0' && event.id === body.id)).toBe(true);
    expect(events.map((event) => Object.keys(event.result ?? {})[0])).toEqual(['task', 'artifactUpdate', 'statusUpdate']);
    expect(events.at(-1)?.result.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
  });
});

describe('401: authentication', () => {
  /** A 401 echoes the request's id, as any answer to a request that could be read does. */
  async function expectUnauthorized(response: Response, reason: 'missing_api_key' | 'invalid_api_key', id: RpcAnswer['id']) {
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as RpcAnswer;
    expect(body).toMatchObject({ jsonrpc: '2.0', id, error: { code: -32000, data: { reason } } });
    expect(typeof body.error?.message).toBe('string');
  }

  it.each([
    ['no Authorization header', undefined, 'missing_api_key'],
    ['a Basic credential', 'Basic dXNlcjpwYXNz', 'missing_api_key'],
    ['"Bearer" with no key', 'Bearer ', 'missing_api_key'],
    ['a key without the apg_ prefix', 'Bearer sk_live_0123456789', 'invalid_api_key'],
    ['an unknown apg_ key', 'Bearer apg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'invalid_api_key'],
  ] as const)('%s → 401, WWW-Authenticate, JSON-RPC error body with the request id', async (_name, authorization, reason) => {
    const body = request('ListTasks', {});
    const response = await gateway.app.request('/a2a', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    await expectUnauthorized(response, reason, body.id as number);
  });

  it('a 401 echoes a string id too; a body that is no single request (not JSON, a batch) gets id null', async () => {
    await expectUnauthorized(await gateway.rpc({ jsonrpc: '2.0', id: 'ask-1', method: 'ListTasks' }), 'missing_api_key', 'ask-1');
    await expectUnauthorized(await gateway.rpc('{"jsonrpc":"2.0","id":7,'), 'missing_api_key', null);
    await expectUnauthorized(await gateway.rpc([request('ListTasks', {})]), 'missing_api_key', null);
    await expectUnauthorized(await gateway.rpc({ jsonrpc: '2.0', id: { no: 'object ids' }, method: 'ListTasks' }), 'missing_api_key', null);
    // an id too long to be one is not echoed: a caller without a key cannot make the answer repeat 100 KB
    await expectUnauthorized(await gateway.rpc({ jsonrpc: '2.0', id: 'x'.repeat(90_000), method: 'ListTasks' }), 'missing_api_key', null);
  });

  it('a revoked key stops at once, and a paid call with it never reaches a tool', async () => {
    const own = await gateway.createOrg({ name: 'revokes', credits: 100_000n });
    expectResult(await rpc('ListTasks', {}, own.apiKey.key));
    expect(await revokeApiKey(gateway.database.db, { keyId: own.apiKey.id })).toBe(true);

    const before = await moneyOf(own.orgId);
    const paid = request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))]));
    await expectUnauthorized(await gateway.rpc(paid, own.apiKey.key), 'invalid_api_key', paid.id as number);
    const list = request('ListTasks', {});
    await expectUnauthorized(await gateway.rpc(list, own.apiKey.key), 'invalid_api_key', list.id as number);
    expect(await moneyOf(own.orgId)).toEqual(before);
    expect(before.tasks).toBe(0);

    // another key of the same organization still works
    const second = await createApiKey(gateway.database.db, { orgId: own.orgId, name: 'second' });
    expectResult(await rpc('ListTasks', {}, second.key));
  });

  it('an expired key → 401; a key expiring in the future works', async () => {
    const expired = await createApiKey(gateway.database.db, {
      orgId: org.orgId,
      name: 'expired',
      expiresAt: new Date(Date.now() - 60_000),
    });
    await expectUnauthorized(await gateway.rpc({ ...request('ListTasks', {}), id: 'expired' }, expired.key), 'invalid_api_key', 'expired');
    const fresh = await createApiKey(gateway.database.db, {
      orgId: org.orgId,
      name: 'fresh',
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    expectResult(await rpc('ListTasks', {}, fresh.key));
  });
});

describe('JSON-RPC envelope', () => {
  it('a batch is answered in order; an element without an id is answered with id null and never runs', async () => {
    const silentMessageId = randomUUID();
    const waiting = await waitingTask();
    const batch = [
      { jsonrpc: '2.0', id: 'first', method: 'GetTask', params: { id: waiting.id } },
      { jsonrpc: '2.0', method: 'SendMessage', params: v1Send([v1Text('quiet')], { messageId: silentMessageId }) },
      { jsonrpc: '2.0', id: 2, method: 'no/such/method' },
      'not a request',
      { jsonrpc: '2.0', method: 'no/such/method/either' },
      { jsonrpc: '2.0', id: 'last', method: 'tasks/get', params: { id: randomUUID() } },
    ];
    const reply = await call<RpcAnswer[]>(gateway, batch, key);
    expect(reply.status).toBe(200);
    expect(reply.body.map((answer) => answer.id)).toEqual(['first', null, 2, null, null, 'last']);
    expect(reply.body.map((answer) => answer.error?.code ?? 'ok')).toEqual(['ok', -32600, -32601, -32600, -32601, -32001]);
    expect(reply.body[0]?.result?.id).toBe(waiting.id);
    expect(reply.body[1]?.error?.data?.detail).toMatch(/SendMessage needs an id/);

    const [ran] = await gateway.database.db.rows<{ n: number }>(
      sql`select count(*)::int as n from tasks where org_id = ${org.orgId} and message_id = ${silentMessageId}`,
    );
    expect(ran?.n).toBe(0);
  });

  it('A2A has no notifications: a paid call without an id → HTTP 200, -32600 with id null; nothing runs, nothing is charged', async () => {
    const own = await gateway.createOrg({ name: 'no notifications', credits: 100_000n });
    const before = await moneyOf(own.orgId);
    for (const [method, params] of [
      ['SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])],
      ['message/send', v03Send([v03Data(toolCall('getReputationSummary', { agentId: 1 }))])],
      ['SendMessage', v1Send([v1Text('free, but still a call that would open a task')])],
    ] as const) {
      const reply = await call(gateway, { jsonrpc: '2.0', method, params }, own.apiKey.key);
      const error = expectRpcError(reply, -32600);
      expect(reply.body.id).toBeNull();
      expect(error.data?.detail).toContain(`${method} needs an id`);
    }
    const batch = await call<RpcAnswer[]>(
      gateway,
      [
        { jsonrpc: '2.0', method: 'SendMessage', params: v1Send([v1Data(toolCall('getAgentProfile', { agentId: 2 }))]) },
        { jsonrpc: '2.0', method: 'message/send', params: v03Send([v03Text('two')]) },
      ],
      own.apiKey.key,
    );
    expect(batch.status).toBe(200);
    expect(batch.body.map((answer) => [answer.id, answer.error?.code])).toEqual([
      [null, -32600],
      [null, -32600],
    ]);
    expect(await moneyOf(own.orgId)).toEqual(before);
    expect(before.tasks).toBe(0);
  });

  it('a request without an id gets the error its method and params earn first: -32601, -32602, -32009', async () => {
    for (const [body, code, headers] of [
      [{ jsonrpc: '2.0', method: 'no/such/method' }, -32601, {}],
      [{ jsonrpc: '2.0', method: 'SendMessage', params: { message: {} } }, -32602, {}],
      [{ jsonrpc: '2.0', method: 'GetTask', params: {} }, -32602, {}],
      [{ jsonrpc: '2.0', method: 'ListTasks', params: {} }, -32009, { 'a2a-version': '9.9' }],
      [{ jsonrpc: '2.0', method: 'GetTask', params: { id: randomUUID() } }, -32600, {}],
    ] as const) {
      const reply = await call(gateway, body, key, headers);
      expectRpcError(reply, code);
      expect(reply.body.id).toBeNull();
    }
  });

  it.each([['a string id', 'req-α-1'], ['a number id', 42], ['zero', 0], ['a negative id', -7], ['an explicit null id', null]])(
    'the response echoes %s (and a null id is still answered)',
    async (_name, id) => {
      const reply = await call(gateway, { jsonrpc: '2.0', id, method: 'ListTasks', params: {} }, key);
      expect(reply.status).toBe(200);
      expect(reply.body.id).toBe(id);
      expect(reply.body.result).toBeDefined();
      const failing = await call(gateway, { jsonrpc: '2.0', id, method: 'GetTask', params: { id: randomUUID() } }, key);
      expect(expectRpcError(failing, -32001) && failing.body.id).toBe(id);
    },
  );

  it('errors travel with HTTP 200, singly and in a batch', async () => {
    const reply = await call<RpcAnswer[]>(
      gateway,
      [
        request('nope'),
        request('GetTask', {}),
        request('GetTask', { id: randomUUID() }),
        request('ListTasks', {}),
      ],
      key,
      { 'a2a-version': '1.0' },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.map((answer) => answer.error?.code ?? 'ok')).toEqual([-32601, -32602, -32001, 'ok']);
    const versioned = await call(gateway, request('ListTasks', {}), key, { 'a2a-version': '9.9' });
    expectRpcError(versioned, -32009);
  });
});

describe('idempotency by messageId', () => {
  const summary = () => v1Data(toolCall('getReputationSummary', { agentId: 4 }));

  it('the same message sent twice returns the same task and is charged once', async () => {
    const messageId = randomUUID();
    const before = await account(gateway, org.orgId);
    const first = expectResult(await rpc('SendMessage', v1Send([summary()], { messageId }))).task;
    const second = expectResult(await rpc('SendMessage', v1Send([summary()], { messageId }))).task;
    expect(second.id).toBe(first.id);
    expect(second.status.state).toBe('TASK_STATE_COMPLETED');
    expect(second.artifacts).toEqual(first.artifacts);
    // also when the retry comes in the other generation
    const third = expectResult(await rpc('message/send', v03Send([v03Data(toolCall('getReputationSummary', { agentId: 4 }))], { messageId })));
    expect(third.id).toBe(first.id);
    expect(third.status.state).toBe('completed');

    expect((await account(gateway, org.orgId))?.balance).toBe((before?.balance ?? 0n) - COST.getReputationSummary);
    const entries = (await ledger(gateway, org.orgId)).filter((row) => row.task_id === first.id);
    expect(entries.map((row) => [row.kind, row.amount, row.reserved_delta])).toEqual([['charge', -COST.getReputationSummary, 0n]]);
  });

  it('the same message sent concurrently creates one task and one charge', async () => {
    const messageId = randomUUID();
    const before = await account(gateway, org.orgId);
    const replies = await Promise.all(
      Array.from({ length: 4 }, () => rpc('SendMessage', v1Send([summary()], { messageId }))),
    );
    const ids = replies.map((reply) => expectResult(reply).task.id);
    expect(new Set(ids).size).toBe(1);
    const [row] = await gateway.database.db.rows<{ n: bigint }>(
      sql`select count(*)::int8 as n from tasks where org_id = ${org.orgId} and message_id = ${messageId}`,
    );
    expect(row?.n).toBe(1n);
    const entries = (await ledger(gateway, org.orgId)).filter((entry) => entry.task_id === ids[0]);
    expect(entries.map((entry) => entry.kind)).toEqual(['charge']);
    expect((await account(gateway, org.orgId))?.balance).toBe((before?.balance ?? 0n) - COST.getReputationSummary);
  });

  it('a text message resent returns the same waiting task', async () => {
    const messageId = randomUUID();
    const first = expectResult(await rpc('SendMessage', v1Send([v1Text('hi')], { messageId }))).task;
    const again = expectResult(await rpc('SendMessage', v1Send([v1Text('hi')], { messageId }))).task;
    expect(again.id).toBe(first.id);
    expect(again.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
  });

  it('the same messageId from two organizations makes two independent tasks, each charged', async () => {
    const other = await gateway.createOrg({ name: 'other', credits: 100_000n });
    const messageId = `shared-${randomUUID()}`;
    const mineBefore = await account(gateway, org.orgId);
    const theirsBefore = await account(gateway, other.orgId);
    const mine = expectResult(await rpc('SendMessage', v1Send([summary()], { messageId }))).task;
    const theirs = expectResult(await rpc('SendMessage', v1Send([summary()], { messageId }), other.apiKey.key)).task;
    expect(theirs.id).not.toBe(mine.id);
    expect(mine.status.state).toBe('TASK_STATE_COMPLETED');
    expect(theirs.status.state).toBe('TASK_STATE_COMPLETED');
    expect((await account(gateway, org.orgId))?.balance).toBe((mineBefore?.balance ?? 0n) - COST.getReputationSummary);
    expect((await account(gateway, other.orgId))?.balance).toBe((theirsBefore?.balance ?? 0n) - COST.getReputationSummary);
    expectRpcError(await rpc('GetTask', { id: mine.id }, other.apiKey.key), -32001);
  });
});

describe('follow-up messages on a task', () => {
  // (was -32603 "column reference org_id is ambiguous" in src/tasks/store.ts until it was fixed)
  it('a tool call on a task waiting for input completes it and charges once (v1 SendMessage)', async () => {
    const before = await account(gateway, org.orgId);
    const waiting = await waitingTask();
    const followUp = v1Send([v1Data(toolCall('getReputationSummary', { agentId: 8 }))], { taskId: waiting.id });
    const task = expectResult(await rpc('SendMessage', followUp)).task;
    expect(task.id).toBe(waiting.id);
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts[0].parts[0].data).toMatchObject({ agent_id: 8 });
    expect(expectResult(await rpc('SendMessage', followUp)).task.id).toBe(waiting.id);
    expect((await account(gateway, org.orgId))?.balance).toBe((before?.balance ?? 0n) - COST.getReputationSummary);
    const entries = (await ledger(gateway, org.orgId)).filter((row) => row.task_id === waiting.id);
    expect(entries.map((row) => row.kind)).toEqual(['reserve', 'capture']);
  });

  it('a text follow-up on a waiting task keeps it waiting, free; a follow-up to a finished task is refused', async () => {
    const before = await account(gateway, org.orgId);
    const waiting = await waitingTask();
    const again = expectResult(await rpc('message/send', v03Send([v03Text('which tools?')], { taskId: waiting.id })));
    expect(again.id).toBe(waiting.id);
    expect(again.status.state).toBe('input-required');
    expect(again.history.map((m: { role: string }) => m.role)).toEqual(['user', 'agent', 'user', 'agent']);
    expect(await account(gateway, org.orgId)).toEqual(before);

    const mismatch = expectRpcError(
      await rpc('SendMessage', v1Send([v1Text('x')], { taskId: waiting.id, contextId: 'some-other-context' })),
      -32602,
    );
    expect(mismatch.data).toMatchObject({ reason: 'context_mismatch', taskId: waiting.id });

    expectResult(await rpc('CancelTask', { id: waiting.id }));
    const closed = expectRpcError(
      await rpc('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))], { taskId: waiting.id })),
      -32004,
    );
    expect(closed.data).toEqual({ reason: 'task_not_accepting_input', taskId: waiting.id, state: 'canceled' });
    expect(await account(gateway, org.orgId)).toEqual(before);
  });
});

describe('wire shapes: A2A 1.0 vs 0.3', () => {
  it('1.0: {task}, TASK_STATE_* names, ROLE_USER / ROLE_AGENT, parts without kind', async () => {
    const done = expectResult(await rpc('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 5 }))])));
    expect(Object.keys(done)).toEqual(['task']);
    expect(done.task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(done.task.history[0].role).toBe('ROLE_USER');
    expect(done.task.history[0].parts[0]).toEqual({ data: toolCall('getAgentProfile', { agentId: 5 }) });
    expect(done.task.artifacts[0].parts[0].data).toMatchObject({ agent_id: 5 });
    expect(done.task.metadata).toMatchObject({ tool: 'getAgentProfile', cost_micro_usdc: '1000', charged: true });
    expect(typeof done.task.status.timestamp).toBe('string');
    expect(Number.isNaN(Date.parse(done.task.status.timestamp))).toBe(false);

    const waiting = expectResult(await rpc('SendMessage', v1Send([v1Text('hi')]))).task;
    expect(waiting.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(waiting.status.message.role).toBe('ROLE_AGENT');
    expect(waiting.status.message.parts[0]).toEqual({ text: expect.stringContaining('getAgentProfile') });
    expect(waiting.history.map((m: { role: string }) => m.role)).toEqual(['ROLE_USER', 'ROLE_AGENT']);
    expect(waiting.metadata).toMatchObject({ cost_micro_usdc: '0', charged: false });

    for (const text of [JSON.stringify(done), JSON.stringify(waiting)]) {
      expect(text).not.toMatch(/"kind"/);
      expect(text).not.toMatch(/"state":"(completed|input-required)"/);
    }
  });

  it('0.3: kind discriminators and lower-case states; the same task reads the same in both', async () => {
    const done = expectResult(await rpc('message/send', v03Send([v03Data(toolCall('getAgentProfile', { agentId: 6 }))])));
    expect(done.kind).toBe('task');
    expect(done.status.state).toBe('completed');
    expect(done.history[0]).toMatchObject({ kind: 'message', role: 'user' });
    expect(done.history[0].parts[0]).toEqual({ kind: 'data', data: toolCall('getAgentProfile', { agentId: 6 }) });
    expect(done.artifacts[0].parts[0]).toMatchObject({ kind: 'data', data: { agent_id: 6 } });

    const waiting = expectResult(await rpc('message/send', v03Send([v03Text('hi')])));
    expect(waiting.status.state).toBe('input-required');
    expect(waiting.status.message).toMatchObject({ kind: 'message', role: 'agent' });
    expect(waiting.status.message.parts.map((p: { kind: string }) => p.kind)).toEqual(['text', 'data']);
    for (const text of [JSON.stringify(done), JSON.stringify(waiting)]) {
      expect(text).not.toMatch(/ROLE_|TASK_STATE_/);
    }

    // a 0.3 task read through 1.0, and back
    const asV1 = expectResult(await rpc('GetTask', { id: done.id }));
    expect(asV1.status.state).toBe('TASK_STATE_COMPLETED');
    expect(asV1.artifacts[0].parts[0].data).toEqual(done.artifacts[0].parts[0].data);
    const asV03 = expectResult(await rpc('tasks/get', { id: done.id }));
    expect(asV03).toEqual(done);
  });
});

describe('historyLength', () => {
  it('SendMessage / message/send configuration.historyLength trims the returned history', async () => {
    const none = expectResult(await rpc('SendMessage', v1Send([v1Text('a')], { historyLength: 0 }))).task;
    expect(none.history).toBeUndefined();
    const one = expectResult(await rpc('SendMessage', v1Send([v1Text('b')], { historyLength: 1 }))).task;
    expect(one.history.map((m: { role: string }) => m.role)).toEqual(['ROLE_AGENT']);
    const all = expectResult(await rpc('SendMessage', v1Send([v1Text('c')]))).task;
    expect(all.history).toHaveLength(2);

    const none03 = expectResult(await rpc('message/send', v03Send([v03Text('d')], { historyLength: 0 })));
    expect(none03.history).toBeUndefined();
    const one03 = expectResult(await rpc('message/send', v03Send([v03Text('e')], { historyLength: 1 })));
    expect(one03.history.map((m: { role: string }) => m.role)).toEqual(['agent']);
  });

  it('GetTask / tasks/get historyLength keeps the latest messages; a bad value is -32602', async () => {
    const waiting = await waitingTask();
    expect(expectResult(await rpc('GetTask', { id: waiting.id })).history).toHaveLength(2);
    expect(expectResult(await rpc('GetTask', { id: waiting.id, historyLength: 5 })).history).toHaveLength(2);
    const latest = expectResult(await rpc('GetTask', { id: waiting.id, historyLength: 1 })).history;
    expect(latest).toHaveLength(1);
    expect(latest[0].role).toBe('ROLE_AGENT');
    expect(expectResult(await rpc('GetTask', { id: waiting.id, historyLength: 0 })).history).toBeUndefined();
    const latest03 = expectResult(await rpc('tasks/get', { id: waiting.id, historyLength: 1 })).history;
    expect(latest03).toHaveLength(1);
    expect(latest03[0]).toMatchObject({ kind: 'message', role: 'agent' });

    for (const historyLength of [-1, 1.5, 'all', 1001]) {
      const error = expectRpcError(await rpc('GetTask', { id: waiting.id, historyLength }), -32602);
      expect((error.data?.issues as Array<{ path: string }>).map((i) => i.path)).toContain('historyLength');
    }
  });
});

describe('ListTasks', () => {
  let lister: NewOrganization;
  const created: Array<{ id: string; state: string }> = [];

  beforeAll(async () => {
    lister = await gateway.createOrg({ name: 'lister', credits: 1_000_000n });
    for (let i = 0; i < 5; i++) {
      const task =
        i % 2 === 0
          ? await waitingTask(lister.apiKey.key)
          : await completedTask(lister.apiKey.key, 'getAgentProfile', { agentId: i });
      created.push({ id: task.id, state: task.status.state });
    }
  });

  const list = (params: Record<string, unknown>) => rpc('ListTasks', params, lister.apiKey.key);

  it('pages with pageSize and nextPageToken, newest first, totalSize on every page', async () => {
    const seen: string[] = [];
    let pageToken: string | undefined;
    const sizes: number[] = [];
    for (let page = 0; page < 10; page++) {
      const result = expectResult(await list({ pageSize: 2, ...(pageToken ? { pageToken } : {}) }));
      expect(result.totalSize).toBe(5);
      expect(result.pageSize).toBe(2);
      sizes.push(result.tasks.length);
      seen.push(...result.tasks.map((task: { id: string }) => task.id));
      if (result.nextPageToken === '') break;
      expect(typeof result.nextPageToken).toBe('string');
      pageToken = result.nextPageToken;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(created.map((task) => task.id).reverse());
  });

  it('filters by status (TASK_STATE_* names), with paging inside the filter', async () => {
    const completed = expectResult(await list({ status: 'TASK_STATE_COMPLETED' }));
    expect(completed.totalSize).toBe(2);
    expect(completed.tasks.map((t: { status: { state: string } }) => t.status.state)).toEqual([
      'TASK_STATE_COMPLETED',
      'TASK_STATE_COMPLETED',
    ]);
    const waiting = expectResult(await list({ status: 'TASK_STATE_INPUT_REQUIRED' }));
    expect(waiting.totalSize).toBe(3);
    expect(expectResult(await list({ status: 'TASK_STATE_CANCELED' })).totalSize).toBe(0);

    const first = expectResult(await list({ status: 'TASK_STATE_COMPLETED', pageSize: 1 }));
    expect(first.tasks).toHaveLength(1);
    expect(first.nextPageToken).not.toBe('');
    const second = expectResult(
      await list({ status: 'TASK_STATE_COMPLETED', pageSize: 1, pageToken: first.nextPageToken }),
    );
    expect(second.tasks).toHaveLength(1);
    expect(second.tasks[0].id).not.toBe(first.tasks[0].id);
    expect(second.nextPageToken).toBe('');
    expect(second.totalSize).toBe(2);
  });

  it('statusTimestampAfter keeps tasks whose status changed after the instant', async () => {
    const all = expectResult(await list({})).tasks as Array<{ id: string; status: { timestamp: string } }>;
    const oldest = all.at(-1);
    const newest = all[0];
    if (!oldest || !newest) throw new Error('the lister has tasks');
    const beforeOldest = new Date(Date.parse(oldest.status.timestamp) - 1000).toISOString();
    expect(expectResult(await list({ statusTimestampAfter: beforeOldest })).totalSize).toBe(5);
    const afterNewest = new Date(Date.parse(newest.status.timestamp) + 60_000).toISOString();
    expect(expectResult(await list({ statusTimestampAfter: afterNewest })).totalSize).toBe(0);
    expect(expectResult(await list({ statusTimestampAfter: '2000-01-01T00:00:00+02:00' })).totalSize).toBe(5);
  });

  it('leaves artifacts out unless includeArtifacts is true', async () => {
    const without = expectResult(await list({ status: 'TASK_STATE_COMPLETED' }));
    for (const task of without.tasks) expect(task.artifacts).toBeUndefined();
    const withArtifacts = expectResult(await list({ status: 'TASK_STATE_COMPLETED', includeArtifacts: true }));
    for (const task of withArtifacts.tasks) expect(task.artifacts[0].parts[0].data).toHaveProperty('agent_id');
  });

  it.each([
    ['a 0.3 state name', { status: 'completed' }, 'status'],
    ['pageSize 0', { pageSize: 0 }, 'pageSize'],
    ['pageSize 101', { pageSize: 101 }, 'pageSize'],
    ['a non-datetime statusTimestampAfter', { statusTimestampAfter: 'yesterday' }, 'statusTimestampAfter'],
  ])('%s → -32602', async (_name, params, path) => {
    const error = expectRpcError(await list(params), -32602);
    expect((error.data?.issues as Array<{ path: string }>).map((i) => i.path)).toContain(path);
  });

  it('a pageToken the gateway did not issue → -32602 invalid_page_token', async () => {
    for (const pageToken of ['garbage', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('["nope","x"]').toString('base64url')]) {
      const error = expectRpcError(await list({ pageToken }), -32602);
      expect(error.data).toEqual({ reason: 'invalid_page_token' });
    }
  });
});

describe('A2A-Version header', () => {
  it.each(['1.0', '0.3', '1.0.0', '0.3.5'])('%s is accepted for both generations', async (version) => {
    expectResult(await rpc('ListTasks', {}, key, { 'a2a-version': version }));
    expectResult(await rpc('tasks/get', { id: (await waitingTask()).id }, key, { 'a2a-version': version }));
  });

  it.each(['9.9', '2.0', '0.2', '1', 'latest'])('%s → -32009 listing the supported versions, and nothing runs', async (version) => {
    const before = await moneyOf(org.orgId);
    for (const [method, params] of [
      ['ListTasks', {}],
      ['SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])],
      ['message/send', v03Send([v03Text('hi')])],
    ] as const) {
      const error = expectRpcError(await rpc(method, params, key, { 'a2a-version': version }), -32009);
      if (version === '0.2' || version === 'latest') {
        expect(error.data).toEqual({ requested: version, supported: ['0.3', '1.0'] });
      } else {
        // a version of 1 or above reads the 1.0 shape
        expect(errorDetails(error).info).toMatchObject({ reason: 'VERSION_NOT_SUPPORTED', metadata: { requested: version, supported: '0.3,1.0' } });
      }
    }
    expect(await moneyOf(org.orgId)).toEqual(before);
  });
});

describe('A2A 1.0 error shape: with A2A-Version 1.x, error.data is an array holding a google.rpc.ErrorInfo', () => {
  const v1 = { 'a2a-version': '1.0' };
  const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';

  it('A2A errors carry their A2A reason and domain; our details travel as string metadata', async () => {
    const missing = randomUUID();
    const notFound = expectRpcError(await rpc('GetTask', { id: missing }, key, v1), -32001);
    expect(notFound.data).toEqual([{ '@type': ERROR_INFO, reason: 'TASK_NOT_FOUND', domain: 'a2a-protocol.org', metadata: { taskId: missing } }]);

    const done = await completedTask();
    const notCancelable = expectRpcError(await rpc('CancelTask', { id: done.id }, key, v1), -32002);
    expect(errorDetails(notCancelable).info).toEqual({
      '@type': ERROR_INFO,
      reason: 'TASK_NOT_CANCELABLE',
      domain: 'a2a-protocol.org',
      metadata: { taskId: done.id, state: 'completed' },
    });

    const poor = await gateway.createOrg({ name: 'poor 1.0', credits: 5_000n });
    const before = await moneyOf(poor.orgId);
    const credits = expectRpcError(
      await rpc('SendMessage', v1Send([v1Data(toolCall('getReputationSummary', { agentId: 1 }))]), poor.apiKey.key, v1),
      -32004,
    );
    expect(credits.message).toBe('Insufficient credits');
    expect(credits.data).toEqual([
      {
        '@type': ERROR_INFO,
        reason: 'UNSUPPORTED_OPERATION',
        domain: 'a2a-protocol.org',
        metadata: { reason: 'insufficient_credits', required: '10000', available: '5000' },
      },
    ]);
    expect(await moneyOf(poor.orgId)).toEqual(before);

    const card = expectRpcError(await rpc('GetExtendedAgentCard', {}, key, v1), -32007);
    expect(errorDetails(card).info).toMatchObject({ reason: 'EXTENDED_AGENT_CARD_NOT_CONFIGURED', metadata: { reason: 'extended_card_not_configured' } });
  });

  it('standard JSON-RPC errors take the same array: -32602 adds a google.rpc.BadRequest per failed field', async () => {
    const invalid = expectRpcError(await rpc('SendMessage', { message: { role: 'ROLE_USER', parts: [] } }, key, v1), -32602);
    const { info, rest } = errorDetails(invalid);
    expect(info).toEqual({ '@type': ERROR_INFO, reason: 'INVALID_PARAMS', domain: 'a2a-protocol.org' });
    expect(rest).toEqual([
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: expect.arrayContaining([{ field: 'message.messageId', description: expect.any(String) }]),
      },
    ]);

    const unknownTool = expectRpcError(await rpc('SendMessage', v1Send([v1Data(toolCall('noSuchTool'))]), key, v1), -32602);
    const unknownInfo = errorDetails(unknownTool).info;
    expect(unknownInfo).toMatchObject({ reason: 'INVALID_PARAMS', metadata: { reason: 'unknown_tool', tool: 'noSuchTool' } });
    expect(unknownInfo.metadata?.validTools?.split(',')).toContain('getAgentProfile');

    expect(errorDetails(expectRpcError(await rpc('nope', {}, key, v1), -32601)).info).toMatchObject({
      reason: 'METHOD_NOT_FOUND',
      metadata: { method: 'nope' },
    });
    expect(errorDetails(expectRpcError(await call(gateway, '{"jsonrpc":', key, v1), -32700)).info.reason).toBe('JSON_PARSE');
    expect(errorDetails(expectRpcError(await call(gateway, [], key, v1), -32600)).info.reason).toBe('INVALID_REQUEST');

    const unauthorized = await call(gateway, request('ListTasks', {}), undefined, v1);
    expect(unauthorized.status).toBe(401);
    expect(errorDetails(unauthorized.body.error as never).info).toEqual({
      '@type': ERROR_INFO,
      reason: 'UNAUTHENTICATED',
      domain: 'a2a-paygate',
      metadata: { reason: 'missing_api_key' },
    });
  });

  it('without the header (A2A 1.0 §3.6.2: an empty version is 0.3) or with 0.3, data stays the 0.3 object, whatever the method', async () => {
    for (const headers of [{}, { 'a2a-version': '0.3' }] as Array<Record<string, string>>) {
      const missing = randomUUID();
      expect(expectRpcError(await rpc('GetTask', { id: missing }, key, headers), -32001).data).toEqual({ taskId: missing });
      expect(expectRpcError(await rpc('tasks/get', { id: missing }, key, headers), -32001).data).toEqual({ taskId: missing });
      expect(expectRpcError(await rpc('nope', {}, key, headers), -32601).data).toEqual({ method: 'nope' });
    }
  });
});

describe('endpoint edges: trailing slash, application/a2a+json', () => {
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    gateway.app.request(path, { method: 'POST', headers, body: JSON.stringify(body) });

  it('POST /a2a/ (a client joining URLs) is the endpoint too', async () => {
    const own = await gateway.createOrg({ name: 'trailing slash', credits: 100_000n });
    const response = await post('/a2a/', request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])), {
      'content-type': 'application/json',
      authorization: `Bearer ${own.apiKey.key}`,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as RpcAnswer;
    expect(body.result?.task?.status?.state).toBe('TASK_STATE_COMPLETED');
    expect((await account(gateway, own.orgId))?.balance).toBe(100_000n - COST.getAgentProfile);
  });

  it('a request sent as application/a2a+json is answered as application/a2a+json: results, errors and 401s alike', async () => {
    for (const contentType of ['application/a2a+json', 'application/a2a+json; charset=utf-8', 'Application/A2A+JSON']) {
      const headers = { 'content-type': contentType, authorization: `Bearer ${key}` };
      const listed = await post('/a2a', request('ListTasks', {}), headers);
      expect(listed.status).toBe(200);
      expect(listed.headers.get('content-type')).toBe('application/a2a+json');
      expect(((await listed.json()) as RpcAnswer).result?.tasks).toBeDefined();

      const failed = await post('/a2a', request('GetTask', { id: randomUUID() }), headers);
      expect(failed.headers.get('content-type')).toBe('application/a2a+json');
      expect(((await failed.json()) as RpcAnswer).error?.code).toBe(-32001);

      const unauthorized = await post('/a2a', request('ListTasks', {}), { 'content-type': contentType });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('content-type')).toBe('application/a2a+json');
    }
    const plain = await post('/a2a', request('ListTasks', {}), { 'content-type': 'application/json', authorization: `Bearer ${key}` });
    expect(plain.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('public routes', () => {
  it('GET /.well-known/agent-card.json: both interfaces, one skill per enabled tool with its tier and price', async () => {
    const response = await gateway.app.request('/.well-known/agent-card.json');
    expect(response.status).toBe(200);
    const card = (await response.json()) as Record<string, any>;
    expect(card.supportedInterfaces).toContainEqual({
      url: 'http://localhost/a2a',
      protocolBinding: 'JSONRPC',
      protocolVersion: '1.0',
    });
    expect(card.url).toBe('http://localhost/a2a');
    expect(card.preferredTransport).toBe('JSONRPC');
    expect(card.protocolVersion).toMatch(/^0\.3/);
    expect(card.capabilities).toMatchObject({ streaming: true, pushNotifications: true });
    expect(card.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });

    const expected: Record<string, { tier: number; micro: bigint; display: string }> = {
      getMyFeedbacks: { tier: 0, micro: 1_000n, display: '0.001 USDC' },
      getAgentProfile: { tier: 0, micro: 1_000n, display: '0.001 USDC' },
      getReputationSummary: { tier: 1, micro: 10_000n, display: '0.01 USDC' },
      getTrend: { tier: 1, micro: 10_000n, display: '0.01 USDC' },
      getValidationHistory: { tier: 1, micro: 10_000n, display: '0.01 USDC' },
    };
    const skills = card.skills as Array<{ id: string; name: string; description: string; tags: string[]; examples: string[] }>;
    expect(skills.map((skill) => skill.id).sort()).toEqual([...ENABLED_TOOLS].sort());
    expect(skills.map((skill) => skill.id)).not.toContain('getReputationReport');
    for (const skill of skills) {
      const want = expected[skill.id];
      expect(want, skill.id).toBeDefined();
      if (!want) continue;
      expect(skill.description).toContain(`Tier ${want.tier}`);
      expect(skill.description).toContain(want.display);
      expect(skill.description).toContain(`${want.micro} micro-USDC`);
      expect(skill.tags).toEqual(expect.arrayContaining([`tier-${want.tier}`, `price-${want.micro}-micro-usdc`]));
      expect(JSON.parse(skill.examples[0] ?? '{}')).toMatchObject({ tool: skill.id });
    }
  });

  it('the card names the base URL it was asked on', async () => {
    const baseUrl = gateway.baseUrl || (await gateway.listen());
    const card = (await (await fetch(`${baseUrl}/.well-known/agent-card.json`)).json()) as Record<string, any>;
    expect(card.url).toBe(`${baseUrl}/a2a`);
    expect(card.supportedInterfaces[0].url).toBe(`${baseUrl}/a2a`);
  });

  it('/healthz and /readyz answer 200 without a key', async () => {
    const health = await gateway.app.request('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await gateway.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: gateway.database.db.kind });
  });
});

describe('tool results and the money around them', () => {
  it('getReputationSummary returns the documented fields and costs exactly 10,000 micro-USDC', async () => {
    const before = await account(gateway, org.orgId);
    const task = await completedTask(key, 'getReputationSummary', { agentId: 7 });
    const result = task.artifacts[0].parts[0].data as Record<string, unknown>;
    for (const field of [
      'agent_id',
      'reputation_score',
      'total_feedbacks',
      'positive_feedbacks',
      'negative_feedbacks',
      'neutral_feedbacks',
      'average_score',
      'computed_at',
    ]) {
      expect(result, field).toHaveProperty(field);
    }
    expect(result.agent_id).toBe(7);
    expect(Number.isInteger(result.total_feedbacks)).toBe(true);
    expect(result.total_feedbacks).toBeGreaterThan(0);
    for (const count of ['positive_feedbacks', 'negative_feedbacks', 'neutral_feedbacks'] as const) {
      expect(Number.isInteger(result[count])).toBe(true);
      expect(result[count] as number).toBeGreaterThanOrEqual(0);
    }
    expect(
      (result.positive_feedbacks as number) + (result.negative_feedbacks as number) + (result.neutral_feedbacks as number),
    ).toBeLessThanOrEqual(result.total_feedbacks as number);
    expect(result.reputation_score === null || typeof result.reputation_score === 'number').toBe(true);
    expect(result.average_score === null || typeof result.average_score === 'number').toBe(true);
    expect(Number.isNaN(Date.parse(String(result.computed_at)))).toBe(false);

    const after = await account(gateway, org.orgId);
    expect(after?.balance).toBe((before?.balance ?? 0n) - 10_000n);
    expect(after?.reserved).toBe(before?.reserved);
  });

  it.each([
    ['v1 SendMessage', 'SendMessage', () => v1Send([v1Data(toolCall('getReputationSummary', { agentId: 999_999 }))])],
    ['v0.3 message/send', 'message/send', () => v03Send([v03Data(toolCall('getAgentProfile', { agentId: '999999' }))])],
  ] as const)('%s for an unknown agent → -32602 agent_not_found, a failed task, and no charge', async (_name, method, params) => {
    const before = await account(gateway, org.orgId);
    const error = expectRpcError(await rpc(method, params()), -32602);
    expect(error.data).toMatchObject({ reason: 'agent_not_found', agentId: '999999' });
    const taskId = error.data?.taskId as string;
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);

    expect(await account(gateway, org.orgId)).toEqual(before);
    // an instant call that did not answer never touched the account: no ledger row at all
    expect((await ledger(gateway, org.orgId)).filter((row) => row.task_id === taskId)).toEqual([]);

    const task = expectResult(await rpc('GetTask', { id: taskId }));
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(task.metadata.charged).toBe(false);
    expect(task.artifacts).toBeUndefined();
  });
});

/** Regression tests for defects this suite found in src/ (each comment names the cause). */
describe('edge cases found by this suite', () => {
  // src/rpc/envelope.ts readRequest: `typeof null === 'object'`, so `"params": null` passes as
  // structured params; JSON-RPC 2.0 allows only an object or an array (or no member at all).
  it('"params": null is not a JSON-RPC 2.0 request → -32600', async () => {
    const reply = await call(gateway, { jsonrpc: '2.0', id: 'null-params', method: 'ListTasks', params: null }, key);
    const error = expectRpcError(reply, -32600);
    expect(reply.body.id).toBe('null-params');
    expect(String(error.data?.detail)).toMatch(/params/);
  });

  // src/tasks/service.ts decodePageToken only checks that id is a string and createdAt passes
  // Date.parse; the values then reach `::uuid` / `::timestamptz` casts and a caller-made token
  // becomes an internal error (-32603) instead of -32602 invalid_page_token.
  it.each([
    ['an id that is not a uuid', ['2020-01-01T00:00:00.000000Z', 'not-a-uuid']],
    ['a createdAt PostgreSQL cannot read', ['0', '00000000-0000-0000-0000-000000000000']],
  ])('a forged pageToken with %s → -32602 invalid_page_token', async (_name, content) => {
    const pageToken = Buffer.from(JSON.stringify(content)).toString('base64url');
    const error = expectRpcError(await rpc('ListTasks', { pageToken }), -32602);
    expect(error.data).toEqual({ reason: 'invalid_page_token' });
  });

  // src/tasks/store.ts listTaskPage filters `updated_at > statusTimestampAfter`; A2A 1.0 says tasks
  // whose status timestamp is greater than OR EQUAL to the value are returned.
  it("ListTasks statusTimestampAfter equal to a task's status timestamp includes that task", async () => {
    const task = await waitingTask();
    const listed = expectResult(await rpc('ListTasks', { statusTimestampAfter: task.status.timestamp }));
    expect(listed.tasks.map((t: { id: string }) => t.id)).toContain(task.id);
  });

  // src/a2a/v1.ts v1ListTasksParams.statusTimestampAfter: z.iso.datetime({ offset: true }) accepts
  // RFC 3339 values PostgreSQL's timestamptz refuses (year 0000, offsets beyond ±15:59), and they
  // reach the query as text → -32603. A caller's value is answered (normalized) or refused (-32602).
  it.each(['0000-01-01T00:00:00Z', '2025-01-01T00:00:00+23:59'])(
    'statusTimestampAfter %s is answered or refused with -32602, never an internal error',
    async (statusTimestampAfter) => {
      const reply = await rpc('ListTasks', { statusTimestampAfter });
      expect(reply.status).toBe(200);
      expect(reply.body.error?.code ?? 'result', reply.text.slice(0, 300)).not.toBe(-32603);
      if (reply.body.error) {
        expect(reply.body.error.code).toBe(-32602);
        expect(JSON.stringify(reply.body.error.data)).toMatch(/statusTimestampAfter/);
      } else {
        expect(Array.isArray(reply.body.result.tasks)).toBe(true);
      }
    },
  );
});
