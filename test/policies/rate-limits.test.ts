import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { createOrganization, type NewOrganization } from '../../src/auth/organizations.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { updateKeyPolicy, updateOrgPolicy } from '../../src/policies/store.js';
import { buildGateway } from '../helpers/built-gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { MACHINE_REDIS_URL, type OwnRedis, startOwnRedis } from '../helpers/redis.js';
import { needs } from '../helpers/requirements.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import {
  freePort,
  type GatewayProcess,
  outputsOf,
  paidCallBody,
  pollUntil,
  startGatewayProcess,
  waitReady,
} from '../robustness/support.js';

/**
 * Rate limits on the paid call (issue 16): over a key's or its organization's limit, HTTP 429 with
 * a JSON-RPC error (reason rate_limited), Retry-After and the RateLimit-Policy / RateLimit fields,
 * which every limited paid-call answer carries; shared by every instance through Redis; failing open
 * (money never depends on Redis) when Redis stops, and limiting again when it is back.
 */

const TIER0_COST = 1_000n;

interface Served {
  status: number;
  headers: Headers;
  body: { result?: { task: { status: { state: string } } }; error?: { code: number; data?: Record<string, unknown> } };
}

async function post(baseUrl: string, apiKey: string): Promise<Served> {
  const response = await fetch(`${baseUrl}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: paidCallBody(1, randomUUID()),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Served['body'] };
}

const completed = (served: Served) => served.status === 200 && served.body.result?.task.status.state === 'TASK_STATE_COMPLETED';

describe('rate limits on the paid call, in one instance', () => {
  const suite = useSeededGateway({ listen: true });

  it('a key limited to 3 a minute: 3 answered with the header fields, the 4th is HTTP 429 rate_limited with Retry-After, uncharged', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    await suite.gateway.database.db.transaction((tx) =>
      updateKeyPolicy(tx, { keyId: org.apiKey.id, patch: { rateLimit: { requests: 3, windowSeconds: 60 } }, by: OPERATOR }),
    );
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post(suite.baseUrl, org.apiKey.key));
    expect(answers.slice(0, 3).every(completed)).toBe(true);
    expect(answers.map((served) => served.headers.get('ratelimit-policy'))).toEqual(Array(4).fill('"key";q=3;w=60'));
    expect(answers.slice(0, 3).map((served) => served.headers.get('ratelimit'))).toEqual([
      '"key";r=2;t=60',
      '"key";r=1;t=60',
      '"key";r=0;t=60',
    ]);
    const refused = answers[3]!;
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit')).toMatch(/^"key";r=0;t=\d+$/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(refused.body.error).toMatchObject({
      code: -32004,
      data: { reason: 'rate_limited', limits: [{ policy: 'key', requests: 3, windowSeconds: 60 }] },
    });
    expect((await getCreditAccount(suite.gateway.database.db, org.orgId))?.balance).toBe(100_000n - 3n * TIER0_COST);
  });

  it('a JSON-RPC batch counts each of its calls: a batch that fits passes whole, one past what is left is refused whole, one past the limit never passes', async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    await suite.gateway.database.db.transaction((tx) =>
      updateKeyPolicy(tx, { keyId: org.apiKey.id, patch: { rateLimit: { requests: 5, windowSeconds: 60 } }, by: OPERATOR }),
    );
    const batch = (size: number) =>
      fetch(`${suite.baseUrl}/a2a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey.key}` },
        body: `[${Array.from({ length: size }, () => paidCallBody(1, randomUUID())).join(',')}]`,
      });
    const three = await batch(3);
    expect(three.status).toBe(200);
    expect(three.headers.get('ratelimit')).toBe('"key";r=2;t=60');
    const again = await batch(3);
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).not.toBeNull();
    const tooBig = await batch(6);
    expect(tooBig.status).toBe(429);
    expect(tooBig.headers.get('retry-after')).toBeNull();
    expect(((await tooBig.json()) as Served['body']).error?.data).toMatchObject({ reason: 'rate_limited', calls: 6 });
    expect((await batch(2)).status).toBe(200);
    expect((await getCreditAccount(suite.gateway.database.db, org.orgId))?.balance).toBe(100_000n - 5n * TIER0_COST);
  });

  it("an organization's limit counts the calls of all its keys together; a key without a limit carries no fields", async () => {
    const org = await suite.gateway.createOrg({ credits: 100_000n });
    const other = await createApiKey(suite.gateway.database.db, { orgId: org.orgId, name: 'second', by: OPERATOR });
    expect((await post(suite.baseUrl, org.apiKey.key)).headers.get('ratelimit-policy')).toBeNull();
    await suite.gateway.database.db.transaction((tx) =>
      updateOrgPolicy(tx, { orgId: org.orgId, patch: { rateLimit: { requests: 2, windowSeconds: 30 } }, by: OPERATOR }),
    );
    expect(completed(await post(suite.baseUrl, org.apiKey.key))).toBe(true);
    const second = await post(suite.baseUrl, other.key);
    expect(completed(second)).toBe(true);
    expect(second.headers.get('ratelimit')).toBe('"org";r=0;t=30');
    const refused = await post(suite.baseUrl, org.apiKey.key);
    expect(refused.status).toBe(429);
    expect(refused.body.error?.data).toMatchObject({ reason: 'rate_limited', limits: [{ policy: 'org', requests: 2, windowSeconds: 30 }] });
  });
});

describe(
  'rate limits across gateway processes, through Redis (PostgreSQL only: the gateways run as child processes)',
  needs('postgres'),
  () => {
    let database: TestDatabase;
    let org: NewOrganization;
    let redis: OwnRedis;
    const children: GatewayProcess[] = [];

    beforeAll(async () => {
      await buildGateway();
      database = await createTestDatabase();
      await seedDemoData(database.db, { now: new Date(), agents: 5 });
      org = await createOrganization(database.db, { name: 'limited', credits: 1_000_000n, by: OPERATOR });
      redis = await startOwnRedis();
    });
    afterAll(async () => {
      for (const child of children) await child.kill();
      await redis?.dispose();
      await database?.dispose();
    });

    it('two instances sharing a key limited to 20 a minute allow 20 in total', async () => {
      onTestFailed(() => console.error(outputsOf(children)));
      const key = await createApiKey(database.db, { orgId: org.orgId, name: 'shared', by: OPERATOR });
      await database.db.transaction((tx) =>
        updateKeyPolicy(tx, { keyId: key.id, patch: { rateLimit: { requests: 20, windowSeconds: 60 } }, by: OPERATOR }),
      );
      const env = { REDIS_URL: MACHINE_REDIS_URL };
      const a = startGatewayProcess({ name: 'a', databaseUrl: database.url as string, port: await freePort(), env });
      const b = startGatewayProcess({ name: 'b', databaseUrl: database.url as string, port: await freePort(), env });
      children.push(a, b);
      await Promise.all([waitReady(a), waitReady(b)]);
      const served = await Promise.all(Array.from({ length: 60 }, (_, i) => post((i % 2 === 0 ? a : b).baseUrl, key.key)));
      expect(served.filter(completed)).toHaveLength(20);
      expect(served.filter((one) => one.status === 429)).toHaveLength(40);
      expect(new Set(served.filter(completed).map((one) => one.headers.get('ratelimit-policy')))).toEqual(new Set(['"key";q=20;w=60']));
      await Promise.all([a.kill(), b.kill()]);
    });

    it('Redis stopped mid-run: calls go through with a logged warning; Redis back: the limit holds again', async () => {
      onTestFailed(() => console.error(outputsOf(children)));
      const key = await createApiKey(database.db, { orgId: org.orgId, name: 'own redis', by: OPERATOR });
      await database.db.transaction((tx) =>
        updateKeyPolicy(tx, { keyId: key.id, patch: { rateLimit: { requests: 3, windowSeconds: 60 } }, by: OPERATOR }),
      );
      const gateway = startGatewayProcess({
        name: 'c',
        databaseUrl: database.url as string,
        port: await freePort(),
        env: { REDIS_URL: redis.url },
      });
      children.push(gateway);
      await waitReady(gateway);

      const first = [];
      for (let i = 0; i < 4; i++) first.push(await post(gateway.baseUrl, key.key));
      expect(first.map((one) => one.status)).toEqual([200, 200, 200, 429]);

      await redis.stop();
      const whileDown = [];
      for (let i = 0; i < 5; i++) whileDown.push(await post(gateway.baseUrl, key.key));
      // failing open: answered, charged as any call, and the policy is still announced
      expect(whileDown.every(completed)).toBe(true);
      expect(whileDown[0]?.headers.get('ratelimit-policy')).toBe('"key";q=3;w=60');
      expect(whileDown[0]?.headers.get('ratelimit')).toBeNull();
      expect(gateway.output()).toMatch(/rate limits.*(fail|open)/i);

      await redis.start();
      // the restarted Redis kept nothing: counting starts again once the gateway has reconnected
      const refusedAgain = await pollUntil(
        'a refusal once Redis is back',
        async () => {
          const served = await post(gateway.baseUrl, key.key);
          return served.status === 429 ? served : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      );
      expect(refusedAgain.body.error?.data).toMatchObject({ reason: 'rate_limited' });
      await gateway.kill();
    });
  },
);
