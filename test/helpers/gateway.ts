import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterEach } from 'vitest';
import { z } from 'zod';
import { type App, createApp } from '../../src/app.js';
import { OPERATOR } from '../../src/audit/record.js';
import { createOrganization, type NewOrganization } from '../../src/auth/organizations.js';
import type { WalletAuth } from '../../src/auth/wallet-auth.js';
import { openLiveCatalog } from '../../src/catalog/live-catalog.js';
import { chainClient, type TopUpChain } from '../../src/chain/client.js';
import type { Config } from '../../src/config.js';
import { createMemoryRateLimiter } from '../../src/limits/memory-store.js';
import type { RateLimiter } from '../../src/limits/rate-limiter.js';
import { createGatewayMetrics } from '../../src/metrics/registry.js';
import { gatewayMetricSources } from '../../src/metrics/sources.js';
import { createLeases, type Leases } from '../../src/tasks/leases.js';
import { chatCompletions } from '../../src/tools/llm.js';
import { createToolRegistry } from '../../src/tools/registry.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { testWalletAuth } from './wallet-auth.js';

/** `SETTLEMENT`: by each tool's own settlement, or every paid call held. */
export type SettlementMode = Config['settlement'];

export interface TestGateway {
  readonly app: App;
  readonly database: TestDatabase;
  /** the gateway's sign-in parts, so a test can mint a session at another time */
  readonly walletAuth: WalletAuth;
  /** this gateway's runs of held tasks: `idle()` waits for the late end of a run */
  readonly leases: Leases;
  /** http://127.0.0.1:<port> once `listen()` has been called */
  baseUrl: string;
  listen(): Promise<string>;
  createOrg(input?: { name?: string; credits?: bigint }): Promise<NewOrganization>;
  /** POSTs a JSON-RPC body (object or raw string) to /a2a through the app, with the key if given */
  rpc(body: unknown, apiKey?: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** How a test gateway is started; every field has a default. */
export interface TestGatewayOptions {
  toolTimeoutMs?: number;
  settlement?: SettlementMode;
  /** a local chain's RPC: smart-wallet sign-ins, and top-ups when `topUpChain` is given too */
  rpcUrl?: string;
  topUpChain?: TopUpChain;
  /** an OpenAI-compatible server: enables getReputationReport */
  llm?: { baseUrl: string; timeoutMs?: number };
  leaseMs?: number;
  /** the chain id whose indexer state /readyz and /v1/indexer report */
  indexedChainId?: number;
  /** sign-in nonces one client address may take a minute, and whether X-Forwarded-For names it */
  nonces?: { perMinute: number; trustProxy: boolean };
  /** the gateway's logger (a test that reads the log lines); silent unless TEST_LOG_LEVEL is set */
  log?: pino.Logger;
  /** the time spend caps count in (a test moves it across the end of a day or month) */
  clock?: () => Date;
  /** where rate limits are counted; the app's own memory unless given (the test that gives one closes it) */
  rateLimiter?: RateLimiter;
  /**
   * `off`: the app counts nothing and serves no /metrics (METRICS=off); `served`: every metric
   * main.ts exports, the process metrics too; the app's own (no process metrics) unless given
   */
  metrics?: 'off' | 'served';
  /** serves the operator API with this ADMIN_TOKEN, sealing upstream headers under `secretsKey` (which also opens them for calls) */
  operator?: { adminToken: string; secretsKey?: Buffer };
  /** PLATFORM_FEE_BPS; 1,000 (10 %) unless given */
  platformFeeBps?: number;
  /** UPSTREAM_ALLOW_PRIVATE_NETWORKS; true unless given, as the tests' upstreams are on loopback */
  upstreamAllowPrivateNetworks?: boolean;
  /** MCP_ALLOWED_ORIGINS: browser origins /mcp serves besides the gateway's own */
  mcpAllowedOrigins?: string[];
  /** takes x402 payments (docs/adr/0023) as these settings say; none unless given */
  x402?: Config['x402'];
  /** a database already made, which close() leaves open (a second instance on the same one); a fresh one unless given */
  database?: TestDatabase;
}

/** A gateway on a fresh database. Logs are silent unless TEST_LOG_LEVEL is set. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const database = options.database ?? (await createTestDatabase());
  const log = options.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const walletAuth = await testWalletAuth(database.db, {
    rpcUrl: options.rpcUrl,
    noncesPerMinute: options.nonces?.perMinute,
    trustProxy: options.nonces?.trustProxy,
  });
  // the app's own memory unless given; named here too, for the metrics that read it
  const rateLimiter = options.rateLimiter ?? createMemoryRateLimiter();
  const leases = createLeases({ db: database.db, log, leaseMs: options.leaseMs ?? 15_000 });
  const app = createApp({
    db: database.db,
    log,
    config: {
      toolTimeoutMs: options.toolTimeoutMs ?? 10_000,
      taskDeadlineSlackMs: 30_000,
      publicUrl: undefined,
      settlement: options.settlement ?? 'by-tool',
      catalog: { platformFeeBps: options.platformFeeBps ?? 1_000 },
      adminToken: options.operator?.adminToken,
      secretsKey: options.operator?.secretsKey,
      mcp: { allowedOrigins: options.mcpAllowedOrigins ?? [] },
      x402: options.x402,
    },
    walletAuth,
    leases,
    tools: createToolRegistry({
      catalog: openLiveCatalog(database.db, log, {
        secretsKey: options.operator?.secretsKey,
        allowPrivateNetworks: options.upstreamAllowPrivateNetworks ?? true,
      }),
      llm: options.llm && {
        complete: chatCompletions({ baseUrl: options.llm.baseUrl, model: 'test-model', apiKey: 'test-llm-key' }),
        timeoutMs: options.llm.timeoutMs ?? 5_000,
      },
    }),
    indexedChainId: options.indexedChainId,
    clock: options.clock,
    rateLimiter,
    metrics:
      options.metrics === 'served'
        ? createGatewayMetrics({
            processMetrics: true,
            sources: gatewayMetricSources({ db: database.db, indexedChainId: options.indexedChainId, rateLimiter }),
          })
        : options.metrics,
    topUpReader: options.rpcUrl && options.topUpChain ? { client: chainClient(options.rpcUrl), chain: options.topUpChain } : undefined,
  });
  let server: Server | undefined;
  const gateway: TestGateway = {
    app,
    database,
    walletAuth,
    leases,
    baseUrl: '',
    async listen() {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      await new Promise<void>((resolve) => server?.once('listening', resolve));
      gateway.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return gateway.baseUrl;
    },
    createOrg: (input = {}) =>
      createOrganization(database.db, { name: input.name ?? 'test org', credits: input.credits ?? 1_000_000n, by: OPERATOR }),
    rpc: async (body, apiKey, headers = {}) =>
      app.request('/a2a', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async close() {
      if (server) {
        server.closeAllConnections();
        await new Promise((resolve) => server?.close(resolve));
      }
      if (!options.database) await database.dispose();
    },
  };
  return gateway;
}

const moneyCheck = z.object({
  orgId: z.string(),
  balance: z.bigint(),
  reserved: z.bigint(),
  ledgerAmount: z.bigint(),
  ledgerReserved: z.bigint(),
  /** the organization's keys whose `reserved` is not the sum of their working tasks' costs */
  keysOff: z.bigint(),
});
export type MoneyCheck = z.infer<typeof moneyCheck>;

/**
 * Every account next to the sums of its ledger: the invariant is balance = Σamount, reserved =
 * Σreserved_delta; and each key's reserved is what its working tasks hold (the spend caps' count).
 */
export async function moneyChecks(gateway: TestGateway): Promise<MoneyCheck[]> {
  return gateway.database.db.rows(
    moneyCheck,
    sql`
    select a.org_id as "orgId", a.balance, a.reserved,
           coalesce(sum(l.amount), 0)::int8 as "ledgerAmount",
           coalesce(sum(l.reserved_delta), 0)::int8 as "ledgerReserved",
           (select count(*) from api_keys k
             where k.org_id = a.org_id
               and k.reserved <> (select coalesce(sum(t.cost), 0) from tasks t where t.api_key_id = k.id and t.state = 'working'))::int8
             as "keysOff"
      from credit_accounts a left join ledger_entries l on l.org_id = a.org_id
     group by a.org_id, a.balance, a.reserved`,
  );
}

/** What is wrong with one account's money, as text that changes when it gets worse; empty when all holds. */
function ledgerProblems(check: MoneyCheck, options: { idle?: boolean }): string[] {
  const problems: string[] = [];
  if (check.ledgerAmount !== check.balance)
    problems.push(`balance ${check.balance} ≠ Σ ledger amount ${check.ledgerAmount} (off by ${check.balance - check.ledgerAmount})`);
  if (check.ledgerReserved !== check.reserved)
    problems.push(
      `reserved ${check.reserved} ≠ Σ ledger reserved_delta ${check.ledgerReserved} (off by ${check.reserved - check.ledgerReserved})`,
    );
  if (check.balance < 0n) problems.push(`balance ${check.balance} is negative`);
  if (check.keysOff > 0n) problems.push(`${check.keysOff} keys whose reserved is not what their working tasks hold`);
  if (options.idle !== false && check.reserved !== 0n) problems.push(`${check.reserved} still reserved with no call in flight`);
  return problems;
}

/**
 * Ledger sums equal balances for every account, nothing is negative, and (when no call is in
 * flight) nothing is left reserved.
 */
export async function expectLedgerInvariant(gateway: TestGateway, options: { idle?: boolean } = {}): Promise<void> {
  const { expect } = await import('vitest');
  const problems = (await moneyChecks(gateway)).flatMap((check) =>
    ledgerProblems(check, options).map((problem) => `${check.orgId}: ${problem}`),
  );
  expect(problems, 'ledger invariant').toEqual([]);
}

/**
 * Checks the ledger invariant after every test of the calling suite, on the gateways `gateways()`
 * returns. The test that breaks it fails, named in the message; the accounts it broke are then
 * remembered as broken, so the tests after it on the same database fail only if they break
 * something more (each then named in turn), not because an earlier test did.
 */
export function checkLedgerAfterEach(gateways: () => readonly (TestGateway | undefined)[], options: { idle?: boolean } = {}): void {
  const accepted = new Map<string, string>();
  afterEach(async (context) => {
    const broken: string[] = [];
    for (const [index, gateway] of gateways().entries()) {
      if (!gateway) continue;
      for (const check of await moneyChecks(gateway)) {
        const key = `${index}:${check.orgId}`;
        const problems = ledgerProblems(check, options).join('; ');
        if (problems === (accepted.get(key) ?? '')) continue;
        if (problems === '') accepted.delete(key);
        else {
          accepted.set(key, problems);
          broken.push(`${check.orgId}: ${problems}`);
        }
      }
    }
    if (broken.length > 0) {
      throw new Error(`ledger invariant broken by the test "${context.task.name}":\n  ${broken.join('\n  ')}`);
    }
  });
}

/** What a task written by a test keeps of its built-in tool's version: 1.0.0, no provider, not deprecated. */
export const BUILT_IN_VERSION = { toolVersion: '1.0.0', deprecationNote: null, providerOrgId: null, providerEarning: null } as const;
