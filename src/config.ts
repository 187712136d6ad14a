import { z } from 'zod';

/**
 * The canonical ERC-8004 registries, the defaults on those chains (erc-8004/erc-8004-contracts
 * registry-addresses.json). Kept here so that config imports nothing of ours: every folder reads it.
 */
export const CANONICAL_REGISTRIES: Record<number, { identity: `0x${string}`; reputation: `0x${string}`; validation?: `0x${string}` }> = {
  8453: { identity: '0x8004a169fb4a3325136eb29fa0ceb6d2e539a432', reputation: '0x8004baa17c55a88189ae136b182e5fda19de9b63' },
  84532: { identity: '0x8004a818bfb912233c491871b3d84c89a494bd9e', reputation: '0x8004b663056a597dffe9eccc1965a193b7388713' },
};

/** SECRETS_KEY as 64 hex digits or the base64 of 32 bytes (`openssl rand -base64 32`); undefined when it is neither. */
function parseSecretsKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  return undefined;
}

const flag = z.enum(['0', '1', 'true', 'false']).transform((value) => value === '1' || value === 'true');

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
  .transform((value) => value.toLowerCase() as `0x${string}`);

/** Circle's USDC on Base and Base Sepolia, the defaults for those chains. */
const USDC_BY_CHAIN: Record<number, string> = {
  8453: '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913',
  84532: '0x036cbd53842c5426634e7929541ec2318f3dcf7e',
};

/** The EIP-712 domain name Circle's USDC signs EIP-3009 authorizations with, per chain (version "2" on both). */
const USDC_DOMAIN_NAME_BY_CHAIN: Record<number, string> = { 8453: 'USD Coin', 84532: 'USDC' };

const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex private key');

/** OTLP/HTTP is spoken over http or https; `collector:4318` (no scheme) would parse as a URL otherwise. */
const otlpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL');

const configSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    PUBLIC_URL: z.url().optional(),
    DATABASE_URL: postgresUrl.optional(),
    // `transaction`: DATABASE_URL is a transaction-mode pooler (PgBouncer, Supavisor), which allows
    // no named prepared statements and no session state; locks and LISTEN go to DATABASE_DIRECT_URL.
    DATABASE_POOLER: z.enum(['none', 'transaction']).default('none'),
    DATABASE_DIRECT_URL: postgresUrl.optional(),
    // A replica that may lag, for the reads that tolerate it (docs/adr/0025); unset: the primary.
    DATABASE_READ_URL: postgresUrl.optional(),
    DATA_DIR: z.string().min(1).default('.data/pglite'),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\/[^/]/, 'must be a redis:// or rediss:// URL naming a host')
      .refine((value) => URL.canParse(value), 'must be a redis:// or rediss:// URL naming a host')
      .optional(),
    METRICS: z.enum(['on', 'off']).default('on'),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').max(500).optional(),
    METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    // the operator API (/admin/v1/…) is served only with it
    ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').max(500).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DEMO: flag.optional(),
    DEMO_CREDITS: z.coerce.bigint().positive().default(100_000_000n),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    // Browser pages (by their Origin) that may call /mcp besides the gateway's own; none: only non-browser clients and the gateway's own pages.
    MCP_ALLOWED_ORIGINS: z
      .string()
      .max(4_000)
      .transform((value) =>
        value
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.url({ protocol: /^https?$/, error: 'must be a comma-separated list of http(s) origins' })).max(50))
      .transform((origins) => origins.map((origin) => new URL(origin).origin))
      .default([]),
    TOOL_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
    SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
    TASK_DEADLINE_SLACK_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
    RECOVERY_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
    TASK_LEASE_MS: z.coerce.number().int().min(300).max(600_000).default(15_000),
    TASK_WORKER_INTERVAL_MS: z.coerce.number().int().min(50).max(600_000).default(1_000),
    TASK_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
    PUSH_INTERVAL_MS: z.coerce.number().int().min(50).max(600_000).default(500),
    PUSH_ALLOW_PRIVATE_NETWORKS: flag.default(false),
    SETTLEMENT: z.enum(['by-tool', 'hold']).default('by-tool'),
    CHAIN_ID: z.coerce.number().int().positive().default(8453),
    CHAIN_RPC_URL: z.url().optional(),
    SIGN_IN_DOMAIN: z.string().min(1).optional(),
    SIGN_IN_NONCE_TTL_S: z.coerce.number().int().min(10).max(3600).default(300),
    SIGN_IN_NONCES_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
    TRUST_PROXY: flag.default(false),
    SESSION_TTL_S: z.coerce.number().int().min(60).max(86_400).default(900),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    TREASURY_ADDRESS: address.optional(),
    USDC_ADDRESS: address.optional(),
    // x402 (docs/adr/0023): settled through a facilitator, or by the gateway itself with this key over CHAIN_RPC_URL
    X402_FACILITATOR_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    X402_SETTLER_PRIVATE_KEY: privateKey.optional(),
    X402_TOKEN_NAME: z.string().min(1).max(100).optional(),
    X402_TOKEN_VERSION: z.string().min(1).max(20).default('2'),
    X402_OFFER_TTL_S: z.coerce.number().int().min(10).max(86_400).default(600),
    X402_PAYMENTS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
    TOPUP_CONFIRMATIONS: z.coerce.number().int().min(1).max(1000).default(10),
    TOPUP_WATCH_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
    TOPUP_START_BLOCK: z.coerce.bigint().nonnegative().optional(),
    INDEXER: flag.default(false),
    IDENTITY_REGISTRY: address.optional(),
    REPUTATION_REGISTRY: address.optional(),
    VALIDATION_REGISTRY: address.optional(),
    INDEXER_START_BLOCK: z.coerce.bigint().nonnegative().default(0n),
    INDEXER_CONFIRMATIONS: z.coerce.number().int().min(1).max(1000).default(10),
    INDEXER_MAX_BLOCK_RANGE: z.coerce.bigint().min(1n).max(1_000_000n).default(2_000n),
    INDEXER_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(2_000),
    IPFS_GATEWAY: z.url().default('https://ipfs.io/ipfs/'),
    REGISTRATION_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    REGISTRATION_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(10_000_000)
      .default(256 * 1024),
    REGISTRATION_ALLOW_PRIVATE_NETWORKS: flag.default(false),
    // 32 bytes, as 64 hex digits or base64: seals catalog tools' upstream credentials and signing keys (issue 19)
    SECRETS_KEY: z
      .string()
      .transform((text, ctx) => {
        const key = parseSecretsKey(text);
        if (!key) ctx.addIssue({ code: 'custom', message: 'must be 32 bytes as 64 hex digits or base64 (openssl rand -base64 32)' });
        return key ?? z.NEVER;
      })
      .optional(),
    UPSTREAM_ALLOW_PRIVATE_NETWORKS: flag.default(false),
    PLATFORM_FEE_BPS: z.coerce.number().int().min(0).max(10_000).default(1_000),
    LLM_BASE_URL: z.url().optional(),
    LLM_MODEL: z.string().min(1).optional(),
    LLM_API_KEY: z.string().min(1).optional(),
    LLM_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(60_000),
    // The OpenTelemetry SDK reads these (and the other OTEL_* variables) itself; they are checked
    // here so a mistyped endpoint stops the start instead of losing every span.
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl.optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl.optional(),
    OTEL_SDK_DISABLED: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_POOLER === 'transaction' && !env.DATABASE_DIRECT_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_DIRECT_URL'],
        message: 'is needed with DATABASE_POOLER=transaction: migrations, the indexer lock and LISTEN need a session of their own',
      });
    }
    if (env.DATABASE_POOLER === 'none' && env.DATABASE_DIRECT_URL) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_DIRECT_URL'], message: 'is used only with DATABASE_POOLER=transaction' });
    }
    for (const name of ['DATABASE_DIRECT_URL', 'DATABASE_READ_URL', 'DATABASE_POOLER'] as const) {
      if (!env.DATABASE_URL && (name === 'DATABASE_POOLER' ? env.DATABASE_POOLER !== 'none' : env[name])) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'applies to PostgreSQL only: set DATABASE_URL too' });
      }
    }
    if (env.INDEXER && !env.CHAIN_RPC_URL) {
      ctx.addIssue({ code: 'custom', path: ['CHAIN_RPC_URL'], message: 'is needed to run the indexer (INDEXER=1)' });
    }
    if (env.INDEXER && !(env.IDENTITY_REGISTRY ?? CANONICAL_REGISTRIES[env.CHAIN_ID])) {
      ctx.addIssue({
        code: 'custom',
        path: ['IDENTITY_REGISTRY'],
        message: `has no default for chain ${env.CHAIN_ID}; set IDENTITY_REGISTRY and REPUTATION_REGISTRY`,
      });
    }
    if (env.LLM_BASE_URL && !env.LLM_MODEL) {
      ctx.addIssue({ code: 'custom', path: ['LLM_MODEL'], message: 'is needed with LLM_BASE_URL' });
    }
    if (env.TREASURY_ADDRESS && !env.CHAIN_RPC_URL) {
      ctx.addIssue({ code: 'custom', path: ['CHAIN_RPC_URL'], message: 'is needed to verify top-ups to TREASURY_ADDRESS' });
    }
    if (env.TREASURY_ADDRESS && !(env.USDC_ADDRESS ?? USDC_BY_CHAIN[env.CHAIN_ID])) {
      ctx.addIssue({ code: 'custom', path: ['USDC_ADDRESS'], message: `has no default for chain ${env.CHAIN_ID}; set it` });
    }
    if ((env.X402_FACILITATOR_URL || env.X402_SETTLER_PRIVATE_KEY) && !env.TREASURY_ADDRESS) {
      ctx.addIssue({ code: 'custom', path: ['TREASURY_ADDRESS'], message: 'is needed to take x402 payments (they are paid to it)' });
    }
    if (env.X402_SETTLER_PRIVATE_KEY && !env.CHAIN_RPC_URL) {
      ctx.addIssue({ code: 'custom', path: ['CHAIN_RPC_URL'], message: 'is needed to settle x402 payments with X402_SETTLER_PRIVATE_KEY' });
    }
    if (env.X402_FACILITATOR_URL && env.X402_SETTLER_PRIVATE_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['X402_SETTLER_PRIVATE_KEY'],
        message: 'settles x402 payments itself; with X402_FACILITATOR_URL set too, which one settles would be a guess: set one',
      });
    }
    if ((env.X402_FACILITATOR_URL || env.X402_SETTLER_PRIVATE_KEY) && !(env.X402_TOKEN_NAME ?? USDC_DOMAIN_NAME_BY_CHAIN[env.CHAIN_ID])) {
      ctx.addIssue({
        code: 'custom',
        path: ['X402_TOKEN_NAME'],
        message: `has no default for chain ${env.CHAIN_ID}; set the token's EIP-712 name`,
      });
    }
  })
  .transform((env) => ({
    port: env.PORT,
    host: env.HOST,
    publicUrl: env.PUBLIC_URL,
    databaseUrl: env.DATABASE_URL,
    // How DATABASE_URL is reached (docs/adr/0025): through a transaction pooler, with a direct URL
    // for sessions, and a replica for the reads that may lag.
    databaseRoutes: {
      directUrl: env.DATABASE_POOLER === 'transaction' ? env.DATABASE_DIRECT_URL : undefined,
      readUrl: env.DATABASE_READ_URL,
    },
    dataDir: env.DATA_DIR,
    logLevel: env.LOG_LEVEL,
    // Set: every instance counts rate limits in this Redis (and lets calls through while it does not
    // answer). Unset: each instance counts in its own memory.
    rateLimits: { redisUrl: env.REDIS_URL },
    // GET /metrics: on the main port unless a port of its own is given; with a token, only for it.
    // METRICS=off counts nothing at all (the bench measures what counting costs against it).
    metrics: { enabled: env.METRICS === 'on', token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    // Demo data is for newcomers on the embedded database; a real PostgreSQL opts in explicitly, and
    // an indexed chain fills the same tables with what is really there.
    demo: env.DEMO ?? (env.DATABASE_URL === undefined && !env.INDEXER),
    demoCredits: env.DEMO_CREDITS,
    dbPoolSize: env.DB_POOL_SIZE,
    toolTimeoutMs: env.TOOL_TIMEOUT_MS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    recoveryIntervalMs: env.RECOVERY_INTERVAL_MS,
    // An instance renews the lease of each held task it runs every third of this; a task whose
    // lease lapsed (the instance died) is taken over by another instance's worker.
    taskLeaseMs: env.TASK_LEASE_MS,
    taskWorker: { intervalMs: env.TASK_WORKER_INTERVAL_MS, maxRunning: env.TASK_WORKER_CONCURRENCY },
    // Webhooks may not reach loopback, private or link-local addresses unless this is set.
    push: { intervalMs: env.PUSH_INTERVAL_MS, allowPrivateNetworks: env.PUSH_ALLOW_PRIVATE_NETWORKS },
    // A working task past tool timeout + this slack belongs to a process that died: recovery frees it.
    taskDeadlineSlackMs: env.TASK_DEADLINE_SLACK_MS,
    // `hold` makes every paid call reserve before its tool runs (visible as working, cancellable),
    // at the price of a second commit for calls that could have been charged instantly.
    settlement: env.SETTLEMENT,
    chain: { id: env.CHAIN_ID, rpcUrl: env.CHAIN_RPC_URL },
    signIn: {
      // The EIP-4361 `domain` a message must name: the host people reach the gateway at.
      domain: env.SIGN_IN_DOMAIN ?? (env.PUBLIC_URL ? new URL(env.PUBLIC_URL).host : `${env.HOST}:${env.PORT}`),
      nonceTtlS: env.SIGN_IN_NONCE_TTL_S,
      // Each nonce is a row: one client address may take this many a minute (on every instance
      // together when rate limits are shared through Redis).
      noncesPerMinute: env.SIGN_IN_NONCES_PER_MINUTE,
      // Behind a reverse proxy, the client is the first X-Forwarded-For address; otherwise the socket's peer.
      trustProxy: env.TRUST_PROXY,
      sessionTtlS: env.SESSION_TTL_S,
      // Unset: made once and kept in the database, so every instance signs and checks with the same one.
      sessionSecret: env.SESSION_SECRET,
    },
    // Unset: no catalog tool can be registered (provider credentials and signing keys are never stored in the clear).
    secretsKey: env.SECRETS_KEY,
    adminToken: env.ADMIN_TOKEN,
    // /mcp answers a request with an Origin only from these, the gateway's own (PUBLIC_URL) included (docs/adr/0022).
    mcp: { allowedOrigins: env.MCP_ALLOWED_ORIGINS },
    catalog: {
      // Catalog tools' upstreams may not be on loopback, private or link-local addresses unless this is set.
      allowPrivateNetworks: env.UPSTREAM_ALLOW_PRIVATE_NETWORKS,
      // The platform's share of each call of a provider's tool, in basis points (1,000 = 10 %); the
      // provider earns the rest (docs/adr/0020-provider-earnings.md).
      platformFeeBps: env.PLATFORM_FEE_BPS,
    },
    // Without an LLM, the AI-powered tool is listed as disabled.
    llm:
      env.LLM_BASE_URL && env.LLM_MODEL
        ? { baseUrl: env.LLM_BASE_URL, model: env.LLM_MODEL, apiKey: env.LLM_API_KEY, timeoutMs: env.LLM_TIMEOUT_MS }
        : undefined,
    // Spans are made and exported only when an OTLP endpoint is configured (docs/adr/0014-traces.md).
    traces:
      Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT) && env.OTEL_SDK_DISABLED?.toLowerCase() !== 'true',
    // Top-ups need a treasury (and a chain RPC); without one the top-up routes answer 503.
    topUps:
      env.TREASURY_ADDRESS && env.CHAIN_RPC_URL
        ? {
            rpcUrl: env.CHAIN_RPC_URL,
            chain: {
              chainId: env.CHAIN_ID,
              treasury: env.TREASURY_ADDRESS,
              usdc: (env.USDC_ADDRESS ?? USDC_BY_CHAIN[env.CHAIN_ID]) as `0x${string}`,
              confirmations: env.TOPUP_CONFIRMATIONS,
            },
            watchIntervalMs: env.TOPUP_WATCH_INTERVAL_MS,
            startBlock: env.TOPUP_START_BLOCK,
          }
        : undefined,
    // Per-call payments with x402 (docs/adr/0023): offered when a treasury and a way to settle are set.
    x402: x402Settings(env),
    // The ERC-8004 indexer: where the registries are (Base and Base Sepolia have defaults), and
    // whether this process runs it (`npm run indexer` runs it alone whatever INDEXER says).
    indexer: indexerSettings(env),
  }));

function x402Settings(env: {
  CHAIN_ID: number;
  CHAIN_RPC_URL?: string;
  TREASURY_ADDRESS?: `0x${string}`;
  USDC_ADDRESS?: `0x${string}`;
  X402_FACILITATOR_URL?: string;
  X402_SETTLER_PRIVATE_KEY?: string;
  X402_TOKEN_NAME?: string;
  X402_TOKEN_VERSION: string;
  X402_OFFER_TTL_S: number;
  X402_PAYMENTS_PER_MINUTE: number;
  TRUST_PROXY: boolean;
}) {
  const asset = env.USDC_ADDRESS ?? USDC_BY_CHAIN[env.CHAIN_ID];
  const tokenName = env.X402_TOKEN_NAME ?? USDC_DOMAIN_NAME_BY_CHAIN[env.CHAIN_ID];
  if (!env.TREASURY_ADDRESS || !asset || !tokenName) return undefined;
  const settle = env.X402_FACILITATOR_URL
    ? { kind: 'facilitator' as const, url: env.X402_FACILITATOR_URL }
    : env.X402_SETTLER_PRIVATE_KEY && env.CHAIN_RPC_URL
      ? { kind: 'self' as const, rpcUrl: env.CHAIN_RPC_URL, privateKey: env.X402_SETTLER_PRIVATE_KEY as `0x${string}` }
      : undefined;
  if (!settle) return undefined;
  return {
    network: `eip155:${env.CHAIN_ID}` as const,
    asset: asset as `0x${string}`,
    payTo: env.TREASURY_ADDRESS,
    // the token's EIP-712 domain, which the payer signs in (x402's `extra`)
    token: { name: tokenName, version: env.X402_TOKEN_VERSION },
    settle,
    // chain reads that tell a failed settlement's cause (a used nonce, a short balance)
    rpcUrl: env.CHAIN_RPC_URL,
    // how long an A2A task waits for its payment
    offerTtlS: env.X402_OFFER_TTL_S,
    // Each payment checked costs chain reads (or a facilitator's): one client address may send this
    // many a minute (on every instance together when rate limits are shared through Redis).
    paymentsPerMinute: env.X402_PAYMENTS_PER_MINUTE,
    // behind a reverse proxy, the client is the first X-Forwarded-For address (TRUST_PROXY)
    trustProxy: env.TRUST_PROXY,
  };
}

function indexerSettings(env: {
  CHAIN_ID: number;
  CHAIN_RPC_URL?: string;
  INDEXER: boolean;
  IDENTITY_REGISTRY?: `0x${string}`;
  REPUTATION_REGISTRY?: `0x${string}`;
  VALIDATION_REGISTRY?: `0x${string}`;
  INDEXER_START_BLOCK: bigint;
  INDEXER_CONFIRMATIONS: number;
  INDEXER_MAX_BLOCK_RANGE: bigint;
  INDEXER_INTERVAL_MS: number;
  IPFS_GATEWAY: string;
  REGISTRATION_FETCH_TIMEOUT_MS: number;
  REGISTRATION_MAX_BYTES: number;
  REGISTRATION_ALLOW_PRIVATE_NETWORKS: boolean;
}) {
  const canonical = CANONICAL_REGISTRIES[env.CHAIN_ID];
  const identity = env.IDENTITY_REGISTRY ?? canonical?.identity;
  const reputation = env.REPUTATION_REGISTRY ?? canonical?.reputation;
  if (!env.CHAIN_RPC_URL || !identity || !reputation) return undefined;
  const validation = env.VALIDATION_REGISTRY ?? canonical?.validation;
  return {
    inProcess: env.INDEXER,
    rpcUrl: env.CHAIN_RPC_URL,
    chain: {
      chainId: env.CHAIN_ID,
      registries: { identity, reputation, ...(validation ? { validation } : {}) },
      startBlock: env.INDEXER_START_BLOCK,
      confirmations: env.INDEXER_CONFIRMATIONS,
      maxBlockRange: env.INDEXER_MAX_BLOCK_RANGE,
      intervalMs: env.INDEXER_INTERVAL_MS,
    },
    registrationFiles: {
      ipfsGateway: env.IPFS_GATEWAY,
      timeoutMs: env.REGISTRATION_FETCH_TIMEOUT_MS,
      maxBytes: env.REGISTRATION_MAX_BYTES,
      allowPrivateNetworks: env.REGISTRATION_ALLOW_PRIVATE_NETWORKS,
    },
  };
}

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {}

/** Parses the environment; empty strings count as unset so `FOO= npm start` behaves like no FOO. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(`invalid config: ${name}: ${issue?.message ?? 'invalid value'}`);
  }
  return parsed.data;
}
