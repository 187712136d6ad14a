import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { openDatabase } from '../../src/db/client.js';
import { replicaProblem } from '../../src/db/configured.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { call, expectResult, expectRpcError, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { seedCatalog } from '../helpers/catalog-seed.js';
import { POOLED, type TestDatabase } from '../helpers/database.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/loopback.js';
import { type StreamingReplica, startStreamingReplica } from '../helpers/replica.js';
import { needs } from '../helpers/requirements.js';
import { rest } from '../helpers/sign-in.js';

const CREDITS = 1_000_000n;
const PROFILE_PRICE = 1_000n;

describe('without a read URL', () => {
  it('the replica is the database itself, and in a transaction the transaction, whose reads see its writes', async () => {
    // Never connected: a PostgreSQL pool connects at its first statement.
    const unread = await openDatabase({ url: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` });
    expect(unread.replica).toBe(unread);
    await unread.close();

    const db = await openDatabase({ memory: true });
    try {
      expect(db.replica).toBe(db);
      const Seen = z.object({ name: z.string() });
      const seenInside = await db.transaction(async (tx) => {
        expect(tx.replica).toBe(tx);
        await tx.run(sql`create table fresh (name text not null)`);
        await tx.run(sql`insert into fresh values ('written in this transaction')`);
        return tx.replica.rows(Seen, sql`select name from fresh`);
      });
      expect(seenInside).toEqual([{ name: 'written in this transaction' }]);
    } finally {
      await db.close();
    }
  });
});

describe('a read URL nothing answers at', () => {
  it('is told at the start in one line naming DATABASE_READ_URL; the primary is not touched', async () => {
    const [primaryPort, replicaPort] = [await freePort(), await freePort()];
    const readUrl = `postgres://reader:secret-password@127.0.0.1:${replicaPort}/paygate`;
    // Neither answers: the primary is never connected to, as only the replica is read.
    const db = await openDatabase({ url: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`, readUrl });
    try {
      const problem = await replicaProblem(db, { databaseRoutes: { directUrl: undefined, readUrl } });
      expect(problem).toBe(
        `DATABASE_READ_URL: cannot reach PostgreSQL at 127.0.0.1:${replicaPort} (nothing listens there, ECONNREFUSED); is it running, and is DATABASE_READ_URL right?`,
      );
      expect(await replicaProblem(db, { databaseRoutes: { directUrl: undefined, readUrl: undefined } })).toBeUndefined();
    } finally {
      await db.close();
    }
  });
});

/**
 * DATABASE_READ_URL (issue 23): the gateway runs on a primary with a streaming standby as its
 * replica, and the test holds the standby's replay back. What must be exact (the charge, the
 * balance, the task just made, a retried messageId) is answered at once; the listings, usage and
 * the ERC-8004 tools' data show what the standby has replayed, and catch up when it resumes.
 */
describe('a read replica (DATABASE_READ_URL)', needs('postgres'), () => {
  let cluster: StreamingReplica;
  let database: TestDatabase;
  let gateway: TestGateway;
  let org: NewOrganization;

  beforeAll(async () => {
    cluster = await startStreamingReplica();
    // In CI's pooled run, the gateway reaches both as it would through a pooler: nothing prepared by name.
    const db = await openDatabase({
      url: cluster.primaryUrl,
      readUrl: cluster.standbyUrl,
      ...(POOLED ? { directUrl: cluster.primaryUrl } : {}),
    });
    await db.migrate();
    database = { db, url: cluster.primaryUrl, env: {}, dispose: () => db.close() };
    gateway = await startTestGateway({ database });
    await seedDemoData(db, { now: new Date(), agents: 2, feedbacksPerAgent: 2, validationsPerAgent: 1 });
    org = await gateway.createOrg({ credits: CREDITS });
    await cluster.caughtUp();
    expect(await replicaProblem(db, { databaseRoutes: { directUrl: undefined, readUrl: cluster.standbyUrl } })).toBeUndefined();
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await database?.dispose();
    await cluster?.dispose();
  });
  checkLedgerAfterEach(() => [gateway]);

  const getJson = async <T>(path: string): Promise<T> => {
    const response = await rest(gateway, 'GET', path, undefined, org.apiKey.key);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as T;
  };
  const send = (tool: string, args: Record<string, unknown>, messageId = randomUUID()) =>
    call(gateway, request('SendMessage', v1Send([v1Data(toolCall(tool, args))], { messageId })), org.apiKey.key);
  const listed = async () => ({
    tasks: (await getJson<{ tasks: { id: string }[] }>('/v1/tasks')).tasks.map((task) => task.id),
    a2aTasks: (expectResult(await call(gateway, request('ListTasks', {}), org.apiKey.key)).tasks as { id: string }[]).map(
      (task) => task.id,
    ),
    ledger: (await getJson<{ entries: { taskId: string | null }[] }>('/v1/ledger')).entries.map((entry) => entry.taskId),
    profileCalls: (await getJson<{ usage: { key: string; calls: number }[] }>('/v1/usage?by=tool')).usage.find(
      (row) => row.key === 'getAgentProfile',
    )?.calls,
  });
  const balance = async () => BigInt((await getJson<{ balanceMicroUsdc: string }>('/v1/balance')).balanceMicroUsdc);

  it('a paid call, its task, a retry of its messageId and the balance are exact at once; listings and usage show it once the replica has it', async () => {
    await send('getAgentProfile', { agentId: 1 });
    await cluster.caughtUp();
    const before = await listed();
    const balanceBefore = await balance();
    expect(before.profileCalls).toBe(1);

    await cluster.pauseReplay();
    const messageId = randomUUID();
    const task = expectResult(await send('getAgentProfile', { agentId: 2 }, messageId)).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');

    // On the primary: the task just made, the same task for the same messageId, the charged balance.
    const got = expectResult(await call(gateway, request('GetTask', { id: task.id }), org.apiKey.key));
    expect(got).toMatchObject({ id: task.id, status: { state: 'TASK_STATE_COMPLETED' } });
    expect((await getJson<{ id: string }>(`/v1/tasks/${task.id}`)).id).toBe(task.id);
    expect(expectResult(await send('getAgentProfile', { agentId: 2 }, messageId)).task.id).toBe(task.id);
    expect(await balance()).toBe(balanceBefore - PROFILE_PRICE);

    // On the replica: nothing of the call yet.
    expect(await listed()).toEqual(before);

    await cluster.resumeReplay();
    const after = await listed();
    expect(after.tasks).toEqual([task.id, ...before.tasks]);
    expect(after.a2aTasks).toEqual([task.id, ...before.a2aTasks]);
    expect(after.ledger).toEqual([task.id, ...before.ledger]);
    expect(after.profileCalls).toBe(2);
    expect(await balance()).toBe(balanceBefore - PROFILE_PRICE);
  });

  it('ERC-8004 data and catalog tools written on the primary reach the tools and the search once the replica has them', async () => {
    const searchHits = async () =>
      ((await (await rest(gateway, 'GET', '/v1/tools?q=StockQuote')).json()) as { tools: { name: string }[] }).tools.map(
        (tool) => tool.name,
      );
    await cluster.pauseReplay();
    // What the indexer would write: an agent registered moments ago, and a tool an operator registered.
    await database.db.run(
      sql`insert into agents (id, owner_address, name, created_at) values (777, ${`0x${'7'.repeat(40)}`}, 'Late Agent', now())`,
    );
    await seedCatalog(database.db, 1);
    const balanceBefore = await balance();

    const unseen = expectRpcError(await send('getAgentProfile', { agentId: 777 }), -32602);
    expect(unseen.data).toMatchObject({ reason: 'agent_not_found', agentId: '777' });
    expect(await balance()).toBe(balanceBefore);
    expect(await searchHits()).toEqual([]);

    await cluster.resumeReplay();
    const seen = expectResult(await send('getAgentProfile', { agentId: 777 })).task;
    expect(seen.status.state).toBe('TASK_STATE_COMPLETED');
    expect(JSON.stringify(seen.artifacts)).toContain('Late Agent');
    expect(await balance()).toBe(balanceBefore - PROFILE_PRICE);
    expect(await searchHits()).toEqual(['tool00001StockQuote']);
  });
});
