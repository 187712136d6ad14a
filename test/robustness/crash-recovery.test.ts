import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createOrganization, type NewOrganization } from '../../src/auth/organizations.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { buildGateway } from '../helpers/built-gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { needs } from '../helpers/requirements.js';
import {
  accountsWithLedger,
  freePort,
  type GatewayProcess,
  ledgerTotals,
  outputsOf,
  paidCallBody,
  pollUntil,
  startGatewayProcess,
  taskStates,
  waitReady,
} from './support.js';

/**
 * The gateway is SIGKILLed while hundreds of paid calls are in flight, their tasks `working` and
 * their costs reserved. A new process on the same database must fail every one of those tasks as
 * `abandoned` and release its hold — never charge it — once its deadline (tool timeout + slack) has
 * passed, and leave the ledger explaining every balance.
 *
 * To hold the calls in flight for real, a separate connection takes `lock table agents in access
 * exclusive mode` in an open transaction: every tool query blocks on it, each holding one of the
 * gateway's pool connections, so once the pool is saturated nothing (not even the 2 s tool timeout's
 * own release) can reach the database until the process dies.
 */

const CALLS = 300;
const CREDITS = 1_000_000n;
const TIER0_COST = 1_000n;
const POOL_SIZE = 20;
/**
 * Calls are held (SETTLEMENT=hold), the path of every call that can outlive its process: an instant
 * call writes nothing until its answer exists, so a crash leaves it nothing to hold or recover.
 */
const GATEWAY_ENV = {
  SETTLEMENT: 'hold',
  // long enough for all the calls to be working, and seen steady, before the first times out (a
  // pooled gateway sends no statement behind a busy one, so its calls start more slowly)
  TOOL_TIMEOUT_MS: '5000',
  TASK_DEADLINE_SLACK_MS: '500',
  RECOVERY_INTERVAL_MS: '500',
  DB_POOL_SIZE: String(POOL_SIZE),
};

interface CallOutcome {
  status?: number;
  text?: string;
  error?: string;
}

describe(
  'a gateway killed mid-call (PostgreSQL only: set DATABASE_URL; the real gateway runs as a child process on its own database)',
  needs('postgres'),
  () => {
    let database: TestDatabase;
    let url: string;
    let org: NewOrganization;
    const children: GatewayProcess[] = [];
    let locker: postgres.Sql | undefined;

    beforeAll(async () => {
      await buildGateway();
      database = await createTestDatabase();
      if (!database.url) throw new Error('createTestDatabase gave no URL on PostgreSQL');
      url = database.url;
      await seedDemoData(database.db, { now: new Date(), agents: 20 });
      org = await createOrganization(database.db, { name: 'crash test', credits: CREDITS, by: OPERATOR });
    });

    afterAll(async () => {
      for (const child of children) await child.kill();
      await locker?.end({ timeout: 1 });
      await database?.dispose();
    });

    it(`${CALLS} paid calls in flight, SIGKILL, restart: every working task fails as abandoned, its hold released, nothing charged`, async () => {
      onTestFailed(() => {
        console.error(outputsOf(children));
      });
      const db = database.db;

      const first = startGatewayProcess({ name: 'gateway-1', databaseUrl: url, port: await freePort(), env: GATEWAY_ENV });
      children.push(first);
      await waitReady(first);

      // Every tool query blocks from here on.
      locker = postgres(url, { max: 1, onnotice: () => {} });
      const lockHolder = await locker.reserve();
      await lockHolder`begin`;
      await lockHolder`lock table agents in access exclusive mode`;

      const messageIds = Array.from({ length: CALLS }, () => randomUUID());
      const inFlight: Promise<CallOutcome>[] = messageIds.map((messageId, i) =>
        fetch(`${first.baseUrl}/a2a`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey.key}` },
          body: paidCallBody((i % 20) + 1, messageId),
        }).then(
          async (response) => ({ status: response.status, text: await response.text() }),
          (error: unknown) => ({ error: String(error) }),
        ),
      );

      // Wait until the tasks are working and their number has stopped growing: the pool is saturated.
      let last = -1;
      let stableSince = Date.now();
      const working = await pollUntil(
        'tasks working, their number steady',
        async () => {
          const n = (await taskStates(db, org.orgId)).working ?? 0;
          if (n !== last) {
            last = n;
            stableSince = Date.now();
            return undefined;
          }
          return n >= POOL_SIZE && Date.now() - stableSince >= 400 ? n : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      // Nothing has finished: all the tasks there are are working, with their costs reserved.
      expect(await taskStates(db, org.orgId)).toEqual({ working });
      const [held] = await accountsWithLedger(db);
      expect(held).toMatchObject({ balance: CREDITS, reserved: BigInt(working) * TIER0_COST });
      const workingIds = (
        await db.rows(z.object({ id: z.string() }), sql`select id::text as id from tasks where org_id = ${org.orgId} and state = 'working'`)
      ).map((row) => row.id);

      await first.kill();
      await lockHolder`rollback`;
      lockHolder.release();

      // The dead process settled nothing.
      const outcomes = await Promise.all(inFlight);
      expect(outcomes.filter((outcome) => outcome.text?.includes('COMPLETED'))).toEqual([]);
      expect(await taskStates(db, org.orgId)).toEqual({ working });

      const second = startGatewayProcess({ name: 'gateway-2', databaseUrl: url, port: await freePort(), env: GATEWAY_ENV });
      children.push(second);
      await waitReady(second);

      const started = Date.now();
      await pollUntil(
        'recovery: no task working, nothing reserved',
        async () => {
          const states = await taskStates(db, org.orgId);
          const [account] = await accountsWithLedger(db);
          return states.working === undefined && account?.reserved === 0n ? true : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      const recoveryMs = Date.now() - started;

      // Every task that was working is failed as abandoned, and no other task exists.
      const tasks = await db.rows(
        z.object({ id: z.string(), state: z.string(), reason: z.string().nullable(), cost: z.bigint() }),
        sql`
          select id::text as id, state::text as state, error->>'reason' as reason, cost from tasks where org_id = ${org.orgId}`,
      );
      expect(tasks.map((task) => task.id).sort()).toEqual([...workingIds].sort());
      for (const task of tasks) expect(task).toMatchObject({ state: 'failed', reason: 'abandoned', cost: TIER0_COST });

      // Each has its reserve and one release with reason 'abandoned'; nothing was captured.
      const perTask = await db.rows(
        z.object({ id: z.string(), reserves: z.bigint(), releases: z.bigint(), captures: z.bigint() }),
        sql`
          select t.id::text as id,
                 count(*) filter (where l.kind = 'reserve')::int8 as reserves,
                 count(*) filter (where l.kind = 'release' and l.reason = 'abandoned' and l.amount = 0 and l.reserved_delta = -t.cost)::int8 as releases,
                 count(*) filter (where l.kind = 'capture')::int8 as captures
            from tasks t left join ledger_entries l on l.task_id = t.id
           where t.org_id = ${org.orgId} group by t.id`,
      );
      for (const row of perTask) expect(row).toEqual({ id: row.id, reserves: 1n, releases: 1n, captures: 0n });
      const [uncompletedCaptures] = await db.rows(
        z.object({ n: z.bigint() }),
        sql`
          select count(*)::int8 as n from ledger_entries l join tasks t on t.id = l.task_id
           where l.kind = 'capture' and t.state <> 'completed'`,
      );
      expect(uncompletedCaptures?.n).toBe(0n);
      expect(await ledgerTotals(db, org.orgId)).toEqual([
        { kind: 'grant', reason: 'initial grant', n: 1n, amount: CREDITS, reserved: 0n },
        { kind: 'release', reason: 'abandoned', n: BigInt(working), amount: 0n, reserved: -BigInt(working) * TIER0_COST },
        { kind: 'reserve', reason: null, n: BigInt(working), amount: 0n, reserved: BigInt(working) * TIER0_COST },
      ]);
      for (const account of await accountsWithLedger(db)) {
        expect(account).toEqual({ ...account, balance: CREDITS, reserved: 0n, ledgerAmount: CREDITS, ledgerReserved: 0n });
      }

      // A client retrying an abandoned call with its messageId gets the failed task back, uncharged;
      // a new call on the restarted gateway runs and is charged once.
      const [retryMessageId] = (
        await db.rows(z.object({ message_id: z.string() }), sql`select message_id from tasks where id = ${workingIds[0]}::uuid`)
      ).map((row) => row.message_id);
      expect(messageIds).toContain(retryMessageId);
      const post = async (body: string) => {
        const response = await fetch(`${second.baseUrl}/a2a`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey.key}` },
          body,
        });
        expect(response.status).toBe(200);
        return (await response.json()) as {
          result?: { task: { id: string; status: { state: string }; metadata: Record<string, unknown> } };
        };
      };
      const retried = await post(paidCallBody(1, retryMessageId as string));
      expect(retried.result?.task).toMatchObject({
        id: workingIds[0],
        status: { state: 'TASK_STATE_FAILED' },
        metadata: { charged: false },
      });
      const fresh = await post(paidCallBody(1, randomUUID()));
      expect(fresh.result?.task).toMatchObject({ status: { state: 'TASK_STATE_COMPLETED' }, metadata: { charged: true } });
      const [after] = await accountsWithLedger(db);
      expect(after).toMatchObject({ balance: CREDITS - TIER0_COST, reserved: 0n, ledgerAmount: CREDITS - TIER0_COST, ledgerReserved: 0n });

      console.info(
        `crash recovery: ${CALLS} calls fired, ${working} tasks working at SIGKILL ` +
          `(${outcomes.filter((o) => o.error).length} calls cut off), all released as abandoned ${recoveryMs} ms after the restart`,
      );
    }, 120_000);
  },
);
