/**
 * The JSON-RPC 2.0 envelope on POST /a2a: bodies that are not JSON (-32700), not a request (-32600),
 * unknown methods (-32601), internal errors (-32603, nothing of the cause in the answer), batches,
 * ids and the A2A rule that a call without an id is answered and never runs.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../../../src/app.js';
import { OPERATOR } from '../../../src/audit/record.js';
import { createOrganization } from '../../../src/auth/organizations.js';
import { createLeases } from '../../../src/tasks/leases.js';
import { createToolRegistry } from '../../../src/tools/registry.js';
import { createTestDatabase } from '../../helpers/database.js';
import { testWalletAuth } from '../../helpers/wallet-auth.js';
import {
  call,
  expectRpcError,
  type Reply,
  type RpcAnswer,
  request,
  taskCount,
  toolCall,
  v1Data,
  v1Send,
  v1Text,
  v03Data,
  v03Send,
  v03Text,
} from '../support.js';
import { useProtocolSuite } from './suite.js';

const { suite, waitingTask, moneyOf } = useProtocolSuite();

describe('-32700: the body is not JSON', () => {
  it.each([
    ['plain text', 'this is not json'],
    ['a truncated object', '{"jsonrpc":"2.0","id":1,"method":"ListTasks"'],
    ['a truncated batch', '[{"jsonrpc":"2.0","id":1,"method":"ListTasks"},'],
    ['an empty body', ''],
    ['single quotes', "{'jsonrpc':'2.0','id':1,'method':'ListTasks'}"],
  ])('%s → -32700 with id null and a detail, over HTTP 200', async (_name, body) => {
    const before = await taskCount(suite.gateway, suite.org.orgId);
    const reply = await call(suite.gateway, body, suite.key);
    const error = expectRpcError(reply, -32700);
    expect(reply.body.id).toBeNull();
    expect(typeof error.data?.detail).toBe('string');
    expect(reply.headers.get('content-type')).toMatch(/application\/json/);
    expect(await taskCount(suite.gateway, suite.org.orgId)).toBe(before);
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
    [
      'a string id over 200 characters (it would be echoed in every answer)',
      { jsonrpc: '2.0', id: 'i'.repeat(201), method: 'ListTasks' },
      null,
      /at most 200/,
    ],
    ['string params', { jsonrpc: '2.0', id: 12, method: 'ListTasks', params: 'x' }, 12, /params/],
    ['numeric params', { jsonrpc: '2.0', id: 13, method: 'ListTasks', params: 5 }, 13, /params/],
    ['a bare number', 42, null, /object/],
    ['a bare string', 'hello', null, /object/],
    ['null', null, null, /object/],
  ])('%s → -32600', async (_name, body, expectedId, detail) => {
    const reply = await call(suite.gateway, JSON.stringify(body), suite.key);
    const error = expectRpcError(reply, -32600);
    expect(reply.body.id).toBe(expectedId);
    expect(error.message).toBe('Invalid Request');
    expect(String(error.data?.detail)).toMatch(detail);
  });

  it('an empty batch → a single -32600 error object (not an array) with id null', async () => {
    const reply = await call(suite.gateway, '[]', suite.key);
    expect(Array.isArray(reply.body)).toBe(false);
    const error = expectRpcError(reply, -32600);
    expect(reply.body.id).toBeNull();
    expect(String(error.data?.detail)).toMatch(/at least one/);
  });

  it('a batch of non-requests → one -32600 per element, in order, next to the valid one', async () => {
    const reply = await call<RpcAnswer[]>(suite.gateway, [1, 'x', { jsonrpc: '2.0', id: 'ok', method: 'ListTasks' }], suite.key);
    expect(reply.status).toBe(200);
    expect(reply.body).toHaveLength(3);
    expect(reply.body[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect(reply.body[1]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect(reply.body[2]?.id).toBe('ok');
    expect(reply.body[2]?.result).toBeDefined();
  });

  it('a batch of more than 100 requests → -32600 and none of them runs', async () => {
    const before = await taskCount(suite.gateway, suite.org.orgId);
    const batch = Array.from({ length: 101 }, () => request('SendMessage', v1Send([v1Text('hi')])));
    const reply = await call(suite.gateway, batch, suite.key);
    const error = expectRpcError(reply, -32600);
    expect(reply.body.id).toBeNull();
    expect(String(error.data?.detail)).toMatch(/100/);
    expect(await taskCount(suite.gateway, suite.org.orgId)).toBe(before);
  });
});

describe('-32601: unknown method', () => {
  it.each(['tasks/list/all', 'sendMessage', 'message/SEND', 'Tasks/Get', 'toString', '__proto__', 'constructor', 'hasOwnProperty'])(
    '%s → -32601 naming the method',
    async (method) => {
      const reply = await call(suite.gateway, { jsonrpc: '2.0', id: `m-${method}`, method, params: {} }, suite.key);
      const error = expectRpcError(reply, -32601);
      expect(reply.body.id).toBe(`m-${method}`);
      expect(error.data).toEqual({ method });
    },
  );
});

describe('-32603: internal error, logged with the request id, no stack or SQL in the response', () => {
  it('a broken schema under a live gateway answers -32603 with data.requestId only, and logs the cause with that id', async () => {
    const database = await createTestDatabase();
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = createApp({
      db: database.db,
      log,
      config: {
        toolTimeoutMs: 10_000,
        taskDeadlineSlackMs: 30_000,
        publicUrl: undefined,
        settlement: 'by-tool',
        catalog: { platformFeeBps: 1_000 },
      },
      walletAuth: await testWalletAuth(database.db),
      tools: createToolRegistry(),
      leases: createLeases({ db: database.db, log, leaseMs: 15_000 }),
    });
    try {
      const own = await createOrganization(database.db, { name: 'broken', credits: 100_000n, by: OPERATOR });
      // the database loses a table the task store needs (an operator's mistake, not a caller's)
      await database.db.run(sql`alter table tasks rename to tasks_gone`);
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
    const reply = await call<RpcAnswer[]>(suite.gateway, batch, suite.key);
    expect(reply.status).toBe(200);
    expect(reply.body.map((answer) => answer.id)).toEqual(['first', null, 2, null, null, 'last']);
    expect(reply.body.map((answer) => answer.error?.code ?? 'ok')).toEqual(['ok', -32600, -32601, -32600, -32601, -32001]);
    expect(reply.body[0]?.result?.id).toBe(waiting.id);
    expect(reply.body[1]?.error?.data?.detail).toMatch(/SendMessage needs an id/);

    const [ran] = await suite.gateway.database.db.rows(
      z.object({ n: z.number() }),
      sql`select count(*)::int as n from tasks where org_id = ${suite.org.orgId} and message_id = ${silentMessageId}`,
    );
    expect(ran?.n).toBe(0);
  });

  it('A2A has no notifications: a paid call without an id → HTTP 200, -32600 with id null; nothing runs, nothing is charged', async () => {
    const own = await suite.gateway.createOrg({ name: 'no notifications', credits: 100_000n });
    const before = await moneyOf(own.orgId);
    for (const [method, params] of [
      ['SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])],
      ['message/send', v03Send([v03Data(toolCall('getReputationSummary', { agentId: 1 }))])],
      ['SendMessage', v1Send([v1Text('free, but still a call that would open a task')])],
    ] as const) {
      const reply = await call(suite.gateway, { jsonrpc: '2.0', method, params }, own.apiKey.key);
      const error = expectRpcError(reply, -32600);
      expect(reply.body.id).toBeNull();
      expect(error.data?.detail).toContain(`${method} needs an id`);
    }
    const batch = await call<RpcAnswer[]>(
      suite.gateway,
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
      const reply = await call(suite.gateway, body, suite.key, headers);
      expectRpcError(reply, code);
      expect(reply.body.id).toBeNull();
    }
  });

  it.each([
    ['a string id', 'req-α-1'],
    ['a number id', 42],
    ['zero', 0],
    ['a negative id', -7],
    ['an explicit null id', null],
  ])('the response echoes %s (and a null id is still answered)', async (_name, id) => {
    const reply = await call(suite.gateway, { jsonrpc: '2.0', id, method: 'ListTasks', params: {} }, suite.key);
    expect(reply.status).toBe(200);
    expect(reply.body.id).toBe(id);
    expect(reply.body.result).toBeDefined();
    const failing = await call(suite.gateway, { jsonrpc: '2.0', id, method: 'GetTask', params: { id: randomUUID() } }, suite.key);
    expect(expectRpcError(failing, -32001) && failing.body.id).toBe(id);
  });

  it('errors travel with HTTP 200, singly and in a batch', async () => {
    const reply = await call<RpcAnswer[]>(
      suite.gateway,
      [request('nope'), request('GetTask', {}), request('GetTask', { id: randomUUID() }), request('ListTasks', {})],
      suite.key,
      { 'a2a-version': '1.0' },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.map((answer) => answer.error?.code ?? 'ok')).toEqual([-32601, -32602, -32001, 'ok']);
    const versioned = await call(suite.gateway, request('ListTasks', {}), suite.key, { 'a2a-version': '9.9' });
    expectRpcError(versioned, -32009);
  });
});

/** Regression tests for defects this suite found in src/ (each comment names the cause). */
describe('edge cases found by this suite', () => {
  // src/rpc/envelope.ts readRequest: `typeof null === 'object'`, so `"params": null` passes as
  // structured params; JSON-RPC 2.0 allows only an object or an array (or no member at all).
  it('"params": null is not a JSON-RPC 2.0 request → -32600', async () => {
    const reply = await call(suite.gateway, { jsonrpc: '2.0', id: 'null-params', method: 'ListTasks', params: null }, suite.key);
    const error = expectRpcError(reply, -32600);
    expect(reply.body.id).toBe('null-params');
    expect(String(error.data?.detail)).toMatch(/params/);
  });
});
