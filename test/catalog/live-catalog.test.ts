import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CatalogVersion, type LiveCatalog, openLiveCatalog, resolveVersion } from '../../src/catalog/live-catalog.js';
import { type ToolManifest, ToolManifestSchema } from '../../src/catalog/manifest.js';
import { registerTool, setToolStatus } from '../../src/catalog/store.js';
import { type Database, openDatabase } from '../../src/db/client.js';
import { createTestDatabase, databaseOptions, type TestDatabase } from '../helpers/database.js';
import { needs } from '../helpers/requirements.js';
import { waitFor } from '../helpers/wait.js';

/** The catalog in each gateway's memory (issue 19): which version a call gets, and how fast a change reaches every instance. */

const secretsKey = randomBytes(32);
const quiet = pino({ level: 'silent' });

const manifestOf = (name: string, version: string): ToolManifest =>
  ToolManifestSchema.parse({
    name,
    version,
    description: `${name} ${version}`,
    tier: 0,
    settlement: 'instant',
    argumentsSchema: { type: 'object' },
    upstream: { url: 'https://tools.example.com/run' },
  });
const register = (db: Database, name: string, version: string) =>
  registerTool(db, { manifest: manifestOf(name, version), secretsKey, reservedNames: new Set() });

const found = (resolution: ReturnType<LiveCatalog['resolve']>) =>
  resolution.kind === 'found' ? resolution.version.view.version : resolution;

describe('which version a call gets', () => {
  const versions = (entries: [string, CatalogVersion['view']['status']][]): CatalogVersion[] =>
    entries.map(([version, status]) => ({
      view: { version, status } as CatalogVersion['view'],
      upstreamHeadersSealed: null,
      signingSecretSealed: 'sealed',
    }));
  const newestFirst = versions([
    ['2.0.0-rc.1', 'active'],
    ['1.10.0', 'deprecated'],
    ['1.9.2', 'active'],
    ['1.2.0', 'retired'],
    ['0.9.0', 'active'],
  ]);

  it('without a version: the newest active release; exact versions and ranges as semver reads them', () => {
    const pick = (range?: string) => found(resolveVersion(newestFirst, range));
    expect(pick()).toBe('1.9.2');
    expect(pick('^1.2')).toBe('1.10.0');
    expect(pick('~1.9')).toBe('1.9.2');
    expect(pick('1.10.0')).toBe('1.10.0');
    expect(pick('2.0.0-rc.1')).toBe('2.0.0-rc.1');
    expect(pick('^0.9')).toBe('0.9.0');
    expect(pick('1.2.0')).toEqual({ kind: 'retired', version: '1.2.0' });
    expect(pick('>=3')).toEqual({ kind: 'no_matching_version', versions: ['2.0.0-rc.1', '1.10.0', '1.9.2', '0.9.0'] });
    expect(pick('not a range')).toEqual({ kind: 'invalid_version' });
    expect(resolveVersion([], undefined)).toEqual({ kind: 'unknown_tool' });
  });

  it('falls back to a pre-release, then a deprecated version, and says retired when all are', () => {
    expect(
      found(
        resolveVersion(
          versions([
            ['1.0.0-beta.2', 'active'],
            ['0.5.0', 'deprecated'],
          ]),
          undefined,
        ),
      ),
    ).toBe('1.0.0-beta.2');
    expect(
      found(
        resolveVersion(
          versions([
            ['1.0.0', 'deprecated'],
            ['0.5.0', 'retired'],
          ]),
          undefined,
        ),
      ),
    ).toBe('1.0.0');
    expect(resolveVersion(versions([['1.0.0', 'retired']]), undefined)).toEqual({ kind: 'retired', version: '1.0.0' });
  });
});

describe('the live catalog of one process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.dispose());

  it('loads what is there, then follows its own registrations and status changes', async () => {
    await register(database.db, 'before', '1.0.0');
    const catalog = openLiveCatalog(database.db, quiet, { secretsKey, allowPrivateNetworks: false });
    await catalog.ready();
    expect(found(catalog.resolve('before'))).toBe('1.0.0');
    expect(catalog.resolve('later')).toEqual({ kind: 'unknown_tool' });

    await register(database.db, 'later', '1.0.0');
    await register(database.db, 'later', '1.1.0');
    await waitFor(() => found(catalog.resolve('later')) === '1.1.0', 'the new versions', 2_000);
    await setToolStatus(database.db, { name: 'later', version: '1.1.0', status: 'retired' });
    await waitFor(() => found(catalog.resolve('later')) === '1.0.0', 'the retirement', 2_000);
    expect(catalog.resolve('later', '1.1.0')).toEqual({ kind: 'retired', version: '1.1.0' });
  });
});

describe('two instances on one PostgreSQL (PostgreSQL only)', needs('postgres'), () => {
  let database: TestDatabase;
  let other: Database;
  let catalog: LiveCatalog;
  beforeAll(async () => {
    database = await createTestDatabase();
    other = await openDatabase({ ...databaseOptions(database.url!), poolSize: 2 });
    catalog = openLiveCatalog(other, quiet, { secretsKey, allowPrivateNetworks: false });
    await catalog.ready();
  });
  afterAll(async () => {
    await other?.close();
    await database?.dispose();
  });

  it('a registration, a deprecation and a retirement at one instance reach the other within 2 s', async () => {
    await register(database.db, 'shared', '1.0.0');
    await waitFor(() => found(catalog.resolve('shared')) === '1.0.0', 'the registration at the other instance', 2_000);
    await register(database.db, 'shared', '1.1.0');
    await waitFor(() => found(catalog.resolve('shared')) === '1.1.0', 'the new version at the other instance', 2_000);
    await setToolStatus(database.db, { name: 'shared', version: '1.1.0', status: 'deprecated' });
    await waitFor(() => found(catalog.resolve('shared')) === '1.0.0', 'the deprecation at the other instance', 2_000);
    await setToolStatus(database.db, { name: 'shared', version: '1.0.0', status: 'retired' });
    await waitFor(() => catalog.resolve('shared', '1.0.0').kind === 'retired', 'the retirement at the other instance', 2_000);
    expect(catalog.resolve('shared', '1.0.0')).toEqual({ kind: 'retired', version: '1.0.0' });
    expect(found(catalog.resolve('shared'))).toBe('1.1.0');
  });

  it('after a lost LISTEN connection, the catalog is read whole again: a change it was never told of shows', async () => {
    await register(database.db, 'quiet', '1.0.0');
    await waitFor(() => found(catalog.resolve('quiet')) === '1.0.0', 'the registration', 2_000);
    // retired behind every instance's back: a statement that announces nothing, as if its notification were lost
    await database.db.run(sql`update catalog_tools set status = 'retired' where name = 'quiet'`);
    expect(found(catalog.resolve('quiet'))).toBe('1.0.0');
    await database.db.run(sql`
      select pg_terminate_backend(pid) from pg_stat_activity
       where datname = current_database() and application_name like 'a2a-paygate listen%'`);
    await waitFor(() => catalog.resolve('quiet').kind === 'retired', 'the whole reload after reconnecting', 10_000);
  });
});
