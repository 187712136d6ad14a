import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Observer } from '../domain/observer.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ChargeCombiner } from './charge-combiner.js';
import type { Leases } from './leases.js';

/** The API key a call is made with, and what its policy lets it call (read with the key). */
export interface CallingKey {
  readonly id: string;
  /** the tool names it may call; null: every tool */
  readonly tools: readonly string[] | null;
  /** the highest tier it may call; null: every tier */
  readonly maxTier: number | null;
}

/** Who is calling and what the call may use: passed to every task operation. */
export interface CallerContext {
  readonly db: Database;
  readonly orgId: string;
  /** the key making the call: its scope bounds the tools, its spend counters take the charge */
  readonly key: CallingKey;
  /** the time spend caps count in: which UTC day and month a charge falls in */
  readonly clock: () => Date;
  /** the gateway's tool table */
  readonly tools: ToolRegistry;
  /** carries the request id on every line */
  readonly log: Logger;
  readonly toolTimeoutMs: number;
  /** how long past the tool timeout a working task may stay before recovery treats it as abandoned */
  readonly taskDeadlineSlackMs: number;
  /** this instance's hold on the held tasks it runs */
  readonly leases: Leases;
  /** settles instant calls, many per statement */
  readonly charges: ChargeCombiner;
  /** told how each paid call ends and what it charged, for the operator's metrics */
  readonly observe: Observer;
  /** `hold` sends every paid call through reserve → capture, whatever its tool's own settlement */
  readonly settlement: Config['settlement'];
  /** the platform's share of a provider's tool's price, in basis points (PLATFORM_FEE_BPS) */
  readonly platformFeeBps: number;
  /**
   * The organization's available credit when its key was checked (null: no credit account), read
   * in the same statement as the key. Only a hint that spares a tool run that cannot be paid for;
   * the charge itself re-checks under the account's row lock.
   */
  readonly availableAtAuth?: bigint | null;
  /**
   * The least of what the key's and the organization's spend caps left when the key was checked
   * (null: no cap). A hint like `availableAtAuth`: the charge re-checks every cap under the row locks.
   */
  readonly capLeftAtAuth?: bigint | null;
}

/** What running a task already paid for needs: no calling key (a worker or another instance may run it). */
export type TaskRunContext = Omit<CallerContext, 'key' | 'availableAtAuth' | 'capLeftAtAuth'>;
