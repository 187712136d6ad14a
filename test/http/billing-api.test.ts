import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { call, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest, signIn } from '../helpers/sign-in.js';

const CREDITS = 5_000_000n;

interface ErrorBody {
  error: { code: string; reason?: string; details?: { path: string }[] };
}

describe('billing REST API', () => {
  let gateway: TestGateway;
  let org: NewOrganization;
  let other: NewOrganization;
  const get = async (path: string, token = org.apiKey.key) => rest(gateway, 'GET', path, undefined, token);
  const json = async <T>(path: string, token?: string) => {
    const response = await get(path, token);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    gateway = await startTestGateway();
    await seedDemoData(gateway.database.db, { now: new Date(), agents: 3, feedbacksPerAgent: 5, validationsPerAgent: 2 });
    org = await gateway.createOrg({ credits: CREDITS });
    other = await gateway.createOrg({ credits: CREDITS });
    const paid = async (key: string, tool: string, args: Record<string, unknown>) =>
      call(gateway, request('SendMessage', v1Send([v1Data(toolCall(tool, args))])), key);
    for (let n = 0; n < 3; n++) await paid(org.apiKey.key, 'getAgentProfile', { agentId: 1 });
    await paid(org.apiKey.key, 'getReputationSummary', { agentId: 2 });
    await paid(org.apiKey.key, 'getAgentProfile', { agentId: 999_999 }); // unknown agent: failed, not charged
    await paid(other.apiKey.key, 'getTrend', { agentId: 1 });
  });
  afterAll(() => gateway.close());

  it('balance: balance, reserved and available with display strings', async () => {
    expect(await json('/v1/balance')).toEqual({
      orgId: org.orgId,
      balanceMicroUsdc: '4987000',
      reservedMicroUsdc: '0',
      availableMicroUsdc: '4987000',
      balanceDisplay: '4.987 USDC',
      reservedDisplay: '0.00 USDC',
      availableDisplay: '4.987 USDC',
      lowBalance: null,
    });
  });

  it('ledger: newest first, cursor pages, kind and time filters', async () => {
    const all = await json<{ entries: { id: string; kind: string; amountMicroUsdc: string }[]; nextCursor: string | null }>('/v1/ledger');
    expect(all.entries.map((entry) => entry.kind)).toEqual(['charge', 'charge', 'charge', 'charge', 'grant']);
    expect(all.nextCursor).toBeNull();

    const first = await json<{ entries: { id: string }[]; nextCursor: string }>('/v1/ledger?limit=2');
    const second = await json<{ entries: { id: string }[]; nextCursor: string | null }>(`/v1/ledger?limit=2&cursor=${first.nextCursor}`);
    const third = await json<{ entries: { id: string }[]; nextCursor: string | null }>(`/v1/ledger?limit=2&cursor=${second.nextCursor}`);
    expect([...first.entries, ...second.entries, ...third.entries].map((entry) => entry.id)).toEqual(all.entries.map((entry) => entry.id));

    const grants = await json<{ entries: { kind: string; amountMicroUsdc: string }[] }>('/v1/ledger?kind=grant');
    expect(grants.entries).toEqual([expect.objectContaining({ kind: 'grant', amountMicroUsdc: String(CREDITS) })]);
    const future = await json<{ entries: unknown[] }>(`/v1/ledger?from=${new Date(Date.now() + 3_600_000).toISOString()}`);
    expect(future.entries).toEqual([]);
    const past = await json<{ entries: unknown[] }>(`/v1/ledger?to=${new Date(Date.now() - 3_600_000).toISOString()}`);
    expect(past.entries).toEqual([]);
    const charges = await json<{ entries: { kind: string }[] }>(
      `/v1/ledger?kind=charge&to=${new Date(Date.now() + 3_600_000).toISOString()}`,
    );
    expect(charges.entries.map((entry) => entry.kind)).toEqual(['charge', 'charge', 'charge', 'charge']);
    const both = await json<{ entries: { kind: string }[] }>('/v1/ledger?kind=grant,charge');
    expect(both.entries.map((entry) => entry.kind)).toEqual(['charge', 'charge', 'charge', 'charge', 'grant']);
  });

  it('usage by tool, tier and day: calls, succeeded, failed, spent, success rate, latency percentiles', async () => {
    const byTool = await json<{ usage: Record<string, unknown>[] }>('/v1/usage?by=tool');
    expect(byTool.usage).toEqual([
      expect.objectContaining({ key: 'getAgentProfile', calls: 4, succeeded: 3, failed: 1, spentMicroUsdc: '3000', successRate: 0.75 }),
      expect.objectContaining({ key: 'getReputationSummary', calls: 1, succeeded: 1, failed: 0, spentMicroUsdc: '10000', successRate: 1 }),
    ]);
    expect(typeof byTool.usage[0]?.p50Ms).toBe('number');
    const byTier = await json<{ usage: { key: string; calls: number }[] }>('/v1/usage?by=tier');
    expect(byTier.usage.map((row) => [row.key, row.calls])).toEqual([
      ['0', 4],
      ['1', 1],
    ]);
    const byDay = await json<{ usage: { key: string; calls: number }[] }>('/v1/usage?by=day');
    expect(byDay.usage).toEqual([expect.objectContaining({ key: new Date().toISOString().slice(0, 10), calls: 5 })]);
  });

  it('CSV exports hold the same rows as the JSON', async () => {
    const ledger = await json<{ entries: { id: string; amountMicroUsdc: string; kind: string }[] }>('/v1/ledger');
    const csv = await (await get('/v1/ledger.csv')).text();
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,created_at,kind,amount_micro_usdc,reserved_delta_micro_usdc,task_id,reason,tool');
    expect(lines.slice(1).map((line) => line.split(',').slice(0, 4))).toEqual(
      ledger.entries.map((entry) => [entry.id, expect.any(String), entry.kind, entry.amountMicroUsdc]),
    );
    const usage = await (await get('/v1/usage.csv?by=tool')).text();
    expect(usage.split('\r\n')[1]).toMatch(/^getAgentProfile,4,3,1,3000,0\.75,/);
  });

  it('tasks: filters, cursor pages and one task; another organization’s are never seen', async () => {
    const failed = await json<{ tasks: { id: string; state: string; tool: string }[]; total: number }>('/v1/tasks?state=failed');
    expect(failed.total).toBe(1);
    expect(failed.tasks[0]).toMatchObject({ state: 'failed', tool: 'getAgentProfile' });
    const profiles = await json<{ total: number }>('/v1/tasks?tool=getAgentProfile');
    expect(profiles.total).toBe(4);

    const first = await json<{ tasks: { id: string }[]; nextCursor: string }>('/v1/tasks?limit=3');
    const rest2 = await json<{ tasks: { id: string }[]; nextCursor: string | null }>(
      `/v1/tasks?limit=3&cursor=${encodeURIComponent(first.nextCursor)}`,
    );
    expect(first.tasks).toHaveLength(3);
    expect(rest2.tasks).toHaveLength(2);
    expect(rest2.nextCursor).toBeNull();

    const one = await json<{ id: string; tool: string; state: string }>(`/v1/tasks/${first.tasks[0]?.id}`);
    expect(one.id).toBe(first.tasks[0]?.id);
    const theirs = await json<{ tasks: { id: string }[] }>('/v1/tasks', other.apiKey.key);
    expect(theirs.tasks).toHaveLength(1);
    const response = await get(`/v1/tasks/${theirs.tasks[0]?.id}`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as ErrorBody).error.reason).toBe('unknown_task');
    const theirLedger = await json<{ entries: { kind: string }[] }>('/v1/ledger', other.apiKey.key);
    expect(theirLedger.entries.map((entry) => entry.kind)).toEqual(['charge', 'grant']);
  });

  it('bad query parameters are a clear 400 naming them', async () => {
    for (const path of [
      '/v1/ledger?limit=0',
      '/v1/ledger?kind=refund',
      '/v1/ledger?from=yesterday',
      '/v1/ledger?cursor=abc',
      '/v1/usage?by=week',
      '/v1/tasks?state=done',
      '/v1/tasks?cursor=forged',
      '/v1/tasks?color=red',
      '/v1/tasks?tool=%00',
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.code, path).toBe('invalid_request');
      expect(body.error.reason, path).toBe('invalid_query');
    }
  });

  it('a wallet session reads its own organization; no credential is a 401', async () => {
    const session = await signIn(gateway, privateKeyToAccount(generatePrivateKey()));
    const balance = await json<{ orgId: string; balanceMicroUsdc: string }>('/v1/balance', session.token);
    expect(balance).toMatchObject({ orgId: session.orgId, balanceMicroUsdc: '0' });
    expect((await json<{ entries: unknown[] }>('/v1/ledger', session.token)).entries).toEqual([]);
    expect((await rest(gateway, 'GET', '/v1/balance')).status).toBe(401);
    expect((await get('/v1/balance', 'apg_not-a-key')).status).toBe(401);
  });
});
