import { randomUUID } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { reserveWith, settleWith } from '../../src/billing/holds.js';
import { spendPeriodsAt } from '../../src/billing/spend-caps.js';
import type { Database } from '../../src/db/client.js';
import { UNOBSERVED } from '../../src/domain/observer.js';
import { updateKeyPolicy, updateOrgPolicy } from '../../src/policies/store.js';
import { chargeStatement, createChargeCombiner } from '../../src/tasks/charge-combiner.js';
import { createLeases } from '../../src/tasks/leases.js';
import { releaseAbandonedTasks } from '../../src/tasks/recovery.js';
import {
  type AnsweredCall,
  cancelOpenTask,
  completeWorkingTask,
  failWorkingTask,
  insertWorkingTaskFromHold,
} from '../../src/tasks/store.js';
import { takeOverLapsedTasks } from '../../src/tasks/worker.js';
import { createToolRegistry } from '../../src/tools/registry.js';
import { BUILT_IN_VERSION } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/**
 * Spend caps under READ COMMITTED (issue 16): a charge or hold that waited for another statement's
 * row locks must decide on what that statement committed, for the counters and for the caps
 * themselves; and every way a hold ends gives the key back what it reserved.
 */

const COST = 1_000n;
const periods = spendPeriodsAt(new Date());

/** An answered Tier 0 call of `org`'s first key, as the charge combiner passes it. */
function answered(org: NewOrganization): AnsweredCall {
  return {
    id: randomUUID(),
    orgId: org.orgId,
    keyId: org.apiKey.id,
    contextId: randomUUID(),
    messageId: randomUUID(),
    tool: 'getAgentProfile',
    ...BUILT_IN_VERSION,
    arguments: { agentId: 1 },
    cost: COST,
    history: [],
    result: { agentId: 1 },
    durationMs: 1,
  };
}

// the races run on PostgreSQL: two connections
const charge = (org: NewOrganization) => chargeStatement([answered(org)], periods, 'postgres').toSql();

/** A hold of COST for a held task of `org`'s first key, running under `owner`'s lease until its deadline. */
function hold(org: NewOrganization, input: { owner?: string; tool?: string; deadlineMs?: number; leaseLapsed?: boolean } = {}) {
  return reserveWith({
    orgId: org.orgId,
    keyId: org.apiKey.id,
    cost: COST,
    periods,
    taskWrite: insertWorkingTaskFromHold(
      {
        id: randomUUID(),
        keyId: org.apiKey.id,
        contextId: randomUUID(),
        messageId: randomUUID(),
        tool: input.tool ?? 'getReputationReport',
        ...BUILT_IN_VERSION,
        arguments: {},
        cost: COST,
        history: [],
        deadlineMs: input.deadlineMs ?? 60_000,
      },
      {
        owner: input.owner ?? 'instance-a',
        until: input.leaseLapsed ? sql`now() - interval '1 second'` : sql`now() + interval '1 minute'`,
      },
    ),
  });
}

const written = z.object({ id: z.string() });
const backendPid = z.object({ pid: z.number() });
const blockedCount = z.object({ n: z.number() });

/**
 * Runs `first` in a transaction kept open until `contender` (one autocommit statement) waits on
 * its locks; then runs `meanwhile` and commits. Answers the rows `contender` wrote.
 */
async function interleave(
  db: Database,
  first: (tx: Database) => Promise<unknown>,
  contender: SQL,
  meanwhile: () => Promise<unknown> = async () => {},
): Promise<unknown[]> {
  let letGo!: () => void;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  let started!: (pid: number) => void;
  const holderPid = new Promise<number>((resolve) => (started = resolve));
  const holder = db.transaction(async (tx) => {
    await first(tx);
    const [backend] = await tx.rows(backendPid, sql`select pg_backend_pid() as pid`);
    started(backend!.pid);
    await released;
  });
  const pid = await holderPid;
  const contended = db.rows(written, contender);
  for (let waited = 0; ; waited += 1) {
    const [blocked] = await db.rows(
      blockedCount,
      sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and ${pid} = any(pg_blocking_pids(pid))`,
    );
    if (blocked?.n === 1) break;
    if (waited > 400) throw new Error('the contender never waited on the open transaction');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await meanwhile();
  letGo();
  await holder;
  return contended;
}

/**
 * Waits until `count` sessions of this database wait for a lock; fails if they never do. (A second
 * waiter on a row waits on the first waiter's tuple lock, so it names that waiter, not the holder.)
 */
async function untilWaiting(db: Database, count: number): Promise<void> {
  for (let waited = 0; ; waited += 1) {
    const [blocked] = await db.rows(
      blockedCount,
      sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if (blocked?.n === count) return;
    if (waited > 400) throw new Error(`${count} sessions never waited on the open transaction`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const countersRow = z.object({ daySpent: z.bigint(), monthSpent: z.bigint(), reserved: z.bigint() });

const keyCounters = async (db: Database, keyId: string) =>
  (
    await db.rows(countersRow, sql`select day_spent as "daySpent", month_spent as "monthSpent", reserved from api_keys where id = ${keyId}`)
  )[0];

const orgCounters = async (db: Database, orgId: string) =>
  (
    await db.rows(
      countersRow,
      sql`select day_spent as "daySpent", month_spent as "monthSpent", reserved from credit_accounts where org_id = ${orgId}`,
    )
  )[0];

/** Holds the organization's account row, as any charge, hold or settlement of it does while it runs. */
const lockAccount = (org: NewOrganization) => (tx: Database) =>
  tx.run(sql`select 1 from credit_accounts where org_id = ${org.orgId} for update`);

describe('spend caps decided under the row locks (PostgreSQL only: PGlite runs one statement at a time)', needs('postgres'), () => {
  const suite = useSeededGateway({ demoData: false });
  const db = () => suite.gateway.database.db;
  const capKey = (org: NewOrganization, amount: bigint) =>
    db().transaction((tx) =>
      updateKeyPolicy(tx, { keyId: org.apiKey.id, patch: { spendCap: { amountMicroUsdc: amount, period: 'day' } }, by: OPERATOR }),
    );
  const capOrg = (org: NewOrganization, amount: bigint) =>
    db().transaction((tx) =>
      updateOrgPolicy(tx, { orgId: org.orgId, patch: { spendCap: { amountMicroUsdc: amount, period: 'month' } }, by: OPERATOR }),
    );

  it("a charge that waited for another charge of the same key sees that charge's spend: one call under a one-call cap", async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    await capKey(org, COST);
    expect(await interleave(db(), (tx) => tx.rows(written, charge(org)), charge(org))).toEqual([]);
    expect(await keyCounters(db(), org.apiKey.id)).toEqual({ daySpent: COST, monthSpent: COST, reserved: 0n });
  });

  it("a hold or a charge that waited for a hold of the same key sees that hold's reservation", async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    await capKey(org, COST);
    try {
      const [held] = await interleave(db(), (tx) => tx.rows(written, hold(org)), hold(org));
      expect(held).toBeUndefined();
      expect(await interleave(db(), lockAccount(org), charge(org))).toEqual([]);
      expect(await keyCounters(db(), org.apiKey.id)).toEqual({ daySpent: 0n, monthSpent: 0n, reserved: COST });
    } finally {
      await releaseAll(org);
    }
  });

  it('a charge that waited for a release takes what the release gave back: a call that fits is not refused', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    await capKey(org, COST);
    const [task] = await db().rows(written, hold(org));
    const release = settleWith('release', failWorkingTask(task!.id, 'instance-a', { reason: 'tool_failed', message: 'failed' }, 1));
    expect(await interleave(db(), (tx) => tx.rows(written, release), charge(org))).toHaveLength(1);
    expect(await keyCounters(db(), org.apiKey.id)).toEqual({ daySpent: COST, monthSpent: COST, reserved: 0n });
  });

  it('a key cap lowered while a charge waits for the account row holds for that charge', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    await capKey(org, 10n * COST);
    expect(await interleave(db(), lockAccount(org), charge(org), () => capKey(org, 0n))).toEqual([]);
    expect(await keyCounters(db(), org.apiKey.id)).toEqual({ daySpent: 0n, monthSpent: 0n, reserved: 0n });
  });

  // The organization's cap lives on its account row, so a change of it queues on that row's lock
  // behind the money statements already waiting there and ahead of every later one: each charge or
  // hold reads the cap as it stands when it takes the row, never an older one.
  it('an organization cap lowered while a charge waits for the account row applies from the charge after it', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    await capOrg(org, 10n * COST);
    let capped: Promise<unknown> = Promise.resolve();
    const charged = await interleave(db(), lockAccount(org), charge(org), async () => {
      capped = capOrg(org, 0n);
      // the cap change waits on the account row too, behind the charge
      await untilWaiting(db(), 2);
    });
    await capped;
    expect(charged).toHaveLength(1);
    expect(await db().rows(written, charge(org))).toEqual([]);
    expect(await orgCounters(db(), org.orgId)).toEqual({ daySpent: COST, monthSpent: COST, reserved: 0n });
  });

  it('an organization cap set while a hold waits for the account row counts that hold and refuses the next', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    try {
      let capped: Promise<unknown> = Promise.resolve();
      const [held] = await interleave(db(), lockAccount(org), hold(org), async () => {
        capped = capOrg(org, COST);
        await untilWaiting(db(), 2);
      });
      await capped;
      expect(held).toBeDefined();
      expect(await orgCounters(db(), org.orgId)).toEqual({ daySpent: 0n, monthSpent: 0n, reserved: COST });
      expect(await db().rows(written, hold(org))).toEqual([]);
    } finally {
      await releaseAll(org);
    }
  });

  /** Releases whatever `org` still holds, so the suite's ledger check finds nothing reserved. */
  async function releaseAll(org: NewOrganization) {
    await db().run(
      settleWith(
        'release',
        sql`update tasks set state = 'failed', deadline_at = null where org_id = ${org.orgId} and state = 'working' returning id, org_id, api_key_id, cost`,
        { reason: 'test cleanup' },
      ),
    );
  }
});

describe("every way a hold ends gives the key back its reservation; a capture counts the key's spend once", () => {
  const suite = useSeededGateway({ demoData: false });
  const db = () => suite.gateway.database.db;
  const quietLog = pino({ level: 'silent' });

  it('a capture, a failed run, a cancel, the recovery sweep and a takeover of a tool no longer offered', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    const [captured] = await db().rows(written, hold(org));
    const [failed] = await db().rows(written, hold(org));
    const [canceled] = await db().rows(written, hold(org));
    await db().rows(written, hold(org, { deadlineMs: -1_000 }));
    await db().rows(written, hold(org, { owner: 'a-dead-instance', tool: 'aToolNoLongerOffered', leaseLapsed: true }));
    expect(await keyCounters(db(), org.apiKey.id)).toEqual({ daySpent: 0n, monthSpent: 0n, reserved: 5n * COST });

    await db().rows(written, settleWith('capture', completeWorkingTask(captured!.id, 'instance-a', { ok: true }, 1), { periods }));
    await db().rows(
      written,
      settleWith('release', failWorkingTask(failed!.id, 'instance-a', { reason: 'tool_failed', message: 'failed' }, 1), {
        reason: 'tool_failed',
      }),
    );
    await db().rows(written, settleWith('release', cancelOpenTask(org.orgId, canceled!.id), { reason: 'canceled' }));
    expect(await releaseAbandonedTasks(db())).toBe(1);
    const worker = {
      db: db(),
      log: quietLog,
      tools: createToolRegistry(),
      leases: createLeases({ db: db(), log: quietLog, leaseMs: 60_000 }),
      charges: createChargeCombiner(db()),
      settlement: 'by-tool' as const,
      platformFeeBps: 1_000,
      observe: UNOBSERVED,
      toolTimeoutMs: 5_000,
      taskDeadlineSlackMs: 30_000,
      clock: () => new Date(),
    };
    expect(await takeOverLapsedTasks(worker, 4)).toBe(1);

    expect(await keyCounters(db(), org.apiKey.id)).toEqual({ daySpent: COST, monthSpent: COST, reserved: 0n });
    expect(await orgCounters(db(), org.orgId)).toEqual({ daySpent: COST, monthSpent: COST, reserved: 0n });
  });

  it('a task from before keys were recorded (no api_key_id) settles on its account and leaves every key alone', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    const [old] = await db().rows(written, hold(org));
    const [older] = await db().rows(written, hold(org));
    // What migration 0013 leaves of a hold placed before it: the task names no key, no key holds it.
    await db().run(sql`update tasks set api_key_id = null where id in (${old!.id}, ${older!.id})`);
    await db().run(sql`update api_keys set reserved = 0 where id = ${org.apiKey.id}`);

    await db().rows(written, settleWith('capture', completeWorkingTask(old!.id, 'instance-a', { ok: true }, 1), { periods }));
    await db().rows(written, settleWith('release', cancelOpenTask(org.orgId, older!.id), { reason: 'canceled' }));

    expect(await keyCounters(db(), org.apiKey.id)).toEqual({ daySpent: 0n, monthSpent: 0n, reserved: 0n });
    expect(await orgCounters(db(), org.orgId)).toEqual({ daySpent: COST, monthSpent: COST, reserved: 0n });
  });
});
