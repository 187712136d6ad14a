import { sql } from 'drizzle-orm';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest, type SignedIn, signIn } from '../helpers/sign-in.js';
import { waitFor } from '../helpers/wait.js';

const newWallet = () => privateKeyToAccount(generatePrivateKey());

interface ErrorBody {
  error: { code: string; reason?: string };
}

async function reasonOf(response: Response): Promise<[number, string | undefined]> {
  return [response.status, ((await response.json()) as ErrorBody).error.reason];
}

interface CreatedKey {
  key: string;
  id: string;
  name: string;
  prefix: string;
  expiresAt: string | null;
}

async function createKey(gateway: TestGateway, token: string, body: unknown): Promise<CreatedKey> {
  const response = await rest(gateway, 'POST', '/v1/keys', body, token);
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedKey;
}

/** A paid Tier 0 call with the key: 'completed' when it was accepted and paid, else the HTTP status. */
async function paidCall(gateway: TestGateway, key: string): Promise<string | number> {
  const response = await gateway.rpc(request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId: 1 }))])), key);
  if (response.status !== 200) return response.status;
  const body = (await response.json()) as { result?: { task?: { status?: { state?: string } } } };
  return body.result?.task?.status?.state === 'TASK_STATE_COMPLETED' ? 'completed' : JSON.stringify(body);
}

describe('organization members and roles', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  beforeAll(async () => {
    gateway = await startTestGateway();
    owner = await signIn(gateway, newWallet());
  });
  afterAll(() => gateway.close());

  it('an owner adds wallets with roles; they sign in to the same organization with those roles', async () => {
    const adminWallet = newWallet();
    const added = await rest(gateway, 'POST', '/v1/members', { address: adminWallet.address, role: 'admin' }, owner.token);
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({
      member: { address: adminWallet.address.toLowerCase(), role: 'admin', addedBy: owner.address },
    });

    const admin = await signIn(gateway, adminWallet);
    expect(admin).toMatchObject({ orgId: owner.orgId, role: 'admin', organizationCreated: false });

    const listed = (await (await rest(gateway, 'GET', '/v1/members', undefined, admin.token)).json()) as {
      members: { address: string; role: string }[];
    };
    expect(listed.members.map((member) => [member.address, member.role])).toEqual([
      [owner.address, 'owner'],
      [admin.address, 'admin'],
    ]);
  });

  it('roles limit what a session may do: viewers read, admins manage keys, owners manage members', async () => {
    const viewerWallet = newWallet();
    const adminWallet = newWallet();
    await rest(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token);
    await rest(gateway, 'POST', '/v1/members', { address: adminWallet.address, role: 'admin' }, owner.token);
    const viewer = await signIn(gateway, viewerWallet);
    const admin = await signIn(gateway, adminWallet);

    expect((await rest(gateway, 'GET', '/v1/keys', undefined, viewer.token)).status).toBe(200);
    expect(await reasonOf(await rest(gateway, 'POST', '/v1/keys', { name: 'x' }, viewer.token))).toEqual([403, 'role_too_low']);
    expect((await rest(gateway, 'POST', '/v1/keys', { name: 'by admin' }, admin.token)).status).toBe(201);
    expect(
      await reasonOf(await rest(gateway, 'POST', '/v1/members', { address: newWallet().address, role: 'viewer' }, admin.token)),
    ).toEqual([403, 'role_too_low']);
  });

  it('a removed member is signed out at once, and the last owner cannot be removed', async () => {
    const memberWallet = newWallet();
    await rest(gateway, 'POST', '/v1/members', { address: memberWallet.address, role: 'admin' }, owner.token);
    const member = await signIn(gateway, memberWallet);
    expect((await rest(gateway, 'DELETE', `/v1/members/${memberWallet.address}`, undefined, owner.token)).status).toBe(204);
    expect(await reasonOf(await rest(gateway, 'GET', '/v1/keys', undefined, member.token))).toEqual([401, 'not_a_member']);
    expect(await reasonOf(await rest(gateway, 'DELETE', `/v1/members/${memberWallet.address}`, undefined, owner.token))).toEqual([
      404,
      'not_a_member',
    ]);

    expect(await reasonOf(await rest(gateway, 'DELETE', `/v1/members/${owner.address}`, undefined, owner.token))).toEqual([
      409,
      'last_owner',
    ]);
    expect((await rest(gateway, 'GET', '/v1/auth/session', undefined, owner.token)).status).toBe(200);
  });

  it('two owners removing each other at once leave one owner', async () => {
    const first = await signIn(gateway, newWallet());
    const secondWallet = newWallet();
    await rest(gateway, 'POST', '/v1/members', { address: secondWallet.address, role: 'owner' }, first.token);
    const second = await signIn(gateway, secondWallet);
    const answers = await Promise.all([
      rest(gateway, 'DELETE', `/v1/members/${second.address}`, undefined, first.token),
      rest(gateway, 'DELETE', `/v1/members/${first.address}`, undefined, second.token),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([204, expect.any(Number)].sort());
    const [owners] = await gateway.database.db.rows(
      z.object({ count: z.number() }),
      sql`select count(*)::int as count from org_members where org_id = ${first.orgId} and role = 'owner'`,
    );
    expect(owners?.count).toBe(1);
  });

  it('a wallet belongs to one organization: adding it elsewhere is a conflict', async () => {
    const other = await signIn(gateway, newWallet());
    expect(await reasonOf(await rest(gateway, 'POST', '/v1/members', { address: other.address, role: 'viewer' }, owner.token))).toEqual([
      409,
      'member_of_another_organization',
    ]);
    expect(await reasonOf(await rest(gateway, 'POST', '/v1/members', { address: owner.address, role: 'viewer' }, owner.token))).toEqual([
      409,
      'already_member',
    ]);
    expect(await reasonOf(await rest(gateway, 'POST', '/v1/members', { address: '0x123', role: 'viewer' }, owner.token))).toEqual([
      400,
      'invalid_body',
    ]);
    expect(await reasonOf(await rest(gateway, 'DELETE', '/v1/members/not-an-address', undefined, owner.token))).toEqual([
      400,
      'invalid_address',
    ]);
  });
});

describe('API keys under a session', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 2, feedbacksPerAgent: 1, validationsPerAgent: 1 });
    owner = await signIn(gateway, newWallet());
    await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 1_000_000n, reason: 'test credit', by: OPERATOR });
  });
  afterAll(() => gateway.close());

  it('a new key is shown once, listed by prefix only, and pays for calls of its organization', async () => {
    const created = await createKey(gateway, owner.token, { name: 'crawler' });
    expect(created.key).toMatch(/^apg_/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    expect(await paidCall(gateway, created.key)).toBe('completed');

    const listing = await (await rest(gateway, 'GET', '/v1/keys', undefined, owner.token)).text();
    expect(listing).not.toContain(created.key);
    const { keys } = JSON.parse(listing) as { keys: { id: string; name: string; prefix: string; revokedAt: string | null }[] };
    expect(keys.find((key) => key.id === created.id)).toMatchObject({ name: 'crawler', prefix: created.prefix, revokedAt: null });
    const [stored] = await gateway.database.db.rows(
      z.object({ keyHash: z.string() }),
      sql`select key_hash as "keyHash" from api_keys where id = ${created.id}`,
    );
    expect(stored?.keyHash).not.toContain(created.key.slice(4));
  });

  it('a revoked key stops working at once', async () => {
    const created = await createKey(gateway, owner.token, { name: 'short-lived' });
    expect(await paidCall(gateway, created.key)).toBe('completed');
    expect((await rest(gateway, 'DELETE', `/v1/keys/${created.id}`, undefined, owner.token)).status).toBe(204);
    expect(await paidCall(gateway, created.key)).toBe(401);
    const { keys } = (await (await rest(gateway, 'GET', '/v1/keys', undefined, owner.token)).json()) as {
      keys: { id: string; revokedAt: string | null }[];
    };
    expect(keys.find((key) => key.id === created.id)?.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('a key with an expiry works until then and not after', async () => {
    // An expiry a few seconds ahead, waited out: nothing announces an expiry, the key cache (which
    // holds the key after its first call) compares it with the clock at every call.
    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    const created = await createKey(gateway, owner.token, { name: 'shortlived', expiresAt });
    expect(created.expiresAt).toBe(expiresAt);
    expect(await paidCall(gateway, created.key)).toBe('completed');
    await waitFor(() => Date.now() > Date.parse(expiresAt), 'the key to expire');
    expect(await paidCall(gateway, created.key)).toBe(401);
    expect(
      await reasonOf(await rest(gateway, 'POST', '/v1/keys', { name: 'past', expiresAt: '2020-01-01T00:00:00Z' }, owner.token)),
    ).toEqual([400, 'expiry_in_past']);
    // Found by the REST fuzzing: a NUL in a name was a 500 (PostgreSQL text cannot hold it).
    expect(await reasonOf(await rest(gateway, 'POST', '/v1/keys', { name: 'nul\u0000name' }, owner.token))).toEqual([400, 'invalid_body']);
  });

  it("one organization can neither list nor revoke another's keys", async () => {
    const stranger = await signIn(gateway, newWallet());
    const created = await createKey(gateway, owner.token, { name: 'mine' });
    const { keys } = (await (await rest(gateway, 'GET', '/v1/keys', undefined, stranger.token)).json()) as { keys: unknown[] };
    expect(keys).toEqual([]);
    expect(await reasonOf(await rest(gateway, 'DELETE', `/v1/keys/${created.id}`, undefined, stranger.token))).toEqual([
      404,
      'unknown_key',
    ]);
    expect(await paidCall(gateway, created.key)).toBe('completed');
    expect(await reasonOf(await rest(gateway, 'DELETE', '/v1/keys/not-a-uuid', undefined, owner.token))).toEqual([404, 'unknown_key']);
  });
});
