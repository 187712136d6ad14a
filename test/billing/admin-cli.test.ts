import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../../src/app.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { type Database, openDatabase } from '../../src/db/client.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { createLeases } from '../../src/tasks/leases.js';
import { createToolRegistry } from '../../src/tools/registry.js';
import { buildGateway } from '../helpers/built-gateway.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type ProcessRun, runNode } from '../helpers/node-process.js';
import { testWalletAuth } from '../helpers/wallet-auth.js';

/**
 * The operator command, src/admin.ts, run as its own process the way an operator runs it, against
 * the suite's database: a fresh PostgreSQL database when DATABASE_URL is set, otherwise an
 * embedded PGlite folder that the test opens only between commands (PGlite is one process's).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIER0_COST = 1_000n;

/** A gateway on the CLI's database, for as long as `withGateway`'s callback runs. */
interface Live {
  db: Database;
  rpc(body: unknown, apiKey: string): Promise<Response>;
}

interface Target {
  env: NodeJS.ProcessEnv;
  withGateway<T>(work: (live: Live) => Promise<T>): Promise<T>;
  dispose(): Promise<void>;
}

function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.DATABASE_POOLER;
  delete env.DATABASE_DIRECT_URL;
  delete env.DATA_DIR;
  return env;
}

const quietLog = pino({ level: 'silent' });

async function postgresTarget(): Promise<Target> {
  const gateway: TestGateway = await startTestGateway();
  await seedDemoData(gateway.database.db, { now: new Date() });
  return {
    env: { ...baseEnv(), ...gateway.database.env },
    // One gateway runs all along: a revoked key must stop working in it without a restart.
    withGateway: (work) => work({ db: gateway.database.db, rpc: (body, key) => gateway.rpc(body, key) }),
    dispose: () => gateway.close(),
  };
}

async function pgliteTarget(): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-admin-'));
  const dataDir = join(dir, 'pglite');
  const withGateway = async <T>(work: (live: Live) => Promise<T>): Promise<T> => {
    const db = await openDatabase({ dataDir });
    try {
      await db.migrate();
      const app = createApp({
        db,
        log: quietLog,
        config: {
          toolTimeoutMs: 10_000,
          taskDeadlineSlackMs: 30_000,
          publicUrl: undefined,
          settlement: 'by-tool',
          catalog: { platformFeeBps: 1_000 },
        },
        walletAuth: await testWalletAuth(db),
        tools: createToolRegistry(),
        leases: createLeases({ db, log: quietLog, leaseMs: 15_000 }),
      });
      return await work({
        db,
        rpc: async (body, key) =>
          app.request('/a2a', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify(body),
          }),
      });
    } finally {
      await db.close();
    }
  };
  await withGateway(({ db }) => seedDemoData(db, { now: new Date() }));
  return {
    env: { ...baseEnv(), DATA_DIR: dataDir },
    withGateway,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** As `npm run admin` runs it: the built JavaScript, no TypeScript loader. */
function runAdmin(target: Target, args: string[]): Promise<ProcessRun> {
  return runNode(['dist/src/admin.js', ...args], target.env);
}

/** A successful command: exit 0, nothing on stderr, exactly one line of JSON on stdout. */
function oneJsonLine(run: ProcessRun): Record<string, unknown> {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout.endsWith('\n')).toBe(true);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

function paidCall(agentId = 1) {
  const messageId = randomUUID();
  return {
    jsonrpc: '2.0',
    id: messageId,
    method: 'SendMessage',
    params: {
      message: { messageId, role: 'ROLE_USER', parts: [{ data: { tool: 'getAgentProfile', arguments: { agentId } } }] },
    },
  };
}

interface CallOutcome {
  status: number;
  state?: string;
  errorCode?: number;
  reason?: unknown;
}

async function callTool(live: Live, apiKey: string): Promise<CallOutcome> {
  const response = await live.rpc(paidCall(), apiKey);
  const body = (await response.json()) as {
    result?: { task: { status: { state: string } } };
    error?: { code: number; data?: { reason?: unknown } };
  };
  return {
    status: response.status,
    ...(body.result ? { state: body.result.task.status.state } : {}),
    ...(body.error ? { errorCode: body.error.code, reason: body.error.data?.reason } : {}),
  };
}

async function balanceOf(live: Live, orgId: string): Promise<bigint> {
  const account = await getCreditAccount(live.db, orgId);
  expect(account).toBeDefined();
  return (account as NonNullable<typeof account>).balance;
}

async function expectLedgerExplainsBalance(live: Live, orgId: string): Promise<void> {
  const [row] = await live.db.rows(
    z.object({ balance: z.bigint(), reserved: z.bigint(), amount: z.bigint(), reservedDelta: z.bigint() }),
    sql`
    select a.balance, a.reserved,
           (select coalesce(sum(amount), 0)::int8 from ledger_entries where org_id = a.org_id) as amount,
           (select coalesce(sum(reserved_delta), 0)::int8 from ledger_entries where org_id = a.org_id) as "reservedDelta"
      from credit_accounts a where a.org_id = ${orgId}`,
  );
  expect(row).toBeDefined();
  expect(row?.balance).toBe(row?.amount);
  expect(row?.reserved).toBe(row?.reservedDelta);
}

const Counts = z.object({ orgs: z.bigint(), keys: z.bigint(), ledger: z.bigint(), revoked: z.bigint(), audit: z.bigint() });

async function counts(live: Live): Promise<z.output<typeof Counts>> {
  const [row] = await live.db.rows(
    Counts,
    sql`
    select (select count(*) from organizations)::int8 as orgs,
           (select count(*) from api_keys)::int8 as keys,
           (select count(*) from ledger_entries)::int8 as ledger,
           (select count(*) from api_keys where revoked_at is not null)::int8 as revoked,
           (select count(*) from audit_events)::int8 as audit`,
  );
  return row as NonNullable<typeof row>;
}

const AuditRow = z.object({
  actorKind: z.string(),
  actor: z.string(),
  action: z.string(),
  targetKind: z.string(),
  targetId: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  requestId: z.string().nullable(),
});

async function auditRows(live: Live, orgId: string): Promise<z.output<typeof AuditRow>[]> {
  return live.db.rows(
    AuditRow,
    sql`
    select actor_kind::text as "actorKind", actor, action, target_kind as "targetKind", target_id as "targetId",
           before, after, request_id as "requestId"
      from audit_events where org_id = ${orgId} order by id`,
  );
}

const onPostgres = Boolean(process.env.DATABASE_URL);

// Each test runs several commands, each its own process opening the database (a PGlite folder
// takes seconds to open on a busy machine), so the tests get a generous limit.
describe(`admin CLI (src/admin.ts) as a child process, on ${onPostgres ? 'PostgreSQL' : 'an embedded PGlite folder'}`, {
  timeout: 180_000,
}, () => {
  let target: Target;

  beforeAll(async () => {
    await buildGateway();
    target = onPostgres ? await postgresTarget() : await pgliteTarget();
  });

  afterAll(async () => {
    await target?.dispose();
  });

  async function createOrgViaCli(name: string, credits: string): Promise<{ orgId: string; apiKey: string; keyId: string }> {
    const out = oneJsonLine(await runAdmin(target, ['create-org', '--name', name, '--credits', credits]));
    return out as { orgId: string; apiKey: string; keyId: string };
  }

  it('create-org prints one JSON line with orgId and apiKey, and that key pays for a tool call', async () => {
    const out = oneJsonLine(await runAdmin(target, ['create-org', '--name', 'acme', '--credits', '5000000']));
    expect(out).toMatchObject({ name: 'acme', credits: '5000000' });
    expect(out.orgId).toMatch(UUID);
    expect(out.apiKey).toMatch(/^apg_[A-Za-z0-9_-]{20,}$/);
    const orgId = out.orgId as string;
    const apiKey = out.apiKey as string;

    await target.withGateway(async (live) => {
      const [org] = await live.db.rows(z.object({ name: z.string() }), sql`select name from organizations where id = ${orgId}`);
      expect(org?.name).toBe('acme');
      expect(await balanceOf(live, orgId)).toBe(5_000_000n);
      const grants = await live.db.rows(
        z.object({ kind: z.string(), amount: z.bigint() }),
        sql`select kind::text as kind, amount from ledger_entries where org_id = ${orgId}`,
      );
      expect(grants).toEqual([{ kind: 'grant', amount: 5_000_000n }]);

      expect(await callTool(live, apiKey)).toEqual({ status: 200, state: 'TASK_STATE_COMPLETED' });
      expect(await balanceOf(live, orgId)).toBe(5_000_000n - TIER0_COST);
      await expectLedgerExplainsBalance(live, orgId);
    });
  });

  it('grant adds the amount with a ledger row carrying the reason', async () => {
    const { orgId } = await createOrgViaCli('granted org', '5000000');
    const reason = 'promo: march credits';
    const out = oneJsonLine(await runAdmin(target, ['grant', '--org', orgId, '--amount', '1000', '--reason', reason]));
    expect(out).toMatchObject({ orgId, granted: '1000', balance: '5001000' });

    await target.withGateway(async (live) => {
      expect(await balanceOf(live, orgId)).toBe(5_001_000n);
      const rows = await live.db.rows(
        z.object({ kind: z.string(), amount: z.bigint(), reservedDelta: z.bigint(), reason: z.string().nullable() }),
        sql`
        select kind::text as kind, amount, reserved_delta as "reservedDelta", reason
          from ledger_entries where org_id = ${orgId} order by id`,
      );
      expect(rows).toHaveLength(2);
      expect(rows[1]).toEqual({ kind: 'grant', amount: 1000n, reservedDelta: 0n, reason });
      await expectLedgerExplainsBalance(live, orgId);
    });
  });

  it('create-key prints a working key; revoke-key stops that key at once and leaves the others working', async () => {
    const first = await createOrgViaCli('keyed org', '1000000');
    const created = oneJsonLine(await runAdmin(target, ['create-key', '--org', first.orgId, '--name', 'k2']));
    expect(created.orgId).toBe(first.orgId);
    expect(created.keyId).toMatch(UUID);
    expect(created.apiKey).toMatch(/^apg_/);
    expect(created.apiKey).not.toBe(first.apiKey);
    const k2 = created.apiKey as string;
    const k2Id = created.keyId as string;

    await target.withGateway(async (live) => {
      const [row] = await live.db.rows(
        z.object({ name: z.string(), orgId: z.string() }),
        sql`select name, org_id::text as "orgId" from api_keys where id = ${k2Id}`,
      );
      expect(row).toEqual({ name: 'k2', orgId: first.orgId });
      expect(await callTool(live, k2)).toEqual({ status: 200, state: 'TASK_STATE_COMPLETED' });
      expect(await balanceOf(live, first.orgId)).toBe(1_000_000n - TIER0_COST);
    });

    const revoked = oneJsonLine(await runAdmin(target, ['revoke-key', '--key', k2Id]));
    expect(revoked).toMatchObject({ keyId: k2Id, revoked: true });

    await target.withGateway(async (live) => {
      expect(await callTool(live, k2)).toEqual({ status: 401, errorCode: -32000, reason: 'invalid_api_key' });
      expect(await callTool(live, first.apiKey)).toEqual({ status: 200, state: 'TASK_STATE_COMPLETED' });
      expect(await balanceOf(live, first.orgId)).toBe(1_000_000n - 2n * TIER0_COST);
      await expectLedgerExplainsBalance(live, first.orgId);
    });
  });

  it('create-key takes policy flags; set-key-policy changes them (none removes) and set-org-policy bounds every key, from the next call', async () => {
    const org = await createOrgViaCli('governed org', '1000000');
    const created = oneJsonLine(
      await runAdmin(target, ['create-key', '--org', org.orgId, '--name', 'bounded', '--tools', 'getAgentProfile', '--max-tier', '1']),
    );
    expect(created.policy).toEqual({ tools: ['getAgentProfile'], maxTier: 1, spendCap: null, rateLimit: null });
    const key = created.apiKey as string;
    const keyId = created.keyId as string;

    const capped = oneJsonLine(
      await runAdmin(target, ['set-key-policy', '--key', keyId, '--spend-cap', '1000/day', '--rate-limit', '10/60s']),
    );
    expect(capped).toEqual({
      keyId,
      orgId: org.orgId,
      policy: {
        tools: ['getAgentProfile'],
        maxTier: 1,
        spendCap: { amountMicroUsdc: '1000', period: 'day' },
        rateLimit: { requests: 10, windowSeconds: 60 },
      },
    });
    await target.withGateway(async (live) => {
      expect(await callTool(live, key)).toEqual({ status: 200, state: 'TASK_STATE_COMPLETED' });
      expect(await callTool(live, key)).toEqual({ status: 200, errorCode: -32004, reason: 'spend_cap_exceeded' });
    });

    const uncapped = oneJsonLine(await runAdmin(target, ['set-key-policy', '--key', keyId, '--spend-cap', 'none', '--tools', 'all']));
    expect(uncapped.policy).toEqual({ tools: null, maxTier: 1, spendCap: null, rateLimit: { requests: 10, windowSeconds: 60 } });
    const orgCapped = oneJsonLine(await runAdmin(target, ['set-org-policy', '--org', org.orgId, '--spend-cap', '2000/month']));
    expect(orgCapped).toEqual({ orgId: org.orgId, policy: { spendCap: { amountMicroUsdc: '2000', period: 'month' }, rateLimit: null } });
    await target.withGateway(async (live) => {
      expect(await callTool(live, key)).toEqual({ status: 200, state: 'TASK_STATE_COMPLETED' });
      // the organization's cap covers every key: its first key has none of its own
      expect(await callTool(live, org.apiKey)).toEqual({ status: 200, errorCode: -32004, reason: 'spend_cap_exceeded' });
      expect(await balanceOf(live, org.orgId)).toBe(1_000_000n - 2n * TIER0_COST);
      await expectLedgerExplainsBalance(live, org.orgId);
    });
  });

  it('policy flags out of their forms are refused by name, exit 2, nothing changed', async () => {
    const org = await createOrgViaCli('misflagged org', '0');
    const refused = [
      [['create-key', '--org', org.orgId, '--spend-cap', '37000/week'], '--spend-cap must be <micro-USDC>/day, <micro-USDC>/month or none'],
      [['create-key', '--org', org.orgId, '--rate-limit', '10/0s'], '--rate-limit requests 1–1000000, window 1–86400 s'],
      [['create-key', '--org', org.orgId, '--max-tier', '4'], '--max-tier must be 0, 1, 2, 3 or none'],
      [['create-key', '--org', org.orgId, '--tools', 'getAgentProfile,noSuchTool'], '--tools must name tools the gateway offers'],
      [['set-key-policy', '--key', org.keyId, '--spend-cap', '99999999999999999999/day'], '--spend-cap must be <micro-USDC>/day'],
      [['set-key-policy', '--key', randomUUID(), '--max-tier', '0'], `no API key`],
    ] as const;
    for (const [args, message] of refused) {
      const run = await runAdmin(target, [...args]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(message);
    }
    await target.withGateway(async (live) => {
      const [keys] = await live.db.rows(
        z.object({ n: z.bigint() }),
        sql`select count(*)::int8 as n from api_keys where org_id = ${org.orgId}`,
      );
      expect(keys?.n).toBe(1n);
    });
  });

  it('create-key --expires-at: a key expiring in the future works; one in the past is refused as POST /v1/keys refuses it', async () => {
    const org = await createOrgViaCli('expiring org', '1000000');
    const later = oneJsonLine(
      await runAdmin(target, ['create-key', '--org', org.orgId, '--name', 'later', '--expires-at', '2999-01-01T00:00:00Z']),
    );
    expect(later.expiresAt).toBe('2999-01-01T00:00:00.000Z');
    await target.withGateway(async (live) => {
      expect(await callTool(live, later.apiKey as string)).toEqual({ status: 200, state: 'TASK_STATE_COMPLETED' });
    });

    const before = await target.withGateway(counts);
    const past = await runAdmin(target, ['create-key', '--org', org.orgId, '--name', 'gone', '--expires-at', '2001-01-01T00:00:00Z']);
    expect(past.code).toBe(2);
    expect(past.stdout).toBe('');
    expect(past.stderr).toBe('admin: create-key: --expires-at must be in the future\n');
    expect(await target.withGateway(counts)).toEqual(before);
  });

  it('policy commands write key.policy.set and org.policy.set rows, by the operator, with the policy before and after', async () => {
    const { orgId } = await createOrgViaCli('policed org', '0');
    const created = oneJsonLine(await runAdmin(target, ['create-key', '--org', orgId, '--name', 'capped', '--spend-cap', '37000/day']));
    const keyId = created.keyId as string;
    oneJsonLine(await runAdmin(target, ['set-key-policy', '--key', keyId, '--max-tier', '2']));
    oneJsonLine(await runAdmin(target, ['set-org-policy', '--org', orgId, '--rate-limit', '10/60s']));

    const rows = (await target.withGateway((live) => auditRows(live, orgId))).filter((row) => row.action.includes('policy'));
    const operator = { actorKind: 'operator', actor: 'operator', requestId: null };
    const noKeyPolicy = { tools: null, maxTier: null, spendCap: null, rateLimit: null };
    const capped = { ...noKeyPolicy, spendCap: { amountMicroUsdc: '37000', period: 'day' } };
    expect(rows).toEqual([
      { ...operator, action: 'key.policy.set', targetKind: 'api_key', targetId: keyId, before: noKeyPolicy, after: capped },
      { ...operator, action: 'key.policy.set', targetKind: 'api_key', targetId: keyId, before: capped, after: { ...capped, maxTier: 2 } },
      {
        ...operator,
        action: 'org.policy.set',
        targetKind: 'organization',
        targetId: orgId,
        before: { spendCap: null, rateLimit: null },
        after: { spendCap: null, rateLimit: { requests: 10, windowSeconds: 60 } },
      },
    ]);
  });

  it('every command that changes something writes its audit row, by the operator; reading commands write none', async () => {
    const out = oneJsonLine(await runAdmin(target, ['create-org', '--name', 'audited org', '--credits', '3000']));
    const orgId = out.orgId as string;
    const firstKeyId = out.keyId as string;
    oneJsonLine(await runAdmin(target, ['grant', '--org', orgId, '--amount', '500', '--reason', 'audited grant']));
    const created = oneJsonLine(
      await runAdmin(target, ['create-key', '--org', orgId, '--name', 'second', '--expires-at', '2999-01-01T00:00:00Z']),
    );
    const secondKeyId = created.keyId as string;
    oneJsonLine(await runAdmin(target, ['revoke-key', '--key', secondKeyId]));
    const written = await target.withGateway(counts);
    oneJsonLine(await runAdmin(target, ['list-orgs']));
    oneJsonLine(await runAdmin(target, ['show-org', '--org', orgId]));
    expect(await target.withGateway(counts)).toEqual(written);

    const rows = await target.withGateway((live) => auditRows(live, orgId));
    const operator = { actorKind: 'operator', actor: 'operator', requestId: null };
    const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const secondKey = { id: secondKeyId, name: 'second', prefix: created.keyPrefix, createdAt: iso, expiresAt: '2999-01-01T00:00:00.000Z' };
    expect(rows).toEqual([
      {
        ...operator,
        action: 'org.create',
        targetKind: 'organization',
        targetId: orgId,
        before: null,
        after: { id: orgId, name: 'audited org' },
      },
      {
        ...operator,
        action: 'credits.grant',
        targetKind: 'credit_account',
        targetId: orgId,
        before: { balanceMicroUsdc: '0' },
        after: { balanceMicroUsdc: '3000', grantedMicroUsdc: '3000', reason: 'initial grant', ledgerEntryId: expect.any(String) },
      },
      {
        ...operator,
        action: 'key.create',
        targetKind: 'api_key',
        targetId: firstKeyId,
        before: null,
        after: { id: firstKeyId, name: 'default', prefix: out.keyPrefix, createdAt: iso, expiresAt: null, revokedAt: null },
      },
      {
        ...operator,
        action: 'credits.grant',
        targetKind: 'credit_account',
        targetId: orgId,
        before: { balanceMicroUsdc: '3000' },
        after: { balanceMicroUsdc: '3500', grantedMicroUsdc: '500', reason: 'audited grant', ledgerEntryId: expect.any(String) },
      },
      {
        ...operator,
        action: 'key.create',
        targetKind: 'api_key',
        targetId: secondKeyId,
        before: null,
        after: { ...secondKey, revokedAt: null },
      },
      {
        ...operator,
        action: 'key.revoke',
        targetKind: 'api_key',
        targetId: secondKeyId,
        before: { ...secondKey, revokedAt: null },
        after: { ...secondKey, revokedAt: iso },
      },
    ]);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(out.apiKey as string);
    expect(text).not.toContain(created.apiKey as string);
  });

  it('--help lists every command on stdout and exits 0 without opening the database', async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['grant', '--help']]) {
      const run = await runAdmin({ ...target, env: { ...baseEnv(), DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } }, args);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      for (const command of ['create-org', 'list-orgs', 'show-org', 'grant', 'create-key', 'revoke-key', '--allow-duplicate-name']) {
        expect(run.stdout).toContain(command);
      }
    }
  });

  it('list-orgs gives every organization with its id, name and balance; show-org one, with its keys and no secret', async () => {
    const org = await createOrgViaCli('listed org', '2500000');
    oneJsonLine(await runAdmin(target, ['grant', '--org', org.orgId, '--amount', '500000', '--reason', 'top it up']));

    const listed = oneJsonLine(await runAdmin(target, ['list-orgs'])) as { organizations: Array<Record<string, unknown>> };
    expect(listed.organizations).toContainEqual(
      expect.objectContaining({ id: org.orgId, name: 'listed org', balance: '3000000', available: '3000000' }),
    );
    const counted = await target.withGateway(counts);
    expect(BigInt(listed.organizations.length)).toBe(counted.orgs);

    const shown = oneJsonLine(await runAdmin(target, ['show-org', '--org', org.orgId])) as Record<string, unknown> & {
      keys: Array<Record<string, unknown>>;
    };
    expect(shown).toMatchObject({ id: org.orgId, name: 'listed org', balance: '3000000', reserved: '0', available: '3000000' });
    expect(shown.keys).toEqual([expect.objectContaining({ id: org.keyId, name: 'default', revokedAt: null })]);
    expect(JSON.stringify(shown)).not.toContain(org.apiKey);
  });

  it('a second organization with an existing name needs --allow-duplicate-name', async () => {
    const first = await createOrgViaCli('twin org', '0');
    const before = await target.withGateway(counts);
    const refused = await runAdmin(target, ['create-org', '--name', 'twin org', '--credits', '100']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trimEnd().split('\n')).toEqual([
      `admin: create-org: an organization named "twin org" already exists (${first.orgId}); pass --allow-duplicate-name to create another`,
    ]);
    expect(await target.withGateway(counts)).toEqual(before);

    const second = oneJsonLine(await runAdmin(target, ['create-org', '--name', 'twin org', '--allow-duplicate-name']));
    expect(second.orgId).not.toBe(first.orgId);
    expect(second.name).toBe('twin org');
  });

  it('a grant that would take the balance past what the ledger holds is one clear line, exit 2, and changes nothing', async () => {
    const org = await createOrgViaCli('brimming org', '9223372036854775000');
    const before = await target.withGateway(counts);
    const refused = await runAdmin(target, ['grant', '--org', org.orgId, '--amount', '1000', '--reason', 'one too many']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `admin: grant: the balance of ${org.orgId} would pass 9223372036854775807 micro-USDC, the most the ledger holds\n`,
    );
    expect(await target.withGateway(counts)).toEqual(before);
    await target.withGateway(async (live) => {
      expect(await balanceOf(live, org.orgId)).toBe(9_223_372_036_854_775_000n);
      await expectLedgerExplainsBalance(live, org.orgId);
    });
  });

  describe('bad input exits non-zero with one clear line on stderr, no stack trace, and changes nothing', () => {
    const someUuid = randomUUID();
    const cases: Array<{ name: string; args: () => string[]; says: RegExp }> = [
      { name: 'negative credits', args: () => ['create-org', '--name', 'acme', '--credits', '-5'], says: /credits/ },
      { name: 'fractional credits', args: () => ['create-org', '--name', 'acme', '--credits', '1.5'], says: /credits/ },
      { name: 'missing --name', args: () => ['create-org', '--credits', '5'], says: /--name/ },
      { name: 'an unknown command', args: () => ['frobnicate', '--name', 'x'], says: /unknown command.*frobnicate/ },
      { name: 'no command at all', args: () => [], says: /command/ },
      { name: 'grant without --org', args: () => ['grant', '--amount', '1000', '--reason', 'x'], says: /--org/ },
      { name: 'grant of zero', args: () => ['grant', '--org', someUuid, '--amount', '0', '--reason', 'x'], says: /amount/ },
      {
        name: 'grant to an organization that does not exist',
        args: () => ['grant', '--org', someUuid, '--amount', '1000', '--reason', 'x'],
        says: new RegExp(someUuid),
      },
      { name: 'an unknown flag', args: () => ['create-org', '--name', 'x', '--bogus', '1'], says: /bogus/ },
      {
        name: 'a grant reason over its limit',
        args: () => ['grant', '--org', someUuid, '--amount', '1000', '--reason', 'r'.repeat(501)],
        says: /^admin: grant: --reason must be at most 500 characters$/,
      },
      {
        name: 'credits past what the ledger holds (int8)',
        args: () => ['create-org', '--name', 'acme', '--credits', '9223372036854775808'],
        says: /^admin: create-org: --credits must be at most 9223372036854775807 micro-USDC$/,
      },
      {
        name: 'a grant past what the ledger holds (int8)',
        args: () => ['grant', '--org', someUuid, '--amount', '99999999999999999999999999', '--reason', 'x'],
        says: /^admin: grant: --amount must be at most 9223372036854775807 micro-USDC$/,
      },
      { name: 'show-org of an organization that does not exist', args: () => ['show-org', '--org', someUuid], says: new RegExp(someUuid) },
      { name: 'revoking a key that does not exist', args: () => ['revoke-key', '--key', someUuid], says: new RegExp(someUuid) },
    ];

    // What the database held before each case: counted once up front, then after each case (the
    // cases run in order, with nothing between them), so each count is one opening of the database.
    let before: z.output<typeof Counts>;
    beforeAll(async () => {
      before = await target.withGateway(counts);
    });

    it.each(cases)('$name', async ({ args, says }) => {
      const run = await runAdmin(target, args());
      expect(run.code).not.toBe(0);
      expect(run.code).not.toBeNull();
      expect(run.stdout).toBe('');
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines, `stderr was:\n${run.stderr}`).toHaveLength(1);
      expect(run.stderr).not.toMatch(/^\s+at\s/m);
      expect(lines[0]).toMatch(says);
      const after = await target.withGateway(counts);
      const expected = before;
      before = after;
      expect(after).toEqual(expected);
    });
  });
});
