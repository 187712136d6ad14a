import { z } from 'zod';
import { TASK_STATES } from '../domain/task-model.js';
import { LEDGER_KINDS } from '../billing/ledger.js';
import { API_ERROR_CODES } from './api-errors.js';

/**
 * What the REST API answers, route by route. The handlers' answers are typed by these schemas
 * (`Answer<typeof …>`), /openapi.json documents them, and the API tests check every real answer
 * against them, so the three cannot drift apart.
 */
export type Answer<Schema extends z.ZodType> = z.input<Schema>;

const micro = z.string().regex(/^-?\d+$/).describe('an amount in micro-USDC (1 USDC = 1,000,000), as a decimal string');
const display = z.string().describe('the amount for people, e.g. "1.25 USDC"');
const instant = z.iso.datetime({ offset: true });
const address = z.string().regex(/^0x[0-9a-f]{40}$/).describe('a wallet address, lower-case 0x-hex');
const role = z.enum(['owner', 'admin', 'viewer']);

export const errorAnswer = z.strictObject({
  error: z.strictObject({
    code: z.enum(API_ERROR_CODES),
    message: z.string(),
    reason: z.string().optional().describe('a machine-readable cause within the code, e.g. wrong_domain'),
    details: z.unknown().optional().describe('for invalid_request: each problem, by path'),
    requestId: z.string().optional().describe('the X-Request-Id of this request, to find it in the logs'),
  }),
});

export const nonceAnswer = z.strictObject({ nonce: z.string(), expiresAt: instant, domain: z.string(), chainId: z.number().int() });

export const sessionAnswer = z.strictObject({
  token: z.string().describe('the session token: send it as Authorization: Bearer'),
  expiresAt: instant,
  address,
  orgId: z.uuid(),
  role,
  organizationCreated: z.boolean().describe('true when this sign-in created the organization'),
});

export const whoAmIAnswer = z.strictObject({ address, orgId: z.uuid(), role });

const member = z.strictObject({ address, orgId: z.uuid(), role, addedBy: address.nullable(), createdAt: instant });
export const membersAnswer = z.strictObject({ members: z.array(member) });
export const memberAnswer = z.strictObject({ member });

export const keysAnswer = z.strictObject({
  keys: z.array(z.strictObject({ id: z.uuid(), name: z.string(), prefix: z.string(), createdAt: instant, expiresAt: instant.nullable(), revokedAt: instant.nullable() })),
});
export const newKeyAnswer = z.strictObject({
  key: z.string().describe('the API key itself, shown in this answer only'),
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  expiresAt: instant.nullable(),
});

export const lowBalanceAnswer = z.strictObject({
  thresholdMicroUsdc: micro,
  thresholdDisplay: display,
  webhookUrl: z.string().nullable(),
  below: z.boolean().describe('available credit is under the threshold'),
  crossedAt: instant.nullable().describe('when it last went under'),
  lastError: z.string().nullable().describe('why the last webhook delivery failed'),
  webhookSecret: z.string().optional().describe('the HMAC key of the webhook signature, in the answer that set it only'),
});

const topUp = z.strictObject({
  id: z.string(),
  chainId: z.number().int(),
  txHash: z.string(),
  logIndex: z.number().int(),
  blockNumber: z.string(),
  from: address,
  amountMicroUsdc: micro,
  amountDisplay: display,
  status: z.enum(['credited', 'unclaimed']),
  source: z.enum(['submitted', 'watcher']),
  createdAt: instant,
  creditedAt: instant.nullable(),
});
export const topUpsAnswer = z.strictObject({ topups: z.array(topUp), nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last') });
export const topUpCreditedAnswer = z.strictObject({
  status: z.literal('credited'),
  creditedNow: z.boolean().describe('false when an earlier submission or the watcher had credited it already'),
  topups: z.array(topUp),
});
export const topUpPendingAnswer = z.strictObject({ status: z.literal('pending'), confirmations: z.number().int(), required: z.number().int() });

export const configAnswer = z.strictObject({
  topUps: z
    .strictObject({ chainId: z.number().int(), usdc: address, treasury: address, confirmations: z.number().int() })
    .nullable()
    .describe('null when this gateway takes no on-chain top-ups'),
});

export const toolsAnswer = z.strictObject({
  tools: z.array(
    z.strictObject({
      name: z.string(),
      tier: z.number().int(),
      tier_name: z.string(),
      cost_micro_usdc: micro,
      cost_display: display,
      description: z.string(),
      version: z.string(),
      enabled: z.boolean(),
      disabled_reason: z.string().optional(),
      arguments_schema: z.record(z.string(), z.unknown()).describe('JSON Schema of the tool arguments'),
      example: z.strictObject({ tool: z.string(), arguments: z.record(z.string(), z.unknown()) }),
    }),
  ),
});

export const indexerAnswer = z.strictObject({
  indexer: z
    .strictObject({
      chainId: z.number().int(),
      indexedBlock: z.string().describe('the last block read: its events are in the answers of the tools'),
      finalBlock: z.string().describe('the last block with its confirmations'),
      headBlock: z.string().nullable().describe('the chain head at the last look'),
      lagBlocks: z.number().int().nullable(),
      checkedAt: instant.nullable(),
    })
    .nullable()
    .describe('null when this gateway indexes no chain, or before the first pass'),
});

export const balanceAnswer = z.strictObject({
  orgId: z.uuid(),
  balanceMicroUsdc: micro,
  reservedMicroUsdc: micro.describe('held for calls still running'),
  availableMicroUsdc: micro.describe('balance − reserved: what new calls can spend'),
  balanceDisplay: display,
  reservedDisplay: display,
  availableDisplay: display,
  lowBalance: z.strictObject({ thresholdMicroUsdc: micro, below: z.boolean() }).nullable(),
});

export const ledgerAnswer = z.strictObject({
  entries: z.array(
    z.strictObject({
      id: z.string(),
      kind: z.enum(LEDGER_KINDS),
      amountMicroUsdc: micro.describe('the change of the balance'),
      amountDisplay: display,
      reservedDeltaMicroUsdc: micro.describe('the change of the reserved amount'),
      taskId: z.uuid().nullable(),
      reason: z.string().nullable(),
      createdAt: instant,
    }),
  ),
  nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last'),
});

export const usageAnswer = z.strictObject({
  by: z.enum(['tool', 'tier', 'day']),
  usage: z.array(
    z.strictObject({
      key: z.string().describe('the tool, the tier or the UTC day (YYYY-MM-DD)'),
      calls: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int().describe('failed, cancelled or rejected: never charged'),
      spentMicroUsdc: micro,
      spentDisplay: display,
      successRate: z.number().nullable(),
      p50Ms: z.number().nullable(),
      p95Ms: z.number().nullable(),
    }),
  ),
});

const part = z
  .object({ kind: z.enum(['text', 'data', 'file']), text: z.string().optional(), data: z.unknown().optional() })
  .describe('an A2A part: text, data (JSON) or file');
const message = z.object({ messageId: z.string(), role: z.enum(['user', 'agent']), parts: z.array(part) }).describe('an A2A message');
const artifact = z.object({ artifactId: z.string(), name: z.string(), parts: z.array(part) });

const taskSummary = {
  id: z.uuid(),
  contextId: z.string(),
  state: z.enum(TASK_STATES),
  timestamp: instant.describe('the last state change'),
  tool: z.string().nullable(),
  createdAt: instant,
  statusMessage: message.optional().describe('why it failed or what input it needs'),
  artifacts: z.array(artifact).describe("the tool's result"),
  history: z.array(message),
  metadata: z.strictObject({
    tool: z.string().optional(),
    cost_micro_usdc: micro,
    cost_display: display,
    charged: z.boolean(),
    duration_ms: z.number().int().optional(),
  }),
};
export const tasksAnswer = z.strictObject({
  tasks: z.array(z.strictObject(taskSummary)),
  nextCursor: z.string().nullable(),
  total: z.number().int().describe('how many tasks match the filters'),
});
export const taskAnswer = z.strictObject({ ...taskSummary, arguments: z.unknown() });
