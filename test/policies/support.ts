import { randomUUID } from 'node:crypto';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { expect } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { grantCredits } from '../../src/billing/accounts.js';
import type { TestGateway } from '../helpers/gateway.js';
import { rest, type SignedIn, signIn } from '../helpers/sign-in.js';

/** A wallet's own organization (it signs in as owner), funded with `credits` micro-USDC. */
export async function walletOrg(gateway: TestGateway, credits: bigint): Promise<SignedIn> {
  const owner = await signIn(gateway, privateKeyToAccount(generatePrivateKey()));
  if (credits > 0n) await grantCredits(gateway.database.db, { orgId: owner.orgId, amount: credits, reason: 'test credits', by: OPERATOR });
  return owner;
}

export interface CreatedKey {
  id: string;
  key: string;
  policy: Record<string, unknown>;
}

/** POST /v1/keys with a policy, as the organization's owner. */
export async function createKey(gateway: TestGateway, owner: SignedIn, body: Record<string, unknown>): Promise<CreatedKey> {
  const response = await rest(gateway, 'POST', '/v1/keys', { name: 'agent', ...body }, owner.token);
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as CreatedKey;
}

/** A paid call of `tool` as a 0.3 JSON-RPC body (no A2A-Version header: 0.3 errors, `data.reason`). */
export function paidCall(tool: string, args: Record<string, unknown> = { agentId: 1 }, messageId = randomUUID()) {
  return {
    jsonrpc: '2.0',
    id: messageId,
    method: 'message/send',
    params: { message: { kind: 'message', messageId, role: 'user', parts: [{ kind: 'data', data: { tool, arguments: args } }] } },
  };
}

export interface CallAnswer {
  result?: { kind: string; status: { state: string }; metadata?: Record<string, unknown> };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}
