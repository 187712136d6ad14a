import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { auditActorKind } from '../../drizzle/schema.js';
import type { Database } from '../db/client.js';
import { jsonText } from '../db/sql.js';

/**
 * The audit trail: one `audit_events` row per change of an organization's keys, members, alerts,
 * grants and policies, written in the same transaction (or the same statement) as the change, so a
 * change commits with its row or neither does. `before` and `after` are the changed object's
 * public view, as the API shows it; never a key, a key hash, a webhook secret, a signature or
 * session data.
 */

/** the database's audit_actor_kind enum */
export const ACTOR_KINDS = auditActorKind.enumValues;

/** the X-Request-Id of the REST request making the change; null outside a request (the admin command) */
const requestId = z.string().nullable();

/**
 * Who makes a change, and in which request. Built at the edge and passed down to the function
 * that makes the change.
 */
export const Actor = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('wallet'), id: z.string().regex(/^0x[0-9a-f]{40}$/, 'a lowercase wallet address'), requestId }),
  z.object({ kind: z.literal('key'), id: z.uuid(), requestId }),
  z.object({ kind: z.literal('operator'), id: z.literal('operator'), requestId }),
]);
export type Actor = z.output<typeof Actor>;

/** The operator: the admin command, or the gateway seeding its demo organization. */
export const OPERATOR: Actor = { kind: 'operator', id: 'operator', requestId: null };

/** A signed-in wallet acting in request `requestId`. */
export function walletActor(address: string, requestId: string | null): Actor {
  return Actor.parse({ kind: 'wallet', id: address.toLowerCase(), requestId });
}

/** An API key (by its id, never the key) acting in request `requestId`. */
export function keyActor(keyId: string, requestId: string | null): Actor {
  return Actor.parse({ kind: 'key', id: keyId, requestId });
}

/** What the trail records, as dotted verbs. A new kind of change adds its verb here. */
export const AUDIT_ACTIONS = [
  'org.create',
  'org.rename',
  'key.create',
  'key.revoke',
  'key.policy.set',
  'org.policy.set',
  'member.add',
  'member.remove',
  'alert.set',
  'alert.delete',
  'credits.grant',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * What a change is made to; `target_id` is the key id (a key's policy too), the member's address,
 * or the organization's id for the rest (its policy too).
 */
export const AUDIT_TARGET_KINDS = ['organization', 'api_key', 'member', 'low_balance_alert', 'credit_account'] as const;
export type AuditTargetKind = (typeof AUDIT_TARGET_KINDS)[number];

/** A public view of the changed object, as JSON. */
const PublicView = z.record(z.string(), z.unknown());

/** One change, with `before` and `after` known in JavaScript (`recordAudit`). */
export const AuditEntry = z.object({
  orgId: z.uuid(),
  action: z.enum(AUDIT_ACTIONS),
  target: z.object({ kind: z.enum(AUDIT_TARGET_KINDS), id: z.string().min(1) }),
  /** null: the object did not exist before the change */
  before: PublicView.nullable(),
  /** null: the object does not exist after the change */
  after: PublicView.nullable(),
});
export type AuditEntry = z.input<typeof AuditEntry>;

/** The `before` of a creation and the `after` of a removal (in `auditInsert`: where the object did not or no longer does exist). */
export const ABSENT = sql`null::jsonb`;

const jsonb = (view: z.output<typeof PublicView> | null): SQL => (view === null ? ABSENT : sql`${jsonText(view)}::jsonb`);

/**
 * Records one change in the audit trail. Call it with the transaction's Database, in the
 * transaction that makes the change, after the change succeeded (as updateKeyPolicy does):
 *
 *   await recordAudit(tx, input.by, {
 *     orgId, action: 'key.policy.set', target: { kind: 'api_key', id: keyId }, before: policyJson(before), after: policyJson(after),
 *   });
 *
 * (a new action or target kind is added to AUDIT_ACTIONS / AUDIT_TARGET_KINDS first). A change made
 * by one statement, money above all (ADR 0001), includes `auditInsert` as a CTE instead.
 */
export async function recordAudit(db: Database, actor: Actor, entry: AuditEntry): Promise<void> {
  const who = Actor.parse(actor);
  const change = AuditEntry.parse(entry);
  await db.run(sql`
    insert into audit_events (org_id, actor_kind, actor, action, target_kind, target_id, before, after, request_id)
    values (${change.orgId}::uuid, ${who.kind}::audit_actor_kind, ${who.id}, ${change.action}, ${change.target.kind},
            ${change.target.id}, ${jsonb(change.before)}, ${jsonb(change.after)}, ${who.requestId}::text)`);
}

/** A change as `auditInsert` takes it: its values are SQL expressions over the rows the statement changed. */
export interface AuditedRows {
  action: AuditAction;
  /** the changed rows, e.g. a CTE's name: one audit row is written per row */
  from: SQL;
  orgId: SQL;
  target: { kind: AuditTargetKind; id: SQL };
  /** jsonb expressions of the public view; ABSENT where the object did not (or no longer does) exist */
  before: SQL;
  after: SQL;
}

/**
 * The audit rows of a change made by one statement, as an `insert … select` to include as a CTE
 * of that statement: the rows are written if and only if the change's rows are, in the same commit.
 *
 *   with credited as (update credit_accounts … returning org_id, balance),
 *        audit as (${auditInsert(actor, { action: 'credits.grant', from: sql`credited`, orgId: sql`credited.org_id`, … })})
 *   select …
 */
export function auditInsert(actor: Actor, rows: AuditedRows): SQL {
  const who = Actor.parse(actor);
  return sql`
    insert into audit_events (org_id, actor_kind, actor, action, target_kind, target_id, before, after, request_id)
    select ${rows.orgId}, ${who.kind}::audit_actor_kind, ${who.id}::text, ${rows.action}::text, ${rows.target.kind}::text,
           (${rows.target.id})::text, ${rows.before}, ${rows.after}, ${who.requestId}::text
      from ${rows.from}`;
}
