import { createHash, randomBytes } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { ABSENT, type Actor, auditInsert } from '../audit/record.js';
import { capLeft, type SpendPeriods, spendPeriodsAt } from '../billing/spend-caps.js';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import { announceKeyChange } from './key-changes.js';

const KEY_PREFIX = 'apg_';
const DISPLAY_PREFIX_LENGTH = KEY_PREFIX.length + 8;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key: 256 random bits. Only its hash and a short display prefix are ever stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, DISPLAY_PREFIX_LENGTH), hash: hashApiKey(key) };
}

const idRow = z.object({ id: z.string() });

export interface IssuedKey {
  id: string;
  orgId: string;
  name: string;
  prefix: string;
  /** shown once, here; not recoverable later */
  key: string;
  expiresAt: string | null;
}

/**
 * A key may not be born expired: every edge that issues keys on request (POST /v1/keys, the admin
 * command) applies this rule and says so in these words. createApiKey itself accepts any time.
 */
export const EXPIRY_IN_PAST = { reason: 'expiry_in_past', message: 'expiresAt must be in the future' } as const;

export function isExpiryInPast(expiresAt: Date | undefined): boolean {
  // Stryker disable next-line EqualityOperator: < or <= differ only for an expiry at this very millisecond
  return expiresAt !== undefined && expiresAt.getTime() <= Date.now();
}

/** A key as the audit trail shows it, from a row of api_keys named `row`: what GET /v1/keys lists, never the key or its hash. */
function keyView(row: string): SQL {
  const key = sql.identifier(row);
  return sql`jsonb_build_object('id', ${key}.id, 'name', ${key}.name, 'prefix', ${key}.prefix,
    'createdAt', ${isoUtc(sql`${key}.created_at`)}, 'expiresAt', ${isoUtc(sql`${key}.expires_at`)},
    'revokedAt', ${isoUtc(sql`${key}.revoked_at`)})`;
}

/** Issues a key; its `key.create` audit row is written by the same statement. */
export async function createApiKey(db: Database, input: { orgId: string; name: string; expiresAt?: Date; by: Actor }): Promise<IssuedKey> {
  const { key, prefix, hash } = generateApiKey();
  const expiresAt = input.expiresAt?.toISOString() ?? null;
  const [row] = await db.rows(
    idRow,
    sql`
    with created as (
      insert into api_keys (org_id, name, prefix, key_hash, expires_at)
      values (${input.orgId}, ${input.name}, ${prefix}, ${hash}, ${expiresAt}::timestamptz)
      returning id, org_id, name, prefix, created_at, expires_at, revoked_at
    ), audit as (${auditInsert(input.by, {
      action: 'key.create',
      from: sql`created`,
      orgId: sql`created.org_id`,
      target: { kind: 'api_key', id: sql`created.id` },
      before: ABSENT,
      after: keyView('created'),
    })})
    select id from created`,
  );
  // Stryker disable next-line StringLiteral: an insert … returning always returns its row; the message is for the impossible
  if (!row) throw new Error('api key insert returned no row');
  return { id: row.id, orgId: input.orgId, name: input.name, prefix, key, expiresAt };
}

const apiKeyListing = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});

export type ApiKeyListing = z.output<typeof apiKeyListing>;

/**
 * The organization's keys, newest first, without any secret: only the display prefix is kept.
 * `lastUsedAt` is when the key's newest task was created: the last call it made that the gateway
 * took (paid, held, or failed with nothing charged); a refused call leaves no task. It is read here,
 * one step down tasks_key_created_idx per key, so the paid path writes nothing to the key for it.
 */
export async function listApiKeys(db: Database, orgId: string): Promise<ApiKeyListing[]> {
  return db.rows(
    apiKeyListing,
    sql`
    select k.id, k.name, k.prefix, ${isoUtc(sql`k.created_at`)} as "createdAt",
           ${isoUtc(sql`k.expires_at`)} as "expiresAt", ${isoUtc(sql`k.revoked_at`)} as "revokedAt",
           ${isoUtc(sql`(select max(t.created_at) from tasks t where t.api_key_id = k.id and t.org_id = k.org_id)`)} as "lastUsedAt"
      from api_keys k where k.org_id = ${orgId}
     order by k.created_at desc, k.id`,
  );
}

const FoundRow = z.object({ found: z.boolean() });

/**
 * Revokes at once: the next request with the key is refused, at every gateway (the revocation is
 * announced to their key caches in its transaction). Returns false for an unknown key (or
 * one of another organization, given `orgId`). Revoking a revoked key changes nothing and writes no
 * audit row; revoking one that was live writes its `key.revoke` row in the same statement, the
 * key's row locked so that of two revocations at once only one records it.
 */
export async function revokeApiKey(db: Database, input: { keyId: string; orgId?: string; by: Actor }): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx.rows(
      FoundRow,
      sql`
      with target as (
        select id, org_id, name, prefix, created_at, expires_at, revoked_at from api_keys
         where id = ${input.keyId} ${input.orgId ? sql`and org_id = ${input.orgId}` : sql``}
           for update
      ), revoked as (
        update api_keys k set revoked_at = now()
          from target
         where k.id = target.id and target.revoked_at is null
     returning k.id, k.org_id, k.name, k.prefix, k.created_at, k.expires_at, k.revoked_at
      ), audit as (${auditInsert(input.by, {
        action: 'key.revoke',
        from: sql`target join revoked on revoked.id = target.id`,
        orgId: sql`revoked.org_id`,
        target: { kind: 'api_key', id: sql`revoked.id` },
        before: keyView('target'),
        after: keyView('revoked'),
      })})
      select exists (select 1 from target) as found`,
    );
    if (row?.found !== true) return false;
    await announceKeyChange(tx, input.keyId);
    return true;
  });
}

const rateLimitColumns = z
  .object({ requests: z.number().nullable(), windowSeconds: z.number().nullable() })
  .transform(({ requests, windowSeconds }) => (requests === null || windowSeconds === null ? null : { requests, windowSeconds }));

const principal = z.object({
  orgId: z.string(),
  keyId: z.string(),
  /** when the key stops working (ms since the epoch), null: never; the key cache checks it at every call */
  expiresAtMs: z.number().nullable(),
  /** the key's policy (null: unbounded), read with the key so a change holds from the next call */
  tools: z.array(z.string()).nullable(),
  maxTier: z.number().nullable(),
  keyRateLimit: rateLimitColumns,
  orgRateLimit: rateLimitColumns,
  /**
   * The least of what the key's and the organization's spend caps leave this period, null without
   * a cap: like `availableMicroUsdc`, a hint that refuses a call no cap can cover before its tool runs.
   */
  capLeftMicroUsdc: z.bigint().nullable(),
  /**
   * The organization's available credit (balance − reserved) as of this lookup, null without a
   * credit account: read in the same statement so a call that cannot be paid for is refused before
   * its tool runs, at no extra round trip. Charges re-check it under the account's row lock.
   */
  availableMicroUsdc: z.bigint().nullable(),
});

export type Principal = z.output<typeof principal>;

/**
 * A key's caller as the key cache keeps it: the key and the policies, which change only by a
 * statement that announces it, without the credit hints, which every charge and top-up change.
 */
export type KeyHolder = Omit<Principal, 'availableMicroUsdc' | 'capLeftMicroUsdc'>;

/** The caller of a paid call: the hints are there when the key was read from the database for it, undefined from the cache. */
export type Caller = KeyHolder & Partial<Pick<Principal, 'availableMicroUsdc' | 'capLeftMicroUsdc'>>;

/**
 * The organization a key belongs to, with the key's and the organization's policies, if the key
 * exists, is not revoked and has not expired. `periods` are the UTC day and month spend caps count in.
 */
export async function authenticateApiKey(
  db: Database,
  key: string,
  periods: SpendPeriods = spendPeriodsAt(new Date()),
): Promise<Principal | undefined> {
  // Stryker disable next-line all: a key without our prefix or over 200 characters matches no stored hash either; this only spares the hash and the query
  if (!key.startsWith(KEY_PREFIX) || key.length > 200) return undefined;
  const [row] = await db.rows(
    principal,
    sql`
    select k.org_id as "orgId", k.id as "keyId", (extract(epoch from k.expires_at) * 1000)::float8 as "expiresAtMs", k.tools, k.max_tier::int as "maxTier",
           json_build_object('requests', k.rate_limit_requests, 'windowSeconds', k.rate_limit_window_seconds) as "keyRateLimit",
           json_build_object('requests', p.rate_limit_requests, 'windowSeconds', p.rate_limit_window_seconds) as "orgRateLimit",
           c.balance - c.reserved as "availableMicroUsdc",
           least(
             ${capLeft({ cap: sql`k.spend_cap_micro_usdc`, period: sql`k.spend_cap_period`, row: sql`k`, reserved: sql`k.reserved`, periods })},
             ${capLeft({ cap: sql`c.spend_cap_micro_usdc`, period: sql`c.spend_cap_period`, row: sql`c`, reserved: sql`c.reserved`, periods })}
           ) as "capLeftMicroUsdc"
      from api_keys k
      left join credit_accounts c on c.org_id = k.org_id
      left join org_policies p on p.org_id = k.org_id
     where k.key_hash = ${hashApiKey(key)}
       and k.revoked_at is null
       and (k.expires_at is null or k.expires_at > now())`,
  );
  return row;
}
