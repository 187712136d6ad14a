import { createServer, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { getLowBalanceAlert, setLowBalanceAlert, signalLowBalances } from '../../src/billing/low-balance.js';
import { MAX_WEBHOOK_ATTEMPTS } from '../../src/webhooks/webhook.js';
import { capturedLog } from '../helpers/captured-log.js';
import { checkLedgerAfterEach, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type LoopbackServer, listenOnLoopback } from '../helpers/loopback.js';

const quietLog = pino({ level: 'silent' });

/**
 * What an operator relies on when the low-balance receiver misbehaves: a failed delivery is
 * recorded and retried, a delivered notice is never sent again, and a receiver that never answers
 * well gets a bounded number of tries.
 */
describe('low-balance notice delivery', () => {
  let gateway: TestGateway;
  let server: Server;
  let receiver: LoopbackServer | undefined;
  /** the status the receiver answers, per path */
  const answers = new Map<string, number>();
  const hits: string[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway();
    server = createServer(async (req, res) => {
      for await (const _chunk of req); // read the whole body before answering
      hits.push(req.url ?? '');
      res.writeHead(answers.get(req.url ?? '') ?? 404).end();
    });
    receiver = await listenOnLoopback(server);
  });
  afterAll(async () => {
    await receiver?.close();
    await gateway?.close();
  });
  checkLedgerAfterEach(() => [gateway]);

  const pass = () => signalLowBalances({ db: gateway.database.db, log: quietLog, allowPrivateNetworks: true });
  const hitsOn = (path: string) => hits.filter((hit) => hit === path).length;
  /** Moves an alert's retry time to now, as if its backoff had passed. */
  const backoffPassed = (orgId: string) =>
    gateway.database.db.run(sql`update low_balance_alerts set next_attempt_at = now() where org_id = ${orgId}`);

  /** An organization whose available credit (10,000) is already under its alert's threshold. */
  async function orgBelowThreshold(path: string): Promise<string> {
    const org = await gateway.createOrg({ credits: 10_000n });
    await setLowBalanceAlert(gateway.database.db, {
      orgId: org.orgId,
      threshold: 50_000n,
      webhookUrl: `${receiver?.baseUrl}${path}`,
      by: OPERATOR,
    });
    return org.orgId;
  }

  it('records a failed delivery, retries it after the backoff, and never resends a delivered notice', async () => {
    const orgId = await orgBelowThreshold('/flaky');
    answers.set('/flaky', 503);

    await pass();
    expect(hitsOn('/flaky')).toBe(1);
    expect((await getLowBalanceAlert(gateway.database.db, orgId))?.lastError).toBe('the webhook answered HTTP 503');

    answers.set('/flaky', 204);
    await backoffPassed(orgId);
    await pass();
    expect(hitsOn('/flaky')).toBe(2);
    expect(await getLowBalanceAlert(gateway.database.db, orgId)).toMatchObject({ below: true, lastError: null });

    // a minute later (the claim's own retry time), the delivered notice is not owed any more
    await backoffPassed(orgId);
    await pass();
    expect(hitsOn('/flaky')).toBe(2);
  });

  it(`gives up after ${MAX_WEBHOOK_ATTEMPTS} failed tries of one notice`, async () => {
    const orgId = await orgBelowThreshold('/down');
    answers.set('/down', 500);

    for (let attempt = 1; attempt <= MAX_WEBHOOK_ATTEMPTS + 2; attempt++) {
      await pass();
      expect(hitsOn('/down')).toBe(Math.min(attempt, MAX_WEBHOOK_ATTEMPTS));
      await backoffPassed(orgId);
    }
    expect((await getLowBalanceAlert(gateway.database.db, orgId))?.lastError).toBe('the webhook answered HTTP 500');
  });

  it('a failed delivery is a warning naming the organization, and its error is kept to 500 characters', async () => {
    // A name no resolver answers (over DNS's 253 characters): the resolver's error repeats it.
    const host = `${Array.from({ length: 10 }, () => 'a'.repeat(60)).join('.')}.invalid`;
    const org = await gateway.createOrg({ credits: 10_000n });
    await setLowBalanceAlert(gateway.database.db, {
      orgId: org.orgId,
      threshold: 50_000n,
      webhookUrl: `http://${host}/hook`,
      by: OPERATOR,
    });
    const { log, lines } = capturedLog('info');
    await signalLowBalances({ db: gateway.database.db, log, allowPrivateNetworks: true });

    const lastError = (await getLowBalanceAlert(gateway.database.db, org.orgId))?.lastError ?? '';
    expect(lastError).toHaveLength(500);
    expect(lastError).toContain('aaaa');
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: 'low-balance webhook failed; will retry', org: org.orgId })]);
  });
});
