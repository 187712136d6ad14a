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

/** At most this many words of a query are matched as prefixes. */
const MAX_PREFIX_WORDS = 8;

/** `getAgentProfile` as `get Agent Profile`: the document splits names so (catalog_search_document). */
const splitCamel = (text: string) => text.replace(/([a-z0-9])([A-Z])/g, '$1 $2');

/**
 * The prefix form of a plain query (`agent prof` → `agent:* & prof:*`), so a name or word typed
 * halfway still finds its tool; none for a query that uses websearch's operators (quotes, `-word`,
 * `or`), whose meaning a prefix match would widen. Only letters and digits reach the tsquery text,
 * so no input can write tsquery syntax.
 */
export function prefixQuery(q: string): string | undefined {
  if (/["]|(^|\s)-|(^|\s)or(\s|$)/i.test(q)) return undefined;
  const words =
    splitCamel(q)
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length === 0) return undefined;
  return words
    .slice(0, MAX_PREFIX_WORDS)
    .map((word) => `${word}:*`)
    .join(' & ');
}

/** The tsquery a search matches: websearch's reading of the words (camel-case split), or every word as a prefix. */
function tsQuery(q: string): SQL {
  const words = sql`websearch_to_tsquery('english'::regconfig, ${splitCamel(q)})`;
  const prefix = prefixQuery(q);
  return prefix === undefined ? words : sql`(${words} || to_tsquery('simple'::regconfig, ${prefix}))`;
}

const HitRow = z.object({ name: z.string(), built_in: z.boolean(), rank_text: z.string().nullable() });

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
  if (ts) catalogFilters.push(sql`search_document @@ ${ts}`);
  const listed = builtIns.filter(
    (tool) =>
      (!query.callableOnly || tool.enabled) &&
      (query.tier === undefined || tool.tier === query.tier) &&
      (query.tag === undefined || tool.tags.includes(query.tag)),
  );
  const branches: SQL[] = [];
  if (query.catalogCallable || !query.callableOnly) {
    branches.push(
      sql`select name, false as built_in, search_document as doc from catalog_tools where ${sql.join(catalogFilters, sql` and `)}`,
    );
  }
  if (listed.length > 0) {
    const values = sql.join(
      listed.map((tool) => sql`(${tool.name}::text, ${tool.description}::text, ${`{${tool.tags.join(',')}}`}::text[])`),
      sql`, `,
    );
    branches.push(sql`select name, true as built_in, doc from (
        select name, catalog_search_document(name, description, tags) as doc from (values ${values}) as b(name, description, tags)
      ) as built where ${ts ? sql`doc @@ ${ts}` : sql`true`}`);
  }
  if (branches.length === 0) return { hits: [], next: undefined };
  const found = sql.join(branches, sql` union all `);
  const rank = ts ? sql`max(ts_rank(doc, ${ts}))` : sql`null::real`;
  const after = query.after;
  let where = sql`true`;
  if (after && ts) {
    if (after.rank === undefined) throw invalidCursor();
    where = sql`(rank < ${after.rank}::real or (rank = ${after.rank}::real and name collate "C" > ${after.name}))`;
  } else if (after) {
    if (after.rank !== undefined) throw invalidCursor();
    where = sql`name collate "C" > ${after.name}`;
  }
  const order = ts ? sql`rank desc, name collate "C"` : sql`name collate "C"`;
  const statement = sql`with found as (${found}),
      ranked as (select name, bool_or(built_in) as built_in, ${rank} as rank from found group by name)
      select name, built_in, rank::text as rank_text from ranked where ${where} order by ${order} limit ${query.limit + 1}`;
  const rows = await db.rows(HitRow, statement);
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
  const rows = await db.orm
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
