import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { postOverSocket } from '../a2a/support.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { rest } from '../helpers/sign-in.js';
import { type CallAnswer, createKey, paidCall, walletOrg } from './support.js';

/**
 * Spend caps are money (issue 16): checked and counted in the statement that charges or reserves,
 * under the account's row lock, so no concurrency passes one; a held call's reservation counts
 * until it settles; a period ends at UTC midnight (day) or on the 1st (month).
 */

const TIER0_COST = 1_000n;

const keySpendRow = z.object({ day: z.bigint(), month: z.bigint(), reserved: z.bigint() });

async function keyCounters(gateway: TestGateway, keyId: string) {
  const [row] = await gateway.database.db.rows(
    keySpendRow,
    sql`select day_spent as day, month_spent as month, reserved from api_keys where id = ${keyId}`,
  );
  return row;
}

function expectCapRefusal(answer: CallAnswer, details: Record<string, unknown>) {
  expect(answer.result).toBeUndefined();
  expect(answer.error?.code).toBe(-32004);
  expect(answer.error?.data).toMatchObject({ reason: 'spend_cap_exceeded', ...details });
}

describe.each(['by-tool', 'hold'] as const)(
  'a key spend cap under concurrency, settlement %s (PostgreSQL only: PGlite runs one statement at a time)',
  needs('postgres'),
  (settlement) => {
    const suite = useSeededGateway({ gateway: { settlement }, listen: true });

    it('200 Tier 0 calls at once at a key whose daily cap covers exactly 37: exactly 37 complete, the rest are refused uncharged', async () => {
      const owner = await walletOrg(suite.gateway, 1_000_000n);
      const key = await createKey(suite.gateway, owner, { spendCap: { amountMicroUsdc: String(37n * TIER0_COST), period: 'day' } });
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          postOverSocket<CallAnswer>(suite.baseUrl, key.key, paidCall('getAgentProfile', { agentId: (i % 50) + 1 })),
        ),
      );
      const completed = answers.filter((answer) => answer.result?.status.state === 'completed');
      const refused = answers.filter((answer) => answer.error !== undefined);
      expect(completed).toHaveLength(37);
      expect(refused).toHaveLength(163);
      for (const answer of refused) expectCapRefusal(answer, { scope: 'key', period: 'day', cap: '37000', required: '1000' });

      const account = await getCreditAccount(suite.gateway.database.db, owner.orgId);
      expect(account).toMatchObject({ balance: 1_000_000n - 37n * TIER0_COST, reserved: 0n });
      expect(await keyCounters(suite.gateway, key.id)).toEqual({ day: 37_000n, month: 37_000n, reserved: 0n });
    });

    it("an organization's cap bounds all its keys together, whichever key calls", async () => {
      const owner = await walletOrg(suite.gateway, 1_000_000n);
      const policy = await rest(
        suite.gateway,
        'PUT',
        '/v1/policy',
        { spendCap: { amountMicroUsdc: '25000', period: 'month' } },
        owner.token,
      );
      expect(policy.status).toBe(200);
      const keys = [await createKey(suite.gateway, owner, {}), await createKey(suite.gateway, owner, {})];
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          postOverSocket<CallAnswer>(suite.baseUrl, keys[i % 2]!.key, paidCall('getAgentProfile', { agentId: (i % 50) + 1 })),
        ),
      );
      expect(answers.filter((answer) => answer.result?.status.state === 'completed')).toHaveLength(25);
      for (const answer of answers.filter((one) => one.error)) expectCapRefusal(answer, { scope: 'organization', period: 'month' });
      const account = await getCreditAccount(suite.gateway.database.db, owner.orgId);
      expect(account?.balance).toBe(1_000_000n - 25n * TIER0_COST);
    });
  },
);

describe('spend caps count in UTC periods and say when they reset', () => {
  let gateway: TestGateway;
  let now = new Date('2026-11-30T23:59:00.000Z');
  beforeAll(async () => {
    gateway = await startTestGateway({ clock: () => now, settlement: 'by-tool' });
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 5 });
  });
  afterAll(() => gateway.close());
  checkLedgerAfterEach(() => [gateway]);

  const call = (key: string) => gateway.rpc(paidCall('getAgentProfile'), key).then((response) => response.json() as Promise<CallAnswer>);

  it('a monthly cap refuses past its amount until the 1st at 00:00 UTC, then the new month starts from zero', async () => {
    now = new Date('2026-11-30T23:59:00.000Z');
    const owner = await walletOrg(gateway, 100_000n);
    const key = await createKey(gateway, owner, { spendCap: { amountMicroUsdc: '2000', period: 'month' } });
    expect((await call(key.key)).result?.status.state).toBe('completed');
    expect((await call(key.key)).result?.status.state).toBe('completed');
    expectCapRefusal(await call(key.key), {
      scope: 'key',
      cap: '2000',
      period: 'month',
      spent: '2000',
      reserved: '0',
      required: '1000',
      resetsAt: '2026-12-01T00:00:00.000Z',
    });

    now = new Date('2026-12-01T00:00:01.000Z');
    expect((await call(key.key)).result?.status.state).toBe('completed');
    expect((await call(key.key)).result?.status.state).toBe('completed');
    expectCapRefusal(await call(key.key), { spent: '2000', resetsAt: '2027-01-01T00:00:00.000Z' });
    expect(await keyCounters(gateway, key.id)).toEqual({ day: 2_000n, month: 2_000n, reserved: 0n });
    expect((await getCreditAccount(gateway.database.db, owner.orgId))?.balance).toBe(100_000n - 4n * TIER0_COST);
  });

  it('a daily cap opens again at the next UTC midnight; the listing shows the period spend', async () => {
    now = new Date('2026-12-05T10:00:00.000Z');
    const owner = await walletOrg(gateway, 100_000n);
    const key = await createKey(gateway, owner, { spendCap: { amountMicroUsdc: '1500', period: 'day' } });
    expect((await call(key.key)).result?.status.state).toBe('completed');
    expectCapRefusal(await call(key.key), { period: 'day', spent: '1000', resetsAt: '2026-12-06T00:00:00.000Z' });

    const listed = await rest(gateway, 'GET', '/v1/keys', undefined, owner.token);
    const entry = ((await listed.json()) as { keys: { id: string; spend: unknown; policy: unknown }[] }).keys.find(
      (one) => one.id === key.id,
    );
    expect(entry).toMatchObject({
      policy: { spendCap: { amountMicroUsdc: '1500', period: 'day' } },
      spend: { dayMicroUsdc: '1000', monthMicroUsdc: '1000', reservedMicroUsdc: '0' },
    });

    now = new Date('2026-12-06T00:00:00.000Z');
    expect((await call(key.key)).result?.status.state).toBe('completed');
  });

  it('lowering a cap under what was spent refuses the next call; removing it lets calls through', async () => {
    now = new Date('2026-12-07T10:00:00.000Z');
    const owner = await walletOrg(gateway, 100_000n);
    const key = await createKey(gateway, owner, {});
    expect((await call(key.key)).result?.status.state).toBe('completed');
    const lowered = await rest(
      gateway,
      'PATCH',
      `/v1/keys/${key.id}`,
      { spendCap: { amountMicroUsdc: '500', period: 'day' } },
      owner.token,
    );
    expect(lowered.status).toBe(200);
    expectCapRefusal(await call(key.key), { cap: '500', spent: '1000' });
    const removed = await rest(gateway, 'PATCH', `/v1/keys/${key.id}`, { spendCap: null }, owner.token);
    expect(((await removed.json()) as { policy: { spendCap: unknown } }).policy.spendCap).toBeNull();
    expect((await call(key.key)).result?.status.state).toBe('completed');
  });
});
