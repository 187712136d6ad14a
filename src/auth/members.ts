import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { ABSENT, type Actor, auditInsert, recordAudit, walletActor } from '../audit/record.js';
import { openCreditAccount } from '../billing/accounts.js';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';

const memberRole = z.enum(['owner', 'admin', 'viewer']);

export type MemberRole = z.output<typeof memberRole>;

const RANK: Record<MemberRole, number> = { viewer: 0, admin: 1, owner: 2 };

/** Whether `role` may do what `needed` may. */
export function roleAtLeast(role: MemberRole, needed: MemberRole): boolean {
  return RANK[role] >= RANK[needed];
}

const membership = z.object({
  address: z.string(),
  orgId: z.string(),
  role: memberRole,
  addedBy: z.string().nullable(),
  createdAt: z.string(),
});

export type Membership = z.output<typeof membership>;

const MEMBER_COLUMNS = sql`address, org_id as "orgId", role, added_by as "addedBy", ${isoUtc(sql`created_at`)} as "createdAt"`;

/** A member as the audit trail shows it, from a row of org_members named `row`: what GET /v1/members lists. */
function memberView(row: string): SQL {
  const member = sql.identifier(row);
  return sql`jsonb_build_object('address', ${member}.address, 'role', ${member}.role, 'addedBy', ${member}.added_by,
    'createdAt', ${isoUtc(sql`${member}.created_at`)})`;
}

/** Addresses are stored lowercase: EIP-55 casing is a checksum, not part of the address. */
export function normalizeAddress(address: string): string {
  return address.toLowerCase();
}

export async function findMembership(db: Database, address: string): Promise<Membership | undefined> {
  const [row] = await db.rows(membership, sql`select ${MEMBER_COLUMNS} from org_members where address = ${normalizeAddress(address)}`);
  return row;
}

const OrgIdRow = z.object({ id: z.string() });

/**
 * The organization a wallet signs in to: the one it is a member of, or, at its first sign-in, a new
 * organization (with an empty credit account) that it owns, recorded as `org.create` by that wallet
 * in the sign-in request `requestId`. Two first sign-ins of one wallet at once create one
 * organization: the loser's transaction rolls back and it reads the winner's.
 */
export async function signInWallet(
  db: Database,
  address: string,
  requestId: string | null,
): Promise<{ membership: Membership; created: boolean }> {
  const existing = await findMembership(db, address);
  if (existing) return { membership: existing, created: false };
  const wallet = normalizeAddress(address);
  const name = `wallet ${wallet.slice(0, 6)}…${wallet.slice(-4)}`;
  const founded = await db
    .transaction(async (tx) => {
      const [org] = await tx.rows(OrgIdRow, sql`insert into organizations (name) values (${name}) returning id`);
      if (!org) throw new Error('organization insert returned no row');
      await openCreditAccount(tx, org.id);
      const [member] = await tx.rows(
        membership,
        sql`
        insert into org_members (address, org_id, role) values (${wallet}, ${org.id}, 'owner')
        on conflict (address) do nothing
        returning ${MEMBER_COLUMNS}`,
      );
      if (!member) throw new LostFoundingRace();
      await recordAudit(tx, walletActor(wallet, requestId), {
        orgId: org.id,
        action: 'org.create',
        target: { kind: 'organization', id: org.id },
        before: null,
        after: { id: org.id, name, owner: wallet },
      });
      return member;
    })
    .catch((error: unknown) => {
      if (error instanceof LostFoundingRace) return undefined;
      throw error;
    });
  if (founded) return { membership: founded, created: true };
  const winner = await findMembership(db, address);
  if (!winner) throw new Error('wallet membership neither created nor found');
  return { membership: winner, created: false };
}

class LostFoundingRace extends Error {}

export async function listMembers(db: Database, orgId: string): Promise<Membership[]> {
  return db.rows(membership, sql`select ${MEMBER_COLUMNS} from org_members where org_id = ${orgId} order by created_at, address`);
}

export type AddMemberOutcome =
  | { ok: true; member: Membership }
  | { ok: false; reason: 'already_member' | 'member_of_another_organization' };

/**
 * Adds a wallet that belongs to no organization yet (a wallet is a member of one organization),
 * with its `member.add` audit row in the same statement. The member row keeps the wallet that
 * added it (`addedBy`), when a wallet did.
 */
export async function addMember(
  db: Database,
  input: { orgId: string; address: string; role: MemberRole; by: Actor },
): Promise<AddMemberOutcome> {
  const addedBy = input.by.kind === 'wallet' ? input.by.id : null;
  const [member] = await db.rows(
    membership,
    sql`
    with added as (
      insert into org_members (address, org_id, role, added_by)
      values (${normalizeAddress(input.address)}, ${input.orgId}, ${input.role}, ${addedBy})
      on conflict (address) do nothing
      returning address, org_id, role, added_by, created_at
    ), audit as (${auditInsert(input.by, {
      action: 'member.add',
      from: sql`added`,
      orgId: sql`added.org_id`,
      target: { kind: 'member', id: sql`added.address` },
      before: ABSENT,
      after: memberView('added'),
    })})
    select ${MEMBER_COLUMNS} from added`,
  );
  if (member) return { ok: true, member };
  const holder = await findMembership(db, input.address);
  return { ok: false, reason: holder?.orgId === input.orgId ? 'already_member' : 'member_of_another_organization' };
}

export type RemoveMemberOutcome = { ok: true } | { ok: false; reason: 'not_a_member' | 'last_owner' };

const RemovalRow = z.object({ removed: z.boolean(), member: z.boolean() });

/**
 * Removes a wallet from the organization; its sessions stop working at their next request. The last
 * owner cannot be removed (the organization would have nobody to manage it): the check, the delete
 * and its `member.remove` audit row are one statement, under a lock of the organization's owners,
 * so two owners removing each other at once leave one.
 */
export async function removeMember(db: Database, input: { orgId: string; address: string; by: Actor }): Promise<RemoveMemberOutcome> {
  const address = normalizeAddress(input.address);
  const [row] = await db.rows(
    RemovalRow,
    sql`
    with owners as (
      select address from org_members where org_id = ${input.orgId} and role = 'owner' for update
    ),
    target as (
      -- Locked, so a removal racing another of the same member waits for it and then finds no
      -- member (404), rather than a row its snapshot still shows but its delete no longer can (409).
      select address, role from org_members where org_id = ${input.orgId} and address = ${address} for update
    ),
    removed as (
      delete from org_members m
       using target
       where m.address = target.address
         and (target.role <> 'owner' or (select count(*) from owners) > 1)
   returning m.address, m.org_id, m.role, m.added_by, m.created_at
    ), audit as (${auditInsert(input.by, {
      action: 'member.remove',
      from: sql`removed`,
      orgId: sql`removed.org_id`,
      target: { kind: 'member', id: sql`removed.address` },
      before: memberView('removed'),
      after: ABSENT,
    })})
    select exists (select 1 from removed) as removed, exists (select 1 from target) as member`,
  );
  if (row?.removed) return { ok: true };
  return { ok: false, reason: row?.member ? 'last_owner' : 'not_a_member' };
}
