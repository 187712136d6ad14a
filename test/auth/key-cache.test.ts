import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createApiKey, revokeApiKey } from '../../src/auth/api-keys.js';
import { createOrganization, type NewOrganization } from '../../src/auth/organizations.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { LISTEN_APPLICATION_NAME } from '../../src/db/client.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { updateKeyPolicy, updateOrgPolicy } from '../../src/policies/store.js';
import { buildGateway, builtEntry } from '../helpers/built-gateway.js';
import { createTestDatabase, databaseEnv, type TestDatabase } from '../helpers/database.js';
import { type ProcessRun, runNode } from '../helpers/node-process.js';
import { needs } from '../helpers/requirements.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { waitFor } from '../helpers/wait.js';
import {
  freePort,
  type GatewayProcess,
  outputsOf,
  paidCallBody,
  pollUntil,
  startGatewayProcess,
  waitReady,
} from '../robustness/support.js';

/**
 * The key cache (issue 18, docs/adr/0016-key-cache.md): each gateway keeps the keys it has seen
 * with their policies, and drops them when a change is announced. A revoked, expired or re-scoped
 * key is refused on its next call at every instance; a lost LISTEN connection empties the cache.
 */

interface Answer {
  status: number;
  headers: Headers;
  body: { result?: { task: { status: { state: string } } }; error?: { code: number; data?: { reason?: string } } };
}

async function call(baseUrl: string, apiKey: string, tool = 'getAgentProfile'): Promise<Answer> {
  const response = await fetch(`${baseUrl}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: paidCallBody(1, randomUUID(), tool),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
}

/** 'completed', or the HTTP status, or the refusal's reason: what a test compares. */
function outcome(answer: Answer): string | number {
  if (answer.status !== 200) return answer.status;
  if (answer.body.result?.task.status.state === 'TASK_STATE_COMPLETED') return 'completed';
  return answer.body.error?.data?.reason ?? JSON.stringify(answer.body);
}

describe('the key cache in one gateway, on the database the suite runs on (embedded unless DATABASE_URL)', () => {
  const suite = useSeededGateway({ listen: true });

  it('a key revoked after it was cached is refused on its next call', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    expect(outcome(await call(suite.baseUrl, org.apiKey.key))).toBe('completed');
    expect(outcome(await call(suite.baseUrl, org.apiKey.key))).toBe('completed');
    expect(await revokeApiKey(suite.gateway.database.db, { keyId: org.apiKey.id, by: OPERATOR })).toBe(true);
    expect(outcome(await call(suite.baseUrl, org.apiKey.key))).toBe(401);
  });

  it("a key's tools and an organization's rate limit, changed after the key was cached, hold from its next call", async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    expect(outcome(await call(suite.baseUrl, org.apiKey.key, 'getAgentProfile'))).toBe('completed');
    await suite.gateway.database.db.transaction((tx) =>
      updateKeyPolicy(tx, { keyId: org.apiKey.id, patch: { tools: ['getTrend'] }, by: OPERATOR }),
    );
    expect(outcome(await call(suite.baseUrl, org.apiKey.key, 'getAgentProfile'))).toBe('tool_not_allowed');
    await suite.gateway.database.db.transaction((tx) =>
      updateOrgPolicy(tx, { orgId: org.orgId, patch: { rateLimit: { requests: 1, windowSeconds: 60 } }, by: OPERATOR }),
    );
    const first = await call(suite.baseUrl, org.apiKey.key, 'getTrend');
    expect(outcome(first)).toBe('completed');
    expect(first.headers.get('ratelimit-policy')).toBe('"org";q=1;w=60');
    expect(outcome(await call(suite.baseUrl, org.apiKey.key, 'getTrend'))).toBe(429);
  });

  it('a cached key whose organization ran out of credit is refused, and works again at once after a top-up', async () => {
    // Enough for one Tier 0 call: the second is refused by the charge (the cached key carries no
    // credit hint), the later ones by the hint read again with the key.
    const org = await suite.gateway.createOrg({ credits: 1_000n });
    expect(outcome(await call(suite.baseUrl, org.apiKey.key))).toBe('completed');
    expect(outcome(await call(suite.baseUrl, org.apiKey.key))).toBe('insufficient_credits');
    expect(outcome(await call(suite.baseUrl, org.apiKey.key))).toBe('insufficient_credits');
    await grantCredits(suite.gateway.database.db, { orgId: org.orgId, amount: 1_000n, reason: 'top-up', by: OPERATOR });
    expect(outcome(await call(suite.baseUrl, org.apiKey.key))).toBe('completed');
  });
});

/** Runs the operator command (src/admin.ts) as its own process, as an operator would, on `databaseUrl`. */
function runAdmin(databaseUrl: string, args: string[]): Promise<ProcessRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VITEST') && key !== 'NODE_OPTIONS' && key !== 'DATA_DIR') env[key] = value;
  }
  return runNode([builtEntry('src/admin.ts'), ...args], { ...env, ...databaseEnv(databaseUrl), LOG_LEVEL: 'warn' });
}

const ListenBackend = z.object({ pid: z.number() });

describe('the key cache across two gateway processes on one PostgreSQL', needs('postgres'), () => {
  let database: TestDatabase;
  let org: NewOrganization;
  let a: GatewayProcess;
  let b: GatewayProcess;

  /** The backend serving a gateway's LISTEN connection, once its LISTEN is in place. */
  async function listenBackend(gateway: GatewayProcess): Promise<number | undefined> {
    const [row] = await database.db.rows(
      ListenBackend,
      sql`select pid from pg_stat_activity
           where datname = current_database() and application_name = ${`${LISTEN_APPLICATION_NAME} ${gateway.child.pid}`}
             and query ilike 'listen%' and state = 'idle'`,
    );
    return row?.pid;
  }

  const admin = async (...args: string[]) => {
    const run = await runAdmin(database.url as string, args);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  };

  /** A fresh key of the suite's organization, used once at each instance so both hold it. */
  async function keyCachedAtBoth(name: string) {
    const key = await createApiKey(database.db, { orgId: org.orgId, name, by: OPERATOR });
    expect([outcome(await call(a.baseUrl, key.key)), outcome(await call(b.baseUrl, key.key))]).toEqual(['completed', 'completed']);
    return key;
  }

  beforeAll(async () => {
    await buildGateway();
    database = await createTestDatabase();
    await seedDemoData(database.db, { now: new Date(), agents: 5 });
    org = await createOrganization(database.db, { name: 'cached', credits: 10_000_000n, by: OPERATOR });
    a = startGatewayProcess({ name: 'a', databaseUrl: database.url as string, port: await freePort() });
    b = startGatewayProcess({ name: 'b', databaseUrl: database.url as string, port: await freePort() });
    await Promise.all([waitReady(a), waitReady(b)]);
    // Until its LISTEN is in place a gateway caches nothing: wait, so the calls below are cached.
    await Promise.all([a, b].map((gateway) => pollUntil(`${gateway.name} listening`, () => listenBackend(gateway), { timeoutMs: 10_000 })));
  });
  afterAll(async () => {
    await a?.kill();
    await b?.kill();
    await database?.dispose();
  });

  it('a key revoked by the admin command (a third process) is refused on its next call at both instances', async () => {
    onTestFailed(() => console.error(outputsOf([a, b])));
    const key = await keyCachedAtBoth('revoked');
    await admin('revoke-key', '--key', key.id);
    expect([outcome(await call(a.baseUrl, key.key)), outcome(await call(b.baseUrl, key.key))]).toEqual([401, 401]);
  });

  it('a key re-scoped to other tools is refused the tool it lost on its next call at both instances', async () => {
    onTestFailed(() => console.error(outputsOf([a, b])));
    const key = await keyCachedAtBoth('re-scoped');
    await admin('set-key-policy', '--key', key.id, '--tools', 'getTrend');
    expect([outcome(await call(b.baseUrl, key.key)), outcome(await call(a.baseUrl, key.key))]).toEqual([
      'tool_not_allowed',
      'tool_not_allowed',
    ]);
    expect(outcome(await call(b.baseUrl, key.key, 'getTrend'))).toBe('completed');
  });

  it("an organization's rate limit set by the admin command holds from the next call at both instances", async () => {
    onTestFailed(() => console.error(outputsOf([a, b])));
    const key = await keyCachedAtBoth('org-limited');
    await admin('set-org-policy', '--org', org.orgId, '--rate-limit', '1/60s');
    // No REDIS_URL: each instance counts in its own memory, so each allows one call a minute.
    for (const gateway of [b, a]) {
      const first = await call(gateway.baseUrl, key.key);
      expect(outcome(first)).toBe('completed');
      expect(first.headers.get('ratelimit-policy')).toBe('"org";q=1;w=60');
      expect(outcome(await call(gateway.baseUrl, key.key))).toBe(429);
    }
    await admin('set-org-policy', '--org', org.orgId, '--rate-limit', 'none');
    expect(outcome(await call(b.baseUrl, key.key))).toBe('completed');
  });

  it('a key that expires is refused at both instances once its time has passed, with nothing announced', async () => {
    onTestFailed(() => console.error(outputsOf([a, b])));
    const expiresAt = new Date(Date.now() + 3_000);
    const key = await createApiKey(database.db, { orgId: org.orgId, name: 'expiring', expiresAt, by: OPERATOR });
    expect([outcome(await call(a.baseUrl, key.key)), outcome(await call(b.baseUrl, key.key))]).toEqual(['completed', 'completed']);
    await waitFor(() => Date.now() > expiresAt.getTime(), 'the key to expire');
    expect([outcome(await call(a.baseUrl, key.key)), outcome(await call(b.baseUrl, key.key))]).toEqual([401, 401]);
  });

  it('a lost LISTEN connection empties the cache: a change it could not announce holds from the next call', async () => {
    onTestFailed(() => console.error(outputsOf([a, b])));
    const key = await keyCachedAtBoth('unannounced');
    // Revoked behind the gateways' back: a statement that announces nothing, as if its notification were lost.
    await database.db.run(sql`update api_keys set revoked_at = now() where id = ${key.id}`);
    // B still answers from its cache, which is what the next step must empty.
    expect(outcome(await call(b.baseUrl, key.key))).toBe('completed');
    const lost = await listenBackend(b);
    await database.db.run(sql`select pg_terminate_backend(${lost})`);
    // B listens again on a new connection (the cache was emptied when the old one closed).
    await pollUntil(
      'b listening again',
      async () => {
        const pid = await listenBackend(b);
        return pid !== undefined && pid !== lost ? pid : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    expect(outcome(await call(b.baseUrl, key.key))).toBe(401);
    // and caches again: a key used now is refused at once when revoked
    const next = await keyCachedAtBoth('after the loss');
    await admin('revoke-key', '--key', next.id);
    expect(outcome(await call(b.baseUrl, next.key))).toBe(401);
  });
});
