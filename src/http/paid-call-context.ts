import type { Context } from 'hono';
import { bearerToken } from '../auth/bearer.js';
import type { KeyCache } from '../auth/key-cache.js';
import type { Database } from '../db/client.js';
import type { Observer } from '../domain/observer.js';
import type { ChargeCombiner } from '../tasks/charge-combiner.js';
import type { CallerContext } from '../tasks/context.js';
import type { Leases } from '../tasks/leases.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { X402CallContext } from '../x402/pay-call.js';
import type { X402Payments } from '../x402/payments.js';
import type { AppEnv } from './env.js';

/** What every paid-call endpoint (A2A, MCP) runs calls with, whoever calls. */
export interface PaidCallDeps {
  db: Database;
  toolTimeoutMs: number;
  taskDeadlineSlackMs: number;
  settlement: CallerContext['settlement'];
  platformFeeBps: number;
  tools: ToolRegistry;
  leases: Leases;
  clock: () => Date;
  /** one per app, so A2A and MCP calls of an organization share their charge statements */
  charges: ChargeCombiner;
}

/** The caller context of a request whose API key was checked (`principal`), as the domain takes it. */
export function paidCallContext(c: Context<AppEnv>, deps: PaidCallDeps, observe: Observer): CallerContext {
  const principal = c.get('principal');
  return {
    db: deps.db,
    orgId: principal.orgId,
    key: { id: principal.keyId, tools: principal.tools, maxTier: principal.maxTier },
    clock: deps.clock,
    capLeftAtAuth: principal.capLeftMicroUsdc,
    tools: deps.tools,
    leases: deps.leases,
    charges: deps.charges,
    observe,
    availableAtAuth: principal.availableMicroUsdc,
    settlement: deps.settlement,
    platformFeeBps: deps.platformFeeBps,
    log: c.get('log'),
    toolTimeoutMs: deps.toolTimeoutMs,
    taskDeadlineSlackMs: deps.taskDeadlineSlackMs,
  };
}

/** The context of a call to be paid per call with x402 (docs/adr/0023): no key and no organization yet. */
export function x402CallContext(c: Context<AppEnv>, deps: PaidCallDeps, observe: Observer, x402: X402Payments): X402CallContext {
  return {
    db: deps.db,
    tools: deps.tools,
    log: c.get('log'),
    toolTimeoutMs: deps.toolTimeoutMs,
    taskDeadlineSlackMs: deps.taskDeadlineSlackMs,
    leases: deps.leases,
    charges: deps.charges,
    observe,
    settlement: deps.settlement,
    platformFeeBps: deps.platformFeeBps,
    clock: deps.clock,
    x402,
    requestId: c.get('requestId') ?? null,
  };
}

const CREDIT_REFUSALS: ReadonlySet<string> = new Set(['insufficient_credits', 'no_credit_account', 'spend_cap_exceeded']);

/**
 * The observer a request's calls report to. Besides the gateway's own, it tells the key cache when
 * a call was refused for credit or a cap (a key cached without the credit hints would otherwise run
 * a tool at every call that its charge then refuses; docs/adr/0016-key-cache.md), and counts the
 * calls that left a `paid call` log line, so the request's own line need not repeat them.
 */
export function requestObserver(c: Context<AppEnv>, observe: Observer, keys: KeyCache): Observer {
  const key = bearerToken(c.req.header('authorization'));
  return {
    ...observe,
    toolCallEnded: (call) => {
      // completed and failed calls are the ones run-tool.ts's logPaidCall writes a line for
      if (call.outcome === 'completed' || call.outcome === 'failed') c.set('paidCallsLogged', (c.get('paidCallsLogged') ?? 0) + 1);
      observe.toolCallEnded(call);
    },
    refused: (reason, calls) => {
      if (key && CREDIT_REFUSALS.has(reason)) keys.creditRefused(key);
      observe.refused(reason, calls);
    },
  };
}
