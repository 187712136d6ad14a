import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { platformFeesBy } from '../../src/billing/earnings.js';
import { PLATFORM_ORG_ID } from '../../src/billing/platform.js';
import { checkLedgerAfterEach, expectLedgerInvariant, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type LoopbackServer, listenOnLoopback } from '../helpers/loopback.js';
import { seededShuffle } from '../helpers/shuffle.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Provider earnings (issue 19, ADR 0020): a paid call of a provider's catalog tool takes the price
 * from the caller, credits the provider with the price less PLATFORM_FEE_BPS and the platform with
 * the fee, a ledger row on each side, in the statement that charges (instant) or captures (held).
 * Real HTTP to the gateway, a real upstream on loopback, the real database: PGlite by default,
 * PostgreSQL with DATABASE_URL (where the concurrent run really races on a pool of connections).
 */

const ADMIN_TOKEN = randomBytes(24).toString('hex');
/** 10 %: the fee of 12,345 is 1,234 (rounded down), the provider earns 11,111 */
const FEE_BPS = 1_000;
const INSTANT_PRICE = 12_345n;
const INSTANT_FEE = 1_234n;
const HELD_PRICE = 54_321n;
const HELD_FEE = 5_432n;

interface RpcAnswer {
  id: string;
  result?: { task: { id: string; status: { state: string }; metadata: Record<string, unknown> } };
  error?: { code: number; message: string; data?: unknown };
}

const sendMessage = (tool: string, args: Record<string, unknown> = {}, messageId = randomUUID()) => ({
  jsonrpc: '2.0',
  id: messageId,
  method: 'SendMessage',
  params: { message: { messageId, role: 'ROLE_USER', parts: [{ data: { tool, arguments: args } }] } },
});

const ledgerRow = z.object({
  orgId: z.string(),
  kind: z.string(),
  amount: z.bigint(),
  reservedDelta: z.bigint(),
  taskId: z.string().nullable(),
});
const sumsRow = z.object({ kind: z.string(), n: z.bigint(), amount: z.bigint() });

describe('provider earnings: the charge credits the provider and the platform in the same statement', () => {
  let gateway: TestGateway;
  let upstream: LoopbackServer;
  let provider: NewOrganization;
  let upstreamCalls = 0;

  const post = async (apiKey: string, body: unknown): Promise<RpcAnswer> => {
    const response = await fetch(`${gateway.baseUrl}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as RpcAnswer;
  };
  const rest = async <T>(apiKey: string, path: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${gateway.baseUrl}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
    return { status: response.status, body: (await response.json()) as T };
  };
  /** the database's clock now, as the ISO instant the ledger's created_at is compared with */
  const databaseNow = async () => {
    const [row] = await gateway.database.db.rows(
      z.object({ ms: z.bigint() }),
      sql`select floor(extract(epoch from clock_timestamp()) * 1000)::int8 as ms`,
    );
    return new Date(Number(row?.ms)).toISOString();
  };
  const balance = async (orgId: string) => (await getCreditAccount(gateway.database.db, orgId))?.balance;
  const ledgerOfTask = (taskId: string) =>
    gateway.database.db.rows(
      ledgerRow,
      sql`select org_id as "orgId", kind::text as kind, amount, reserved_delta as "reservedDelta", task_id as "taskId"
            from ledger_entries where task_id = ${taskId} order by id`,
    );

  /** Registers a tool over the operator API and waits until the gateway's live catalog serves it. */
  async function register(manifest: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${gateway.baseUrl}/admin/v1/tools`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(manifest),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    // an organization without credit is refused for its credit once the tool is known, and before that as an unknown tool
    const probe = await gateway.createOrg({ name: 'probe', credits: 0n });
    await waitFor(
      async () => {
        const answer = await post(probe.apiKey.key, sendMessage(String(manifest.name), { n: 1 }));
        return JSON.stringify(answer.error ?? {}).includes('insufficient_credits');
      },
      `${String(manifest.name)} in the live catalog`,
    );
  }

  beforeAll(async () => {
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        upstreamCalls += 1;
        const { arguments: args } = JSON.parse(body) as { arguments: unknown };
        const status = req.url === '/fail' ? 502 : 200;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify(status === 200 ? { echo: args } : { error: 'down' }));
      });
    });
    upstream = await listenOnLoopback(server);
    gateway = await startTestGateway({ operator: { adminToken: ADMIN_TOKEN, secretsKey: randomBytes(32) }, platformFeeBps: FEE_BPS });
    await gateway.listen();
    provider = await gateway.createOrg({ name: 'provider', credits: 1_000_000n });
    const manifest = (name: string, settlement: 'instant' | 'hold', price: bigint, path = '/run') => ({
      name,
      version: '1.0.0',
      description: `${name}, a provider's tool`,
      tier: settlement === 'hold' ? 3 : 0,
      settlement,
      priceMicroUsdc: price.toString(),
      argumentsSchema: { type: 'object', properties: { n: { type: 'integer' } } },
      upstream: { url: `${upstream.baseUrl}${path}` },
      providerOrgId: provider.orgId,
    });
    await register(manifest('quickQuote', 'instant', INSTANT_PRICE));
    await register(manifest('slowReport', 'hold', HELD_PRICE));
    await register(manifest('brokenQuote', 'instant', INSTANT_PRICE, '/fail'));
    await register(manifest('brokenReport', 'hold', HELD_PRICE, '/fail'));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });
  checkLedgerAfterEach(() => [gateway]);

  it.each([
    ['instant', 'quickQuote', INSTANT_PRICE, INSTANT_FEE, 'charge'],
    ['held', 'slowReport', HELD_PRICE, HELD_FEE, 'capture'],
  ] as const)(
    'a paid %s call: caller −price, provider +earning, platform +fee, a ledger row of each kind',
    async (_, tool, price, fee, paidKind) => {
      const caller = await gateway.createOrg({ name: 'caller', credits: 1_000_000n });
      const platformBefore = (await balance(PLATFORM_ORG_ID)) ?? 0n;
      const providerBefore = await balance(provider.orgId);

      const answer = await post(caller.apiKey.key, sendMessage(tool, { n: 7 }));
      expect(answer.result?.task.status.state, JSON.stringify(answer)).toBe('TASK_STATE_COMPLETED');
      const taskId = answer.result?.task.id as string;

      expect(await balance(caller.orgId)).toBe(1_000_000n - price);
      expect(await balance(provider.orgId)).toBe((providerBefore ?? 0n) + price - fee);
      expect(await balance(PLATFORM_ORG_ID)).toBe(platformBefore + fee);
      const rows = (await ledgerOfTask(taskId)).filter((row) => row.kind !== 'reserve');
      expect(rows).toEqual([
        { orgId: caller.orgId, kind: paidKind, amount: -price, reservedDelta: paidKind === 'capture' ? -price : 0n, taskId },
        { orgId: provider.orgId, kind: 'earning', amount: price - fee, reservedDelta: 0n, taskId },
        { orgId: PLATFORM_ORG_ID, kind: 'fee', amount: fee, reservedDelta: 0n, taskId },
      ]);
    },
  );

  it('the provider calling its own tool: charged the price and credited its earning, one account change', async () => {
    const before = (await balance(provider.orgId)) ?? 0n;
    const platformBefore = (await balance(PLATFORM_ORG_ID)) ?? 0n;
    for (const tool of ['quickQuote', 'slowReport']) {
      const answer = await post(provider.apiKey.key, sendMessage(tool, { n: 1 }));
      expect(answer.result?.task.status.state).toBe('TASK_STATE_COMPLETED');
    }
    expect(await balance(provider.orgId)).toBe(before - INSTANT_FEE - HELD_FEE);
    expect(await balance(PLATFORM_ORG_ID)).toBe(platformBefore + INSTANT_FEE + HELD_FEE);
  });

  it('a failed upstream call, instant or held, moves nothing for anyone', async () => {
    const caller = await gateway.createOrg({ name: 'unlucky caller', credits: 1_000_000n });
    const providerBefore = await balance(provider.orgId);
    const platformBefore = await balance(PLATFORM_ORG_ID);
    const callsBefore = upstreamCalls;
    for (const tool of ['brokenQuote', 'brokenReport']) {
      const answer = await post(caller.apiKey.key, sendMessage(tool, { n: 1 }));
      expect(answer.result?.task.status.state ?? answer.error?.message, JSON.stringify(answer)).not.toBe('TASK_STATE_COMPLETED');
      const taskId = answer.result?.task.id;
      if (taskId) {
        const kinds = (await ledgerOfTask(taskId)).map((row) => row.kind);
        expect(kinds).toEqual(tool === 'brokenReport' ? ['reserve', 'release'] : []);
      }
    }
    expect(upstreamCalls).toBe(callsBefore + 2);
    expect(await balance(caller.orgId)).toBe(1_000_000n);
    expect(await balance(provider.orgId)).toBe(providerBefore);
    expect(await balance(PLATFORM_ORG_ID)).toBe(platformBefore);
  });

  it('the provider sees its earnings by tool and day, and in its ledger with the tool, never the caller', async () => {
    const caller = await gateway.createOrg({ name: 'secret caller inc', credits: 1_000_000n });
    const from = await databaseNow();
    const called = await post(caller.apiKey.key, sendMessage('quickQuote', { n: 424242 }));
    const taskId = called.result?.task.id as string;
    await post(caller.apiKey.key, sendMessage('slowReport', { n: 2 }));

    type Earnings = { by: string; earnings: Record<string, unknown>[]; total: Record<string, unknown> };
    const byTool = await rest<Earnings>(provider.apiKey.key, `/v1/usage/earnings?by=tool&from=${from}`);
    expect(byTool.status).toBe(200);
    expect(byTool.body).toEqual({
      by: 'tool',
      earnings: [
        {
          key: 'quickQuote',
          calls: 1,
          grossMicroUsdc: String(INSTANT_PRICE),
          feeMicroUsdc: String(INSTANT_FEE),
          earnedMicroUsdc: String(INSTANT_PRICE - INSTANT_FEE),
          earnedDisplay: expect.any(String),
        },
        {
          key: 'slowReport',
          calls: 1,
          grossMicroUsdc: String(HELD_PRICE),
          feeMicroUsdc: String(HELD_FEE),
          earnedMicroUsdc: String(HELD_PRICE - HELD_FEE),
          earnedDisplay: expect.any(String),
        },
      ],
      total: {
        calls: 2,
        grossMicroUsdc: String(INSTANT_PRICE + HELD_PRICE),
        feeMicroUsdc: String(INSTANT_FEE + HELD_FEE),
        earnedMicroUsdc: String(INSTANT_PRICE + HELD_PRICE - INSTANT_FEE - HELD_FEE),
        earnedDisplay: expect.any(String),
      },
    });
    const byDay = await rest<Earnings>(provider.apiKey.key, `/v1/usage/earnings?by=day&from=${from}`);
    expect(byDay.body.earnings).toEqual([
      expect.objectContaining({ key: new Date().toISOString().slice(0, 10), calls: 2, feeMicroUsdc: String(INSTANT_FEE + HELD_FEE) }),
    ]);
    const csv = await fetch(`${gateway.baseUrl}/v1/usage/earnings.csv?by=tool&from=${from}`, {
      headers: { authorization: `Bearer ${provider.apiKey.key}` },
    });
    expect((await csv.text()).split('\r\n').slice(0, 2)).toEqual([
      'key,calls,gross_micro_usdc,fee_micro_usdc,earned_micro_usdc',
      `quickQuote,1,${INSTANT_PRICE},${INSTANT_FEE},${INSTANT_PRICE - INSTANT_FEE}`,
    ]);
    // a caller of no provider's tool earns nothing
    expect((await rest<Earnings>(caller.apiKey.key, '/v1/usage/earnings')).body.earnings).toEqual([]);

    const ledger = await rest<{ entries: Record<string, unknown>[] }>(provider.apiKey.key, `/v1/ledger?kind=earning&from=${from}`);
    expect(ledger.body.entries).toHaveLength(2);
    const entry = ledger.body.entries.find((row) => row.taskId === taskId);
    expect(entry).toMatchObject({ kind: 'earning', tool: 'quickQuote', amountMicroUsdc: String(INSTANT_PRICE - INSTANT_FEE) });
    const shown = JSON.stringify(ledger.body) + JSON.stringify(byTool.body);
    expect(shown).not.toContain(caller.orgId);
    expect(shown).not.toContain('secret caller');
    expect(shown).not.toContain('424242');
    // the caller's task stays the caller's
    expect((await rest(provider.apiKey.key, `/v1/tasks/${taskId}`)).status).toBe(404);
    const callerLedger = await rest<{ entries: Record<string, unknown>[] }>(caller.apiKey.key, '/v1/ledger?kind=charge');
    expect(callerLedger.body.entries).toEqual([
      expect.objectContaining({ taskId, tool: 'quickQuote', amountMicroUsdc: String(-INSTANT_PRICE) }),
    ]);

    // the operator's view of the platform's account
    const fees = await platformFeesBy(gateway.database.db, { by: 'tool', from: new Date(from) });
    expect(fees.map((row) => [row.key, row.calls, row.credited])).toEqual([
      ['quickQuote', 1, INSTANT_FEE],
      ['slowReport', 1, HELD_FEE],
    ]);
  });

  it('200 calls at once from four organizations, the provider among them, on instant and held tools: Σ charge = Σ earning + Σ fee', {
    timeout: 120_000,
  }, async () => {
    // what each can pay: about half the calls of the poorer ones are refused for lack of credit
    const callers = [
      await gateway.createOrg({ name: 'rich', credits: 100_000_000n }),
      await gateway.createOrg({ name: 'poor', credits: 10n * INSTANT_PRICE + 3n * HELD_PRICE + 7n }),
      await gateway.createOrg({ name: 'poorer', credits: 2n * HELD_PRICE }),
      provider,
    ];
    const before = new Map<string, bigint>();
    for (const org of [...callers, { orgId: PLATFORM_ORG_ID }]) before.set(org.orgId, (await balance(org.orgId)) ?? 0n);
    const { shuffled: calls } = seededShuffle(
      Array.from({ length: 200 }, (_, i) => ({
        org: callers[i % callers.length] as NewOrganization,
        tool: i % 3 === 0 ? 'slowReport' : 'quickQuote',
      })),
    );
    const answers = await Promise.all(calls.map(({ org, tool }) => post(org.apiKey.key, sendMessage(tool, { n: 1 }))));

    const completed = answers.filter((answer) => answer.result?.task.status.state === 'TASK_STATE_COMPLETED');
    const refused = answers.filter((answer) => answer.error);
    expect(
      completed.length + refused.length,
      JSON.stringify(answers.find((a) => !a.error && a.result?.task.status.state !== 'TASK_STATE_COMPLETED')),
    ).toBe(200);
    for (const answer of refused) expect(JSON.stringify(answer.error)).toContain('insufficient_credits');
    expect(refused.length).toBeGreaterThan(0);
    expect(completed.length).toBeGreaterThan(100);

    // per kind over the tasks of this run (each a provider tool's)
    const taskIds = completed.map((answer) => answer.result?.task.id as string);
    const sums = await gateway.database.db.rows(
      sumsRow,
      sql`select l.kind::text as kind, count(*)::int8 as n, sum(l.amount)::int8 as amount
              from ledger_entries l join tasks t on t.id = l.task_id
             where t.id in (select value::uuid from json_array_elements_text(${JSON.stringify(taskIds)}::json)) and t.provider_org_id = ${provider.orgId}
               and l.kind in ('charge', 'capture', 'earning', 'fee')
             group by 1 order by 1`,
    );
    const of = (kind: string) => sums.find((row) => row.kind === kind) ?? { n: 0n, amount: 0n };
    const paid = -(of('charge').amount + of('capture').amount);
    expect(of('charge').n + of('capture').n).toBe(BigInt(completed.length));
    expect(of('earning').n).toBe(BigInt(completed.length));
    expect(of('fee').n).toBe(BigInt(completed.length));
    expect(paid).toBe(of('earning').amount + of('fee').amount);
    const instant = completed.filter((answer) => answer.result?.task.metadata.tool === 'quickQuote').length;
    const held = completed.length - instant;
    expect(paid).toBe(BigInt(instant) * INSTANT_PRICE + BigInt(held) * HELD_PRICE);
    expect(of('fee').amount).toBe(BigInt(instant) * INSTANT_FEE + BigInt(held) * HELD_FEE);

    // each account moved by exactly what its rows say: callers paid, the provider earned, the platform took its fees
    const spentBy = (orgId: string) =>
      completed
        .filter((answer) => calls[answers.indexOf(answer)]?.org.orgId === orgId)
        .reduce((sum, answer) => sum + (answer.result?.task.metadata.tool === 'quickQuote' ? INSTANT_PRICE : HELD_PRICE), 0n);
    for (const org of callers.slice(0, 3)) expect(await balance(org.orgId)).toBe((before.get(org.orgId) ?? 0n) - spentBy(org.orgId));
    expect(await balance(provider.orgId)).toBe((before.get(provider.orgId) ?? 0n) - spentBy(provider.orgId) + of('earning').amount);
    expect(await balance(PLATFORM_ORG_ID)).toBe((before.get(PLATFORM_ORG_ID) ?? 0n) + of('fee').amount);
    // nothing overdrawn: the poorer ones spent at most what they had
    expect(spentBy(callers[2]?.orgId as string)).toBeLessThanOrEqual(2n * HELD_PRICE);
    await expectLedgerInvariant(gateway);
  });
});
