import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CallDecision } from '../limits/rate-limiter.js';

/** A tools/call over the key's or organization's rate limit: a free refusal the model reads, with when to try again. */
export function rateLimitedResult(decision: CallDecision): CallToolResult {
  const exceeded = decision.counted ? decision.quotas.filter((quota) => quota.exceeded) : [];
  const retryAfterSeconds = decision.counted ? decision.retryAfterSeconds : undefined;
  const limits = exceeded.map((quota) => ({
    policy: quota.policy,
    requests: quota.limit.requests,
    windowSeconds: quota.limit.windowSeconds,
  }));
  const said = limits.map((limit) => `${limit.requests} calls per ${limit.windowSeconds} s (${limit.policy})`).join(' and ');
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `rate_limited: too many calls for this API key or its organization${said ? `, limited to ${said}` : ''}${
          retryAfterSeconds === undefined ? '' : `; try again in ${retryAfterSeconds} s`
        }. Nothing was charged.`,
      },
    ],
    _meta: {
      reason: 'rate_limited',
      details: { limits, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) },
      charged: false,
      costMicroUsdc: '0',
    },
  };
}
