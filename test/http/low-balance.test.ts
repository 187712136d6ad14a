import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import pino from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { grantCredits } from '../../src/billing/accounts.js';
import { signalLowBalances } from '../../src/billing/low-balance.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { call, expectResult, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type LoopbackServer, listenOnLoopback } from '../helpers/loopback.js';
import { rest, type SignedIn, signIn } from '../helpers/sign-in.js';

const quietLog = pino({ level: 'silent' });

describe('low-balance signal', () => {
  let gateway: TestGateway;
  let owner: SignedIn;
  let key: string;
  let server: Server;
  let receiver: LoopbackServer | undefined;
  let hookUrl: string;
  const hits: { headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 2, feedbacksPerAgent: 3, validationsPerAgent: 1 });
    owner = await signIn(gateway, privateKeyToAccount(generatePrivateKey()));
    await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 100_000n, reason: 'test', by: OPERATOR });
    key = ((await (await rest(gateway, 'POST', '/v1/keys', { name: 'agent' }, owner.token)).json()) as { key: string }).key;
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
    receiver = await listenOnLoopback(server);
    hookUrl = `${receiver.baseUrl}/low`;
  });
  afterAll(async () => {
    await receiver?.close();
    await gateway?.close();
  });

  const spend = async (calls: number) => {
    for (let n = 0; n < calls; n++) {
      expectResult(await call(gateway, request('SendMessage', v1Send([v1Data(toolCall('getReputationSummary', { agentId: 1 }))])), key));
    }
  };
  const balance = async () =>
    (await (await rest(gateway, 'GET', '/v1/balance', undefined, key)).json()) as {
      availableMicroUsdc: string;
      lowBalance: { below: boolean } | null;
    };
  const pass = () => signalLowBalances({ db: gateway.database.db, log: quietLog, allowPrivateNetworks: true });

  it('shows the crossing on the balance and posts one signed notice per crossing', async () => {
    const set = await rest(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '50000', webhookUrl: hookUrl }, owner.token);
    expect(set.status).toBe(200);
    const settings = (await set.json()) as { thresholdMicroUsdc: string; webhookSecret: string };
    expect(settings.thresholdMicroUsdc).toBe('50000');
    expect(settings.webhookSecret).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await balance()).lowBalance).toEqual({ thresholdMicroUsdc: '50000', below: false });

    await spend(6); // 100,000 − 6 × 10,000 = 40,000 < 50,000
    expect(await balance()).toMatchObject({ availableMicroUsdc: '40000', lowBalance: { below: true } });
    await pass();
    await pass();
    expect(hits).toHaveLength(1);
    const notice = JSON.parse(hits[0]?.body ?? '{}');
    expect(notice).toMatchObject({ type: 'low_balance', orgId: owner.orgId, availableMicroUsdc: '40000', thresholdMicroUsdc: '50000' });
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hits[0]?.headers['x-a2a-paygate-signature']));
    expect(match?.[2]).toBe(createHmac('sha256', settings.webhookSecret).update(`${match?.[1]}.${hits[0]?.body}`).digest('hex'));

    await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: 30_000n, reason: 'top up', by: OPERATOR });
    await pass();
    expect(hits).toHaveLength(1);
    await spend(3); // 70,000 → 40,000: a second crossing
    await pass();
    expect(hits).toHaveLength(2);
  });

  it('refuses bad settings with 400 and settings changes from a viewer with 403', async () => {
    const bad = await rest(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '-5' }, owner.token);
    expect(bad.status).toBe(400);
    const badUrl = await rest(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '5', webhookUrl: 'ftp://x' }, owner.token);
    expect(badUrl.status).toBe(400);
    const viewerWallet = privateKeyToAccount(generatePrivateKey());
    await rest(gateway, 'POST', '/v1/members', { address: viewerWallet.address, role: 'viewer' }, owner.token);
    const viewer = await signIn(gateway, viewerWallet);
    expect((await rest(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '5' }, viewer.token)).status).toBe(403);
    expect((await rest(gateway, 'GET', '/v1/alerts/low-balance', undefined, viewer.token)).status).toBe(200);
  });

  it('an owner removes the alert: the balance shows none, and removing it again is a 404', async () => {
    expect((await rest(gateway, 'PUT', '/v1/alerts/low-balance', { thresholdMicroUsdc: '5' }, owner.token)).status).toBe(200);
    const removed = await rest(gateway, 'DELETE', '/v1/alerts/low-balance', undefined, owner.token);
    expect(removed.status).toBe(204);
    expect((await balance()).lowBalance).toBeNull();
    expect((await rest(gateway, 'GET', '/v1/alerts/low-balance', undefined, owner.token)).status).toBe(404);
    const again = await rest(gateway, 'DELETE', '/v1/alerts/low-balance', undefined, owner.token);
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: { code: 'not_found', reason: 'no_alert' } });
  });
});
