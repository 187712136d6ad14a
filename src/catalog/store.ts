import { randomBytes } from 'node:crypto';
import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { catalogTools } from '../../drizzle/schema.js';
import { openCreditAccount } from '../billing/accounts.js';
import type { Database } from '../db/client.js';
import { sqlState } from '../db/sql.js';
import { InvalidInput, UnsupportedOperation } from '../domain/errors.js';
import { announceCatalogChange } from './changes.js';
import { priceOf, type ToolManifest } from './manifest.js';
import { sealSecret } from './secrets.js';

const FOREIGN_KEY_VIOLATION = '23503';

export type CatalogToolStatus = (typeof catalogTools.$inferSelect)['status'];

/** A catalog tool as operators and agents see it: never its header values, only their names. */
export interface CatalogToolView {
  name: string;
  version: string;
  description: string;
  tags: string[];
  tier: number;
  /** what a call costs, micro-USDC as a decimal string */
  priceMicroUsdc: string;
  settlement: string;
  argumentsSchema: unknown;
  resultSchema: unknown;
  upstream: { url: string; timeoutMs: number; headerNames: string[] };
  providerOrgId: string | null;
  status: CatalogToolStatus;
  createdAt: string;
  updatedAt: string;
}

/** A row as read, without its search document (which only the database's search reads). */
type CatalogRow = Omit<typeof catalogTools.$inferSelect, 'searchDocument'>;

/** What the sealed header values are bound to: a sealed value copied onto another version does not open. */
export const sealContext = (name: string, version: string) => `catalog-tool:${name}@${version}`;
/** What a name's signing secret is bound to: every version of the name signs with it. */
export const signingContext = (name: string) => `catalog-tool-signing:${name}`;

export function viewOf(row: CatalogRow): CatalogToolView {
  return {
    name: row.name,
    version: row.version,
    description: row.description,
    tags: row.tags,
    tier: row.tier,
    priceMicroUsdc: priceOf({ tier: row.tier as ToolManifest['tier'], priceMicroUsdc: row.priceMicroUsdc ?? undefined }).toString(),
    settlement: row.settlement,
    argumentsSchema: row.argumentsSchema,
    resultSchema: row.resultSchema ?? null,
    upstream: { url: row.upstreamUrl, timeoutMs: row.upstreamTimeoutMs, headerNames: row.upstreamHeaderNames },
    providerOrgId: row.providerOrgId,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export interface RegisterToolInput {
  manifest: ToolManifest;
  /** SECRETS_KEY: every registration seals at least the name's signing key */
  secretsKey: Buffer | undefined;
  /** names that are not the catalog's to give: the built-in tools' */
  reservedNames: ReadonlySet<string>;
}

export interface Registered {
  tool: CatalogToolView;
  /**
   * The key the gateway signs this name's upstream requests with (HMAC-SHA256, hex), for the
   * provider to check them: given once, when the name is first registered; later versions sign
   * with the same key and do not show it again.
   */
  signingSecret?: string;
}

const SealedRow = z.object({ sealed: z.string() });

/** A new name's signing key, and the same sealed for its row. */
function newSigningKey(secretsKey: Buffer, name: string): { sealed: string; secret: string } {
  const secret = randomBytes(32).toString('hex');
  return { sealed: sealSecret(secretsKey, secret, signingContext(name)), secret };
}

/**
 * Adds a name, or a new version of one. A registered version is never overwritten: what callers
 * were charged for stays what the version was. Header values and the signing secret are sealed
 * before they reach the database, so the catalog needs SECRETS_KEY.
 */
export async function registerTool(db: Database, input: RegisterToolInput): Promise<Registered> {
  const { manifest, secretsKey } = input;
  if (input.reservedNames.has(manifest.name)) {
    throw new InvalidInput('tool_name_reserved', `${manifest.name} is a built-in tool; choose another name`, { name: manifest.name });
  }
  if (!secretsKey) {
    throw new InvalidInput(
      'secrets_key_missing',
      "catalog tools need SECRETS_KEY: it seals the provider's upstream headers and the key upstream requests are signed with",
      { name: manifest.name },
    );
  }
  const headers = manifest.upstream.headers;
  const headerNames = Object.keys(headers);
  const sealedHeaders =
    headerNames.length > 0 ? sealSecret(secretsKey, JSON.stringify(headers), sealContext(manifest.name, manifest.version)) : null;
  try {
    return await db.transaction(async (tx) => {
      // Two first versions of one name registered at once must not each make a signing secret.
      await tx.run(sql`select pg_advisory_xact_lock(hashtext(${`catalog-tool:${manifest.name}`}))`);
      const [known] = await tx.rows(
        SealedRow,
        sql`select signing_secret_sealed as sealed from catalog_tools where name = ${manifest.name} limit 1`,
      );
      // the name's key: kept from its first version, or made now and answered this once
      const signing = known ? { sealed: known.sealed, secret: undefined } : newSigningKey(secretsKey, manifest.name);
      const [row] = await tx.orm
        .insert(catalogTools)
        .values({
          name: manifest.name,
          version: manifest.version,
          description: manifest.description,
          tags: manifest.tags,
          tier: manifest.tier,
          priceMicroUsdc: manifest.priceMicroUsdc ?? null,
          settlement: manifest.settlement,
          argumentsSchema: manifest.argumentsSchema,
          resultSchema: manifest.resultSchema ?? null,
          upstreamUrl: manifest.upstream.url,
          upstreamTimeoutMs: manifest.upstream.timeoutMs,
          upstreamHeaderNames: headerNames,
          upstreamHeadersSealed: sealedHeaders,
          signingSecretSealed: signing.sealed,
          providerOrgId: manifest.providerOrgId ?? null,
        })
        .onConflictDoNothing({ target: [catalogTools.name, catalogTools.version] })
        .returning();
      if (!row) {
        throw new UnsupportedOperation(
          'tool_version_exists',
          `${manifest.name} ${manifest.version} is registered already; a version is never changed, register a new one`,
          { name: manifest.name, version: manifest.version },
        );
      }
      // The charge credits the provider's account with its earnings (ADR 0020): it exists from now on.
      if (row.providerOrgId) await openCreditAccount(tx, row.providerOrgId);
      await announceCatalogChange(tx, manifest.name);
      return { tool: viewOf(row), ...(signing.secret ? { signingSecret: signing.secret } : {}) };
    });
  } catch (error) {
    if (sqlState(error) !== FOREIGN_KEY_VIOLATION) throw error;
    throw new InvalidInput('provider_unknown', `no organization ${manifest.providerOrgId}`, { providerOrgId: manifest.providerOrgId });
  }
}

/** Every version of every catalog tool, by name then registration. */
export async function listTools(db: Database): Promise<CatalogToolView[]> {
  const rows = await db.orm.select().from(catalogTools).orderBy(asc(catalogTools.name), asc(catalogTools.createdAt));
  return rows.map(viewOf);
}

/** Which of `names` are catalog tools that take calls (a version not retired), for key policies that name them. */
export async function callableCatalogNames(db: Database, names: readonly string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const rows = await db.orm
    .selectDistinct({ name: catalogTools.name })
    .from(catalogTools)
    .where(and(inArray(catalogTools.name, [...names]), ne(catalogTools.status, 'retired')));
  return new Set(rows.map((row) => row.name));
}

/**
 * Deprecates (still answers, with a note) or retires (refused) one version; undefined when there is
 * no such version. Retired is final: a retired version is not brought back, a new version is
 * registered instead.
 */
export async function setToolStatus(
  db: Database,
  input: { name: string; version: string; status: Exclude<CatalogToolStatus, 'active'> },
): Promise<CatalogToolView | undefined> {
  const row = await db.transaction(async (tx) => {
    const [changed] = await tx.orm
      .update(catalogTools)
      .set({ status: input.status, updatedAt: sql`now()` })
      .where(and(eq(catalogTools.name, input.name), eq(catalogTools.version, input.version), sql`${catalogTools.status} <> 'retired'`))
      .returning();
    if (changed) await announceCatalogChange(tx, input.name);
    return changed;
  });
  if (row) return viewOf(row);
  const [existing] = await db.orm
    .select({ status: catalogTools.status })
    .from(catalogTools)
    .where(and(eq(catalogTools.name, input.name), eq(catalogTools.version, input.version)));
  if (!existing) return undefined;
  throw new UnsupportedOperation('tool_retired', `${input.name} ${input.version} is retired; register a new version instead`, {
    name: input.name,
    version: input.version,
  });
}
