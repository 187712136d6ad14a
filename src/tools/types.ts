import type { z } from 'zod';
import type { Database } from '../db/client.js';
import type { JsonText } from '../domain/json-text.js';

export type ToolTier = 0 | 1 | 2 | 3;

/**
 * How a call's cost is settled. `instant`: the tool only reads our database and answers within
 * milliseconds, so it runs first and its answer is charged in one statement (no charge without an
 * answer). `hold`: the cost is reserved before the tool runs and captured or released after, so a
 * long or externally costly call is visible as working, cancellable, and recovered after a crash.
 */
export type Settlement = 'instant' | 'hold';

export interface ToolContext {
  readonly db: Database;
  /** the task the call runs for (an upstream tool is told it, so its provider can match its own records) */
  readonly taskId: string;
  /** aborted when the task times out or is cancelled */
  readonly signal: AbortSignal;
  /** the instant the call is computed at, so one call's figures agree with each other */
  readonly now: Date;
}

/** What a tool answers: an object, or an object's JSON text already written (by PostgreSQL, say) and passed on as text. */
export type ToolAnswer = Record<string, unknown> | JsonText;

export type ToolExecutor<Params extends z.ZodType> = (args: z.output<Params>, ctx: ToolContext) => Promise<ToolAnswer>;

export interface ToolDefinition<Params extends z.ZodType = z.ZodType> {
  /** exact, case-sensitive */
  readonly name: string;
  readonly tier: ToolTier;
  readonly costMicroUsdc: bigint;
  readonly settlement: Settlement;
  readonly description: string;
  readonly version: string;
  readonly params: Params;
  readonly enabled: boolean;
  /** how long the executor may run, when not the gateway's TOOL_TIMEOUT_MS (an LLM call takes longer) */
  readonly timeoutMs?: number;
  /** why a disabled tool is disabled, told to callers */
  readonly disabledReason?: string;
  readonly example: Record<string, unknown>;
  readonly execute: ToolExecutor<Params>;
  /** the JSON Schema the arguments are checked against, when it is not derived from `params` (a catalog tool's, as registered) */
  readonly argumentsSchema?: Record<string, unknown>;
  /** the JSON Schema a result conforms to, when known */
  readonly resultSchema?: Record<string, unknown>;
  readonly tags?: readonly string[];
  /** the organization that provides the tool and earns from its calls (a catalog tool's providerOrgId) */
  readonly providerOrgId?: string;
  /**
   * The tool calls a provider's server (a catalog tool): each run costs the provider, so a retried
   * message is answered from its first task before the tool would run again.
   */
  readonly runsUpstream?: boolean;
  /** set when this version is deprecated: what its callers are told, with the task */
  readonly deprecationNote?: string;
}

/** Keeps each entry's params and executor types tied together while the table holds them all. */
export function defineTool<Params extends z.ZodType>(tool: ToolDefinition<Params>): ToolDefinition {
  return tool as unknown as ToolDefinition;
}

/** Which tool, of which version, a call of a name (and an optional exact version or semver range) gets. */
export type ToolLookup =
  | { kind: 'found'; tool: ToolDefinition }
  | { kind: 'unknown_tool' }
  /** the version asked for exactly, or every version of the name, is retired */
  | { kind: 'retired'; version: string }
  /** no version that is not retired satisfies the range; `versions` are those there are */
  | { kind: 'no_matching_version'; versions: string[] }
  | { kind: 'invalid_version' };

/** Tools beyond the compiled-in table: the catalog of upstream tools (catalog/live-catalog.ts). */
export interface ToolSource {
  lookup(name: string, range?: string): ToolLookup;
  /** the version of each name a call without a version gets, retired names left out */
  offered(): readonly ToolDefinition[];
}
