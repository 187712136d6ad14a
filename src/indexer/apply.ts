import { type SQL, sql } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { agents, feedbacks, validations } from '../../drizzle/schema.js';
import type { Database } from '../db/client.js';
import { jsonParam } from '../db/sql.js';
import type { RegistryEvent } from './events.js';

/** The tables the indexer writes: an undo entry names one, and its name goes into the statement that puts the row back. */
const indexedTable = z.enum(['agents', 'feedbacks', 'validations']);
type IndexedTable = z.output<typeof indexedTable>;

/** Each table's key that names a row, and that key's column types. */
const TABLES = {
  agents: { id: 'bigint' },
  feedbacks: { agent_id: 'bigint', client_address: 'text', feedback_index: 'bigint' },
  validations: { request_hash: 'text' },
} as const satisfies Record<IndexedTable, Record<string, 'bigint' | 'text'>>;

const COLUMNS: Record<IndexedTable, string[]> = {
  agents: getTableConfig(agents).columns.map((column) => column.name),
  feedbacks: getTableConfig(feedbacks).columns.map((column) => column.name),
  validations: getTableConfig(validations).columns.map((column) => column.name),
};

/** `table.column = (key->>'column')::type` for each key column: the row a jsonb key names. */
function keyMatch(table: IndexedTable, alias: string, key: SQL): SQL {
  return sql.join(
    Object.entries(TABLES[table]).map(([column, type]) => sql`${sql.raw(`${alias}.${column}`)} = (${key}->>${column})::${sql.raw(type)}`),
    sql` and `,
  );
}

export interface ApplyContext {
  tx: Database;
  chainId: number;
  /** events of blocks from here on are provisional: the rows they change are saved for a reorg first */
  provisionalFrom: bigint;
  blockTime(blockNumber: bigint): Date;
}

/** Saves the current images of the rows `keys` name, for the events of provisional blocks among them. */
async function saveUndo(context: ApplyContext, table: IndexedTable, keys: { blockNumber: bigint; key: Record<string, unknown> }[]) {
  const provisional = keys.filter((entry) => entry.blockNumber >= context.provisionalFrom);
  if (!provisional.length) return;
  await context.tx.run(sql`
    insert into indexer_undo (chain_id, block_number, table_name, key, before)
    select ${context.chainId}, k.block_number, ${table}, k.key,
           (select to_jsonb(t) from ${sql.raw(table)} t where ${keyMatch(table, 't', sql`k.key`)})
      from json_to_recordset(${jsonParam(provisional.map((entry) => ({ block_number: entry.blockNumber, key: entry.key })))}) as k(block_number int8, key jsonb)`);
}

/** A saved row image: `before` null when the row did not exist before the event. */
const undoEntry = z.object({
  id: z.bigint(),
  table_name: indexedTable,
  key: z.record(z.string(), z.unknown()),
  before: z.record(z.string(), z.unknown()).nullable(),
});

/** Puts back, newest first, every row the events after `finalBlock` changed; answers how many. */
export async function undoProvisional(tx: Database, chainId: number, finalBlock: bigint): Promise<number> {
  const undo = await tx.rows(
    undoEntry,
    sql`
    delete from indexer_undo where chain_id = ${chainId} and block_number > ${finalBlock} returning id, table_name, key, before`,
  );
  undo.sort((a, b) => (a.id > b.id ? -1 : 1));
  for (const entry of undo) {
    const key = sql`${JSON.stringify(entry.key)}::jsonb`;
    const table = sql.raw(entry.table_name);
    if (entry.before === null) {
      await tx.run(sql`delete from ${table} t where ${keyMatch(entry.table_name, 't', key)}`);
      continue;
    }
    // The row existed before the event and still does (newer changes are already undone): put its columns back in place.
    const columns = sql.raw(COLUMNS[entry.table_name].join(', '));
    await tx.run(sql`
      update ${table} t set (${columns}) = (select ${columns} from jsonb_populate_record(null::${table}, ${JSON.stringify(entry.before)}::jsonb))
       where ${keyMatch(entry.table_name, 't', key)}`);
  }
  return undo.length;
}

/** The highest feedback index stored for an `agent_id:client_address` pair, 0 for none. */
const lastFeedbackIndex = z.object({ pair: z.string(), last: z.bigint() });

type EventOf<Kind extends RegistryEvent['kind']> = Extract<RegistryEvent, { kind: Kind }>;

const APPLY: { [Kind in RegistryEvent['kind']]: (context: ApplyContext, events: EventOf<Kind>[]) => Promise<void> } = {
  async registered(context, events) {
    await saveUndo(
      context,
      'agents',
      events.map((event) => ({ blockNumber: event.blockNumber, key: { id: event.agentId } })),
    );
    await context.tx.run(sql`
      insert into agents (id, owner_address, agent_uri, created_at, updated_at)
      select id, owner, uri, at, at
        from json_to_recordset(${jsonParam(events.map((event) => ({ id: event.agentId, owner: event.owner, uri: event.uri, at: context.blockTime(event.blockNumber) })))})
             as e(id int8, owner text, uri text, at timestamptz)
      on conflict (id) do update
        set owner_address = excluded.owner_address, agent_uri = excluded.agent_uri, created_at = excluded.created_at, updated_at = excluded.updated_at`);
  },
  async uri(context, events) {
    await saveUndo(
      context,
      'agents',
      events.map((event) => ({ blockNumber: event.blockNumber, key: { id: event.agentId } })),
    );
    await context.tx.run(sql`
      update agents a set agent_uri = e.uri, updated_at = e.at, registration_attempts = 0, registration_next_at = null, registration_error = null
        from (select distinct on (id) * from json_to_recordset(${jsonParam(events.map((event, n) => ({ id: event.agentId, uri: event.uri, at: context.blockTime(event.blockNumber), n })))})
                as e(id int8, uri text, at timestamptz, n int) order by id, n desc) e
       where a.id = e.id`);
  },
  async metadata(context, events) {
    await saveUndo(
      context,
      'agents',
      events.map((event) => ({ blockNumber: event.blockNumber, key: { id: event.agentId } })),
    );
    await context.tx.run(sql`
      update agents a set metadata = a.metadata || e.changes, updated_at = e.at
        from (select id, jsonb_object_agg(key, value order by n) as changes, max(at) as at
                from json_to_recordset(${jsonParam(events.map((event, n) => ({ id: event.agentId, key: event.key, value: event.value, at: context.blockTime(event.blockNumber), n })))})
                     as e(id int8, key text, value text, at timestamptz, n int)
               group by id) e
       where a.id = e.id`);
  },
  async transfer(context, events) {
    await saveUndo(
      context,
      'agents',
      events.map((event) => ({ blockNumber: event.blockNumber, key: { id: event.agentId } })),
    );
    await context.tx.run(sql`
      update agents a set owner_address = e.owner, updated_at = e.at
        from (select distinct on (id) * from json_to_recordset(${jsonParam(events.map((event, n) => ({ id: event.agentId, owner: event.to, at: context.blockTime(event.blockNumber), n })))})
                as e(id int8, owner text, at timestamptz, n int) order by id, n desc) e
       where a.id = e.id`);
  },
  async feedback(context, events) {
    // An October 2025 feedback carries no index: it is the client's next one for the agent, as the contract counted.
    const rows = events.map((event, n) => ({
      agent_id: event.agentId,
      client_address: event.client,
      feedback_index: event.index,
      value: event.value,
      value_decimals: event.valueDecimals,
      tag1: event.tag1,
      tag2: event.tag2,
      endpoint: event.endpoint,
      feedback_uri: event.feedbackUri,
      feedback_hash: event.feedbackHash,
      created_at: context.blockTime(event.blockNumber),
      block_number: event.blockNumber,
      n,
    }));
    const pairs = [
      ...new Map(
        rows.map((row) => [`${row.agent_id}:${row.client_address}`, { agent_id: row.agent_id, client_address: row.client_address }]),
      ).values(),
    ];
    const stored = await context.tx.rows(
      lastFeedbackIndex,
      sql`
      select p.agent_id || ':' || p.client_address as pair, coalesce(max(f.feedback_index), 0)::int8 as last
        from json_to_recordset(${jsonParam(pairs)}) as p(agent_id int8, client_address text)
        left join feedbacks f on f.agent_id = p.agent_id and f.client_address = p.client_address
       group by 1`,
    );
    const last = new Map(stored.map((row) => [row.pair, row.last]));
    const keyed = rows.map((row) => {
      const pair = `${row.agent_id}:${row.client_address}`;
      const index = row.feedback_index ?? (last.get(pair) ?? 0n) + 1n;
      if (index > (last.get(pair) ?? 0n)) last.set(pair, index);
      return { ...row, feedback_index: index };
    });
    await saveUndo(
      context,
      'feedbacks',
      keyed.map((row) => ({
        blockNumber: row.block_number,
        key: { agent_id: row.agent_id, client_address: row.client_address, feedback_index: row.feedback_index },
      })),
    );
    await context.tx.run(sql`
      insert into feedbacks (agent_id, client_address, feedback_index, value, value_decimals, tag1, tag2, endpoint, feedback_uri, feedback_hash, created_at)
      select agent_id, client_address, feedback_index, value, value_decimals, tag1, tag2, endpoint, feedback_uri, feedback_hash, created_at
        from json_to_recordset(${jsonParam(keyed)})
             as e(agent_id int8, client_address text, feedback_index int8, value numeric, value_decimals int2, tag1 text, tag2 text,
                  endpoint text, feedback_uri text, feedback_hash text, created_at timestamptz)
      on conflict (agent_id, client_address, feedback_index) do update
        set value = excluded.value, value_decimals = excluded.value_decimals, tag1 = excluded.tag1, tag2 = excluded.tag2,
            endpoint = excluded.endpoint, feedback_uri = excluded.feedback_uri, feedback_hash = excluded.feedback_hash,
            created_at = excluded.created_at, revoked = false`);
  },
  async revoke(context, events) {
    const keys = events.map((event) => ({ agent_id: event.agentId, client_address: event.client, feedback_index: event.index }));
    await saveUndo(
      context,
      'feedbacks',
      events.map((event, n) => ({ blockNumber: event.blockNumber, key: keys[n]! })),
    );
    await context.tx.run(sql`
      update feedbacks f set revoked = true
        from json_to_recordset(${jsonParam(keys)}) as e(agent_id int8, client_address text, feedback_index int8)
       where f.agent_id = e.agent_id and f.client_address = e.client_address and f.feedback_index = e.feedback_index`);
  },
  async validation(context, events) {
    await saveUndo(
      context,
      'validations',
      events.map((event) => ({ blockNumber: event.blockNumber, key: { request_hash: event.requestHash } })),
    );
    // A validator may answer a request again (progressive validation): the latest answer stands.
    await context.tx.run(sql`
      insert into validations (agent_id, validator_address, request_hash, response, tag, created_at)
      select distinct on (request_hash) agent_id, validator, request_hash, response, tag, at
        from json_to_recordset(${jsonParam(events.map((event, n) => ({ agent_id: event.agentId, validator: event.validator, request_hash: event.requestHash, response: event.response, tag: event.tag, at: context.blockTime(event.blockNumber), n })))})
             as e(agent_id int8, validator text, request_hash text, response int2, tag text, at timestamptz, n int)
       order by request_hash, n desc
      on conflict (request_hash) do update
        set agent_id = excluded.agent_id, validator_address = excluded.validator_address, response = excluded.response, tag = excluded.tag, created_at = excluded.created_at`);
  },
};

/**
 * Writes `events` (in chain order) into agents, feedbacks and validations inside `tx`: each run of
 * consecutive events of one kind is one statement, and the rows a provisional block changes are
 * saved to `indexer_undo` first.
 */
export async function applyEvents(context: ApplyContext, events: readonly RegistryEvent[]): Promise<void> {
  for (let start = 0; start < events.length; ) {
    const kind = events[start]!.kind;
    let end = start + 1;
    while (end < events.length && events[end]!.kind === kind) end++;
    await (APPLY[kind] as (context: ApplyContext, events: RegistryEvent[]) => Promise<void>)(context, events.slice(start, end));
    start = end;
  }
}
