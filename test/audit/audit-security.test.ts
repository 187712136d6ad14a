import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AuditEntry, keyActor, OPERATOR, recordAudit, walletActor } from '../../src/audit/record.js';
import { hashApiKey } from '../../src/auth/api-keys.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type SignedIn, signIn } from '../helpers/sign-in.js';
import { allAuditText, auditPage, auditRowCount, latestEvent, newWallet, overHttp } from './support.js';

/**
 * What the audit trail must never do: miss a change or record one that did not happen (the row
 * is written by the change's own statement or transaction), hold a secret, show one organization
 * another's changes, or show itself to a viewer.
 */

interface ErrorBody {
  error: { code: string; reason?: string };
}

async function refusal(response: Response): Promise<[number, string | undefined]> {
  return [response.status, ((await response.json()) as ErrorBody).error.reason];
}

describe('an audit row is written with its change, and only then', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  beforeAll(async () => {
    gateway = await startTestGateway();
    await gateway.listen();
    owner = await signIn(gateway, newWallet());
  });
  afterAll(() => gateway.close());

  it('a refused change writes no audit row', async () => {
    const viewerWallet = newWallet();
    await overHttp(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token);
    const viewer = await signIn(gateway, viewerWallet);
    const stranger = await signIn(gateway, newWallet());
    const key = (await (await overHttp(gateway, 'POST', '/v1/keys', { name: 'kept' }, owner.token)).json()) as { id: string };
    const before = await auditRowCount(gateway);

    const refusals = [
      await overHttp(gateway, 'POST', '/v1/keys', { name: 'late', expiresAt: '2020-01-01T00:00:00Z' }, owner.token),
      await overHttp(gateway, 'POST', '/v1/keys', { name: 'by a viewer' }, viewer.token),
      await overHttp(gateway, 'DELETE', `/v1/keys/${key.id}`, undefined, stranger.token),
      await overHttp(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'admin' }, owner.token),
      await overHttp(gateway, 'POST', '/v1/members', { address: stranger.address, role: 'admin' }, owner.token),
      await overHttp(gateway, 'DELETE', `/v1/members/${owner.address}`, undefined, owner.token),
      await overHttp(gateway, 'DELETE', `/v1/members/${newWallet().address}`, undefined, owner.token),
      await overHttp(gateway, 'DELETE', '/v1/alerts/low-balance', undefined, owner.token),
      await overHttp(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '0' }, owner.token),
    ];
    expect(await Promise.all(refusals.map(refusal))).toEqual([
      [400, 'expiry_in_past'],
      [403, 'role_too_low'],
      [404, 'unknown_key'],
      [409, 'already_member'],
      [409, 'member_of_another_organization'],
      [409, 'last_owner'],
      [404, 'not_a_member'],
      [404, 'no_alert'],
      [400, 'invalid_body'],
    ]);
    await expect(grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 0n, reason: 'nothing', by: OPERATOR })).rejects.toThrow(
      RangeError,
    );
    expect(await auditRowCount(gateway)).toBe(before);
  });

  it('two revocations of one key at once record one revocation; two removals of one member, one removal', async () => {
    const key = (await (await overHttp(gateway, 'POST', '/v1/keys', { name: 'raced' }, owner.token)).json()) as { id: string };
    const wallet = newWallet();
    await overHttp(gateway, 'POST', '/v1/members', { address: wallet.address, role: 'viewer' }, owner.token);
    const answers = await Promise.all([
      overHttp(gateway, 'DELETE', `/v1/keys/${key.id}`, undefined, owner.token),
      overHttp(gateway, 'DELETE', `/v1/keys/${key.id}`, undefined, owner.token),
      overHttp(gateway, 'DELETE', `/v1/members/${wallet.address}`, undefined, owner.token),
      overHttp(gateway, 'DELETE', `/v1/members/${wallet.address}`, undefined, owner.token),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([204, 204, expect.any(Number), expect.any(Number)]);
    expect(
      answers
        .slice(2)
        .map((answer) => answer.status)
        .sort(),
    ).toEqual([204, 404]);
    const [counted] = await gateway.database.db.rows(
      z.object({ revocations: z.number(), removals: z.number() }),
      sql`
      select count(*) filter (where action = 'key.revoke' and target_id = ${key.id})::int as revocations,
             count(*) filter (where action = 'member.remove' and target_id = ${wallet.address.toLowerCase()})::int as removals
        from audit_events`,
    );
    expect(counted).toEqual({ revocations: 1, removals: 1 });
  });

  it("alert settings at once chain up: each one's before is the after of the one before it", async () => {
    await overHttp(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '1000' }, owner.token);
    const answers = await Promise.all(
      ['2000', '3000', '4000'].map((threshold) =>
        overHttp(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: threshold }, owner.token),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    const settings = (await auditPage(gateway, owner.token, 'action=alert.set&limit=4')).events.reverse();
    expect(settings[0]?.after).toEqual({ thresholdMicroUsdc: '1000', webhookUrl: null });
    for (let n = 1; n < settings.length; n++) expect(settings[n]?.before).toEqual(settings[n - 1]?.after);
    await overHttp(gateway, 'DELETE', '/v1/alerts/low-balance', undefined, owner.token);
  });

  describe('when the audit row cannot be written, the change is not made either', () => {
    let liveKeyId: string;
    beforeAll(async () => {
      liveKeyId = ((await (await overHttp(gateway, 'POST', '/v1/keys', { name: 'live' }, owner.token)).json()) as { id: string }).id;
      // Every insert into audit_events fails from here on (NOT VALID: the rows already there are not checked).
      await gateway.database.db.run(sql`alter table audit_events add constraint audit_refused check (false) not valid`);
    });
    afterAll(() => gateway.database.db.run(sql`alter table audit_events drop constraint audit_refused`));

    const state = async () => {
      const [row] = await gateway.database.db.rows(
        z.record(z.string(), z.unknown()),
        sql`
        select (select count(*) from organizations)::int as organizations,
               (select count(*) from api_keys)::int as keys,
               (select count(*) from api_keys where revoked_at is not null)::int as revoked,
               (select count(*) from org_members)::int as members,
               (select count(*) from low_balance_alerts)::int as alerts,
               (select count(*) from ledger_entries)::int as ledger,
               (select coalesce(sum(balance), 0)::int8 from credit_accounts) as balances,
               (select count(*) from audit_events)::int as audit`,
      );
      return row;
    };
    const send = (method: string, path: string, body?: unknown) =>
      gateway.app.request(path, {
        method,
        headers: { authorization: `Bearer ${owner.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    it('keys, members, alerts, grants and a first sign-in all fail whole, with a 500, and leave everything as it was', async () => {
      const admin = newWallet();
      await gateway.database.db.run(
        sql`insert into org_members (address, org_id, role) values (${admin.address.toLowerCase()}, ${owner.orgId}, 'admin')`,
      );
      const before = await state();

      const statuses = [
        (await send('POST', '/v1/keys', { name: 'unaudited' })).status,
        (await send('DELETE', `/v1/keys/${liveKeyId}`)).status,
        (await send('POST', '/v1/members', { address: newWallet().address, role: 'viewer' })).status,
        (await send('DELETE', `/v1/members/${admin.address}`)).status,
        (await send('PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '10' })).status,
      ];
      expect(statuses).toEqual([500, 500, 500, 500, 500]);
      await expect(
        grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 10n, reason: 'unaudited', by: OPERATOR }),
      ).rejects.toThrow();
      // the sign-in answers 500 (which its route does not document, so the helper's check fails on it)
      await expect(signIn(gateway, newWallet())).rejects.toThrow(/500/);
      expect(await state()).toEqual(before);
    });
  });
});

describe('what the audit trail never holds or shows', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  let admin: SignedIn;
  let viewer: SignedIn;
  let other: SignedIn;
  beforeAll(async () => {
    gateway = await startTestGateway();
    await gateway.listen();
    owner = await signIn(gateway, newWallet());
    const adminWallet = newWallet();
    const viewerWallet = newWallet();
    await overHttp(gateway, 'POST', '/v1/members', { address: adminWallet.address, role: 'admin' }, owner.token);
    await overHttp(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token);
    admin = await signIn(gateway, adminWallet);
    viewer = await signIn(gateway, viewerWallet);
    other = await signIn(gateway, newWallet());
  });
  afterAll(() => gateway.close());

  it('no API key, key hash, webhook secret or session token, in any column of any row', async () => {
    const created = (await (await overHttp(gateway, 'POST', '/v1/keys', { name: 'secretive' }, admin.token)).json()) as {
      key: string;
      id: string;
    };
    await overHttp(gateway, 'DELETE', `/v1/keys/${created.id}`, undefined, admin.token);
    const secrets: string[] = [created.key, created.key.slice(4), hashApiKey(created.key), owner.token, admin.token];
    for (const webhookUrl of ['https://hooks.example/a', 'https://hooks.example/b']) {
      const alert = await overHttp(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '100', webhookUrl }, admin.token);
      secrets.push(((await alert.json()) as { webhookSecret: string }).webhookSecret);
    }
    await overHttp(gateway, 'DELETE', '/v1/alerts/low-balance', undefined, admin.token);
    const [stored] = await gateway.database.db.rows(
      z.object({ n: z.number() }),
      sql`select count(*)::int as n from audit_events where org_id = ${owner.orgId} and action in ('key.create', 'key.revoke', 'alert.set', 'alert.delete')`,
    );
    expect(stored?.n).toBe(5);

    const text = await allAuditText(gateway);
    const csv = await (await overHttp(gateway, 'GET', '/v1/audit.csv', undefined, owner.token)).text();
    const page = JSON.stringify(await auditPage(gateway, owner.token, 'limit=200'));
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      for (const where of [text, csv, page]) expect(where).not.toContain(secret);
    }
  });

  it('owners and admins read it; a viewer is refused (403), as are an API key and no session (401)', async () => {
    const key = ((await (await overHttp(gateway, 'POST', '/v1/keys', { name: 'reader' }, owner.token)).json()) as { key: string }).key;
    for (const path of ['/v1/audit', '/v1/audit.csv']) {
      expect((await overHttp(gateway, 'GET', path, undefined, owner.token)).status).toBe(200);
      expect((await overHttp(gateway, 'GET', path, undefined, admin.token)).status).toBe(200);
      expect(await refusal(await overHttp(gateway, 'GET', path, undefined, viewer.token))).toEqual([403, 'role_too_low']);
      expect(await refusal(await overHttp(gateway, 'GET', path, undefined, key))).toEqual([401, 'api_key_not_a_session']);
      expect(await refusal(await overHttp(gateway, 'GET', path))).toEqual([401, 'missing_session']);
    }
  });

  it("one organization never sees another's changes, whatever cursor or filter it sends", async () => {
    await overHttp(gateway, 'POST', '/v1/keys', { name: 'theirs' }, other.token);
    const ours = (await auditPage(gateway, owner.token, 'limit=200')).events;
    const theirs = (await auditPage(gateway, other.token, 'limit=200')).events;
    expect(theirs.map((event) => event.action)).toEqual(['key.create', 'org.create']);
    expect(theirs.map((event) => event.actor.id)).toEqual([other.address, other.address]);
    expect(theirs.at(-1)?.target).toEqual({ kind: 'organization', id: other.orgId });
    const ourIds = new Set(ours.map((event) => event.id));
    expect(theirs.filter((event) => ourIds.has(event.id))).toEqual([]);

    // a cursor past every row, and a filter naming the owner's actions, still show only their own
    const past = `cursor=${BigInt(ours[0]?.id ?? '0') + 1000n}`;
    expect((await auditPage(gateway, other.token, `limit=200&${past}`)).events).toEqual(theirs);
    const filtered = (await auditPage(gateway, other.token, 'action=member.add,alert.set,key.revoke')).events;
    expect(filtered).toEqual([]);
    const csv = await (await overHttp(gateway, 'GET', '/v1/audit.csv', undefined, other.token)).text();
    expect(csv).not.toContain(owner.orgId);
    expect(csv).not.toContain(owner.address);
  });
});

describe('recordAudit, the entry point for changes made in a transaction', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  beforeAll(async () => {
    gateway = await startTestGateway();
    await gateway.listen();
    owner = await signIn(gateway, newWallet());
  });
  afterAll(() => gateway.close());

  it('records an API key acting by its id, with its request id, and a wallet in lower case', async () => {
    const keyId = randomUUID();
    const entry: AuditEntry = {
      orgId: owner.orgId,
      action: 'key.revoke',
      target: { kind: 'api_key', id: keyId },
      before: { revokedAt: null },
      after: { revokedAt: '2026-12-02T00:00:00.000Z' },
    };
    await gateway.database.db.transaction((tx) => recordAudit(tx, keyActor(keyId, 'req-1'), entry));
    expect(await latestEvent(gateway, owner.token)).toMatchObject({
      actor: { kind: 'key', id: keyId },
      action: 'key.revoke',
      target: { kind: 'api_key', id: keyId },
      before: { revokedAt: null },
      after: { revokedAt: '2026-12-02T00:00:00.000Z' },
      requestId: 'req-1',
    });
    await recordAudit(gateway.database.db, walletActor(owner.address.toUpperCase().replace('0X', '0x'), null), entry);
    expect((await latestEvent(gateway, owner.token))?.actor).toEqual({ kind: 'wallet', id: owner.address });
  });

  it('refuses an entry it cannot type (an unknown action, a target id that is empty, an actor that is no key id) before writing anything', async () => {
    const before = await auditRowCount(gateway);
    const entry = { orgId: owner.orgId, action: 'key.create', target: { kind: 'api_key', id: 'x' }, before: null, after: null } as const;
    await expect(recordAudit(gateway.database.db, OPERATOR, { ...entry, action: 'key.explode' as 'key.create' })).rejects.toThrow();
    await expect(recordAudit(gateway.database.db, OPERATOR, { ...entry, target: { kind: 'api_key', id: '' } })).rejects.toThrow();
    expect(() => keyActor('apg_not-an-id', null)).toThrow();
    expect(await auditRowCount(gateway)).toBe(before);
  });
});
