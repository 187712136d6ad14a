import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  index,
  integer,
  json,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** PostgreSQL's text-search document; drizzle has no builtin for it. */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

// ── Organizations, keys and money ────────────────────────────────────────────

export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

/** The UTC period a spend cap counts over. */
export const spendPeriod = pgEnum('spend_period', ['day', 'month']);

/**
 * Spend counters of a key or an account for the current UTC day and month (docs/adr/0012): what
 * was charged in `*_start`'s period. A writer whose clock says a later period starts counting
 * from 0; one whose clock is behind adds to the later period (`greatest`), so instances a little
 * out of step never reopen a closed period. Reservations are counted apart (`reserved`).
 */
const spendCounters = () => ({
  dayStart: date('day_start', { mode: 'string' }).notNull().default(sql`'1970-01-01'`),
  daySpent: bigint('day_spent', { mode: 'bigint' }).notNull().default(sql`0`),
  monthStart: date('month_start', { mode: 'string' }).notNull().default(sql`'1970-01-01'`),
  monthSpent: bigint('month_spent', { mode: 'bigint' }).notNull().default(sql`0`),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    name: text('name').notNull(),
    /** The first characters of the key, kept so people can tell their keys apart. */
    prefix: text('prefix').notNull(),
    /** sha256 of the whole key: keys are 256 random bits, so a slow hash buys nothing. */
    keyHash: text('key_hash').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    // The key's policy (null: no bound). Read with the key at every call, so a change holds from
    // the next call on every instance.
    /** the tool names the key may call */
    tools: text('tools').array(),
    maxTier: smallint('max_tier'),
    spendCapMicroUsdc: bigint('spend_cap_micro_usdc', { mode: 'bigint' }),
    spendCapPeriod: spendPeriod('spend_cap_period'),
    rateLimitRequests: integer('rate_limit_requests'),
    rateLimitWindowSeconds: integer('rate_limit_window_seconds'),
    // What the key spent, kept by the statements that move its organization's money.
    ...spendCounters(),
    /** micro-USDC held for the key's working tasks */
    reserved: bigint('reserved', { mode: 'bigint' }).notNull().default(sql`0`),
  },
  (t) => [
    uniqueIndex('api_keys_key_hash_uq').on(t.keyHash),
    index('api_keys_org_idx').on(t.orgId),
    check('api_keys_spend_cap_whole', sql`(${t.spendCapMicroUsdc} is null) = (${t.spendCapPeriod} is null)`),
    check('api_keys_spend_cap_nonneg', sql`${t.spendCapMicroUsdc} >= 0`),
    check('api_keys_rate_limit_whole', sql`(${t.rateLimitRequests} is null) = (${t.rateLimitWindowSeconds} is null)`),
    check('api_keys_rate_limit_positive', sql`${t.rateLimitRequests} > 0 and ${t.rateLimitWindowSeconds} > 0`),
    check('api_keys_max_tier_range', sql`${t.maxTier} between 0 and 3`),
    check('api_keys_reserved_nonneg', sql`${t.reserved} >= 0`),
  ],
);

/**
 * An organization's rate limit over all its keys (no row: no limit). Its spend cap is money and
 * lives on its credit account, the row every money statement locks (docs/adr/0012).
 */
export const orgPolicies = pgTable(
  'org_policies',
  {
    orgId: uuid('org_id')
      .primaryKey()
      .references(() => organizations.id),
    rateLimitRequests: integer('rate_limit_requests'),
    rateLimitWindowSeconds: integer('rate_limit_window_seconds'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('org_policies_rate_limit_whole', sql`(${t.rateLimitRequests} is null) = (${t.rateLimitWindowSeconds} is null)`),
    check('org_policies_rate_limit_positive', sql`${t.rateLimitRequests} > 0 and ${t.rateLimitWindowSeconds} > 0`),
  ],
);

/**
 * Who may act for an organization: wallets, each in one organization (its top-ups are credited
 * there), with a role. `owner` manages members; `admin` manages API keys and top-ups; `viewer` reads.
 */
export const memberRole = pgEnum('member_role', ['owner', 'admin', 'viewer']);

export const orgMembers = pgTable(
  'org_members',
  {
    /** lowercase 0x-hex, so comparisons never depend on EIP-55 checksum casing */
    address: text('address').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    role: memberRole('role').notNull(),
    /** the member who added this wallet; null for the wallet whose first sign-in created the organization */
    addedBy: text('added_by'),
    createdAt: createdAt(),
  },
  (t) => [index('org_members_org_idx').on(t.orgId), check('org_members_address_lowercase_hex', sql`${t.address} ~ '^0x[0-9a-f]{40}$'`)],
);

/** EIP-4361 nonces: issued by the gateway, used at most once, before they expire. */
export const signInNonces = pgTable(
  'sign_in_nonces',
  {
    nonce: text('nonce').primaryKey(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('sign_in_nonces_expires_idx').on(t.expiresAt)],
);

/** Secrets the gateway makes for itself on first start and every instance shares (the session key). */
export const gatewaySecrets = pgTable('gateway_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
});

export const creditAccounts = pgTable(
  'credit_accounts',
  {
    orgId: uuid('org_id')
      .primaryKey()
      .references(() => organizations.id),
    /** micro-USDC owned by the organization, reservations included */
    balance: bigint('balance', { mode: 'bigint' }).notNull().default(sql`0`),
    /** micro-USDC held for tasks that have not finished */
    reserved: bigint('reserved', { mode: 'bigint' }).notNull().default(sql`0`),
    /**
     * The organization's spend cap over all its keys (null: none), and what it spent this UTC day
     * and month: here, on the row every money statement locks, so the cap they read is the latest.
     */
    spendCapMicroUsdc: bigint('spend_cap_micro_usdc', { mode: 'bigint' }),
    spendCapPeriod: spendPeriod('spend_cap_period'),
    ...spendCounters(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('credit_accounts_balance_nonneg', sql`${t.balance} >= 0`),
    check('credit_accounts_reserved_nonneg', sql`${t.reserved} >= 0`),
    check('credit_accounts_reserved_covered', sql`${t.reserved} <= ${t.balance}`),
    check('credit_accounts_spend_cap_whole', sql`(${t.spendCapMicroUsdc} is null) = (${t.spendCapPeriod} is null)`),
    check('credit_accounts_spend_cap_nonneg', sql`${t.spendCapMicroUsdc} >= 0`),
  ],
);

/**
 * An organization's low-balance signal: `below` is whether available credit (balance − reserved)
 * was under `threshold` when last looked at; each crossing from above to below owes the webhook,
 * if any, one signed POST (`pending`, retried with `attempts` / `next_attempt_at`). Kept apart from
 * credit_accounts so the hot balance row carries nothing but money.
 */
export const lowBalanceAlerts = pgTable(
  'low_balance_alerts',
  {
    orgId: uuid('org_id')
      .primaryKey()
      .references(() => organizations.id),
    threshold: bigint('threshold', { mode: 'bigint' }).notNull(),
    webhookUrl: text('webhook_url'),
    /** HMAC key of the webhook's signature, shown once when the webhook is set */
    secret: text('secret'),
    below: boolean('below').notNull().default(false),
    pending: boolean('pending').notNull().default(false),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    crossedAt: timestamp('crossed_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('low_balance_alerts_threshold_positive', sql`${t.threshold} > 0`)],
);

/**
 * `reserve` / `capture` / `release` settle a call that holds its cost while it runs; `charge` settles
 * an instant call (one that answers from our own database in milliseconds) in one step, after its
 * answer exists (docs/adr/0003-instant-calls-settle-in-one-charge.md).
 */
export const ledgerKind = pgEnum('ledger_kind', [
  'grant',
  'topup',
  'reserve',
  'capture',
  'release',
  'charge',
  'earning',
  'fee',
  /** a call paid on-chain with an x402 authorization: it credits what the call's `charge` row beside it takes */
  'x402_payment',
]);

/**
 * Append-only. `amount` moves the balance and `reserved_delta` moves the reservation, so for every
 * account sum(amount) = balance and sum(reserved_delta) = reserved.
 */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    /**
     * The account the entry moves (an account is its organization's, and never deleted): a statement
     * that would write an entry for an organization without an account, whose balance it could not
     * have changed, fails whole instead (a provider's earning, say; docs/adr/0020).
     */
    orgId: uuid('org_id')
      .notNull()
      .references(() => creditAccounts.orgId),
    kind: ledgerKind('kind').notNull(),
    amount: bigint('amount', { mode: 'bigint' }).notNull(),
    reservedDelta: bigint('reserved_delta', { mode: 'bigint' }).notNull(),
    taskId: uuid('task_id'),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [
    index('ledger_entries_org_created_idx').on(t.orgId, t.createdAt),
    /** the ledger's pages, newest first by id (the cursor) */
    index('ledger_entries_org_id_idx').on(t.orgId, t.id),
    index('ledger_entries_task_idx').on(t.taskId),
  ],
);

// ── Audit trail ──────────────────────────────────────────────────────────────

/** Who made a change: a signed-in wallet, an API key, or the operator (the admin command, the gateway's own set-up). */
export const auditActorKind = pgEnum('audit_actor_kind', ['wallet', 'key', 'operator']);

/**
 * Append-only: one row per change of an organization's keys, policies, members, alerts and grants,
 * written in the transaction or statement that makes the change (src/audit/).
 * `before` and `after` are the changed object's public view, null where it did not exist; never a
 * key, a hash, a webhook secret, a signature or session data. `id` orders the rows and is the
 * cursor of their pages.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    actorKind: auditActorKind('actor_kind').notNull(),
    /** the wallet address (lowercase), the API key id, or `operator` */
    actor: text('actor').notNull(),
    /** a dotted verb: `key.create`, `member.remove`, `credits.grant`, … */
    action: text('action').notNull(),
    targetKind: text('target_kind').notNull(),
    targetId: text('target_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    /** the REST request's X-Request-Id; null for the admin command */
    requestId: text('request_id'),
    createdAt: createdAt(),
  },
  (t) => [index('audit_events_org_id_idx').on(t.orgId, t.id.desc())],
);

// ── On-chain top-ups ─────────────────────────────────────────────────────────

/**
 * `credited`: the transfer's amount is in its organization's balance (with a `topup` ledger row
 * written in the same statement). `unclaimed`: it came from a wallet of no organization; it is
 * credited, once, when that wallet joins one.
 */
export const topupStatus = pgEnum('topup_status', ['credited', 'unclaimed']);

/** USDC transfers to the treasury, each recorded once by its on-chain identity. */
export const topups = pgTable(
  'topups',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    chainId: integer('chain_id').notNull(),
    /** lowercase 0x-hex */
    txHash: text('tx_hash').notNull(),
    logIndex: integer('log_index').notNull(),
    blockNumber: bigint('block_number', { mode: 'bigint' }).notNull(),
    blockHash: text('block_hash').notNull(),
    /** lowercase 0x-hex: the wallet the USDC came from */
    fromAddress: text('from_address').notNull(),
    /** micro-USDC: USDC has 6 decimals, so one base unit is one micro-USDC */
    amount: bigint('amount', { mode: 'bigint' }).notNull(),
    status: topupStatus('status').notNull(),
    orgId: uuid('org_id').references(() => organizations.id),
    /** which path saw it first: `submitted` (POST /v1/topups) or `watcher` */
    source: text('source').notNull(),
    createdAt: createdAt(),
    creditedAt: timestamp('credited_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('topups_chain_tx_log_uq').on(t.chainId, t.txHash, t.logIndex),
    index('topups_org_created_idx').on(t.orgId, t.createdAt),
    index('topups_unclaimed_from_idx').on(t.fromAddress).where(sql`${t.status} = 'unclaimed'`),
    check('topups_amount_positive', sql`${t.amount} > 0`),
    check('topups_credited_has_org', sql`(${t.status} = 'credited') = (${t.orgId} is not null)`),
  ],
);

/** How far the top-up watcher has read a chain: the last block it scanned, and that block's hash. */
export const chainCursors = pgTable('chain_cursors', {
  chainId: integer('chain_id').primaryKey(),
  blockNumber: bigint('block_number', { mode: 'bigint' }).notNull(),
  blockHash: text('block_hash').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

// ── Tasks ────────────────────────────────────────────────────────────────────

export const taskState = pgEnum('task_state', ['submitted', 'working', 'input-required', 'completed', 'failed', 'canceled', 'rejected']);

export const tasks = pgTable(
  'tasks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    contextId: text('context_id').notNull(),
    /** messageId of the message that opened the task: the idempotency key per organization */
    messageId: text('message_id').notNull(),
    /** messageId of the message that carried the tool call (a follow-up for input-required tasks) */
    callMessageId: text('call_message_id'),
    tool: text('tool'),
    /** the key that made the call: its spend counters settle with the task's money */
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id),
    arguments: jsonb('arguments'),
    /** what the call costs and, while working, what is reserved for it */
    cost: bigint('cost', { mode: 'bigint' }).notNull().default(sql`0`),
    state: taskState('state').notNull(),
    /** json, not jsonb: the tool's result keeps its field order */
    result: json('result'),
    /** why a task failed: { reason, message } */
    error: jsonb('error'),
    /** the conversation in the gateway's own message shape (see src/a2a/message.ts) */
    history: jsonb('history').notNull(),
    /** a working task past this instant is abandoned: released by recovery, never charged */
    deadlineAt: timestamp('deadline_at', { withTimezone: true }),
    /**
     * The instance running a working held task, until when: it renews the lease while the tool runs.
     * A task whose lease ran out (its instance died) is taken over by another instance's worker;
     * only the holder of the lease may settle it.
     */
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    /** how many times an instance took the task to run it */
    attempts: integer('attempts').notNull().default(0),
    durationMs: integer('duration_ms'),
    /** the version of the tool the call was accepted for: a held call run again (after a takeover) runs the same one */
    toolVersion: text('tool_version'),
    /** told with the task when the version called was deprecated: which version to move to */
    deprecationNote: text('deprecation_note'),
    /**
     * The organization that provides the tool (a catalog tool's providerOrgId), and what it earns when
     * the call is charged: the cost less the platform's fee, fixed with the price when the call is
     * accepted (docs/adr/0020-provider-earnings.md).
     */
    providerOrgId: uuid('provider_org_id').references(() => organizations.id),
    providerEarning: bigint('provider_earning', { mode: 'bigint' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('tasks_cost_nonneg', sql`${t.cost} >= 0`),
    check(
      'tasks_provider_earning_within_cost',
      sql`(${t.providerOrgId} is null) = (${t.providerEarning} is null) and (${t.providerEarning} is null or ${t.providerEarning} between 0 and ${t.cost})`,
    ),
    uniqueIndex('tasks_org_message_uq').on(t.orgId, t.messageId),
    uniqueIndex('tasks_org_call_message_uq').on(t.orgId, t.callMessageId),
    index('tasks_org_created_idx').on(t.orgId, t.createdAt),
    /**
     * A key's newest task, for when it was last used (GET /v1/keys): one backward step per key, read
     * when the keys are listed, instead of a write to the key's row per call. x402 tasks have no key.
     */
    index('tasks_key_created_idx').on(t.apiKeyId, t.createdAt).where(sql`${t.apiKeyId} is not null`),
    index('tasks_working_deadline_idx').on(t.deadlineAt).where(sql`${t.state} = 'working'`),
  ],
);

// ── Usage rollups ────────────────────────────────────────────────────────────

/**
 * Finished paid calls of one organization, UTC day and tool, folded out of `tasks` by the rollup
 * job so usage reads stay fast however many tasks an organization has. Several rows may hold the
 * same (org, day, tool): readers sum them. `latency` is a histogram {bucket ms: calls}, a bucket
 * being a duration kept to its 6 most significant bits (src/billing/usage-rollup.ts).
 */
export const usageRollups = pgTable(
  'usage_rollups',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    day: date('day').notNull(),
    tool: text('tool').notNull(),
    calls: integer('calls').notNull(),
    succeeded: integer('succeeded').notNull(),
    failed: integer('failed').notNull(),
    spent: bigint('spent', { mode: 'bigint' }).notNull(),
    latency: jsonb('latency').notNull(),
  },
  (t) => [index('usage_rollups_org_day_idx').on(t.orgId, t.day)],
);

/** Every task created before `rolled_until` is in `usage_rollups` or in `usage_rollup_pending`. */
export const usageRollupCursor = pgTable(
  'usage_rollup_cursor',
  {
    id: boolean('id').primaryKey().default(true),
    rolledUntil: timestamp('rolled_until', { withTimezone: true }).notNull(),
  },
  (t) => [check('usage_rollup_cursor_one_row', sql`${t.id}`)],
);

/** Tasks of rolled-up days that had not finished when their day was rolled up: read from `tasks` until they are folded in. */
export const usageRollupPending = pgTable(
  'usage_rollup_pending',
  {
    taskId: uuid('task_id')
      .primaryKey()
      .references(() => tasks.id),
    orgId: uuid('org_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('usage_rollup_pending_org_created_idx').on(t.orgId, t.createdAt)],
);

// ── Push notifications ──────────────────────────────────────────────────────

/**
 * A webhook a caller registered for one of its tasks. The dispatcher posts the task's state each
 * time it changes (`delivered_version` is the last state@updated_at delivered), retrying with
 * backoff (`attempts`, `next_attempt_at`); `protocol` is the A2A generation whose shapes it gets.
 */
export const pushConfigs = pgTable(
  'push_configs',
  {
    id: text('id').notNull(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => tasks.id),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    url: text('url').notNull(),
    /** sent back as X-A2A-Notification-Token and the key of the body's HMAC signature */
    token: text('token'),
    /** the caller's push authentication: each delivery sends `Authorization: <scheme> <credentials>` (never echoed, never logged) */
    authScheme: text('auth_scheme'),
    authCredentials: text('auth_credentials'),
    protocol: text('protocol').notNull(),
    deliveredVersion: text('delivered_version'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('push_configs_task_id_uq').on(t.taskId, t.id),
    index('push_configs_due_idx').on(t.nextAttemptAt),
    // counts an organization's configs against its limit (src/push/configs.ts)
    index('push_configs_org_idx').on(t.orgId),
    check('push_configs_protocol', sql`${t.protocol} in ('1.0', '0.3')`),
  ],
);

// ── Reputation data (ERC-8004 registries) ────────────────────────────────────

export const agents = pgTable(
  'agents',
  {
    /** ERC-8004 agentId (the identity registry's token id) */
    id: bigint('id', { mode: 'bigint' }).primaryKey(),
    ownerAddress: text('owner_address').notNull(),
    agentUri: text('agent_uri'),
    /** name, description and active come from the registration file at agent_uri, when it could be read */
    name: text('name'),
    description: text('description'),
    active: boolean('active'),
    /** on-chain metadata by key (MetadataSet), values 0x-hex */
    metadata: jsonb('metadata').notNull().default(sql`'{}'::jsonb`),
    /** the agent_uri whose registration file was last read; differs from agent_uri while one is to be read */
    registrationUri: text('registration_uri'),
    registrationError: text('registration_error'),
    registrationAttempts: integer('registration_attempts').notNull().default(0),
    registrationNextAt: timestamp('registration_next_at', { withTimezone: true }),
    /** block time of the registration */
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('agents_registration_due_idx').on(t.registrationNextAt).where(sql`${t.agentUri} is distinct from ${t.registrationUri}`)],
);

export const feedbacks = pgTable(
  'feedbacks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    agentId: bigint('agent_id', { mode: 'bigint' })
      .notNull()
      .references(() => agents.id),
    clientAddress: text('client_address').notNull(),
    feedbackIndex: bigint('feedback_index', { mode: 'bigint' }).notNull(),
    /** ERC-8004 int128 value, signed, scaled by 10^value_decimals */
    value: numeric('value', { precision: 39, scale: 0 }).notNull(),
    valueDecimals: smallint('value_decimals').notNull(),
    tag1: text('tag1').notNull().default(''),
    tag2: text('tag2').notNull().default(''),
    endpoint: text('endpoint').notNull().default(''),
    feedbackUri: text('feedback_uri').notNull().default(''),
    feedbackHash: text('feedback_hash'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    revoked: boolean('revoked').notNull().default(false),
  },
  (t) => [
    check('feedbacks_value_decimals_range', sql`${t.valueDecimals} between 0 and 18`),
    uniqueIndex('feedbacks_agent_client_index_uq').on(t.agentId, t.clientAddress, t.feedbackIndex),
    index('feedbacks_agent_created_idx').on(t.agentId, t.createdAt),
  ],
);

export const validations = pgTable(
  'validations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    agentId: bigint('agent_id', { mode: 'bigint' })
      .notNull()
      .references(() => agents.id),
    validatorAddress: text('validator_address').notNull(),
    requestHash: text('request_hash').notNull(),
    /** ERC-8004 validation response, 0..100 */
    response: smallint('response').notNull(),
    tag: text('tag').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    check('validations_response_range', sql`${t.response} between 0 and 100`),
    uniqueIndex('validations_request_hash_uq').on(t.requestHash),
    index('validations_agent_created_idx').on(t.agentId, t.createdAt),
  ],
);

// ── ERC-8004 indexer ─────────────────────────────────────────────────────────

/**
 * How far the indexer has read one chain, written in the transaction that wrote the rows. Blocks up
 * to `final_block` have their confirmations; blocks after it up to `tip_block` are provisional, and
 * what they changed is in `indexer_undo` until they are final.
 */
export const indexerState = pgTable('indexer_state', {
  chainId: integer('chain_id').primaryKey(),
  finalBlock: bigint('final_block', { mode: 'bigint' }).notNull(),
  finalHash: text('final_hash'),
  tipBlock: bigint('tip_block', { mode: 'bigint' }).notNull(),
  tipHash: text('tip_hash'),
  /** the chain head at the last pass, and when that was */
  headBlock: bigint('head_block', { mode: 'bigint' }),
  headSeenAt: timestamp('head_seen_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * The row images a provisional block's events replaced (`before` null: the row did not exist), so
 * a reorg can put every row back as it was before the dropped blocks; applied newest first.
 */
export const indexerUndo = pgTable(
  'indexer_undo',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    chainId: integer('chain_id').notNull(),
    blockNumber: bigint('block_number', { mode: 'bigint' }).notNull(),
    tableName: text('table_name').notNull(),
    key: jsonb('key').notNull(),
    before: jsonb('before'),
  },
  (t) => [index('indexer_undo_chain_block_idx').on(t.chainId, t.blockNumber)],
);

// ── Tool catalog ─────────────────────────────────────────────────────────────

/** active: offered and the default for its name; deprecated: still answers, with a note; retired: refused. */
export const catalogToolStatus = pgEnum('catalog_tool_status', ['active', 'deprecated', 'retired']);

/**
 * Upstream HTTP tools sold through the gateway (issue 19; docs/adr/0019-tool-catalog.md), one row
 * per name and version. The built-in tools are not rows: they are compiled in, and their names are
 * reserved. The provider's header values are sealed (AES-256-GCM under SECRETS_KEY, bound to the
 * row's name and version); only their names are kept in the clear, to be listed. So is the key the
 * upstream requests are signed with.
 */
export const catalogTools = pgTable(
  'catalog_tools',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** semver, as registered */
    version: text('version').notNull(),
    description: text('description').notNull(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    tier: smallint('tier').notNull(),
    /** null: the tier's price */
    priceMicroUsdc: bigint('price_micro_usdc', { mode: 'bigint' }),
    settlement: text('settlement').notNull(),
    /** json, not jsonb: the schemas keep the provider's member order, which agents and LLMs read */
    argumentsSchema: json('arguments_schema').notNull(),
    resultSchema: json('result_schema'),
    upstreamUrl: text('upstream_url').notNull(),
    upstreamTimeoutMs: integer('upstream_timeout_ms').notNull(),
    upstreamHeaderNames: text('upstream_header_names').array().notNull().default(sql`'{}'::text[]`),
    /** the header values, sealed; null when there are none */
    upstreamHeadersSealed: text('upstream_headers_sealed'),
    /**
     * The key the gateway signs its upstream requests with (HMAC-SHA256, as webhooks are signed),
     * sealed; one per name, shown to the operator once, when the name is first registered.
     */
    signingSecretSealed: text('signing_secret_sealed').notNull(),
    providerOrgId: uuid('provider_org_id').references(() => organizations.id),
    status: catalogToolStatus('status').notNull().default('active'),
    /**
     * What GET /v1/tools searches: the name split at its camel-case humps and the tags (weight A),
     * the description (B), in the english configuration (catalog_search_document, migrations/0017).
     */
    searchDocument: tsvector('search_document').notNull().generatedAlwaysAs(sql`catalog_search_document(name, description, tags)`),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('catalog_tools_name_version_uq').on(t.name, t.version),
    check('catalog_tools_tier_range', sql`${t.tier} between 0 and 3`),
    check('catalog_tools_price_nonneg', sql`${t.priceMicroUsdc} is null or ${t.priceMicroUsdc} >= 0`),
    check('catalog_tools_settlement', sql`${t.settlement} in ('instant', 'hold')`),
    index('catalog_tools_search_idx').using('gin', t.searchDocument),
  ],
);

// ── x402: calls paid per call on-chain (docs/adr/0023) ───────────────────────

/**
 * `claimed`: verified and taken by one call, which is running (no other call may use it);
 * `settled`: transferred on-chain and booked (`x402_payment` + `charge`) with its completed task;
 * `released`: its call failed before settlement, the authorization unused (it may be offered again);
 * `failed`: settlement was tried and failed, or its outcome is unknown: never used again.
 */
export const x402PaymentStatus = pgEnum('x402_payment_status', ['claimed', 'settled', 'released', 'failed']);

/**
 * Each EIP-3009 authorization the gateway took, once by (network, asset, payer, nonce): the claim
 * that lets one call, on one instance, use it.
 */
export const x402Payments = pgTable(
  'x402_payments',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    /** CAIP-2, e.g. eip155:8453 */
    network: text('network').notNull(),
    /** lowercase 0x-hex: the token */
    asset: text('asset').notNull(),
    /** lowercase 0x-hex: the wallet that signed the authorization */
    payer: text('payer').notNull(),
    /** lowercase 0x-hex: the authorization's 32-byte nonce */
    nonce: text('nonce').notNull(),
    /** micro-USDC (USDC base units) */
    amount: bigint('amount', { mode: 'bigint' }).notNull(),
    status: x402PaymentStatus('status').notNull(),
    /** the payer's organization, which the call's task belongs to */
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    /** the task the authorization pays (or paid) for */
    taskId: uuid('task_id').notNull(),
    tool: text('tool').notNull(),
    /** the authorization's validBefore: past it, an authorization never submitted can never be */
    validBefore: timestamp('valid_before', { withTimezone: true }).notNull(),
    /** the settling transaction's hash, once known */
    transaction: text('transaction'),
    /** why settlement failed */
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('x402_payments_authorization_uq').on(t.network, t.asset, t.payer, t.nonce),
    index('x402_payments_task_idx').on(t.taskId),
    /** what reconciliation reads: claims whose outcome on-chain is not known yet */
    index('x402_payments_unresolved_idx').on(t.updatedAt).where(sql`${t.status} in ('claimed', 'failed')`),
    check('x402_payments_amount_nonneg', sql`${t.amount} >= 0`),
  ],
);

/**
 * A2A tasks waiting for an x402 payment (a2a-x402 v0.2): the call as asked and the requirements
 * offered for it, kept until paid, rejected or expired. The task belongs to no organization yet: the
 * payment's wallet decides whose it becomes.
 */
export const x402Offers = pgTable('x402_offers', {
  taskId: uuid('task_id').primaryKey(),
  contextId: text('context_id').notNull(),
  /** the message that asked for the call, as the gateway keeps messages */
  message: jsonb('message').notNull(),
  tool: text('tool').notNull(),
  /** the x402 PaymentRequired offered (x402Version 2) */
  paymentRequired: jsonb('payment_required').notNull(),
  /** open, paid, rejected or failed */
  status: text('status').notNull().default('open'),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
