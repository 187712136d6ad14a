import { createHash } from 'node:crypto';
import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { agents, feedbacks, validations } from '../../drizzle/schema.js';
import type { Database } from './client.js';
import { jsonText } from './sql.js';

export interface DemoDataOptions {
  /** the generated history ends just before this instant */
  now: Date;
  agents?: number;
  feedbacksPerAgent?: number;
  validationsPerAgent?: number;
}

export interface DemoDataCounts {
  agents: number;
  feedbacks: number;
  validations: number;
}

type AgentRow = typeof agents.$inferInsert;
type FeedbackRow = typeof feedbacks.$inferInsert;
type ValidationRow = typeof validations.$inferInsert;

const DEFAULT_AGENTS = 50;
const DEFAULT_FEEDBACKS_PER_AGENT = 40;
const DEFAULT_VALIDATIONS_PER_AGENT = 8;

const DAY_MS = 86_400_000;
/** feedback and validations are spread over this many days before `now` */
const HISTORY_DAYS = 90;
/** rows per INSERT statement */
const BATCH_ROWS = 1000;
const CLIENT_POOL = 500;
const VALIDATOR_POOL = 8;
const INACTIVE_SHARE = 0.1;
const REVOKED_SHARE = 0.03;

const SPECIALTIES = ['code review', 'market data', 'translation', 'research', 'scheduling', 'security audits'];
const FEEDBACK_CONTEXTS = ['', 'chat', 'code', 'search', 'tools'];
const VALIDATION_TAGS = ['', 'reexecution', 'zkml', 'tee-attestation'];

/**
 * Fills an empty database with deterministic ERC-8004 demo data in the shapes the chain indexer
 * writes: the same `now` and options give the same rows, ids included. Does nothing (and returns
 * zeros) when any agent exists already. Rows are generated per batch so memory stays bounded for
 * large runs, and all of it is one transaction so a crash cannot leave a half-seeded database.
 */
export async function seedDemoData(db: Database, options: DemoDataOptions): Promise<DemoDataCounts> {
  const agentCount = options.agents ?? DEFAULT_AGENTS;
  const feedbacksPerAgent = options.feedbacksPerAgent ?? DEFAULT_FEEDBACKS_PER_AGENT;
  const validationsPerAgent = options.validationsPerAgent ?? DEFAULT_VALIDATIONS_PER_AGENT;
  const now = options.now.getTime();
  return db.orm.transaction(async (tx) => {
    const existing = await tx.select({ id: agents.id }).from(agents).limit(1);
    if (existing.length > 0) return { agents: 0, feedbacks: 0, validations: 0 };
    const insert =
      <Table extends PgTable>(table: Table) =>
      (batch: Table['$inferInsert'][]) =>
        tx.execute(insertStatement(table, batch));
    return {
      agents: await insertInBatches(
        eachAgent(agentCount, (id) => [demoAgent(id, now)]),
        insert(agents),
      ),
      feedbacks: await insertInBatches(
        eachAgent(agentCount, (id) => demoFeedbacks(id, feedbacksPerAgent, now)),
        insert(feedbacks),
      ),
      validations: await insertInBatches(
        eachAgent(agentCount, (id) => demoValidations(id, validationsPerAgent, now)),
        insert(validations),
      ),
    };
  });
}

async function insertInBatches<Row>(rows: Iterable<Row>, insert: (batch: Row[]) => Promise<unknown>): Promise<number> {
  let batch: Row[] = [];
  let inserted = 0;
  for (const row of rows) {
    batch.push(row);
    if (batch.length === BATCH_ROWS) {
      await insert(batch);
      inserted += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await insert(batch);
    inserted += batch.length;
  }
  return inserted;
}

/**
 * One INSERT for a batch whose rows share their keys, sent as a single jsonb parameter: drizzle's
 * multi-row VALUES spends ~40 ms building each 1,000-row statement, which dominated large seeds.
 */
function insertStatement<Table extends PgTable>(table: Table, batch: Table['$inferInsert'][]): SQL {
  const [firstRow] = batch;
  const columns = Object.entries(getTableColumns(table)).filter(([key]) => firstRow !== undefined && key in firstRow);
  const records = batch.map((row: Record<string, unknown>) => Object.fromEntries(columns.map(([key, column]) => [column.name, row[key]])));
  // Dates serialize as ISO text, bigints as decimal text: both cast back exactly.
  const json = jsonText(records);
  const names = sql.join(
    columns.map(([, column]) => sql.identifier(column.name)),
    sql`, `,
  );
  const definitions = sql.join(
    columns.map(([, column]) => sql`${sql.identifier(column.name)} ${sql.raw(column.getSQLType())}`),
    sql`, `,
  );
  return sql`insert into ${table} (${names}) select ${names} from jsonb_to_recordset(${json}::jsonb) as batch(${definitions})`;
}

function* eachAgent<Row>(agentCount: number, rowsOf: (agentId: number) => Iterable<Row>): Generator<Row> {
  for (let agentId = 1; agentId <= agentCount; agentId++) yield* rowsOf(agentId);
}

function demoAgent(agentId: number, now: number): AgentRow {
  const random = randomFor('agent', agentId);
  const createdAt = new Date(now - (HISTORY_DAYS + 1 + random() * 60) * DAY_MS);
  const agentUri = `ipfs://bafkrei${sha256Hex(`agent-uri:${agentId}`).slice(0, 52)}`;
  return {
    id: BigInt(agentId),
    ownerAddress: address(`owner:${agentId}`),
    agentUri,
    // The demo's name and description stand for its registration file: nothing to fetch.
    registrationUri: agentUri,
    name: `Demo Agent ${agentId}`,
    description: `Demo agent for ${pick(SPECIALTIES, random)}.`,
    active: random() >= INACTIVE_SHARE,
    createdAt,
    updatedAt: createdAt,
  };
}

function* demoFeedbacks(agentId: number, count: number, now: number): Generator<FeedbackRow> {
  const random = randomFor('feedbacks', agentId);
  const quality = agentQuality(agentId);
  const lastIndexByClient = new Map<number, bigint>();
  for (let k = 0; k < count; k++) {
    // Evenly spread, jittered, and increasing with k, so each client's feedback_index grows with time.
    const progress = (k + random()) / count;
    const score = clamp(quality.scoreAt(progress) + (random() - 0.5) * 20, 0, 100);
    const client = Math.floor(random() * CLIENT_POOL);
    const feedbackIndex = (lastIndexByClient.get(client) ?? 0n) + 1n;
    lastIndexByClient.set(client, feedbackIndex);
    const feedbackUri = random() < 0.6 ? `ipfs://bafkrei${sha256Hex(`feedback-uri:${agentId}:${k}`).slice(0, 52)}` : '';
    yield {
      id: uuidFrom(`feedback:${agentId}:${k}`),
      agentId: BigInt(agentId),
      clientAddress: address(`client:${client}`),
      feedbackIndex,
      ...feedbackMeasure(score, random),
      tag2: pick(FEEDBACK_CONTEXTS, random),
      endpoint: random() < 0.5 ? `https://agent-${agentId}.demo.example/a2a` : '',
      feedbackUri,
      feedbackHash: feedbackUri === '' ? null : `0x${sha256Hex(feedbackUri)}`,
      createdAt: historyInstant(now, progress),
      revoked: random() < REVOKED_SHARE,
    };
  }
}

/** How a client reports a quality score: mostly stars, some uptime and success rates, a few latencies. */
function feedbackMeasure(score: number, random: () => number): Pick<FeedbackRow, 'tag1' | 'value' | 'valueDecimals'> {
  const kind = random();
  if (kind < 0.7) {
    const decimals = random() < 0.5 ? 0 : 2;
    return { tag1: 'starred', value: String(Math.round(score * 10 ** decimals)), valueDecimals: decimals };
  }
  if (kind < 0.85) return { tag1: 'uptime', value: String(Math.round((80 + score / 5) * 100)), valueDecimals: 2 };
  if (kind < 0.93) return { tag1: 'successRate', value: String(Math.round(score * 10)), valueDecimals: 1 };
  // Milliseconds: not a 0–100 quantity, so the scoring rule counts it as unscored.
  return { tag1: 'responseTime', value: String(Math.round(150 + (100 - score) * 25)), valueDecimals: 0 };
}

function* demoValidations(agentId: number, count: number, now: number): Generator<ValidationRow> {
  const random = randomFor('validations', agentId);
  const quality = agentQuality(agentId);
  for (let k = 0; k < count; k++) {
    const progress = (k + random()) / count;
    yield {
      id: uuidFrom(`validation:${agentId}:${k}`),
      agentId: BigInt(agentId),
      validatorAddress: address(`validator:${Math.floor(random() * VALIDATOR_POOL)}`),
      requestHash: `0x${sha256Hex(`validation-request:${agentId}:${k}`)}`,
      response: Math.round(clamp(quality.scoreAt(progress) + (random() - 0.5) * 50, 0, 100)),
      tag: pick(VALIDATION_TAGS, random),
      createdAt: historyInstant(now, progress),
    };
  }
}

/** An agent's mean score drifts linearly over the history, so some agents improve and some decline. */
function agentQuality(agentId: number): { scoreAt(progress: number): number } {
  const random = randomFor('quality', agentId);
  const midLevel = 35 + random() * 60;
  const drift = -35 + random() * 70;
  return { scoreAt: (progress) => clamp(midLevel + drift * (progress - 0.5), 5, 98) };
}

/** progress 0 is HISTORY_DAYS before `now`, progress 1 is `now` */
function historyInstant(now: number, progress: number): Date {
  return new Date(Math.floor(now - (1 - progress) * HISTORY_DAYS * DAY_MS));
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function pick<Item>(items: readonly Item[], random: () => number): Item {
  return items[Math.floor(random() * items.length)]!;
}

/**
 * One PRNG stream per (purpose, agent), so an agent's rows do not depend on how many other agents
 * or rows are generated. Identifiers and hashes come from sha256 of their own labels instead:
 * PRNG streams of different agents may overlap, which would repeat unique keys.
 */
function randomFor(purpose: string, agentId: number): () => number {
  return mulberry32(createHash('sha256').update(`${purpose}:${agentId}`).digest().readUInt32BE(0));
}

/** mulberry32: a small, fast, seedable 32-bit PRNG returning floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function sha256Hex(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/** A lowercase 20-byte address, as viem returns after lowercasing. */
function address(label: string): string {
  return `0x${sha256Hex(label).slice(0, 40)}`;
}

/** A version-4-shaped UUID derived from a label. */
function uuidFrom(label: string): string {
  const hex = sha256Hex(label);
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
