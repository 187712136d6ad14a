import { sql } from 'drizzle-orm';
import { openDatabase } from '../src/db/client.js';
import { seedCatalog } from '../test/helpers/catalog-seed.js';

/**
 * Discovery at issue 19's scale: a catalog of `tools` tools seeded before the gateway starts (its
 * live catalog reads them whole at start, so every scenario's calls run beside them), then, after
 * the scenarios, the search, the OpenAI definitions and the agent card timed over HTTP.
 */
export interface CatalogBenchResult {
  tools: number;
  seedSeconds: number;
  /** the agent card's size at that catalog, bytes, and how many skills it lists */
  cardBytes: number;
  cardSkills: number;
  reads: CatalogReadFigure[];
}

export interface CatalogReadFigure {
  path: string;
  /** what the page answered: tools listed, and whether more pages follow */
  found: number;
  more: boolean;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

/** The reads timed: a listing, broad and narrow words, a camel-case prefix, a built-in tool, filters, the OpenAI definitions. */
const READS = [
  '/v1/tools',
  '/v1/tools?q=weather',
  '/v1/tools?q=rain%20wind%20city',
  '/v1/tools?q=%22stock%20quotes%22%20-weather',
  '/v1/tools?q=tool04242',
  '/v1/tools?q=geoLook',
  '/v1/tools?q=agent%20profile',
  '/v1/tools?tag=group-7&tier=1',
  '/v1/tools?q=translate&limit=100',
  '/v1/tools/openai?q=translate',
];
const CARD = '/.well-known/agent-card.json';

/** `tools` catalog tools in one INSERT (test/helpers/catalog-seed.ts, as the tests seed them), then analyzed. */
export async function seedBenchCatalog(url: string, tools: number): Promise<{ seedSeconds: number }> {
  const db = await openDatabase({ url, poolSize: 1 });
  try {
    const started = performance.now();
    await seedCatalog(db, tools);
    await db.run(sql`vacuum analyze catalog_tools`);
    return { seedSeconds: (performance.now() - started) / 1000 };
  } finally {
    await db.close();
  }
}

const percentile = (sorted: readonly number[], q: number) =>
  Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;

/** Waits until the gateway's live catalog lists the seeded tools, then times each read `requests` times in a row. */
/** Untimed reads of each path before any is timed (the gateway's pool holds 4 connections). */
const WARM_UP_READS = 10;

export async function measureCatalogReads(
  baseUrl: string,
  seeded: { tools: number; seedSeconds: number },
  requests: number,
): Promise<CatalogBenchResult> {
  const deadline = Date.now() + 60_000;
  let card: { skills: unknown[]; description: string } | undefined;
  let cardBytes = 0;
  for (;;) {
    const text = await (await fetch(`${baseUrl}${CARD}`)).text();
    card = JSON.parse(text) as { skills: unknown[]; description: string };
    cardBytes = Buffer.byteLength(text);
    const listing = Number(/of the (\d+) active tools/.exec(card.description)?.[1] ?? card.skills.length);
    if (listing >= seeded.tools) break;
    if (Date.now() > deadline) throw new Error(`the gateway's card does not list the ${seeded.tools} catalog tools: ${card.description}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Warm-up: the first reads of a statement prepare and plan it on each pooled connection; what is
  // timed is a read in steady use, as the scenarios time calls after their warm-up.
  for (const path of [...READS, CARD]) {
    for (let n = 0; n < WARM_UP_READS; n++) await (await fetch(`${baseUrl}${path}`)).arrayBuffer();
  }
  const reads: CatalogReadFigure[] = [];
  for (const path of [...READS, CARD]) {
    const timings: number[] = [];
    let found = 0;
    let more = false;
    for (let n = 0; n < requests; n++) {
      const started = performance.now();
      const response = await fetch(`${baseUrl}${path}`);
      const body = (await response.json()) as { tools?: unknown[]; skills?: unknown[]; nextCursor?: string | null };
      timings.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
      found = (body.tools ?? body.skills ?? []).length;
      more = typeof body.nextCursor === 'string';
    }
    timings.sort((a, b) => a - b);
    reads.push({ path, found, more, requests, p50Ms: percentile(timings, 0.5), p99Ms: percentile(timings, 0.99) });
  }
  return { ...seeded, cardBytes, cardSkills: card.skills.length, reads };
}

export function formatCatalogBench(result: CatalogBenchResult): string {
  return [
    `discovery at ${result.tools.toLocaleString('en')} catalog tools (inserted in ${result.seedSeconds.toFixed(1)} s); ` +
      `agent card ${result.cardBytes.toLocaleString('en')} bytes, ${result.cardSkills} skills:`,
    ...result.reads.map(
      (read) =>
        `  ${read.path.padEnd(48)} p50 ${String(read.p50Ms).padStart(6)} ms, p99 ${String(read.p99Ms).padStart(6)} ms over ${read.requests}` +
        ` (${read.found}${read.more ? '+' : ''} listed)`,
    ),
  ].join('\n');
}
