import { sql } from 'drizzle-orm';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Database, openDatabase } from '../../src/db/client.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { databaseEnv, databaseOptions } from '../helpers/database.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import {
  askedFor,
  balanceOf,
  CALL,
  fundSettler,
  orgOf,
  PRICE,
  payer,
  paymentsOf,
  post,
  signPayment,
  useX402Chain,
  x402Gateway,
} from './x402-kit.js';

/**
 * The same x402 authorization sent to two gateway instances on one PostgreSQL database at once
 * (issue 21: "the same authorization never pays twice, across instances"): the claim in
 * x402_payments lets exactly one run the tool and settle; the other is DUPLICATE_NONCE.
 */
const kit = useX402Chain();
const ROUNDS = 6;

describe('two gateway instances on one PostgreSQL database racing one PAYMENT-SIGNATURE (PostgreSQL only)', needs('postgres'), () => {
  let first: TestGateway;
  let second: TestGateway;
  let secondDb: Database;

  beforeAll(async () => {
    // each instance settles with a key of its own, as two processes configured apart could
    const keys = [generatePrivateKey(), generatePrivateKey()];
    for (const key of keys) await fundSettler(kit, key);
    first = await startTestGateway(x402Gateway(kit, keys[0]!));
    await seedDemoData(first.database.db, { now: new Date(), agents: 5, feedbacksPerAgent: 3, validationsPerAgent: 1 });
    const url = first.database.url as string;
    secondDb = await openDatabase({ ...databaseOptions(url), poolSize: 10 });
    second = await startTestGateway({
      ...x402Gateway(kit, keys[1]!),
      database: { db: secondDb, url, env: databaseEnv(url), dispose: () => secondDb.close() },
    });
    await first.listen();
    await second.listen();
  });
  afterAll(async () => {
    await second?.close();
    await secondDb?.close();
    await first?.close();
  });
  checkLedgerAfterEach(() => [first]);

  it(`exactly one 200 and one 402 DUPLICATE_NONCE, the treasury paid once, one x402_payment row (${ROUNDS} rounds)`, async () => {
    const db = first.database.db;
    // what refused each loser: the claim (nonce_claimed) when both verified before either settled,
    // the chain (its nonce used) when the winner had settled already
    const decidedBy: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const account = await payer(kit);
      const accepted = await askedFor(first.baseUrl, CALL, { agentId: 3 });
      const signature = await signPayment(kit, account, accepted);
      const before = await balanceOf(kit, kit.treasury);
      const [a, b] = await Promise.all(
        [first, second].map((gateway) => post(gateway.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signature })),
      );
      const answers = await Promise.all(
        [a!, b!].map(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> })),
      );
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses, JSON.stringify(answers)).toEqual([200, 402]);
      const refused = answers.find((answer) => answer.status === 402);
      decidedBy.push((refused?.body as { error?: { details?: { x402Reason?: string } } } | undefined)?.error?.details?.x402Reason ?? '');
      expect(refused?.body).toMatchObject({ error: { reason: 'duplicate_nonce', details: { code: 'DUPLICATE_NONCE' } } });

      expect((await balanceOf(kit, kit.treasury)) - before).toBe(PRICE);
      expect(await balanceOf(kit, account.address)).toBe(1_000_000n - PRICE);
      expect((await paymentsOf(db, account)).map((row) => row.status)).toEqual(['settled']);
      const orgId = await orgOf(db, account);
      const kinds = await db.rows(
        z.object({ kind: z.string(), n: z.bigint(), amount: z.bigint() }),
        sql`select kind::text as kind, count(*)::int8 as n, sum(amount)::int8 as amount from ledger_entries
             where org_id = ${orgId} group by kind order by kind`,
      );
      expect(kinds).toEqual([
        { kind: 'charge', n: 1n, amount: -PRICE },
        { kind: 'x402_payment', n: 1n, amount: PRICE },
      ]);
      const [tasks] = await db.rows(
        z.object({ completed: z.bigint(), all: z.bigint() }),
        sql`select count(*) filter (where state = 'completed')::int8 as completed, count(*)::int8 as "all" from tasks where org_id = ${orgId}`,
      );
      // the loser ran no tool: no task of its own, failed or not
      expect(tasks).toEqual({ completed: 1n, all: 1n });
    }
    // the rounds raced for real: at least one was decided by the claim, not by the chain
    expect(decidedBy).toContain('nonce_claimed');
  });
});
