import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Database, openDatabase } from '../../src/db/client.js';
import { openConfiguredDatabase } from '../../src/db/configured.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { createEmptyPostgresDatabase } from '../helpers/database.js';
import { expectLedgerInvariant, startTestGateway } from '../helpers/gateway.js';
import { type OwnPgbouncer, startOwnPgbouncer } from '../helpers/pgbouncer.js';
import { needs } from '../helpers/requirements.js';
import { waitFor } from '../helpers/wait.js';
import { paidCallBody } from '../robustness/support.js';

const Echo = z.object({ n: z.number(), text: z.string() });
const LOCK_KEY = 0x7e57;

/**
 * DATABASE_POOLER=transaction (ADR 0025), against a PgBouncer 1.18 of the test's own in transaction
 * mode: each transaction may run on another server connection, and nothing prepared by name
 * survives it. CI also runs the money suites through a PgBouncer (.ci/run); this suite pins what
 * the setting changes, and why it exists.
 */
describe('behind a transaction pooler (PgBouncer 1.18, transaction mode)', needs('pgbouncer'), () => {
  let bouncer: OwnPgbouncer;
  let empty: Awaited<ReturnType<typeof createEmptyPostgresDatabase>>;
  let pooledUrl: string;
  let directUrl: string;
  const opened: Database[] = [];
  const open = async (options: Parameters<typeof openDatabase>[0]) => {
    const db = await openDatabase(options);
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    empty = await createEmptyPostgresDatabase();
    // In CI's pooled run the suite's own URL is already CI's pooler: this one fronts the server itself.
    directUrl = empty.routes.options.directUrl ?? empty.url;
    bouncer = await startOwnPgbouncer(directUrl);
    pooledUrl = bouncer.url;
  });
  afterAll(async () => {
    for (const db of opened) await db.close().catch(() => {});
    await bouncer?.dispose();
    await empty?.dispose();
  });

  it('without the setting, the pool sends a session setting PgBouncer refuses: no statement gets through', async () => {
    const db = await open({ url: pooledUrl, poolSize: 2 });
    await expect(db.rows(Echo, sql`select 1 as n, 'x' as text`)).rejects.toThrow(/unsupported startup parameter/);
  });

  it('with it: migrations on the direct URL, then statements and transactions through the pooler, none lost', async () => {
    const db = await open({ url: pooledUrl, directUrl, poolSize: 2 });
    await db.migrate();
    // Far more work at once than connections: postgres.js would send statements behind busy ones,
    // and PgBouncer, handing a server connection on at each ReadyForQuery, would lose their answers
    // (the callers hang); a statement prepared by name on one server connection would be unknown on
    // the next. Every statement is answered, each with its own values.
    const work = Array.from({ length: 2_000 }, (_, n) =>
      n % 10 === 0
        ? db.transaction(async (tx) => {
            await tx.run(sql`create temporary table scratch (n int) on commit drop`);
            await tx.run(sql`insert into scratch values (${n})`);
            return (await tx.rows(Echo.pick({ n: true }), sql`select n from scratch`))[0]?.n;
          })
        : n % 2 === 0
          ? db.rows(Echo, sql`select ${n}::int as n, ${`text ${n}`}::text as text`).then((rows) => rows[0]?.n)
          : // without parameters, sent whole in one go (the others are described first)
            db.rows(Echo, sql.raw(`select ${n}::int as n, 'text' as text`)).then((rows) => rows[0]?.n),
    );
    expect(await Promise.all(work)).toEqual(Array.from({ length: 2_000 }, (_, n) => n));
    const stats = (await bouncer.stats()).find((row) => row.database === empty.name);
    expect(stats?.transactions, 'the statements went through the pooler').toBeGreaterThanOrEqual(2_000);
  });

  it('the indexer lock is a session on the direct URL: one holder across handles, freed on release', async () => {
    const [a, b] = [await open({ url: pooledUrl, directUrl, poolSize: 2 }), await open({ url: pooledUrl, directUrl, poolSize: 2 })];
    const held = await a.tryExclusive(LOCK_KEY);
    expect(held).toBeDefined();
    // Through a transaction pooler the lock would sit on a server connection another client gets next.
    expect(await b.tryExclusive(LOCK_KEY)).toBeUndefined();
    expect(await held?.stillHeld()).toBe(true);
    await held?.release();
    const taken = await b.tryExclusive(LOCK_KEY);
    expect(taken).toBeDefined();
    await taken?.release();
  });

  it('LISTEN is a session on the direct URL: a notification sent through the pooler reaches another process', async () => {
    const [sender, receiver] = [
      await open({ url: pooledUrl, directUrl, poolSize: 2 }),
      await open({ url: pooledUrl, directUrl, poolSize: 2 }),
    ];
    const heard: string[] = [];
    let listening = false;
    receiver.listen(
      'pooler_test',
      (payload) => heard.push(payload),
      (state) => {
        listening = state;
      },
    );
    await waitFor(() => listening, 'the LISTEN in place');
    await sender.transaction((tx) => tx.notify('pooler_test', 'hello'));
    await waitFor(() => heard.length > 0, 'the notification');
    expect(heard).toEqual(['hello']);
  });

  it('a direct URL that leads to another database than the pooler is refused at start, before any migration', async () => {
    const other = await createEmptyPostgresDatabase();
    try {
      const otherDirect = other.routes.options.directUrl ?? other.url;
      const config = { databaseUrl: pooledUrl, databaseRoutes: { directUrl: otherDirect, readUrl: undefined }, dataDir: '' };
      await expect(openConfiguredDatabase(config, 2)).rejects.toThrow(
        new RegExp(
          `^DATABASE_DIRECT_URL reaches database "${other.name}" .*but DATABASE_URL leads to "${empty.name}".*must be the same database$`,
        ),
      );
      const probe = await open({ url: otherDirect, poolSize: 1 });
      const [tables] = await probe.rows(
        z.object({ n: z.bigint() }),
        sql`select count(*)::int8 as n from information_schema.tables where table_schema in ('public', 'drizzle')`,
      );
      expect(tables?.n, 'nothing was migrated on the wrong database').toBe(0n);
      await probe.close();
    } finally {
      await other.dispose();
    }
  });

  it('a gateway on it: paid calls, a retried messageId and GetTask, charged once each', async () => {
    const db = await open({ url: pooledUrl, directUrl, poolSize: 10 });
    await db.migrate();
    const gateway = await startTestGateway({
      database: {
        db,
        url: pooledUrl,
        env: { DATABASE_URL: pooledUrl, DATABASE_POOLER: 'transaction', DATABASE_DIRECT_URL: directUrl },
        dispose: async () => {},
      },
    });
    try {
      await seedDemoData(db, { now: new Date(), agents: 3 });
      const org = await gateway.createOrg({ credits: 1_000_000n });
      const messageIds = Array.from({ length: 30 }, () => randomUUID());
      const answers = await Promise.all(messageIds.map((id) => gateway.rpc(paidCallBody(1, id), org.apiKey.key).then((r) => r.json())));
      const again = await gateway.rpc(paidCallBody(1, messageIds[0] as string), org.apiKey.key).then((r) => r.json());
      const states = answers.map(
        (answer) => (answer as { result?: { task?: { status?: { state?: string } } } }).result?.task?.status?.state,
      );
      expect(states, JSON.stringify(answers[0])).toEqual(messageIds.map(() => 'TASK_STATE_COMPLETED'));
      const first = (answers[0] as { result: { task: { id: string } } }).result.task;
      expect((again as { result: { task: { id: string } } }).result.task.id).toBe(first.id);
      const got = await gateway
        .rpc({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: first.id } }, org.apiKey.key)
        .then((r) => r.json());
      expect((got as { result: { id: string } }).result.id).toBe(first.id);
      const [charged] = await db.rows(
        z.object({ tasks: z.bigint(), spent: z.bigint() }),
        sql`select (select count(*) from tasks where org_id = ${org.orgId})::int8 as tasks,
                   (select -coalesce(sum(amount), 0) from ledger_entries where org_id = ${org.orgId} and kind = 'charge')::int8 as spent`,
      );
      // getAgentProfile costs 1,000 micro-USDC: 30 tasks, 30 charges, the retry none.
      expect(charged).toEqual({ tasks: 30n, spent: 30n * 1_000n });
      await expectLedgerInvariant(gateway);
    } finally {
      await gateway.close();
    }
  });
});
