import { z } from 'zod';
import { deleteLowBalanceAlert, getLowBalanceAlert, type LowBalanceSettings, setLowBalanceAlert } from '../../billing/low-balance.js';
import type { Database } from '../../db/client.js';
import { displayUsdc } from '../../tools/money.js';
import { isWebhookUrl } from '../../webhooks/destination.js';
import { ApiError } from '../api-errors.js';
import { display, instant, micro } from '../responses.js';
import { json, jsonRequest, type RestRouter, restRoute } from '../rest-route.js';
import { sessionActor } from '../session-auth.js';

const lowBalance = z.strictObject({
  thresholdMicroUsdc: z
    .string()
    .regex(/^[1-9]\d{0,17}$/, 'a positive whole number of micro-USDC, as a string')
    .transform(BigInt),
  webhookUrl: z.string().refine(isWebhookUrl, 'an http(s) URL without credentials').nullable().default(null),
});

const lowBalanceAnswer = z.strictObject({
  thresholdMicroUsdc: micro,
  thresholdDisplay: display,
  webhookUrl: z.string().nullable(),
  below: z.boolean().describe('available credit is under the threshold'),
  crossedAt: instant.nullable().describe('when it last went under'),
  lastError: z.string().nullable().describe('why the last webhook delivery failed'),
  webhookSecret: z.string().optional().describe('the HMAC key of the webhook signature, in the answer that set it only'),
});

export const lowBalanceRoute = restRoute({
  method: 'get',
  path: '/v1/alerts/low-balance',
  summary: 'The low-balance threshold and webhook',
  access: { session: 'viewer' },
  refusals: [404],
  responses: { 200: json(lowBalanceAnswer, 'the settings') },
});

export const setLowBalanceRoute = restRoute({
  method: 'put',
  path: '/v1/alerts/low-balance',
  summary: 'Set the low-balance threshold and webhook (admins); the signing secret is in this answer only',
  access: { session: 'admin' },
  request: jsonRequest(lowBalance),
  responses: { 200: json(lowBalanceAnswer, 'the settings') },
});

export const removeLowBalanceRoute = restRoute({
  method: 'delete',
  path: '/v1/alerts/low-balance',
  summary: 'Remove the low-balance signal (admins)',
  access: { session: 'admin' },
  refusals: [404],
  responses: { 204: { description: 'removed' } },
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

/** The organization's low-balance signal: every member reads it, admins set and remove it. */
export function addLowBalanceRoutes(api: RestRouter, deps: { db: Database }) {
  api.add(lowBalanceRoute, async (c) => {
    const settings = await getLowBalanceAlert(deps.db, c.get('member').orgId);
    if (!settings) throw new ApiError('not_found', 'no low-balance alert is set', 'no_alert');
    return c.json(lowBalanceView(settings), 200);
  });
  api.add(setLowBalanceRoute, async (c) => {
    const body = c.req.valid('json');
    const settings = await setLowBalanceAlert(deps.db, {
      orgId: c.get('member').orgId,
      threshold: body.thresholdMicroUsdc,
      webhookUrl: body.webhookUrl,
      by: sessionActor(c),
    });
    // The signing secret is in this response only.
    return c.json({ ...lowBalanceView(settings), ...(settings.secret ? { webhookSecret: settings.secret } : {}) }, 200);
  });
  api.add(removeLowBalanceRoute, async (c) => {
    if (!(await deleteLowBalanceAlert(deps.db, { orgId: c.get('member').orgId, by: sessionActor(c) })))
      throw new ApiError('not_found', 'no low-balance alert is set', 'no_alert');
    return c.body(null, 204);
  });
}
