import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createOrganization, type NewOrganization } from '../../src/auth/organizations.js';
import { openDatabase } from '../../src/db/client.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { buildGateway } from '../helpers/built-gateway.js';
import { createTestDatabase, databaseOptions, type TestDatabase } from '../helpers/database.js';
import { needs } from '../helpers/requirements.js';
import {
  accountsWithLedger,
  freePort,
  type GatewayProcess,
  ledgerTotals,
  outputsOf,
  paidCallBody,
  startGatewayProcess,
  taskStates,
  waitReady,
} from './support.js';

/**
 * Two gateway processes on one PostgreSQL database, as a horizontally scaled deployment runs:
 * holds taken through either instance serialize on the account row, so an organization that can
 * afford exactly 150 calls gets exactly 150 whichever instance serves them; and two instances
 * starting at the same moment on a fresh database apply its migrations once (advisory lock).
 */

const TIER0_COST = 1_000n;
const AFFORDABLE = 150;
const CALLS = 1_000;
const CONCURRENCY = 50;
const MIGRATION_ROUNDS = 3;

interface Answer {
  jsonrpc: string;
  id: unknown;
  result?: { task: { id: string; status: { state: string }; metadata: { charged: boolean; cost_micro_usdc: string } } };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

interface Served {
  instance: string;
  status: number;
  answer?: Answer;
  failure?: string;
}

async function call(gateway: GatewayProcess, apiKey: string, body: string): Promise<Served> {
  try {
    const response = await fetch(`${gateway.baseUrl}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body,
    });
    const text = await response.text();
    try {
      return { instance: gateway.name, status: response.status, answer: JSON.parse(text) as Answer };
    } catch {
      return { instance: gateway.name, status: response.status, failure: text.slice(0, 300) };
    }
  } catch (error) {
    return { instance: gateway.name, status: 0, failure: String(error) };
  }
}

/** Runs `work(i)` for i in 0..count-1, at most `concurrency` at a time; results in index order. */
async function withConcurrency<T>(count: number, concurrency: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

const reason = '(PostgreSQL only: set DATABASE_URL; the real gateway runs as child processes sharing one database)';

describe(`two gateway instances on one database ${reason}`, needs('postgres'), () => {
  let database: TestDatabase;
  let org: NewOrganization;
  const children: GatewayProcess[] = [];

  beforeAll(async () => {
    await buildGateway();
    database = await createTestDatabase();
    if (!database.url) throw new Error('createTestDatabase gave no URL on PostgreSQL');
    await seedDemoData(database.db, { now: new Date(), agents: 20 });
    org = await createOrganization(database.db, { name: 'two instances', credits: BigInt(AFFORDABLE) * TIER0_COST, by: OPERATOR });
  });

  afterAll(async () => {
    for (const child of children) await child.kill();
    await database?.dispose();
  });

  it(`${CALLS} Tier 0 calls at both instances, ${CONCURRENCY} at a time, credits for ${AFFORDABLE}: exactly ${AFFORDABLE} complete, the rest are refused, nothing is overdrawn`, async () => {
    onTestFailed(() => {
      console.error(outputsOf(children));
    });
    const url = database.url as string;
    const [portA, portB] = [await freePort(), await freePort()];
    const a = startGatewayProcess({ name: 'instance-a', databaseUrl: url, port: portA });
    const b = startGatewayProcess({ name: 'instance-b', databaseUrl: url, port: portB });
    children.push(a, b);
    await Promise.all([waitReady(a), waitReady(b)]);

    const started = Date.now();
    const served = await withConcurrency(CALLS, CONCURRENCY, (i) =>
      call(i % 2 === 0 ? a : b, org.apiKey.key, paidCallBody((i % 20) + 1, randomUUID())),
    );
    const elapsedMs = Date.now() - started;

    // Every call was answered with HTTP 200 and a JSON-RPC answer: completed, or insufficient_credits.
    const broken = served.filter((s) => s.status !== 200 || s.answer === undefined);
    expect(broken, JSON.stringify(broken.slice(0, 5))).toEqual([]);
    const completed = served.filter((s) => s.answer?.result?.task.status.state === 'TASK_STATE_COMPLETED');
    const refused = served.filter((s) => s.answer?.error !== undefined);
    const other = served.filter((s) => !completed.includes(s) && !refused.includes(s));
    expect(other, JSON.stringify(other.slice(0, 5))).toEqual([]);
    expect(completed).toHaveLength(AFFORDABLE);
    expect(refused).toHaveLength(CALLS - AFFORDABLE);
    for (const s of refused) {
      expect(s.answer?.error).toMatchObject({
        code: -32004,
        data: { reason: 'insufficient_credits', required: TIER0_COST.toString() },
      });
    }
    for (const s of completed) expect(s.answer?.result?.task.metadata).toMatchObject({ charged: true, cost_micro_usdc: '1000' });
    expect(new Set(completed.map((s) => s.answer?.result?.task.id)).size).toBe(AFFORDABLE);

    // Both instances served completed calls.
    const completedBy = {
      a: completed.filter((s) => s.instance === a.name).length,
      b: completed.filter((s) => s.instance === b.name).length,
    };
    expect(completedBy.a).toBeGreaterThan(0);
    expect(completedBy.b).toBeGreaterThan(0);

    // The database agrees: 150 completed tasks, balance 0, nothing reserved, the ledger explains it.
    const db = database.db;
    expect(await taskStates(db, org.orgId)).toEqual({ completed: AFFORDABLE });
    const accounts = await accountsWithLedger(db);
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toEqual({ orgId: org.orgId, balance: 0n, reserved: 0n, ledgerAmount: 0n, ledgerReserved: 0n });
    expect(await ledgerTotals(db, org.orgId)).toEqual(
      [
        { kind: 'grant', reason: 'initial grant', n: 1n, amount: BigInt(AFFORDABLE) * TIER0_COST, reserved: 0n },
        { kind: 'charge', reason: null, n: BigInt(AFFORDABLE), amount: -BigInt(AFFORDABLE) * TIER0_COST, reserved: 0n },
      ].sort((x, y) => x.kind.localeCompare(y.kind)),
    );
    const [perTask] = await db.rows(
      z.object({ n: z.bigint() }),
      sql`
        select count(*)::int8 as n from tasks t
         where t.org_id = ${org.orgId}
           and (select count(*) from ledger_entries l where l.task_id = t.id and l.kind = 'charge') <> 1`,
    );
    expect(perTask?.n, 'a completed task charged other than exactly once').toBe(0n);

    // Both instances are still up.
    expect(a.isRunning() && b.isRunning()).toBe(true);
    console.info(
      `two instances: ${CALLS} calls in ${elapsedMs} ms, completed by ${a.name}: ${completedBy.a}, by ${b.name}: ${completedBy.b}`,
    );
  }, 120_000);

  it(`two instances started at the same moment on a fresh database migrate it once and both serve (${MIGRATION_ROUNDS} rounds)`, async () => {
    const serverUrl = process.env.DATABASE_URL as string;
    const journal = JSON.parse(readFileSync(new URL('../../migrations/meta/_journal.json', import.meta.url), 'utf8')) as {
      entries: { tag: string }[];
    };
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    const round: GatewayProcess[] = [];
    onTestFailed(() => {
      console.error(outputsOf(round));
    });
    try {
      for (let r = 1; r <= MIGRATION_ROUNDS; r++) {
        const name = `paygate_test_${randomBytes(6).toString('hex')}`;
        await admin.unsafe(`create database ${name}`);
        const url = new URL(serverUrl);
        url.pathname = `/${name}`;
        try {
          const [portA, portB] = [await freePort(), await freePort()];
          // Spawned in the same tick: both reach migrate() within milliseconds of each other.
          const pair = [
            startGatewayProcess({ name: `fresh-${r}-a`, databaseUrl: url.toString(), port: portA }),
            startGatewayProcess({ name: `fresh-${r}-b`, databaseUrl: url.toString(), port: portB }),
          ];
          round.push(...pair);
          children.push(...pair);
          await Promise.all(pair.map((gateway) => waitReady(gateway)));

          const db = await openDatabase({ ...databaseOptions(url.toString()), poolSize: 2 });
          try {
            const applied = await db.rows(z.object({ n: z.bigint() }), sql`select count(*)::int8 as n from drizzle.__drizzle_migrations`);
            expect(applied[0]?.n, 'each migration recorded once').toBe(BigInt(journal.entries.length));
            // The schema is whole: a paid call through each instance completes.
            await seedDemoData(db, { now: new Date(), agents: 3 });
            const fresh = await createOrganization(db, { name: 'fresh', credits: 10n * TIER0_COST, by: OPERATOR });
            for (const gateway of pair) {
              const served = await call(gateway, fresh.apiKey.key, paidCallBody(1, randomUUID()));
              expect(served.answer?.result?.task.status.state, JSON.stringify(served)).toBe('TASK_STATE_COMPLETED');
            }
            expect(await accountsWithLedger(db)).toEqual([
              { orgId: fresh.orgId, balance: 8n * TIER0_COST, reserved: 0n, ledgerAmount: 8n * TIER0_COST, ledgerReserved: 0n },
            ]);
          } finally {
            await db.close();
          }
          expect(pair.every((gateway) => gateway.isRunning())).toBe(true);
          const migrationErrors = pair.map((gateway) => gateway.output()).join('\n');
          expect(migrationErrors).not.toMatch(/failed to start|already exists|duplicate/i);
          for (const gateway of pair) await gateway.kill();
        } finally {
          await admin.unsafe(`drop database if exists ${name} with (force)`);
        }
      }
    } finally {
      await admin.end({ timeout: 1 });
    }
  }, 120_000);
});
