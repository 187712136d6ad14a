import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { reserveWith, settleWith } from '../../src/billing/holds.js';
import { PLATFORM_ORG_ID } from '../../src/billing/platform.js';
import { spendPeriodsAt } from '../../src/billing/spend-caps.js';
import { chargeStatement } from '../../src/tasks/charge-combiner.js';
import {
  type AnsweredCall,
  completeWorkingTask,
  failWorkingTask,
  insertWorkingTaskFromHold,
  messageIdUnused,
  TaskRowSchema,
  WrittenTaskSchema,
} from '../../src/tasks/store.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/**
 * Provider earnings (ADR 0020) at the charge statement itself, one statement for the whole group:
 * the provider among the callers (one update of its account; what it earns there never pays for
 * its own calls of that statement, and only what it spent counts into its spend), and amounts of 0.
 */

const COST = 10_000n;
const EARNING = 9_000n;

const ledgerRow = z.object({ orgId: z.string(), kind: z.string(), amount: z.bigint() });

describe('provider earnings, edge cases in one statement', () => {
  const suite = useSeededGateway({ demoData: false });
  const db = () => suite.gateway.database.db;
  const balance = async (orgId: string) => (await getCreditAccount(db(), orgId))?.balance;
  const answered = (org: NewOrganization, provider: string, cost = COST, earning = EARNING): AnsweredCall => ({
    id: randomUUID(),
    orgId: org.orgId,
    keyId: org.apiKey.id,
    contextId: randomUUID(),
    messageId: randomUUID(),
    tool: 'quickQuote',
    toolVersion: '1.0.0',
    deprecationNote: null,
    providerOrgId: provider,
    providerEarning: earning,
    arguments: {},
    cost,
    history: [],
    result: { ok: true },
    durationMs: 1,
  });
  const charge = (calls: AnsweredCall[]) => db().rows(WrittenTaskSchema, chargeStatement(calls, spendPeriodsAt(new Date()), db().kind));

  it('the provider calling in the same statement as others: its earnings never pay for its own calls of that statement', async () => {
    const provider = await suite.gateway.createOrg({ credits: COST });
    const caller = await suite.gateway.createOrg({ credits: 3n * COST });
    const platform = (await balance(PLATFORM_ORG_ID)) ?? 0n;
    const calls = [
      answered(provider, provider.orgId),
      answered(caller, provider.orgId),
      answered(provider, provider.orgId),
      answered(caller, provider.orgId),
    ];
    const written = await charge(calls);
    expect(written.map((row) => row.id).sort()).toEqual([calls[0]!.id, calls[1]!.id, calls[3]!.id].sort());
    expect(await balance(provider.orgId)).toBe(COST - COST + 3n * EARNING);
    expect(await balance(caller.orgId)).toBe(COST);
    expect(await balance(PLATFORM_ORG_ID)).toBe(platform + 3n * (COST - EARNING));
    const [spent] = await db().rows(
      z.object({ day: z.bigint(), month: z.bigint() }),
      sql`select day_spent as day, month_spent as month from credit_accounts where org_id = ${provider.orgId}`,
    );
    expect(spent).toEqual({ day: COST, month: COST });
  });

  it('a call of a price of 0 writes three rows of 0; a fee of 0 and an earning of 0 are written', async () => {
    const provider = await suite.gateway.createOrg({ credits: 0n });
    const caller = await suite.gateway.createOrg({ credits: 3n * COST });
    const calls = [
      answered(caller, provider.orgId, 0n, 0n),
      answered(caller, provider.orgId, COST, COST),
      answered(caller, provider.orgId, COST, 0n),
    ];
    expect(await charge(calls)).toHaveLength(3);
    const rows = await db().rows(
      ledgerRow,
      sql`select org_id as "orgId", kind::text as kind, amount from ledger_entries
           where task_id in (${sql.join(
             calls.map((call) => sql`${call.id}::uuid`),
             sql`, `,
           )}) order by id`,
    );
    expect(rows.filter((row) => row.kind === 'earning').map((row) => row.amount)).toEqual([0n, COST, 0n]);
    expect(rows.filter((row) => row.kind === 'fee').map((row) => row.amount)).toEqual([0n, 0n, COST]);
    expect(await balance(provider.orgId)).toBe(COST);
  });

  it('a capture whose provider has no account fails whole: no earning is written that moves no balance', async () => {
    // The app opens an account with every organization; this one is made by hand, as only SQL could.
    const [{ id: orphan } = { id: '' }] = await db().rows(
      z.object({ id: z.string() }),
      sql`insert into organizations (name) values ('no account') returning id`,
    );
    const caller = await suite.gateway.createOrg({ credits: 3n * COST });
    const taskId = randomUUID();
    const owner = 'edge-test';
    const messageId = randomUUID();
    const [held] = await db().rows(
      TaskRowSchema,
      reserveWith({
        orgId: caller.orgId,
        keyId: caller.apiKey.id,
        cost: COST,
        periods: spendPeriodsAt(new Date()),
        guard: messageIdUnused(db().kind, caller.orgId, messageId),
        taskWrite: insertWorkingTaskFromHold(
          {
            id: taskId,
            keyId: caller.apiKey.id,
            contextId: randomUUID(),
            messageId,
            tool: 'quickQuote',
            toolVersion: '1.0.0',
            deprecationNote: null,
            providerOrgId: orphan,
            providerEarning: EARNING,
            arguments: {},
            cost: COST,
            history: [],
            deadlineMs: 60_000,
          },
          { owner, until: sql`now() + interval '1 minute'` },
        ),
      }),
    );
    expect(held?.state).toBe('working');
    const platform = await balance(PLATFORM_ORG_ID);
    await expect(
      db().rows(
        TaskRowSchema,
        settleWith('capture', completeWorkingTask(taskId, owner, { ok: true }, 1), { periods: spendPeriodsAt(new Date()) }),
      ),
    ).rejects.toThrow();
    expect(await balance(caller.orgId)).toBe(3n * COST);
    expect(await balance(PLATFORM_ORG_ID)).toBe(platform);
    const [left] = await db().rows(
      z.object({ n: z.bigint() }),
      sql`select count(*)::int8 as n from ledger_entries where org_id = ${orphan}`,
    );
    expect(left?.n).toBe(0n);
    // what execute.ts then does with a capture that failed: the hold goes back
    await db().rows(
      TaskRowSchema,
      settleWith('release', failWorkingTask(taskId, owner, { reason: 'tool_failed', message: 'x' }, 1), { reason: 'tool_failed' }),
    );
    expect((await getCreditAccount(db(), caller.orgId))?.reserved).toBe(0n);
  });
});
