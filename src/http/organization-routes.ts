import { Hono } from 'hono';
import { z } from 'zod';
import { createApiKey, EXPIRY_IN_PAST, isExpiryInPast, listApiKeys, revokeApiKey } from '../auth/api-keys.js';
import { addMember, listMembers, removeMember } from '../auth/members.js';
import { deleteLowBalanceAlert, getLowBalanceAlert, setLowBalanceAlert, type LowBalanceSettings } from '../billing/low-balance.js';
import { claimUnclaimedTopUps } from '../billing/topups.js';
import { isWebhookUrl } from '../webhooks/destination.js';
import { displayUsdc } from '../tools/money.js';
import type { Sessions } from '../auth/sessions.js';
import type { Database } from '../db/client.js';
import { boundedInstant } from '../db/ranges.js';
import { ApiError, jsonBody } from './api-errors.js';
import type { AppEnv } from './env.js';
import { requireSession } from './session-auth.js';
import type { Answer, keysAnswer, lowBalanceAnswer, memberAnswer, membersAnswer, newKeyAnswer } from './responses.js';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');

export const newMember = z.object({ address, role: z.enum(['owner', 'admin', 'viewer']) });

export const newKey = z.object({
  // A key's name is shown in lists: one line, no control characters.
  name: z.string().trim().min(1).max(100).regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters'),
  expiresAt: boundedInstant.optional(),
});

const keyId = z.uuid();

export const lowBalance = z.strictObject({
  thresholdMicroUsdc: z.string().regex(/^[1-9]\d{0,17}$/, 'a positive whole number of micro-USDC, as a string').transform(BigInt),
  webhookUrl: z.string().refine(isWebhookUrl, 'an http(s) URL without credentials').nullable().default(null),
});

function lowBalanceView(settings: LowBalanceSettings) {
  return {
    thresholdMicroUsdc: settings.threshold.toString(),
    thresholdDisplay: displayUsdc(settings.threshold),
    webhookUrl: settings.webhookUrl,
    below: settings.below,
    crossedAt: settings.crossedAt,
    lastError: settings.lastError,
  };
}

/** What a signed-in wallet manages for its organization: member wallets (owners) and API keys (admins). */
export function organizationRoutes(deps: { db: Database; sessions: Sessions }) {
  const viewer = requireSession(deps, 'viewer');
  const admin = requireSession(deps, 'admin');
  const owner = requireSession(deps, 'owner');
  return new Hono<AppEnv>()
    .get('/v1/members', viewer, async (c) => c.json({ members: await listMembers(deps.db, c.get('member').orgId) } satisfies Answer<typeof membersAnswer>))
    .post('/v1/members', owner, async (c) => {
      const body = await jsonBody(c, newMember);
      const me = c.get('member');
      const added = await addMember(deps.db, { orgId: me.orgId, address: body.address, role: body.role, addedBy: me.address });
      if (!added.ok) {
        throw new ApiError(
          'conflict',
          added.reason === 'already_member'
            ? 'the wallet is already a member of this organization'
            : 'the wallet belongs to another organization; a wallet is a member of one',
          added.reason,
        );
      }
      await claimUnclaimedTopUps(deps.db, added.member.address);
      return c.json({ member: added.member } satisfies Answer<typeof memberAnswer>, 201);
    })
    .delete('/v1/members/:address', owner, async (c) => {
      const target = address.safeParse(c.req.param('address'));
      if (!target.success) throw new ApiError('invalid_request', 'the path must name a 0x-prefixed 20-byte address', 'invalid_address');
      const removed = await removeMember(deps.db, { orgId: c.get('member').orgId, address: target.data });
      if (!removed.ok && removed.reason === 'not_a_member') throw new ApiError('not_found', 'no such member in this organization', 'not_a_member');
      if (!removed.ok) throw new ApiError('conflict', 'the last owner cannot be removed; make another wallet owner first', 'last_owner');
      return c.body(null, 204);
    })
    .get('/v1/alerts/low-balance', viewer, async (c) => {
      const settings = await getLowBalanceAlert(deps.db, c.get('member').orgId);
      if (!settings) throw new ApiError('not_found', 'no low-balance alert is set', 'no_alert');
      return c.json(lowBalanceView(settings) satisfies Answer<typeof lowBalanceAnswer>);
    })
    .put('/v1/alerts/low-balance', admin, async (c) => {
      const body = await jsonBody(c, lowBalance);
      const settings = await setLowBalanceAlert(deps.db, { orgId: c.get('member').orgId, threshold: body.thresholdMicroUsdc, webhookUrl: body.webhookUrl });
      // The signing secret is in this response only.
      return c.json({ ...lowBalanceView(settings), ...(settings.secret ? { webhookSecret: settings.secret } : {}) } satisfies Answer<typeof lowBalanceAnswer>);
    })
    .delete('/v1/alerts/low-balance', admin, async (c) => {
      if (!(await deleteLowBalanceAlert(deps.db, c.get('member').orgId))) throw new ApiError('not_found', 'no low-balance alert is set', 'no_alert');
      return c.body(null, 204);
    })
    .get('/v1/keys', viewer, async (c) => c.json({ keys: await listApiKeys(deps.db, c.get('member').orgId) } satisfies Answer<typeof keysAnswer>))
    .post('/v1/keys', admin, async (c) => {
      const body = await jsonBody(c, newKey);
      if (isExpiryInPast(body.expiresAt)) throw new ApiError('invalid_request', EXPIRY_IN_PAST.message, EXPIRY_IN_PAST.reason);
      const member = c.get('member');
      const issued = await createApiKey(deps.db, { orgId: member.orgId, name: body.name, expiresAt: body.expiresAt });
      c.get('log').info({ org: member.orgId, keyId: issued.id, by: member.address }, 'api key created');
      // The key itself is in this response only; it is stored as a hash.
      return c.json({ key: issued.key, id: issued.id, name: issued.name, prefix: issued.prefix, expiresAt: issued.expiresAt } satisfies Answer<typeof newKeyAnswer>, 201);
    })
    .delete('/v1/keys/:id', admin, async (c) => {
      const id = keyId.safeParse(c.req.param('id'));
      // Another organization's key is "not found" too: nothing tells one organization about another's keys.
      if (!id.success || !(await revokeApiKey(deps.db, { keyId: id.data, orgId: c.get('member').orgId }))) {
        throw new ApiError('not_found', 'no such API key in this organization', 'unknown_key');
      }
      c.get('log').info({ org: c.get('member').orgId, keyId: id.data, by: c.get('member').address }, 'api key revoked');
      return c.body(null, 204);
    });
}
