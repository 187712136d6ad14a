import type { Logger } from 'pino';
import type { Caller } from '../auth/api-keys.js';
import type { Membership } from '../auth/members.js';

/** What middleware hands to handlers on the Hono context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    principal: Caller;
    /** the signed-in wallet's membership, on session routes */
    member: Membership;
    /** whose data a read route shows, and how the caller proved it */
    caller: { orgId: string; via: 'api_key' | 'session' };
    /** the request body as text, read within the size limit */
    body: string;
    /** a paid call without an API key, to be paid per call with x402 (http/calls/x402-call.ts) */
    payingWithX402: boolean;
    /** paid calls of this request that ended completed or failed, each with its own `paid call` log line */
    paidCallsLogged: number;
  };
}
