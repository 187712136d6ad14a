import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRowCount, latestEvent } from '../audit/support.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest, type SignedIn, signIn } from '../helpers/sign-in.js';

const newWallet = () => privateKeyToAccount(generatePrivateKey());

interface Organization {
  id: string;
  name: string;
  createdAt: string;
}

async function reasonOf(response: Response): Promise<[number, string | undefined]> {
  return [response.status, ((await response.json()) as { error: { reason?: string } }).error.reason];
}

describe('GET and PATCH /v1/organization: its name, renamed by owners', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  let admin: SignedIn;
  let viewer: SignedIn;
  let key: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    await gateway.listen();
    owner = await signIn(gateway, newWallet());
    const adminWallet = newWallet();
    const viewerWallet = newWallet();
    await rest(gateway, 'POST', '/v1/members', { address: adminWallet.address, role: 'admin' }, owner.token);
    await rest(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token);
    admin = await signIn(gateway, adminWallet);
    viewer = await signIn(gateway, viewerWallet);
    key = ((await (await rest(gateway, 'POST', '/v1/keys', { name: 'agent' }, owner.token)).json()) as { key: string }).key;
  });
  afterAll(() => gateway.close());

  it('every member and every key of the organization reads its name', async () => {
    for (const token of [owner.token, admin.token, viewer.token, key]) {
      const response = await rest(gateway, 'GET', '/v1/organization', undefined, token);
      expect(response.status).toBe(200);
      const body = (await response.json()) as Organization;
      expect(body).toMatchObject({ id: owner.orgId, name: `wallet ${owner.address.slice(0, 6)}…${owner.address.slice(-4)}` });
      expect(Date.parse(body.createdAt)).not.toBeNaN();
    }
  });

  it('the owner renames it (trimmed), with an org.rename audit row naming the old and the new name', async () => {
    const before = ((await (await rest(gateway, 'GET', '/v1/organization', undefined, owner.token)).json()) as Organization).name;
    const response = await rest(gateway, 'PATCH', '/v1/organization', { name: '  Acme Research  ' }, owner.token);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: owner.orgId, name: 'Acme Research' });
    expect(((await (await rest(gateway, 'GET', '/v1/organization', undefined, key)).json()) as Organization).name).toBe('Acme Research');
    expect(await latestEvent(gateway, owner.token)).toMatchObject({
      action: 'org.rename',
      actor: { kind: 'wallet', id: owner.address },
      target: { kind: 'organization', id: owner.orgId },
      before: { id: owner.orgId, name: before },
      after: { id: owner.orgId, name: 'Acme Research' },
      requestId: response.headers.get('x-request-id'),
    });
  });

  it('renaming to the same name changes nothing and records nothing', async () => {
    await rest(gateway, 'PATCH', '/v1/organization', { name: 'Same' }, owner.token);
    const rows = await auditRowCount(gateway);
    const again = await rest(gateway, 'PATCH', '/v1/organization', { name: 'Same' }, owner.token);
    expect(again.status).toBe(200);
    expect(await auditRowCount(gateway)).toBe(rows);
  });

  it('refuses names that are empty, too long, span lines, or come with other fields', async () => {
    const rows = await auditRowCount(gateway);
    for (const body of [
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { name: 'two\nlines' },
      { name: 'ok', id: owner.orgId },
      {},
      { name: 7 },
    ]) {
      const response = await rest(gateway, 'PATCH', '/v1/organization', body, owner.token);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect(await auditRowCount(gateway)).toBe(rows);
  });

  it('only owners rename: admins and viewers are refused 403, an API key 401, no credential 401, and nothing changes', async () => {
    const rows = await auditRowCount(gateway);
    expect(await reasonOf(await rest(gateway, 'PATCH', '/v1/organization', { name: 'Admin was here' }, admin.token))).toEqual([
      403,
      'role_too_low',
    ]);
    expect(await reasonOf(await rest(gateway, 'PATCH', '/v1/organization', { name: 'Viewer was here' }, viewer.token))).toEqual([
      403,
      'role_too_low',
    ]);
    expect(await reasonOf(await rest(gateway, 'PATCH', '/v1/organization', { name: 'Key was here' }, key))).toEqual([
      401,
      'api_key_not_a_session',
    ]);
    expect((await rest(gateway, 'PATCH', '/v1/organization', { name: 'Anyone' })).status).toBe(401);
    expect((await rest(gateway, 'GET', '/v1/organization')).status).toBe(401);
    expect((await rest(gateway, 'GET', '/v1/organization', undefined, 'apg_not-a-key')).status).toBe(401);
    expect(((await (await rest(gateway, 'GET', '/v1/organization', undefined, owner.token)).json()) as Organization).name).toBe('Same');
    expect(await auditRowCount(gateway)).toBe(rows);
  });

  it("an owner renames only their own organization: another organization's owner and key see their own", async () => {
    const other = await signIn(gateway, newWallet());
    await rest(gateway, 'PATCH', '/v1/organization', { name: 'Other Co' }, other.token);
    const ours = (await (await rest(gateway, 'GET', '/v1/organization', undefined, owner.token)).json()) as Organization;
    expect(ours).toMatchObject({ id: owner.orgId, name: 'Same' });
    const theirs = (await (await rest(gateway, 'GET', '/v1/organization', undefined, other.token)).json()) as Organization;
    expect(theirs).toMatchObject({ id: other.orgId, name: 'Other Co' });
  });
});
