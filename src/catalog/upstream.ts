import { randomBytes } from 'node:crypto';
import { ToolFailure } from '../domain/errors.js';
import { traceHeaders } from '../tracing/spans.js';
import { boundedText } from '../webhooks/bounded-text.js';
import { PrivateDestinationError, type Resolve, resolveDestination } from '../webhooks/destination.js';
import { pinnedFetch } from '../webhooks/pinned-fetch.js';
import { signature } from '../webhooks/webhook.js';

/**
 * One call of a catalog tool's upstream (issue 19): a signed JSON POST to the provider, guarded as
 * webhooks are (no private networks unless allowed, connecting to the very address that was
 * checked, no redirects), that answers only a 2xx JSON object its result schema accepts. Every
 * other outcome is an UpstreamFailure, which the call path records as a failed task with nothing
 * charged.
 */

/** The header the gateway's HMAC-SHA256 signature travels in: `t=<unix s>,v1=<hex of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'x-paygate-signature';
export const TASK_ID_HEADER = 'x-paygate-task-id';
/** The most an upstream answer may hold; a larger one is a failure, read no further. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export type UpstreamFailureKind =
  | 'private_destination'
  | 'unreachable'
  | 'timeout'
  | 'canceled'
  | 'http_status'
  | 'not_json'
  | 'too_large'
  | 'result_invalid';

/** Why an upstream call gave no answer that can be sold. The message names the host, never an address or a credential. */
export class UpstreamFailure extends ToolFailure {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(
      kind === 'canceled' || kind === 'timeout' ? kind : 'upstream_failed',
      message,
      status === undefined ? { upstream: kind } : { upstream: kind, status },
    );
    this.name = 'UpstreamFailure';
  }
}

export interface UpstreamCall {
  url: string;
  arguments: Record<string, unknown>;
  /** the task the call belongs to, sent as X-Paygate-Task-Id */
  taskId: string;
  /** the provider's headers, opened from their seal */
  headers: Readonly<Record<string, string>>;
  /** the name's signing key (hex) */
  signingKey: string;
  timeoutMs: number;
  /** aborted when the task is cancelled: the upstream request is aborted with it */
  signal?: AbortSignal;
  allowPrivateNetworks: boolean;
  /** the issues an answer has against the tool's result schema, or undefined when it conforms */
  checkResult?: (answer: unknown) => string | undefined;
  resolve?: Resolve;
}

/**
 * The `traceparent` the upstream gets: the call's span when tracing is on; otherwise one of its own
 * whose trace id is the task id's 32 hex digits (not sampled), so a provider that logs traceparent
 * can still tie its records to the task.
 */
function traceContext(taskId: string): Record<string, string> {
  const traced = traceHeaders();
  if (traced.traceparent) return traced;
  const traceId = taskId.replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(traceId) || /^0+$/.test(traceId)) return traced;
  return { ...traced, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-00` };
}

export async function callUpstream(call: UpstreamCall): Promise<Record<string, unknown>> {
  const url = new URL(call.url);
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  const stopped = () => (call.signal?.aborted ? new UpstreamFailure('canceled', 'the call was canceled') : undefined);
  const pinned = await resolveDestination(url, { allowPrivateNetworks: call.allowPrivateNetworks, resolve: call.resolve }).catch(
    (error: unknown) => {
      if (error instanceof PrivateDestinationError) throw new UpstreamFailure('private_destination', error.message);
      throw new UpstreamFailure('unreachable', `could not resolve ${url.host}`);
    },
  );
  const body = JSON.stringify({ arguments: call.arguments });
  const headers: Record<string, string> = {
    ...call.headers,
    'content-type': 'application/json',
    'user-agent': 'a2a-paygate-upstream/1',
    ...traceContext(call.taskId),
    [TASK_ID_HEADER]: call.taskId,
    [SIGNATURE_HEADER]: signature(call.signingKey, Math.floor(Date.now() / 1000), body),
  };
  let text: string;
  let status: number;
  try {
    const response = await pinnedFetch(url, { method: 'POST', headers, body, signal }, pinned);
    status = response.status;
    if (status < 200 || status >= 300) {
      await response.body?.cancel();
      throw new UpstreamFailure('http_status', `${url.host} answered HTTP ${status}`, status);
    }
    text = await boundedText(
      response,
      MAX_ANSWER_BYTES,
      () => new UpstreamFailure('too_large', `${url.host} answered more than ${MAX_ANSWER_BYTES} bytes`),
    );
  } catch (error) {
    if (error instanceof UpstreamFailure) throw error;
    throw (
      stopped() ??
      (timeout.aborted
        ? new UpstreamFailure('timeout', `${url.host} did not answer within ${call.timeoutMs} ms`)
        : new UpstreamFailure('unreachable', `could not reach ${url.host}`))
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new UpstreamFailure('not_json', `${url.host} answered HTTP ${status} with a body that is not JSON`, status);
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    throw new UpstreamFailure('not_json', `${url.host} answered a JSON value that is not an object`, status);
  }
  const issues = call.checkResult?.(answer);
  if (issues !== undefined)
    throw new UpstreamFailure('result_invalid', `${url.host}'s answer does not fit the tool's result schema: ${issues}`, status);
  return answer as Record<string, unknown>;
}
