import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createOrganization } from '../../src/auth/organizations.js';
import { type Database, openDatabase } from '../../src/db/client.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { buildGateway } from '../helpers/built-gateway.js';
import { type OwnPostgres, type ShutdownMode, startOwnPostgres } from '../helpers/cluster.js';
import { needs } from '../helpers/requirements.js';
import {
  accountsWithLedger,
  freePort,
  type GatewayProcess,
  outputsOf,
  paidCallBody,
  pollUntil,
  sleep,
  startGatewayProcess,
  waitReady,
} from './support.js';

/**
 * The database restarts (fast shutdown, then start) or is killed (immediate shutdown: every server
 * process killed, as in a crash) under load: paid calls instant and held, held calls answered at
 * once and run in the background, and streams, against two gateways on a PostgreSQL cluster of
 * the test's own. Neither gateway is restarted. Afterwards each must be ready again by itself,
 * every call the client did not see completed is retried with its messageId and answered with its
 * task, nothing is charged twice or without its completed task, nothing stays held, and the
 * ledger explains every balance.
 *
 * PostgreSQL runs only (needs DATABASE_URL, though the cluster is its own): the embedded database
 * has no server to lose.
 */

const CREDITS = 100_000_000n;
const AGENTS = 20;
/** concurrent callers per gateway */
const CALLERS = 6;
/** how long the database stays down: long enough for /readyz to be seen unready */
const OUTAGE_MS = 1_500;
/** how long a gateway may take to start: generous, since a busy CI machine starts two at once */
const STARTUP_MS = 90_000;
/** how soon after the database is back each gateway must be ready again, without a restart */
const RECOVERY_BOUND_MS = 15_000;

/**
 * Held tasks run against a 3 s deadline and a lease of 900 ms, so within the test a held task cut
 * off by the outage is either taken over (its lease lapsed) and completed, or failed as abandoned
 * and released once its deadline passed.
 */
const COMMON_ENV = {
  TOOL_TIMEOUT_MS: '2500',
  TASK_DEADLINE_SLACK_MS: '500',
  RECOVERY_INTERVAL_MS: '300',
  TASK_LEASE_MS: '900',
  TASK_WORKER_INTERVAL_MS: '200',
  DB_POOL_SIZE: '8',
};

/** A2A SendMessage (instant or held, by the gateway), with returnImmediately, SendStreamingMessage, or REST's POST /v1/tools/{name}/call */
type Kind = 'instant' | 'held' | 'background' | 'stream' | 'rest';

interface Call {
  gateway: GatewayProcess;
  kind: Kind;
  messageId: string;
  agentId: number;
  startedAt: number;
  endedAt: number;
  /** what the client saw: completed, accepted (a background task answered at once), or how it failed */
  answer: string;
}

/** The JSON-RPC answer as a client reads it: its outcome in a word. */
function answerOf(status: number, body: string, retryAfter: string | null): string {
  let parsed: { result?: { task?: { status?: { state?: string } } }; error?: { code?: number; data?: { reason?: string } } };
  try {
    parsed = JSON.parse(body);
  } catch {
    return `HTTP ${status}, not JSON`;
  }
  if (parsed.error) {
    const unavailable = parsed.error.code === -32050 && parsed.error.data?.reason === 'database_unavailable';
    return `HTTP ${status} ${parsed.error.code}${unavailable && status === 503 && retryAfter ? ' database_unavailable, Retry-After' : ''}`;
  }
  const state = parsed.result?.task?.status?.state;
  if (state === 'TASK_STATE_COMPLETED') return 'completed';
  if (state === 'TASK_STATE_WORKING') return 'accepted';
  return `HTTP ${status} task ${state}`;
}

/** A stream's outcome from its last event: the completed task, or the error it ended with. */
function streamAnswerOf(status: number, body: string, retryAfter: string | null): string {
  if (status !== 200) return `stream refused: ${answerOf(status, body, retryAfter)}`;
  const events = body
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim());
  const last = events.at(-1);
  if (last === undefined) return 'stream ended without an event';
  const parsed = JSON.parse(last) as { error?: { code?: number; data?: { reason?: string } } };
  if (parsed.error) return `stream ended with ${parsed.error.code} ${parsed.error.data?.reason ?? ''}`.trim();
  return events.some((event) => event.includes('TASK_STATE_COMPLETED')) ? 'completed' : `stream ended: ${last.slice(0, 120)}`;
}

function sendBody(kind: Kind, messageId: string, agentId: number): string {
  const body = JSON.parse(paidCallBody(agentId, messageId)) as { method: string; params: Record<string, unknown> };
  if (kind === 'stream') body.method = 'SendStreamingMessage';
  if (kind === 'background') body.params.configuration = { returnImmediately: true };
  return JSON.stringify(body);
}

/** A REST call's outcome: completed, or its error envelope's code and reason. */
function restAnswerOf(status: number, body: string, retryAfter: string | null): string {
  if (status === 200) return 'completed';
  try {
    const { error } = JSON.parse(body) as { error: { code: string; reason?: string } };
    return `HTTP ${status} ${error.code} ${error.reason ?? ''}${retryAfter ? ', Retry-After' : ''}`;
  } catch {
    return `HTTP ${status}, not JSON`;
  }
}

/** POST /v1/tools/getAgentProfile/call with the messageId as its Idempotency-Key (REST's name for it). */
function restCall(gateway: GatewayProcess, apiKey: string, messageId: string, agentId: number): Promise<Response> {
  return fetch(`${gateway.baseUrl}/v1/tools/getAgentProfile/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'idempotency-key': messageId },
    body: JSON.stringify({ agentId }),
    signal: AbortSignal.timeout(15_000),
  });
}

async function call(gateway: GatewayProcess, apiKey: string, kind: Kind, messageId: string, agentId: number): Promise<string> {
  try {
    if (kind === 'rest') {
      const response = await restCall(gateway, apiKey, messageId, agentId);
      return restAnswerOf(response.status, await response.text(), response.headers.get('retry-after'));
    }
    const response = await fetch(`${gateway.baseUrl}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: sendBody(kind, messageId, agentId),
      // a stream or call that hangs past this is a failure of its own
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const retryAfter = response.headers.get('retry-after');
    return kind === 'stream' ? streamAnswerOf(response.status, text, retryAfter) : answerOf(response.status, text, retryAfter);
  } catch (error) {
    return `no answer: ${(error as Error).name === 'TimeoutError' ? 'hung' : String((error as Error).cause ?? error)}`;
  }
}

/** Each caller sends one call after another, cycling through the kinds its gateway offers, until stopped. */
function load(gateways: { gateway: GatewayProcess; kinds: Kind[] }[], apiKey: string) {
  const calls: Call[] = [];
  let stopped = false;
  const callers = gateways.flatMap(({ gateway, kinds }) =>
    Array.from({ length: CALLERS }, async (_, caller) => {
      for (let n = caller; !stopped; n++) {
        const kind = kinds[n % kinds.length] as Kind;
        const messageId = randomUUID();
        const agentId = (n % AGENTS) + 1;
        const startedAt = Date.now();
        const answer = await call(gateway, apiKey, kind, messageId, agentId);
        calls.push({ gateway, kind, messageId, agentId, startedAt, endedAt: Date.now(), answer });
        // a caller that was refused waits a little, as a client honouring Retry-After would (briefly here)
        if (answer !== 'completed' && answer !== 'accepted') await sleep(50);
      }
    }),
  );
  return {
    calls,
    stop: async () => {
      stopped = true;
      await Promise.all(callers);
    },
  };
}

/** Polls /readyz every 100 ms, keeping each answer's status (0: no answer within 3 s), until stopped. */
function watchReadiness(gateway: GatewayProcess) {
  const seen: { at: number; status: number }[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const status = await fetch(`${gateway.baseUrl}/readyz`, { signal: AbortSignal.timeout(3_000) }).then(
        (response) => response.status,
        () => 0,
      );
      seen.push({ at: Date.now(), status });
      await sleep(100);
    }
  })();
  return {
    seen,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

const moneyPerTask = z.object({
  id: z.string(),
  messageId: z.string(),
  state: z.string(),
  cost: z.bigint(),
  charges: z.bigint(),
  captures: z.bigint(),
  reserves: z.bigint(),
  releases: z.bigint(),
});

async function tasksWithMoney(db: Database, orgId: string) {
  return db.rows(
    moneyPerTask,
    sql`
    select t.id::text as id, t.message_id as "messageId", t.state::text as state, t.cost,
           count(*) filter (where l.kind = 'charge')::int8 as charges,
           count(*) filter (where l.kind = 'capture')::int8 as captures,
           count(*) filter (where l.kind = 'reserve')::int8 as reserves,
           count(*) filter (where l.kind = 'release')::int8 as releases
      from tasks t left join ledger_entries l on l.task_id = t.id
     where t.org_id = ${orgId}
     group by t.id`,
  );
}

const countOf = <T>(items: readonly T[], key: (item: T) => string) =>
  Object.fromEntries([...new Set(items.map(key))].sort().map((value) => [value, items.filter((item) => key(item) === value).length]));

describe(
  'the database restarts under load (PostgreSQL runs: a throwaway cluster of the test’s own, two gateways as child processes)',
  needs('postgres'),
  () => {
    let cluster: OwnPostgres;
    let db: Database;
    const children: GatewayProcess[] = [];
    let instant: GatewayProcess;
    let held: GatewayProcess;

    // One cluster and its two gateways serve both tests, each with an organization of its own.
    beforeAll(async () => {
      await buildGateway();
      cluster = await startOwnPostgres();
      db = await openDatabase({ url: cluster.url, poolSize: 4 });
      await db.migrate();
      await seedDemoData(db, { now: new Date(), agents: AGENTS });
      // Instant calls (settled in one charge) on one gateway; held calls (reserve, run, capture) and
      // background ones (answered working, run on) on the other. Both serve streams.
      const [instantPort, heldPort] = [await freePort(), await freePort()];
      instant = startGatewayProcess({ name: 'instant', databaseUrl: cluster.url, ownServer: true, port: instantPort, env: COMMON_ENV });
      held = startGatewayProcess({
        name: 'held',
        databaseUrl: cluster.url,
        ownServer: true,
        port: heldPort,
        env: { ...COMMON_ENV, SETTLEMENT: 'hold' },
      });
      children.push(instant, held);
      await Promise.all(children.map((child) => waitReady(child, STARTUP_MS)));
    }, STARTUP_MS + 30_000);

    afterAll(async () => {
      for (const child of children) await child.kill();
      await db?.close();
      await cluster?.dispose();
    });

    async function outageUnderLoad(mode: ShutdownMode) {
      onTestFailed(() => {
        console.error(outputsOf(children));
      });
      const org = await createOrganization(db, { name: `database ${mode}`, credits: CREDITS, by: OPERATOR });
      const pids = children.map((child) => child.child.pid);

      const traffic = load(
        [
          { gateway: instant, kinds: ['instant', 'rest', 'instant', 'stream'] },
          { gateway: held, kinds: ['held', 'rest', 'background', 'stream'] },
        ],
        org.apiKey.key,
      );
      const readiness = children.map(watchReadiness);
      await sleep(1_000);

      const outageStart = Date.now();
      await cluster.stop(mode);
      await sleep(OUTAGE_MS);
      await cluster.start();
      const outageEnd = Date.now();

      const readyAgain = await Promise.all(
        readiness.map((watch) =>
          pollUntil('/readyz 200 after the outage', async () => watch.seen.find((seen) => seen.at > outageEnd && seen.status === 200)?.at, {
            timeoutMs: RECOVERY_BOUND_MS,
          }),
        ),
      );
      const firstCompleted = await pollUntil(
        'a paid call completed after the outage',
        async () => {
          const ends = traffic.calls.filter((c) => c.startedAt >= outageEnd && c.answer === 'completed').map((c) => c.endedAt);
          return ends.length > 0 ? Math.min(...ends) : undefined;
        },
        { timeoutMs: RECOVERY_BOUND_MS },
      );
      await sleep(1_000);
      await traffic.stop();
      for (const watch of readiness) await watch.stop();

      // Neither gateway was restarted, and each was seen unready while the database was down.
      expect(children.map((child) => [child.isRunning(), child.child.pid])).toEqual(pids.map((pid) => [true, pid]));
      for (const watch of readiness) {
        expect(watch.seen.some((seen) => seen.at > outageStart && seen.at < outageEnd && seen.status === 503)).toBe(true);
        // never a hang: /readyz answers within its own 2 s timeout
        expect(watch.seen.filter((seen) => seen.status === 0)).toEqual([]);
      }

      // What the clients saw: completed, accepted, or a documented "unavailable" (503 + -32050 +
      // Retry-After, a stream's last event -32050) or a connection the gateway did not answer on —
      // never -32603, a 500, or a stream left hanging.
      const calls = traffic.calls;
      const failed = calls.filter((c) => c.answer !== 'completed' && c.answer !== 'accepted');
      for (const c of failed) {
        expect(c.answer, `${c.kind} ${c.messageId}`).toMatch(/database_unavailable|^stream ended with -32050 database_unavailable$/);
      }

      // Held tasks the outage cut off are taken over or failed and released, by the gateways themselves.
      await pollUntil(
        'no task working, nothing reserved',
        async () => {
          const working = (await tasksWithMoney(db as Database, org.orgId)).filter((task) => task.state === 'working');
          const [account] = await accountsWithLedger(db as Database);
          return working.length === 0 && account?.reserved === 0n ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );

      // Every call whose outcome the client did not see completed is retried with its messageId:
      // answered with its task (ended now), never run a second time.
      const before = new Map((await tasksWithMoney(db, org.orgId)).map((task) => [task.messageId, task]));
      const retried = await Promise.all(
        calls
          .filter((c) => c.answer !== 'completed')
          .map(async (c) => {
            if (c.kind === 'rest') {
              // the same call with the same Idempotency-Key: its answer, or the failed task it left (502/409 naming it)
              const response = await restCall(c.gateway, org.apiKey.key, c.messageId, c.agentId);
              const answer = (await response.json()) as { taskId?: string; error?: { details?: { taskId?: string } } };
              const failed = response.status === 502 || response.status === 409;
              const id = response.status === 200 ? answer.taskId : failed ? answer.error?.details?.taskId : undefined;
              const state = response.status === 200 ? 'TASK_STATE_COMPLETED' : failed ? 'TASK_STATE_FAILED' : `HTTP ${response.status}`;
              return {
                call: c,
                status: response.status,
                task: id ? { id, status: { state } } : undefined,
                existed: before.get(c.messageId),
              };
            }
            const response = await fetch(`${c.gateway.baseUrl}/a2a`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey.key}` },
              // the same message, sent as a plain blocking SendMessage
              body: sendBody('instant', c.messageId, c.agentId),
            });
            const answer = (await response.json()) as { result?: { task?: { id: string; status: { state: string } } } };
            return { call: c, status: response.status, task: answer.result?.task, existed: before.get(c.messageId) };
          }),
      );
      for (const { call: c, status, task, existed } of retried) {
        // A2A answers a task with 200; REST a failed task's refusal (502, 409) names it
        expect(task, `${c.kind} ${c.messageId}: HTTP ${status}`).toBeDefined();
        expect(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED']).toContain(task?.status.state);
        // a task the first attempt committed is the one the retry answers with
        if (existed) expect(task?.id).toBe(existed.id);
      }

      // Money: each completed task charged exactly once (one charge, or one reserve and one capture),
      // each failed one never, its hold released; every client's messageId has one task.
      const tasks = await tasksWithMoney(db, org.orgId);
      expect(tasks.map((task) => task.messageId).sort()).toEqual(calls.map((c) => c.messageId).sort());
      for (const task of tasks) {
        if (task.state === 'completed') {
          expect(task.charges + task.captures, task.id).toBe(1n);
          expect(task.reserves, task.id).toBe(task.captures);
        } else {
          expect(task.state, task.id).toBe('failed');
          expect([task.charges, task.captures], task.id).toEqual([0n, 0n]);
          expect(task.releases, task.id).toBe(task.reserves);
        }
      }
      const [strayCharges] = await db.rows(
        z.object({ n: z.bigint() }),
        sql`
        select count(*)::int8 as n from ledger_entries l left join tasks t on t.id = l.task_id
         where l.org_id = ${org.orgId} and l.kind in ('charge', 'capture') and (t.id is null or t.state <> 'completed')`,
      );
      expect(strayCharges?.n).toBe(0n);
      const spent = tasks.filter((task) => task.state === 'completed').reduce((sum, task) => sum + task.cost, 0n);
      for (const account of await accountsWithLedger(db)) {
        expect(account).toEqual({ ...account, reserved: 0n, ledgerAmount: account.balance, ledgerReserved: 0n });
      }
      const [account] = (await accountsWithLedger(db)).filter((row) => row.orgId === org.orgId);
      expect(account?.balance).toBe(CREDITS - spent);

      const firstReady = Math.max(...readyAgain);
      const duringOutage = failed.filter((c) => c.endedAt >= outageStart);
      console.info(
        `database ${mode} stop under load: ${calls.length} calls (${JSON.stringify(countOf(calls, (c) => c.kind))}), ` +
          `database down ${outageEnd - outageStart} ms; ${duringOutage.length} failed: ${JSON.stringify(countOf(duringOutage, (c) => `${c.kind}: ${c.answer}`))}; ` +
          `outage end → /readyz 200 in ${firstReady - outageEnd} ms, → first completed paid call in ${firstCompleted - outageEnd} ms; ` +
          `${retried.length} retried with their messageId: ${JSON.stringify(countOf(retried, (r) => `${r.existed ? 'had a task' : 'no task'} → ${r.task?.status.state}`))}; ` +
          `tasks ${JSON.stringify(countOf(tasks, (task) => task.state))}`,
      );
    }

    it('fast shutdown, then start: the gateways recover by themselves, nothing charged twice or without its task', async () => {
      await outageUnderLoad('fast');
    }, 90_000);

    it('immediate shutdown (a crash), then start: the same', async () => {
      await outageUnderLoad('immediate');
    }, 90_000);
  },
);
