import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Which reads go to the replica (DATABASE_READ_URL, `db.replica`) and which to the primary, in one
 * place. A replica is some moments behind the primary, so only reads whose reader can live with
 * "as of a moment ago" go there: the functions below, each with why. Everything else runs on the
 * primary, in particular:
 *
 * - every money statement: charges, holds, captures, releases, grants, top-up claims, x402 booking,
 *   spend caps (checked in the charging statement), earnings and fees (written by it);
 * - every read of what the caller has just written: the balance (GET /v1/balance, the dashboard's
 *   after a charge), a task by id (GetTask, GET /v1/tasks/{id}, after SendMessage), a messageId or
 *   idempotency key replayed (a replica that has not seen the first call would charge it twice),
 *   streams and resubscriptions (they follow the task as it is written), keys, members and policies
 *   (the dashboard lists what it has just changed), the operator's tool list (after registering);
 * - authentication: API keys and their cache, wallet sign-in nonces and sessions;
 * - the catalog as calls resolve it (read again on NOTIFY, which a replica may not have replayed),
 *   /readyz, the indexer, and the background loops (recovery, leases, the worker, push, low
 *   balance, usage roll-ups, x402 reconciliation, the top-up watcher), which read to write.
 *
 * The test fails when `.replica` is used outside these functions, and when one of them stops using
 * it, so this table stays what the code does.
 */
const REPLICA_READS: Record<string, Record<string, string>> = {
  'data/agents.ts': { findAgentProfile: 'ERC-8004 data: the indexer writes it blocks after the chain did' },
  'data/feedbacks.ts': { listFeedbacks: 'ERC-8004 data', summarizeFeedbacks: 'ERC-8004 data' },
  'data/trend.ts': { reputationTrend: 'ERC-8004 data' },
  'data/validations.ts': { listValidations: 'ERC-8004 data' },
  'billing/usage.ts': { usageBy: 'usage reports: a call of the last moments may be counted a moment later' },
  'billing/earnings.ts': { earningsBy: 'earnings reports, as usage', platformFeesBy: 'the operator’s fee report, as usage' },
  'billing/ledger.ts': { listLedger: 'the ledger listing: the balance, on the primary, is the exact figure' },
  'billing/topups.ts': { listTopUps: 'the top-up history; a submitted top-up answers with what it credited, read from the primary' },
  'tasks/store.ts': { listTaskPage: 'task listings (GET /v1/tasks, A2A ListTasks); a task by id reads the primary' },
  'audit/read.ts': { listAuditEvents: 'the audit history, read after the fact' },
  'catalog/search.ts': {
    searchTools: 'discovery (GET /v1/tools): a tool registered a moment ago is found a moment later',
    offeredVersions: 'the versions of the tools discovery found, on the same replica',
  },
  'db/configured.ts': { replicaProblem: 'the start’s check that the replica answers' },
};

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
/** where `replica` is defined, and made the primary itself when there is none */
const DEFINITION = 'db/client.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** A top-level function's or constant's start (`export async function name(`, `const name =`), at the start of a line. */
const FUNCTION = /^(?:export\s+)?(?:(?:async\s+)?function\s+(\w+)|const\s+(\w+)\s*=)/gm;
const REPLICA_USE = /\.replica\b/g;

/** Each use of `.replica` in src/ (outside its definition) as `file:function`, the function being the top-level one it is written in. */
function replicaUses(): string[] {
  return sourceFiles(SRC).flatMap((path) => {
    const file = relative(SRC, path).split(sep).join('/');
    if (file === DEFINITION) return [];
    const text = readFileSync(path, 'utf8');
    const starts = [...text.matchAll(FUNCTION)].map((match) => ({ at: match.index, name: (match[1] ?? match[2]) as string }));
    return [...text.matchAll(REPLICA_USE)].map((use) => {
      const enclosing = starts.filter((start) => start.at < use.index).at(-1);
      return `${file}:${enclosing?.name ?? '(module level)'}`;
    });
  });
}

const allowed = Object.entries(REPLICA_READS).flatMap(([file, functions]) => Object.keys(functions).map((name) => `${file}:${name}`));

describe('reads on the replica', () => {
  it('only the reads listed here use the replica', () => {
    expect([...new Set(replicaUses())].filter((use) => !allowed.includes(use)).sort()).toEqual([]);
  });

  it('every read listed here uses the replica', () => {
    const used = new Set(replicaUses());
    expect(allowed.filter((read) => !used.has(read))).toEqual([]);
  });
});
