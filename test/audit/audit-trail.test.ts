import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type SignedIn, signIn } from '../helpers/sign-in.js';
import { type AuditEventAnswer, auditPage, ISO, latestEvent, newWallet, overHttp } from './support.js';

/**
 * The audit trail over real HTTP, with real wallet sign-ins: every kind of change a session makes
 * writes one row with its actor, request id, and the object before and after; GET /v1/audit pages
 * them newest first and /v1/audit.csv exports them. (The admin command's rows: test/billing/admin-cli.test.ts.)
 */

describe('the audit trail of REST changes', () => {
  const ownerWallet = newWallet();
  let gateway: TestGateway;
  let owner: SignedIn;
  beforeAll(async () => {
    gateway = await startTestGateway();
    await gateway.listen();
    owner = await signIn(gateway, ownerWallet);
  });
  afterAll(() => gateway.close());

  it("a wallet's first sign-in records the organization's creation, by that wallet", async () => {
    const { events } = await auditPage(gateway, owner.token);
    expect(events).toEqual([
      {
        id: expect.any(String),
        actor: { kind: 'wallet', id: owner.address },
        action: 'org.create',
        target: { kind: 'organization', id: owner.orgId },
        before: null,
        after: { id: owner.orgId, name: expect.stringMatching(/^wallet 0x/), owner: owner.address },
        requestId: expect.any(String),
        createdAt: expect.stringMatching(ISO),
      },
    ]);
    // a second sign-in changes nothing
    await signIn(gateway, ownerWallet);
    expect((await auditPage(gateway, owner.token)).events).toHaveLength(1);
  });

  it('key.create and key.revoke: the key as GET /v1/keys lists it (its policy has rows of its own), before and after, with the request id of the change', async () => {
    const created = await overHttp(gateway, 'POST', '/v1/keys', { name: 'crawler', expiresAt: '2030-01-01T00:00:00Z' }, owner.token);
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; prefix: string };
    const listed = (await (await overHttp(gateway, 'GET', '/v1/keys', undefined, owner.token)).json()) as {
      keys: { id: string; policy: unknown; spend: unknown; lastUsedAt: unknown }[];
    };
    // The audit holds the key as configured: its spend and last use are activity, read live, not a change.
    const {
      policy: _policy,
      spend: _spend,
      lastUsedAt: _lastUsedAt,
      ...publicView
    } = listed.keys.find((entry) => entry.id === key.id) ?? {};
    expect(await latestEvent(gateway, owner.token)).toEqual({
      id: expect.any(String),
      actor: { kind: 'wallet', id: owner.address },
      action: 'key.create',
      target: { kind: 'api_key', id: key.id },
      before: null,
      after: publicView,
      requestId: created.headers.get('x-request-id'),
      createdAt: expect.stringMatching(ISO),
    });
    expect(publicView).toEqual({
      id: key.id,
      name: 'crawler',
      prefix: key.prefix,
      createdAt: expect.stringMatching(ISO),
      expiresAt: '2030-01-01T00:00:00.000Z',
      revokedAt: null,
    });

    const revoked = await overHttp(gateway, 'DELETE', `/v1/keys/${key.id}`, undefined, owner.token);
    expect(revoked.status).toBe(204);
    const revocation = await latestEvent(gateway, owner.token);
    expect(revocation).toMatchObject({
      action: 'key.revoke',
      actor: { kind: 'wallet', id: owner.address },
      target: { kind: 'api_key', id: key.id },
      before: publicView,
      after: { ...publicView, revokedAt: expect.stringMatching(ISO) },
      requestId: revoked.headers.get('x-request-id'),
    });

    // Revoking it again answers as before (204) but changes nothing, so it records nothing.
    expect((await overHttp(gateway, 'DELETE', `/v1/keys/${key.id}`, undefined, owner.token)).status).toBe(204);
    expect((await latestEvent(gateway, owner.token))?.id).toBe(revocation?.id);
  });

  it('member.add and member.remove: the member as GET /v1/members lists it', async () => {
    const wallet = newWallet();
    const added = await overHttp(gateway, 'POST', '/v1/members', { address: wallet.address, role: 'admin' }, owner.token);
    expect(added.status).toBe(201);
    const { member } = (await added.json()) as { member: Record<string, unknown> };
    const { orgId: _orgId, ...memberView } = member;
    const addition = await latestEvent(gateway, owner.token);
    expect(addition).toMatchObject({
      action: 'member.add',
      actor: { kind: 'wallet', id: owner.address },
      target: { kind: 'member', id: wallet.address.toLowerCase() },
      before: null,
      after: memberView,
      requestId: added.headers.get('x-request-id'),
    });
    expect(addition?.after).toEqual({
      address: wallet.address.toLowerCase(),
      role: 'admin',
      addedBy: owner.address,
      createdAt: expect.stringMatching(ISO),
    });

    const removed = await overHttp(gateway, 'DELETE', `/v1/members/${wallet.address}`, undefined, owner.token);
    expect(removed.status).toBe(204);
    expect(await latestEvent(gateway, owner.token)).toMatchObject({
      action: 'member.remove',
      target: { kind: 'member', id: wallet.address.toLowerCase() },
      before: memberView,
      after: null,
      requestId: removed.headers.get('x-request-id'),
    });
  });

  it('alert.set and alert.delete: threshold and webhook before and after, an admin acting', async () => {
    const adminWallet = newWallet();
    await overHttp(gateway, 'POST', '/v1/members', { address: adminWallet.address, role: 'admin' }, owner.token);
    const admin = await signIn(gateway, adminWallet);

    const first = await overHttp(
      gateway,
      'PUT',
      '/v1/alerts/low-balance',
      { thresholdMicroUsdc: '50000', webhookUrl: 'https://hooks.example/low' },
      admin.token,
    );
    expect(first.status).toBe(200);
    expect(await latestEvent(gateway, owner.token)).toMatchObject({
      action: 'alert.set',
      actor: { kind: 'wallet', id: admin.address },
      target: { kind: 'low_balance_alert', id: owner.orgId },
      before: null,
      after: { thresholdMicroUsdc: '50000', webhookUrl: 'https://hooks.example/low' },
      requestId: first.headers.get('x-request-id'),
    });

    expect((await overHttp(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '7' }, admin.token)).status).toBe(200);
    expect(await latestEvent(gateway, owner.token)).toMatchObject({
      action: 'alert.set',
      before: { thresholdMicroUsdc: '50000', webhookUrl: 'https://hooks.example/low' },
      after: { thresholdMicroUsdc: '7', webhookUrl: null },
    });

    expect((await overHttp(gateway, 'DELETE', '/v1/alerts/low-balance', undefined, admin.token)).status).toBe(204);
    expect(await latestEvent(gateway, owner.token)).toMatchObject({
      action: 'alert.delete',
      actor: { kind: 'wallet', id: admin.address },
      before: { thresholdMicroUsdc: '7', webhookUrl: null },
      after: null,
    });
  });

  it('key.policy.set and org.policy.set: the policy as the API answers it, before and after; a key created with a policy has both rows', async () => {
    const created = await overHttp(
      gateway,
      'POST',
      '/v1/keys',
      { name: 'governed', spendCap: { amountMicroUsdc: '37000', period: 'day' }, maxTier: 1 },
      owner.token,
    );
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; policy: Record<string, unknown> };
    const noPolicy = { tools: null, maxTier: null, spendCap: null, rateLimit: null };
    const [policySet, creation] = (await auditPage(gateway, owner.token, 'limit=2')).events;
    expect(creation).toMatchObject({ action: 'key.create', target: { kind: 'api_key', id: key.id } });
    expect(policySet).toMatchObject({
      action: 'key.policy.set',
      actor: { kind: 'wallet', id: owner.address },
      target: { kind: 'api_key', id: key.id },
      before: noPolicy,
      after: key.policy,
      requestId: created.headers.get('x-request-id'),
    });
    expect(key.policy).toEqual({ ...noPolicy, maxTier: 1, spendCap: { amountMicroUsdc: '37000', period: 'day' } });

    const patched = await overHttp(gateway, 'PATCH', `/v1/keys/${key.id}`, { tools: ['getAgentProfile'], maxTier: null }, owner.token);
    expect(patched.status).toBe(200);
    const patchedPolicy = ((await patched.json()) as { policy: Record<string, unknown> }).policy;
    const patch = await latestEvent(gateway, owner.token);
    expect(patch).toMatchObject({ action: 'key.policy.set', before: key.policy, after: patchedPolicy });
    expect(patchedPolicy).toMatchObject({ tools: ['getAgentProfile'], maxTier: null });
    // a patch that leaves the policy as it is records nothing
    expect((await overHttp(gateway, 'PATCH', `/v1/keys/${key.id}`, { maxTier: null }, owner.token)).status).toBe(200);
    expect((await latestEvent(gateway, owner.token))?.id).toBe(patch?.id);

    const orgPolicy = { spendCap: { amountMicroUsdc: '5000000', period: 'month' }, rateLimit: { requests: 10, windowSeconds: 60 } };
    const put = await overHttp(gateway, 'PUT', '/v1/policy', orgPolicy, owner.token);
    expect(put.status).toBe(200);
    expect(await latestEvent(gateway, owner.token)).toMatchObject({
      action: 'org.policy.set',
      actor: { kind: 'wallet', id: owner.address },
      target: { kind: 'organization', id: owner.orgId },
      before: { spendCap: null, rateLimit: null },
      after: orgPolicy,
      requestId: put.headers.get('x-request-id'),
    });
  });

  it('credits.grant: the balance before and after, the amount, the reason and the ledger row, by the operator', async () => {
    await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 1_500n, reason: 'pilot credit', by: OPERATOR });
    const account = await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 250n, reason: 'more', by: OPERATOR });
    expect(account.balance).toBe(1_750n);
    const ledger = (await (await overHttp(gateway, 'GET', '/v1/ledger?limit=1', undefined, owner.token)).json()) as {
      entries: { id: string }[];
    };
    expect(await latestEvent(gateway, owner.token)).toEqual({
      id: expect.any(String),
      actor: { kind: 'operator', id: 'operator' },
      action: 'credits.grant',
      target: { kind: 'credit_account', id: owner.orgId },
      before: { balanceMicroUsdc: '1500' },
      after: { balanceMicroUsdc: '1750', grantedMicroUsdc: '250', reason: 'more', ledgerEntryId: ledger.entries[0]?.id },
      requestId: null,
      createdAt: expect.stringMatching(ISO),
    });
  });
});

describe('reading the audit trail: keyset pages, filters, CSV', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  let everything: AuditEventAnswer[];
  beforeAll(async () => {
    gateway = await startTestGateway();
    await gateway.listen();
    owner = await signIn(gateway, newWallet());
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const created = await overHttp(gateway, 'POST', '/v1/keys', { name }, owner.token);
      if (name === 'c') {
        const { id } = (await created.json()) as { id: string };
        await overHttp(gateway, 'DELETE', `/v1/keys/${id}`, undefined, owner.token);
      }
    }
    everything = (await auditPage(gateway, owner.token, 'limit=200')).events;
  });
  afterAll(() => gateway.close());

  it('holds every change, newest first', () => {
    expect(everything.map((event) => event.action)).toEqual([
      'key.create',
      'key.create',
      'key.create',
      'key.revoke',
      'key.create',
      'key.create',
      'key.create',
      'org.create',
    ]);
    const ids = everything.map((event) => BigInt(event.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? 1 : -1)));
  });

  it('pages by keyset cursor: each event once, in order, nextCursor null on the last page', async () => {
    const seen: AuditEventAnswer[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await auditPage(gateway, owner.token, `limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.events.length).toBeLessThanOrEqual(3);
      seen.push(...page.events);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(everything);
    expect(pages).toBe(3);
    // a default page is 50 events
    expect((await auditPage(gateway, owner.token)).events).toEqual(everything);
  });

  it('filters by action and by time (from inclusive, to exclusive)', async () => {
    const revocations = (await auditPage(gateway, owner.token, 'action=key.revoke,org.create')).events;
    expect(revocations.map((event) => event.action)).toEqual(['key.revoke', 'org.create']);
    const oldest = everything.at(-1)?.createdAt as string;
    const newest = everything[0]?.createdAt as string;
    expect((await auditPage(gateway, owner.token, `to=${encodeURIComponent(oldest)}`)).events).toEqual([]);
    expect((await auditPage(gateway, owner.token, `from=${encodeURIComponent(oldest)}`)).events).toEqual(everything);
    const later = new Date(Date.parse(newest) + 1).toISOString();
    expect((await auditPage(gateway, owner.token, `from=${encodeURIComponent(later)}`)).events).toEqual([]);
  });

  it.each([
    ['action=key.explode', 'action.0'],
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['cursor=abc', 'cursor'],
    ['cursor=9223372036854775808', 'cursor'],
    ['from=0000-01-01T00:00:00Z', 'from'],
    ['to=yesterday', 'to'],
    ['since=2020-01-01T00:00:00Z', ''],
  ])('GET /v1/audit?%s and its CSV → 400 invalid_query, the details naming "%s"', async (query, parameter) => {
    for (const path of ['/v1/audit', '/v1/audit.csv']) {
      const response = await overHttp(gateway, 'GET', `${path}?${query}`, undefined, owner.token);
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { code: string; reason: string; details: { path: string }[] } };
      expect(error).toMatchObject({ code: 'invalid_request', reason: 'invalid_query' });
      expect(error.details.map((issue) => issue.path)).toContain(parameter);
    }
  });

  it('/v1/audit.csv: every event of the range, one row each, before and after as JSON', async () => {
    const response = await overHttp(gateway, 'GET', '/v1/audit.csv', undefined, owner.token);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="audit.csv"');
    const lines = (await response.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,created_at,actor_kind,actor,action,target_kind,target_id,before,after,request_id');
    expect(lines).toHaveLength(everything.length + 1);
    const revocation = everything.find((event) => event.action === 'key.revoke') as AuditEventAnswer;
    const quoted = (json: unknown) => `"${JSON.stringify(json).replaceAll('"', '""')}"`;
    expect(lines).toContain(
      [
        revocation.id,
        revocation.createdAt,
        'wallet',
        owner.address,
        'key.revoke',
        'api_key',
        revocation.target.id,
        quoted(revocation.before),
        quoted(revocation.after),
        revocation.requestId,
      ].join(','),
    );
    const creation = await overHttp(gateway, 'GET', '/v1/audit.csv?action=org.create', undefined, owner.token);
    const creationLines = (await creation.text()).trimEnd().split('\r\n');
    expect(creationLines).toHaveLength(2);
    expect(creationLines[1]).toMatch(new RegExp(`,wallet,${owner.address},org\\.create,organization,${owner.orgId},,"\\{`));
  });
});
