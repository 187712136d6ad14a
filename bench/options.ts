import { parseArgs } from 'node:util';
import type { UsageHistorySize } from './usage.js';

export interface DatasetSize {
  agents: number;
  feedbacksPerAgent: number;
  validationsPerAgent: number;
  organizations: number;
}

export interface BenchOptions {
  mode: 'full' | 'smoke';
  /** seconds each scenario is measured */
  durationS: number;
  /** seconds each scenario runs unmeasured first */
  warmupS: number;
  dataset: DatasetSize;
  /** the one organization's task history the usage reads are measured over */
  usageHistory: UsageHistorySize;
  /** how many times each usage read is timed */
  usageReads: number;
  /** catalog tools seeded for the discovery reads (issue 19's scale: 10,000) */
  catalogTools: number;
  /** how many times each discovery read is timed */
  catalogReads: number;
  /** registry events in the indexer's timed backfill */
  indexerEvents: number;
  /** the PostgreSQL server the bench database is created on */
  serverUrl: string;
  /** scenario names to run; all when empty */
  only: string[];
  /** write a V8 CPU profile of the gateway (--cpu-prof) next to the results */
  profile: boolean;
}

const FULL_DATASET: DatasetSize = { agents: 10_000, feedbacksPerAgent: 100, validationsPerAgent: 10, organizations: 100 };
const SMOKE_DATASET: DatasetSize = { agents: 200, feedbacksPerAgent: 20, validationsPerAgent: 4, organizations: 10 };
const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * `--smoke` picks the short CI run, `--duration <s>` overrides how long each scenario is measured,
 * `--only a,b` runs just those scenarios, `--profile` writes the gateway's CPU profile.
 */
export function parseBenchOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      duration: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const smoke = values.smoke === true;
  return {
    mode: smoke ? 'smoke' : 'full',
    durationS: values.duration === undefined ? (smoke ? 2 : 20) : positiveSeconds(values.duration),
    warmupS: smoke ? 0 : 3,
    dataset: smoke ? SMOKE_DATASET : FULL_DATASET,
    usageHistory: smoke ? { tasks: 20_000, days: 10 } : { tasks: 1_000_000, days: 90 },
    usageReads: smoke ? 3 : 30,
    catalogTools: 10_000,
    catalogReads: smoke ? 5 : 100,
    indexerEvents: smoke ? 5_000 : 100_000,
    serverUrl: env.BENCH_DATABASE_URL || env.DATABASE_URL || DEFAULT_SERVER_URL,
    only: values.only ? values.only.split(',').map((name) => name.trim()) : [],
    profile: values.profile === true,
  };
}

function positiveSeconds(text: string): number {
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`--duration must be a whole number of seconds ≥ 1, got "${text}"`);
  return seconds;
}
