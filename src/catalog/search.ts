import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import semver from 'semver';
import { z } from 'zod';
import { catalogTools } from '../../drizzle/schema.js';
import type { Database } from '../db/client.js';
import { InvalidInput } from '../domain/errors.js';
import { type CatalogToolView, viewOf } from './store.js';

/**
 * Discovery (issue 19, docs/adr/0021-tool-discovery.md): which tools match a query, ranked by
 * PostgreSQL's full-text search over the catalog's `search_document` (migration 0017), with the
 * built-in tools matched by the same function over the same fields, so a word finds a built-in tool
 * exactly as it would find a catalog tool of that name, description and tags.
 */

/** A built-in tool as the search reads it. */
export interface SearchableTool {
  name: string;
  description: string;
  tags: readonly string[];
  tier: number;
  /** whether a call may name it now (getReputationReport without an LLM is listed, but not callable) */
  enabled: boolean;
}

/** Where the previous page ended: the last name, and its rank when the search is ranked. */
export interface SearchCursor {
  name: string;
  rank?: string;
}

export interface ToolQuery {
  /** words, as a web search box reads them (websearch_to_tsquery): `agent profile`, `"exact phrase"`, `weather -forecast`, `a or b` */
  q?: string;
  tag?: string;
  tier?: number;
  limit: number;
  after?: SearchCursor;
  /**
   * Only what a call may name without a version and get an active version: the enabled built-in
   * tools and the catalog names with an active version (their default version is then active). The
   * card and the OpenAI definitions list these; the price list lists deprecated ones too.
   */
  callableOnly: boolean;
  /** whether catalog tools can be called here (SECRETS_KEY opens their credentials) */
  catalogCallable: boolean;
}

export interface SearchHit {
  name: string;
  builtIn: boolean;
  /** ts_rank of the best matching version, as PostgreSQL writes the real; null when nothing was searched for */
  rank: string | null;
}

/** At most this many words of a plain query are read. */
const MAX_WORDS = 8;

/** `getAgentProfile` as `get Agent Profile`: the document splits names so (catalog_search_document). */
const splitCamel = (text: string) => text.replace(/([a-z0-9])([A-Z])/g, '$1 $2');

/**
 * The words of a plain query (letters and digits, split at camel-case humps, at most MAX_WORDS),
 * or undefined for one that uses websearch's operators (quotes, `-word`, `or`), which is read as
 * websearch reads it. Only letters and digits reach a tsquery's text, so no input writes tsquery syntax.
 */
export function plainWords(q: string): string[] | undefined {
  if (/["]|(^|\s)-|(^|\s)or(\s|$)/i.test(q)) return undefined;
  const words =
    splitCamel(q)
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.length === 0 ? undefined : words.slice(0, MAX_WORDS);
}

/**
 * The tsquery a search matches: websearch's reading of the words, camel-case split, in the english
 * configuration (stemmed: "forecasts" finds "forecast"); in a plain query the last word may also be
 * the start of one (`weatherFore`, `getvalid`: as a search box is typed), and matches the name
 * whole too (`stockquote` is the 'simple' lexeme of `stockQuote`).
 */
function tsQuery(q: string): SQL {
  const words = plainWords(q);
  if (words === undefined) return sql`websearch_to_tsquery('english'::regconfig, ${splitCamel(q)})`;
  const last = words.at(-1) as string;
  const lastWord = sql`(websearch_to_tsquery('english'::regconfig, ${last}) || to_tsquery('simple'::regconfig, ${`${last}:*`}))`;
  if (words.length === 1) return lastWord;
  // an empty head (stop words only) leaves the last word alone: PostgreSQL's && keeps the other side
  return sql`(websearch_to_tsquery('english'::regconfig, ${words.slice(0, -1).join(' ')}) && ${lastWord})`;
}

const HitRow = z.object({ name: z.string(), built_in: z.boolean(), rank_text: z.string().nullable() });

interface StatementInput {
  /** the catalog's rows to read, or undefined for none */
  catalogFilters: SQL[] | undefined;
  builtIns: readonly SearchableTool[];
  after: SearchCursor | undefined;
  limit: number;
}

const builtInValues = (tools: readonly SearchableTool[]) =>
  sql.join(
    tools.map((tool) => sql`(${tool.name}::text, ${tool.description}::text, ${`{${tool.tags.join(',')}}`}::text[])`),
    sql`, `,
  );

/**
 * The names that match `ts`, each ranked by its best matching version (ts_rank; the name's words and
 * the tags weigh A, the description B), best first, then by name. The built-in tools' documents are
 * made by the catalog's own function from a VALUES list, so they match and rank by the same rule.
 */
function rankedStatement(input: StatementInput & { ts: SQL }): SQL {
  const { after } = input;
  // The query is made once, in its own CTE, and read as an InitPlan: a prepared statement's generic
  // plan (PostgreSQL uses one after five runs) would otherwise make it again for every row it ranks.
  const ts = sql`(select query from search_query)`;
  const branches: SQL[] = [];
  if (input.catalogFilters) {
    branches.push(
      sql`select name, false as built_in, search_document as doc from catalog_tools where ${sql.join(input.catalogFilters, sql` and `)} and search_document @@ ${ts}`,
    );
  }
  if (input.builtIns.length > 0) {
    branches.push(sql`select name, true as built_in, doc from (
        select name, catalog_search_document(name, description, tags) as doc from (values ${builtInValues(input.builtIns)}) as b(name, description, tags)
      ) as built where doc @@ ${ts}`);
  }
  const where = after ? sql`(rank < ${after.rank}::real or (rank = ${after.rank}::real and name > ${after.name}))` : sql`true`;
  return sql`with search_query as materialized (select ${input.ts} as query),
      found as (${sql.join(branches, sql` union all `)}),
      ranked as (select name, bool_or(built_in) as built_in, max(ts_rank(doc, ${ts})) as rank from found group by name)
      select name, built_in, rank::text as rank_text from ranked where ${where} order by rank desc, name limit ${input.limit + 1}`;
}

/**
 * The names by name, from `after` on: the catalog's walked along its (name, version) index, which
 * stops after a page's worth instead of grouping every row.
 */
function listingStatement(input: StatementInput): SQL {
  const { after } = input;
  const branches: SQL[] = [];
  const from = after ? sql`name > ${after.name}` : sql`true`;
  if (input.catalogFilters) {
    branches.push(
      sql`(select distinct name, false as built_in from catalog_tools where ${sql.join(input.catalogFilters, sql` and `)} and ${from} order by name limit ${input.limit + 1})`,
    );
  }
  if (input.builtIns.length > 0) {
    branches.push(
      sql`(select name, true as built_in from (values ${builtInValues(input.builtIns)}) as b(name, description, tags) where ${from})`,
    );
  }
  return sql`select name, bool_or(built_in) as built_in, null::text as rank_text from (${sql.join(branches, sql` union all `)}) as listed
      group by name order by name limit ${input.limit + 1}`;
}

/**
 * One page of the tools that match `query`, best first (ts_rank of the best matching version, then
 * name), or by name when nothing is searched for. A catalog name is found when one of its versions
 * that is not retired matches; a name whose every version is retired is not offered.
 */
export async function searchTools(
  db: Database,
  builtIns: readonly SearchableTool[],
  query: ToolQuery,
): Promise<{ hits: SearchHit[]; next: SearchCursor | undefined }> {
  const q = query.q?.trim() ? query.q.trim() : undefined;
  const ts = q === undefined ? undefined : tsQuery(q);
  const catalogFilters: SQL[] = [query.callableOnly ? sql`status = 'active'` : sql`status <> 'retired'`];
  if (query.tier !== undefined) catalogFilters.push(sql`tier = ${query.tier}`);
  if (query.tag !== undefined) catalogFilters.push(sql`${query.tag}::text = any(tags)`);
  const listed = builtIns.filter(
    (tool) =>
      (!query.callableOnly || tool.enabled) &&
      (query.tier === undefined || tool.tier === query.tier) &&
      (query.tag === undefined || tool.tags.includes(query.tag)),
  );
  const catalog = query.catalogCallable || !query.callableOnly;
  if (!catalog && listed.length === 0) return { hits: [], next: undefined };
  const after = query.after;
  if (after && (ts === undefined) !== (after.rank === undefined)) throw invalidCursor();
  const statement = ts
    ? rankedStatement({ ts, catalogFilters: catalog ? catalogFilters : undefined, builtIns: listed, after, limit: query.limit })
    : listingStatement({ catalogFilters: catalog ? catalogFilters : undefined, builtIns: listed, after, limit: query.limit });
  const rows = await db.replica.rows(HitRow, statement);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const next =
    rows.length > query.limit && last ? { name: last.name, ...(last.rank_text === null ? {} : { rank: last.rank_text }) } : undefined;
  return { hits: page.map((row) => ({ name: row.name, builtIn: row.built_in, rank: row.rank_text })), next };
}

/** Every column but the search document and the sealed values, which discovery never reads. */
const {
  searchDocument: _searchDocument,
  upstreamHeadersSealed: _headers,
  signingSecretSealed: _signing,
  ...VIEW_COLUMNS
} = getTableColumns(catalogTools);

/** The versions of `names` that are not retired (retired ones cannot be called), newest first. */
export async function offeredVersions(db: Database, names: readonly string[]): Promise<Map<string, CatalogToolView[]>> {
  const byName = new Map<string, CatalogToolView[]>();
  if (names.length === 0) return byName;
  const rows = await db.replica.orm
    .select(VIEW_COLUMNS)
    .from(catalogTools)
    .where(sql`${catalogTools.name} = any(${`{${names.join(',')}}`}::text[]) and ${catalogTools.status} <> 'retired'`);
  for (const row of rows) {
    const view = viewOf({ ...row, upstreamHeadersSealed: null, signingSecretSealed: '' });
    const versions = byName.get(view.name);
    if (versions) versions.push(view);
    else byName.set(view.name, [view]);
  }
  for (const versions of byName.values()) versions.sort((a, b) => semver.rcompare(a.version, b.version));
  return byName;
}

/** A cursor as the REST API hands it out: opaque, base64url of its JSON. */
export function encodeCursor(cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

const CursorShape = z.strictObject({
  name: z.string().min(1).max(64),
  rank: z
    .string()
    .regex(/^[0-9.e+-]{1,32}$/)
    .optional(),
});

export function decodeCursor(text: string): SearchCursor {
  try {
    return CursorShape.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw invalidCursor();
  }
}

const invalidCursor = () => new InvalidInput('invalid_page_token', 'cursor is not one this API returned');
