import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { z } from 'zod';
import { a2aMethods, streamingMethods } from '../../../src/a2a/methods.js';
import { MAX_BODY_BYTES } from '../../../src/http/a2a-endpoint.js';
import { MAX_BATCH_SIZE } from '../../../src/rpc/dispatch.js';
import { MAX_RPC_ID_LENGTH } from '../../../src/rpc/envelope.js';
import { RpcCode } from '../../../src/rpc/errors.js';
import { moneyChecks } from '../../helpers/gateway.js';
import { type SeededGatewayWithOrg, useSeededGateway } from '../../helpers/seeded-gateway.js';
import { AGENTS, type Auth, seenTaskIds } from './arbitraries.js';

/**
 * The harness of the POST /a2a fuzz suites (one file per concern: bodies, envelope, SendMessage
 * params, messageId). Each generated body is sent and, for each one:
 *
 * - the HTTP status is 200, 401 or 413, never 5xx;
 * - the body is valid JSON-RPC 2.0: every response object has jsonrpc "2.0", an id that is a
 *   string, a number or null, exactly one of result / error, an integer error.code and a string
 *   error.message;
 * - ids echo the request ids of valid requests; batches answer every element in order (A2A has
 *   no notifications: an element without an id gets the error its method and params earn, else
 *   -32600, with id null, and never runs); parse errors, invalid requests and unknown methods get
 *   their codes.
 *
 * After every test, the money: balance = initial credits − the costs of completed tasks (so a
 * rejected call never costs anything), reserved = 0, the ledger sums equal the balances, every
 * completed task paid for exactly once (one charge, or one capture when held), nothing taken for
 * any other task, no task left working. Every test fails itself if any of its calls was answered
 * -32603 (client input should never be an internal error).
 * FUZZ_SEED and FUZZ_RUNS_SCALE (e.g. 0.2 or 5) make a run reproducible or shorter / longer.
 */

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const SCALE = process.env.FUZZ_RUNS_SCALE ? Number(process.env.FUZZ_RUNS_SCALE) : 1;
export const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * SCALE)), ...(SEED === undefined ? {} : { seed: SEED }) });
export const PROPERTY_TIMEOUT_MS = 180_000;

const RICH_CREDITS = 1_000_000_000_000n;
/** two Tier 0 calls and then insufficient_credits */
const POOR_CREDITS = 2_500n;
const KNOWN_CODES = new Set<number>(Object.values(RpcCode));

/** the suite's gateway, its rich organization and key; set once useFuzzGateway's hooks have run */
let seeded: SeededGatewayWithOrg;
let poorKey: string;
const initialCredits = new Map<string, bigint>();
/** bodies of the running test answered with -32603: client input should never be an internal error (checked after each test) */
const internalErrors: string[] = [];
let internalErrorsInAll = 0;
let bodiesSent = 0;
/** how the answers to well-formed calls came out, by error code or task state: to see what the generators reach */
const outcomes = new Map<string, number>();
const tally = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

interface Exchange {
  status: number;
  text: string;
  contentType: string | null;
}

function authHeaders(choice: Auth): Record<string, string> {
  switch (choice.kind) {
    case 'rich':
      return { authorization: `Bearer ${seeded.key}` };
    case 'poor':
      return { authorization: `Bearer ${poorKey}` };
    case 'bogus':
      return { authorization: `Bearer apg_${'0'.repeat(43)}` };
    case 'basic':
      return { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` };
    case 'empty':
      return { authorization: 'Bearer ' };
    case 'none':
      return {};
  }
}

export async function send(
  body: string | Uint8Array,
  choice: Auth = { kind: 'rich' },
  headers: Record<string, string> = {},
): Promise<Exchange> {
  bodiesSent++;
  const allHeaders = { ...authHeaders(choice), ...headers };
  // Strings go through the suite helper; raw bytes straight to the app (the helper would JSON-encode them).
  const response =
    typeof body === 'string'
      ? await seeded.gateway.rpc(body, undefined, allHeaders)
      : await seeded.gateway.app.request('/a2a', {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', ...allHeaders },
          body: new Uint8Array(body),
        });
  return { status: response.status, text: await response.text(), contentType: response.headers.get('content-type') };
}

type RpcId = string | number | null;

/** What the JSON-RPC 2.0 spec says one element of a body is owed. */
type Owed =
  | { kind: 'parse-error' }
  | { kind: 'invalid'; id: RpcId }
  | { kind: 'unknown-method'; id: RpcId }
  | { kind: 'call'; id: RpcId; method: string }
  /** an A2A method without an id: answered with id null and an error, never run (A2A has no notifications) */
  | { kind: 'no-id'; method: string };

type Expected = { kind: 'single'; owed: Owed } | { kind: 'batch'; owed: Owed[] };

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isRpcId = (value: unknown): value is RpcId =>
  value === null ||
  (typeof value === 'string' && value.length <= MAX_RPC_ID_LENGTH) ||
  (typeof value === 'number' && Number.isFinite(value));

/** What one element is owed. A streaming method in a batch is an invalid request. */
function owedFor(element: unknown, inBatch: boolean): Owed {
  if (!isRecord(element)) return { kind: 'invalid', id: null };
  const hasId = Object.hasOwn(element, 'id');
  if (hasId && !isRpcId(element.id)) return { kind: 'invalid', id: null };
  const id = hasId ? (element.id as RpcId) : null;
  const method = element.method;
  if (element.jsonrpc !== '2.0' || typeof method !== 'string' || method === '') return { kind: 'invalid', id };
  if (Object.hasOwn(element, 'params') && (typeof element.params !== 'object' || element.params === null)) {
    return { kind: 'invalid', id };
  }
  if (!Object.hasOwn(a2aMethods, method)) return { kind: 'unknown-method', id };
  if (inBatch && streamingMethods.has(method)) return { kind: 'invalid', id };
  return hasId ? { kind: 'call', id, method } : { kind: 'no-id', method };
}

function expectedFor(text: string): Expected {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'single', owed: { kind: 'parse-error' } };
  }
  if (!Array.isArray(parsed)) {
    return { kind: 'single', owed: owedFor(parsed, false) };
  }
  if (parsed.length === 0 || parsed.length > MAX_BATCH_SIZE) return { kind: 'single', owed: { kind: 'invalid', id: null } };
  return { kind: 'batch', owed: parsed.map((element) => owedFor(element, true)) };
}

interface ResponseObject {
  jsonrpc: string;
  id: RpcId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** One response object, whatever it answers: the JSON-RPC 2.0 response shape. */
function expectResponseShape(value: unknown, context: string): asserts value is ResponseObject {
  expect(isRecord(value), `${context}: a response is an object`).toBe(true);
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) expect(['jsonrpc', 'id', 'result', 'error'], context).toContain(key);
  expect(object.jsonrpc, context).toBe('2.0');
  expect(Object.hasOwn(object, 'id'), `${context}: id is present`).toBe(true);
  expect(isRpcId(object.id), `${context}: id is a string, a number or null`).toBe(true);
  expect(Object.hasOwn(object, 'result') !== Object.hasOwn(object, 'error'), `${context}: exactly one of result / error`).toBe(true);
  if (Object.hasOwn(object, 'error')) {
    const error = object.error as Record<string, unknown>;
    expect(isRecord(error), context).toBe(true);
    expect(Number.isInteger(error.code), `${context}: error.code is an integer`).toBe(true);
    expect(typeof error.message, `${context}: error.message is a string`).toBe('string');
    expect(KNOWN_CODES.has(error.code as number), `${context}: error.code ${String(error.code)} is one the README lists`).toBe(true);
  }
}

/** JSON numbers have no negative zero worth keeping: `-0` echoed as `0` is the same id. */
function expectSameId(actual: RpcId, expected: RpcId, context: string): void {
  expect(actual === expected, `${context}: id ${JSON.stringify(actual)} echoes ${JSON.stringify(expected)}`).toBe(true);
}

function expectAnswers(owed: Owed, answer: ResponseObject, context: string): void {
  const code = answer.error?.code;
  switch (owed.kind) {
    case 'parse-error':
      expect(code, context).toBe(RpcCode.ParseError);
      expect(answer.id, context).toBeNull();
      return;
    case 'invalid':
      expect(code, context).toBe(RpcCode.InvalidRequest);
      // A spec-conforming server may answer an invalid request with id null even when its id was readable.
      if (answer.id !== null) expectSameId(answer.id, owed.id, context);
      return;
    case 'unknown-method':
      expect(code, context).toBe(RpcCode.MethodNotFound);
      expectSameId(answer.id, owed.id, context);
      return;
    case 'call':
      expectSameId(answer.id, owed.id, `${context}: the id of a valid request is echoed`);
      tally(
        code === undefined
          ? `${owed.method} ok`
          : `${owed.method} ${code} ${String((answer.error?.data as { reason?: unknown } | undefined)?.reason ?? '')}`.trim(),
      );
      if (code !== undefined) {
        expect([RpcCode.ParseError, RpcCode.InvalidRequest, RpcCode.MethodNotFound], context).not.toContain(code);
        if (code === RpcCode.InternalError) internalErrors.push(context);
      } else {
        expect(isRecord(answer.result), `${context}: a result is an object`).toBe(true);
        collectTaskIds(answer.result);
      }
      return;
    case 'no-id':
      expect(answer.id, `${context}: a request without an id is answered with id null`).toBeNull();
      expect([RpcCode.InvalidRequest, RpcCode.InvalidParams, RpcCode.VersionNotSupported], context).toContain(code);
  }
}

function collectTaskIds(result: unknown): void {
  if (!isRecord(result)) return;
  const task = isRecord(result.task) ? result.task : result;
  if (typeof task.id === 'string' && seenTaskIds.length < 5_000) seenTaskIds.push(task.id);
  if (isRecord(task.status)) tally(`state ${String(task.status.state)}`);
  if (isRecord(task.status) && (task.status.state === 'TASK_STATE_COMPLETED' || task.status.state === 'completed')) {
    expect(isRecord(task.metadata) && task.metadata.charged === (task.metadata.cost_micro_usdc !== '0')).toBe(true);
  }
}

/**
 * Checks one exchange against what the body is owed. `text` is what the gateway read: the body as
 * sent, or for raw bytes their UTF-8 decoding. Returns the response objects.
 */
export function check(text: string, bytes: number, choice: Auth, exchange: Exchange): ResponseObject[] {
  const context = `body ${JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…(${text.length} chars)` : text)} → ${exchange.status} ${exchange.text.slice(0, 300)}`;
  expect([200, 401, 413], context).toContain(exchange.status);
  expect(exchange.contentType ?? '', context).toMatch(/^(application\/json|text\/event-stream)/);
  const parsedAnswer = (): unknown => {
    try {
      return JSON.parse(exchange.text);
    } catch {
      throw new Error(`${context}: the answer is not JSON`);
    }
  };

  if (bytes > MAX_BODY_BYTES) {
    expect(exchange.status, context).toBe(413);
    const answer = parsedAnswer();
    expectResponseShape(answer, context);
    expect(answer.id, context).toBeNull();
    expect(answer.error?.code, context).toBe(RpcCode.InvalidRequest);
    return [answer];
  }
  expect(exchange.status, context).not.toBe(413);
  if (choice.kind !== 'rich' && choice.kind !== 'poor') {
    expect(exchange.status, context).toBe(401);
    const answer = parsedAnswer();
    expectResponseShape(answer, context);
    expect(answer.error?.code, context).toBe(RpcCode.Unauthorized);
    return [answer];
  }
  expect(exchange.status, context).not.toBe(401);

  const expected = expectedFor(text);
  expect(exchange.status, context).toBe(200);
  if (exchange.contentType?.startsWith('text/event-stream')) {
    // A streaming method's answer: Server-Sent Events, each a JSON-RPC response to the one request.
    expect(
      expected.kind === 'single' &&
        (expected.owed.kind === 'call' || expected.owed.kind === 'no-id') &&
        streamingMethods.has(expected.owed.method),
      context,
    ).toBe(true);
    const events = exchange.text
      .split('\n\n')
      .filter((chunk) => chunk.startsWith('data:'))
      .map((chunk) => JSON.parse(chunk.slice('data:'.length)) as ResponseObject);
    expect(events.length, `${context}: a stream holds at least one event`).toBeGreaterThan(0);
    for (const event of events) {
      expectResponseShape(event, context);
      if (expected.kind === 'single') expectAnswers(expected.owed, event, context);
    }
    return events;
  }
  const answer = parsedAnswer();
  if (expected.kind === 'single') {
    expect(Array.isArray(answer), `${context}: a single request gets a single answer`).toBe(false);
    expectResponseShape(answer, context);
    expectAnswers(expected.owed, answer, context);
    return [answer];
  }
  expect(Array.isArray(answer), `${context}: a batch gets an array`).toBe(true);
  const answers = answer as unknown[];
  expect(answers.length, `${context}: one answer per element`).toBe(expected.owed.length);
  answers.forEach((item, index) => {
    expectResponseShape(item, `${context} [${index}]`);
    expectAnswers(expected.owed[index] as Owed, item, `${context} [${index}]`);
  });
  return answers as ResponseObject[];
}

export async function sendAndCheck(body: string, choice: Auth = { kind: 'rich' }, headers: Record<string, string> = {}) {
  const exchange = await send(body, choice, headers);
  // What the gateway reads is the UTF-8 decoding of the bytes sent: a leading BOM is dropped.
  const bytes = new TextEncoder().encode(body);
  return check(new TextDecoder().decode(bytes), bytes.byteLength, choice, exchange);
}

// ── Money ──────────────────────────────────────────────────────────────────────────────────────

async function expectMoneyInvariants(): Promise<void> {
  const db = seeded.gateway.database.db;
  const spent = await db.rows(
    z.object({ orgId: z.string(), spent: z.bigint() }),
    sql`
    select a.org_id as "orgId",
           coalesce((select sum(t.cost) from tasks t where t.org_id = a.org_id and t.state = 'completed'), 0)::int8 as spent
      from credit_accounts a`,
  );
  const accounts = await moneyChecks(seeded.gateway);
  // beside the fuzzed organizations only the platform's own account (migration 0017), which no built-in call moves
  expect(accounts.filter((account) => !initialCredits.has(account.orgId)).map((account) => account.balance)).toEqual([0n]);
  const checks = accounts.filter((account) => initialCredits.has(account.orgId));
  expect(checks).toHaveLength(initialCredits.size);
  for (const account of checks) {
    const initial = initialCredits.get(account.orgId);
    const used = spent.find((row) => row.orgId === account.orgId)?.spent;
    expect({ org: account.orgId, balance: account.balance, reserved: account.reserved }).toEqual({
      org: account.orgId,
      balance: (initial ?? -1n) - (used ?? -1n),
      reserved: 0n,
    });
    expect(account.ledgerAmount).toBe(account.balance);
    expect(account.ledgerReserved).toBe(account.reserved);
  }
  const [wrongCaptures] = await db.rows(
    z.object({ n: z.bigint() }),
    sql`
    select count(*)::int8 as n from ledger_entries l left join tasks t on t.id = l.task_id
     where l.kind in ('capture', 'charge') and (t.state is distinct from 'completed' or l.amount <> -t.cost)`,
  );
  expect(wrongCaptures?.n, 'a capture or charge for a task that did not complete').toBe(0n);
  const [uncapturedOrTwice] = await db.rows(
    z.object({ n: z.bigint() }),
    sql`
    select count(*)::int8 as n from tasks t
     where t.state = 'completed' and t.cost > 0
       and (select count(*) from ledger_entries l where l.task_id = t.id and l.kind in ('capture', 'charge')) <> 1`,
  );
  expect(uncapturedOrTwice?.n, 'a completed task paid for other than exactly once').toBe(0n);
  const [working] = await db.rows(z.object({ n: z.bigint() }), sql`select count(*)::int8 as n from tasks where state = 'working'`);
  expect(working?.n, 'no task is left working once every call has answered').toBe(0n);
}

/** PGlite or PostgreSQL: named in each fuzz suite's title and summary. */
export const DATABASE_LABEL = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

/**
 * Registers a fuzz suite's hooks: a gateway seeded with AGENTS demo agents, a rich organization
 * (the usual caller) and a poor one (two Tier 0 calls, then insufficient_credits); after each test
 * its -32603 answers and the money invariants above; after the suite a summary of what the
 * generators reached.
 */
export function useFuzzGateway(concern: string): SeededGatewayWithOrg {
  seeded = useSeededGateway({ demoData: { agents: AGENTS }, org: { name: 'fuzz rich', credits: RICH_CREDITS } });

  beforeAll(async () => {
    const poor = await seeded.gateway.createOrg({ name: 'fuzz poor', credits: POOR_CREDITS });
    poorKey = poor.apiKey.key;
    initialCredits.set(seeded.org.orgId, RICH_CREDITS);
    initialCredits.set(poor.orgId, POOR_CREDITS);
  });

  afterEach(async (context) => {
    // Checked after the test that got them, so the property whose input caused them is the one that fails.
    const found = internalErrors.splice(0);
    internalErrorsInAll += found.length;
    expect(found.slice(0, 5), `${found.length} calls of "${context.task.name}" were answered -32603`).toEqual([]);
    await expectMoneyInvariants();
  });

  afterAll(() => {
    console.info(
      `fuzz ${concern} (${DATABASE_LABEL}): ${bodiesSent} bodies sent, ${seenTaskIds.length} task ids seen, ` +
        `${internalErrorsInAll} answered -32603 (client input answered as an internal error)\n` +
        [...outcomes.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([key, n]) => `  ${String(n).padStart(5)}  ${key}`)
          .join('\n'),
    );
  });
  return seeded;
}
