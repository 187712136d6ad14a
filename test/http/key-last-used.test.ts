import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest, type SignedIn, signIn } from '../helpers/sign-in.js';

const newWallet = (): LocalAccount => privateKeyToAccount(generatePrivateKey());

interface ListedKey {
  id: string;
  name: string;
  lastUsedAt: string | null;
}

/** GET /v1/keys' lastUsedAt: when a key's newest task was created, read from tasks, per organization. */
describe('GET /v1/keys says when each key was last used', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  let stranger: SignedIn;

  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 2, validationsPerAgent: 1 });
    owner = await signIn(gateway, newWallet());
    stranger = await signIn(gateway, newWallet());
    await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 1_000_000n, reason: 'test', by: OPERATOR });
    await grantCredits(gateway.database.db, { orgId: stranger.orgId, amount: 1_000_000n, reason: 'test', by: OPERATOR });
  });
  afterAll(() => gateway?.close());

  const newKey = async (who: SignedIn, name: string) => {
    const response = await rest(gateway, 'POST', '/v1/keys', { name }, who.token);
    expect(response.status).toBe(201);
    return (await response.json()) as { key: string; id: string };
  };
  const keysOf = async (who: SignedIn): Promise<Map<string, ListedKey>> => {
    const response = await rest(gateway, 'GET', '/v1/keys', undefined, who.token);
    expect(response.status).toBe(200);
    return new Map(((await response.json()) as { keys: ListedKey[] }).keys.map((key) => [key.id, key]));
  };
  const callWith = (key: string, agentId: number) =>
    gateway.app.request('/v1/tools/getAgentProfile/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ agentId }),
    });

  it('a fresh key was never used; after a paid call it was, at that call, and a later call moves it on', async () => {
    const used = await newKey(owner, 'used');
    const idle = await newKey(owner, 'idle');
    expect((await keysOf(owner)).get(used.id)?.lastUsedAt).toBeNull();

    const before = Date.now();
    expect((await callWith(used.key, 1)).status).toBe(200);
    const first = (await keysOf(owner)).get(used.id)?.lastUsedAt;
    expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // the database's clock writes created_at; allow it a second's drift from this process's
    expect(Date.parse(first!)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(first!)).toBeLessThanOrEqual(Date.now() + 1_000);
    expect((await keysOf(owner)).get(idle.id)?.lastUsedAt).toBeNull();

    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await callWith(used.key, 2)).status).toBe(200);
    const second = (await keysOf(owner)).get(used.id)?.lastUsedAt;
    expect(Date.parse(second!)).toBeGreaterThan(Date.parse(first!));
  });

  it("another organization's calls never show in this one's list, and its own list shows them", async () => {
    const mine = await newKey(owner, 'mine');
    const theirs = await newKey(stranger, 'theirs');
    expect((await callWith(theirs.key, 1)).status).toBe(200);
    const listed = await keysOf(owner);
    expect(listed.has(theirs.id)).toBe(false);
    expect(listed.get(mine.id)?.lastUsedAt).toBeNull();
    expect((await keysOf(stranger)).get(theirs.id)?.lastUsedAt).not.toBeNull();
  });

  it('a call refused before it runs (no credit) is no use of the key', async () => {
    const broke = await signIn(gateway, newWallet());
    const key = await newKey(broke, 'no credit');
    const refused = await callWith(key.key, 1);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { reason: string } }).error.reason).toBe('insufficient_credits');
    expect((await keysOf(broke)).get(key.id)?.lastUsedAt).toBeNull();
  });
});
