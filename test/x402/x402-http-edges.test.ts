import { decodePaymentResponseHeader } from '@x402/core/http';
import { sql } from 'drizzle-orm';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signIn } from '../helpers/sign-in.js';
import {
  askedFor,
  balanceOf,
  bookedForTask,
  CALL,
  ledgerOfTask,
  orgOf,
  PRICE,
  payer,
  payingFetch,
  paymentsOf,
  post,
  signPayment,
  useX402Chain,
  useX402Gateway,
} from './x402-kit.js';

/**
 * x402 over HTTP (issue 21) at its edges, on anvil: a settlement that fails, a payer short of USDC,
 * an authorization offered again after its tool failed, and what the payer's organization sees.
 */
const kit = useX402Chain();

const TaskRow = z.object({ id: z.string(), org_id: z.string(), state: z.string(), result: z.unknown(), error: z.unknown() });

describe('a gateway whose settler has gas', () => {
  const suite = useX402Gateway(kit);
  it('a payer holding less than the price is INSUFFICIENT_FUNDS: 402, nothing claimed, nothing moved', async () => {
    const poor = await payer(kit, PRICE - 1n);
    const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
    const before = await balanceOf(kit, kit.treasury);
    const response = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': await signPayment(kit, poor, accepted) });
    expect(response.status).toBe(402);
    expect(response.headers.get('payment-required')).toBeTruthy();
    const body = (await response.json()) as { error: { reason: string; details: { code: string } } };
    expect(body.error).toMatchObject({ reason: 'insufficient_funds', details: { code: 'INSUFFICIENT_FUNDS' } });
    expect(await paymentsOf(suite.gateway.database.db, poor)).toEqual([]);
    expect(await balanceOf(kit, poor.address)).toBe(PRICE - 1n);
    expect(await balanceOf(kit, kit.treasury)).toBe(before);
  });

  it('an authorization released by a failed tool pays for a later call that answers: settled once and booked', async () => {
    const account = await payer(kit);
    const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
    const signature = await signPayment(kit, account, accepted);
    // agent 999999 does not exist: the tool refuses it, nothing settles, the claim is released
    const failed = await post(suite.baseUrl, CALL, { agentId: 999_999 }, { 'payment-signature': signature });
    expect(failed.status).toBe(400);
    const db = suite.gateway.database.db;
    expect((await paymentsOf(db, account)).map((row) => row.status)).toEqual(['released']);

    const before = await balanceOf(kit, kit.treasury);
    const paid = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signature });
    expect(paid.status, await paid.clone().text()).toBe(200);
    const { taskId } = (await paid.json()) as { taskId: string };
    expect(decodePaymentResponseHeader(paid.headers.get('payment-response') ?? '')).toMatchObject({ success: true });
    expect((await balanceOf(kit, kit.treasury)) - before).toBe(PRICE);
    expect((await paymentsOf(db, account)).map((row) => row.status)).toEqual(['settled']);
    expect(await bookedForTask(db, taskId)).toEqual([
      { kind: 'x402_payment', amount: PRICE },
      { kind: 'charge', amount: -PRICE },
    ]);
    // both tasks are the payer's: the failed one and the answered one
    const orgId = await orgOf(db, account);
    const tasks = await db.rows(
      TaskRow,
      sql`select id, org_id, state, result, error from tasks where org_id = ${orgId} order by created_at`,
    );
    expect(tasks.map((task) => task.state)).toEqual(['failed', 'completed']);
  });

  it('an authorization whose tool failed twice is released twice; a third offer still pays once', async () => {
    const account = await payer(kit);
    const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
    const signature = await signPayment(kit, account, accepted);
    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await post(suite.baseUrl, CALL, { agentId: 999_999 }, { 'payment-signature': signature });
      expect(failed.status, await failed.clone().text()).toBe(400);
    }
    const paid = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signature });
    expect(paid.status, await paid.clone().text()).toBe(200);
    const again = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signature });
    expect(again.status).toBe(402);
    expect(await balanceOf(kit, account.address)).toBe(1_000_000n - PRICE);
  });

  it("the payer's wallet signs in to its organization: GET /v1/usage counts the x402 call, GET /v1/ledger shows x402_payment and charge", async () => {
    const account = await payer(kit);
    const response = await post(suite.baseUrl, CALL, { agentId: 3 }, {}, payingFetch(kit, account));
    expect(response.status).toBe(200);
    const { taskId } = (await response.json()) as { taskId: string };
    const session = await signIn(suite.gateway, account);
    expect(session.organizationCreated).toBe(false);
    expect(session.orgId).toBe(await orgOf(suite.gateway.database.db, account));
    const headers = { authorization: `Bearer ${session.token}` };

    const usage = await suite.gateway.app.request('/v1/usage?by=tool', { headers });
    expect(usage.status).toBe(200);
    expect(((await usage.json()) as { usage: unknown[] }).usage).toEqual([
      expect.objectContaining({ key: 'getReputationSummary', calls: 1, succeeded: 1, failed: 0, spentMicroUsdc: PRICE.toString() }),
    ]);

    const ledger = await suite.gateway.app.request('/v1/ledger', { headers });
    expect(ledger.status).toBe(200);
    const { entries } = (await ledger.json()) as {
      entries: { kind: string; amountMicroUsdc: string; taskId: string; tool: string; reason: string | null }[];
    };
    expect(entries.map(({ kind, amountMicroUsdc, taskId: id, tool }) => ({ kind, amountMicroUsdc, taskId: id, tool }))).toEqual(
      expect.arrayContaining([
        { kind: 'x402_payment', amountMicroUsdc: PRICE.toString(), taskId, tool: 'getReputationSummary' },
        { kind: 'charge', amountMicroUsdc: (-PRICE).toString(), taskId, tool: 'getReputationSummary' },
      ]),
    );
    expect(entries).toHaveLength(2);
    const receipt = decodePaymentResponseHeader(response.headers.get('payment-response') ?? '');
    expect(entries.find((entry) => entry.kind === 'x402_payment')?.reason).toContain(receipt.transaction);

    const csv = await (await suite.gateway.app.request('/v1/ledger.csv', { headers })).text();
    expect(csv).toContain(`,x402_payment,${PRICE},0,${taskId},`);
    expect(csv).toContain(`,charge,${-PRICE},0,${taskId},`);
    const usageCsv = await (await suite.gateway.app.request('/v1/usage.csv?by=tool', { headers })).text();
    expect(usageCsv).toContain('getReputationSummary');

    const filtered = await suite.gateway.app.request('/v1/ledger?kind=x402_payment', { headers });
    expect(((await filtered.json()) as { entries: { kind: string }[] }).entries.map((entry) => entry.kind)).toEqual(['x402_payment']);

    const task = await suite.gateway.app.request(`/v1/tasks/${taskId}`, { headers });
    expect(task.status).toBe(200);
  });
});

describe('a gateway whose settler has no ETH for gas: every settlement fails', () => {
  const suite = useX402Gateway(kit, { gas: false });

  it('the answer is withheld: 402 with PAYMENT-RESPONSE (success false), the task failed settlement_failed, nothing booked, the claim failed, the USDC untouched', async () => {
    const account = await payer(kit);
    const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
    const signature = await signPayment(kit, account, accepted);
    const treasuryBefore = await balanceOf(kit, kit.treasury);
    const response = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signature });
    expect(response.status).toBe(402);
    const receipt = decodePaymentResponseHeader(response.headers.get('payment-response') ?? '');
    expect(receipt).toMatchObject({ success: false, network: 'eip155:31337' });
    const text = await response.text();
    const body = JSON.parse(text) as { error: { code: string; message: string; details: { code: string; taskId: string } } };
    expect(body).not.toHaveProperty('result');
    expect(body.error).toMatchObject({ code: 'payment_required', details: { code: 'SETTLEMENT_FAILED' } });
    // the tool answered (agent 3's summary) but none of it is in the 402
    expect(text).not.toContain('agent_id');

    const db = suite.gateway.database.db;
    const orgId = await orgOf(db, account);
    expect(orgId).toBeDefined();
    const tasks = await db.rows(TaskRow, sql`select id, org_id, state, result, error from tasks where org_id = ${orgId}`);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      id: body.error.details.taskId,
      state: 'failed',
      result: null,
      error: { reason: 'settlement_failed' },
    });
    expect(await ledgerOfTask(db, tasks[0]!.id)).toEqual([]);
    const [claim] = await paymentsOf(db, account);
    expect(claim).toMatchObject({ status: 'failed', transaction: null });
    expect(await balanceOf(kit, account.address)).toBe(1_000_000n);
    expect(await balanceOf(kit, kit.treasury)).toBe(treasuryBefore);

    // the failed claim is never taken again: the same authorization is refused, whatever the chain says of it
    const again = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signature });
    expect(again.status).toBe(402);
    expect(await again.json()).toMatchObject({ error: { details: { code: 'DUPLICATE_NONCE' } } });
  });

  it("what the client is told of a failed settlement names neither the chain's RPC URL nor the settler's address", async () => {
    const account = await payer(kit);
    const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
    const response = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': await signPayment(kit, account, accepted) });
    expect(response.status).toBe(402);
    const told = `${await response.text()} ${JSON.stringify(decodePaymentResponseHeader(response.headers.get('payment-response') ?? ''))}`;
    const { port } = new URL(kit.chain.rpcUrl);
    expect(told).not.toContain(port);
    expect(told.toLowerCase()).not.toContain(privateKeyToAccount(suite.settlerKey).address.toLowerCase().slice(2));
    // nor does the task the payer's organization can read
    const [task] = await suite.gateway.database.db.rows(
      z.object({ error: z.unknown() }),
      sql`select error from tasks where org_id = ${await orgOf(suite.gateway.database.db, account)}`,
    );
    expect(JSON.stringify(task?.error)).not.toContain(port);
  });
});

describe('a settled payment whose books cannot be written', () => {
  const suite = useX402Gateway(kit);

  it('is left claimed with its transaction and settled_not_booked on the claim, never taken again, the ledger untouched', async () => {
    const db = suite.gateway.database.db;
    // every completed task of an x402 call is refused: the booking statement fails each time it is tried
    await db.run(sql`create function refuse_x402_task() returns trigger language plpgsql as $$
      begin
        if new.message_id like 'x402:%' and new.state = 'completed' then raise exception 'books refused by the test'; end if;
        return new;
      end $$`);
    await db.run(sql`create trigger refuse_x402_task before insert on tasks for each row execute function refuse_x402_task()`);
    try {
      const account = await payer(kit);
      const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
      const signature = await signPayment(kit, account, accepted);
      const response = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signature });
      expect(response.status).toBe(500);
      // the transfer happened (the known hole this marks for the operator): the claim says which one
      expect(await balanceOf(kit, account.address)).toBe(1_000_000n - PRICE);
      const [claim] = await paymentsOf(db, account);
      expect(claim).toMatchObject({ status: 'claimed', error: 'settled_not_booked' });
      expect(claim?.transaction).toMatch(/^0x[0-9a-f]{64}$/);
      const orgId = await orgOf(db, account);
      const [rows] = await db.rows(
        z.object({ n: z.bigint() }),
        sql`select count(*)::int8 as n from ledger_entries where org_id = ${orgId}`,
      );
      expect(rows?.n).toBe(0n);
      const again = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signature });
      expect(again.status).toBe(402);
    } finally {
      await db.run(sql`drop trigger refuse_x402_task on tasks`);
      await db.run(sql`drop function refuse_x402_task()`);
    }
  });
});
