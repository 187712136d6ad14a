import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createOrganization } from '../../src/auth/organizations.js';
import { openSecret, SecretUnreadable } from '../../src/catalog/secrets.js';
import { sealContext, signingContext } from '../../src/catalog/store.js';
import { type Database, openDatabase } from '../../src/db/client.js';
import { buildGateway } from '../helpers/built-gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { type ProcessRun, runNode } from '../helpers/node-process.js';

/**
 * Registering catalog tools (issue 19) with the operator command, run as its own built process as
 * an operator runs it, against a fresh PostgreSQL database (DATABASE_URL) or an embedded folder.
 */

const SECRET = 'sk-provider-secret-do-not-leak-7f3a';
const secretsKey = randomBytes(32);

function manifest(overrides: Record<string, unknown> = {}, upstream: Record<string, unknown> = {}) {
  return {
    name: 'weather',
    version: '1.2.0',
    description: 'Current weather for a city',
    tags: ['weather', 'geo'],
    tier: 1,
    settlement: 'instant',
    argumentsSchema: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 100 }, units: { enum: ['metric', 'imperial'] } },
      required: ['city'],
      additionalProperties: false,
    },
    resultSchema: { type: 'object', properties: { tempC: { type: 'number' } }, required: ['tempC'] },
    upstream: { url: 'https://weather.example.com/v1/now', timeoutMs: 5000, headers: { Authorization: `Bearer ${SECRET}` }, ...upstream },
    ...overrides,
  };
}

const CatalogRow = z.object({
  name: z.string(),
  version: z.string(),
  status: z.string(),
  sealed: z.string().nullable(),
  signing: z.string(),
});

describe('register-tool, list-tools, deprecate-tool, retire-tool', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let database: TestDatabase | undefined;
  let providerOrgId: string;

  /** the suite's database between commands (PGlite is one process's: opened only while no command runs) */
  const withDb = async <T>(work: (db: Database) => Promise<T>): Promise<T> => {
    if (database) return work(database.db);
    const db = await openDatabase({ dataDir: join(dir, 'pglite') });
    try {
      await db.migrate();
      return await work(db);
    } finally {
      await db.close();
    }
  };
  const rows = () =>
    withDb((db) =>
      db.rows(
        CatalogRow,
        sql`select name, version, status::text, upstream_headers_sealed as sealed, signing_secret_sealed as signing
               from catalog_tools order by name, created_at`,
      ),
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'paygate-catalog-'));
    const base: NodeJS.ProcessEnv = { ...process.env, SECRETS_KEY: secretsKey.toString('base64') };
    delete base.DATA_DIR;
    if (process.env.DATABASE_URL) {
      database = await createTestDatabase();
      env = { ...base, ...database.env };
    } else {
      delete base.DATABASE_URL;
      env = { ...base, DATA_DIR: join(dir, 'pglite') };
    }
    providerOrgId = await withDb(async (db) => (await createOrganization(db, { name: 'provider', credits: 0n, by: OPERATOR })).orgId);
    await buildGateway();
  }, 120_000);
  afterAll(async () => {
    await database?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  let files = 0;
  const admin = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<ProcessRun> =>
    runNode(['dist/src/admin.js', ...args], { ...env, ...extraEnv });
  const register = async (body: unknown, extraEnv: NodeJS.ProcessEnv = {}) => {
    const file = join(dir, `tool-${files++}.json`);
    await writeFile(file, typeof body === 'string' ? body : JSON.stringify(body));
    return admin(['register-tool', '--file', file], extraEnv);
  };
  const jsonLine = (run: ProcessRun) => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!) as Record<string, any>;
  };
  const refused = (run: ProcessRun, message: RegExp) => {
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain(SECRET);
  };

  it('registers a version with its headers sealed: shown by name only, stored as ciphertext bound to the version', async () => {
    const run = await register(manifest({ providerOrgId }));
    const { tool, signingSecret } = jsonLine(run);
    // the key upstream requests are signed with, given once, stored sealed for the name
    expect(signingSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(run.stdout).not.toContain(SECRET);
    expect(tool).toMatchObject({
      name: 'weather',
      version: '1.2.0',
      tier: 1,
      priceMicroUsdc: '10000',
      settlement: 'instant',
      upstream: { url: 'https://weather.example.com/v1/now', timeoutMs: 5000, headerNames: ['Authorization'] },
      providerOrgId,
      status: 'active',
    });
    // the schema keeps the provider's member order
    expect(Object.keys(tool.argumentsSchema)).toEqual(['type', 'properties', 'required', 'additionalProperties']);

    const [row] = await rows();
    expect(row!.sealed).not.toContain(SECRET);
    expect(JSON.parse(openSecret(secretsKey, row!.sealed!, sealContext('weather', '1.2.0')))).toEqual({
      Authorization: `Bearer ${SECRET}`,
    });
    expect(() => openSecret(secretsKey, row!.sealed!, sealContext('weather', '1.3.0'))).toThrow(SecretUnreadable);
    expect(() => openSecret(randomBytes(32), row!.sealed!, sealContext('weather', '1.2.0'))).toThrow(SecretUnreadable);
    expect(row!.signing).not.toContain(signingSecret);
    expect(openSecret(secretsKey, row!.signing, signingContext('weather'))).toBe(signingSecret);
  });

  it('adds versions side by side, with their own price, and lists them without header values', async () => {
    const later = jsonLine(await register(manifest({ version: '1.3.0', priceMicroUsdc: 25_000 })));
    // a later version signs with the name's key, which is not shown again
    expect(later.signingSecret).toBeUndefined();
    jsonLine(await register(manifest({ name: 'no-headers', version: '0.1.0-beta.1', tier: 2, priceMicroUsdc: '7' }, { headers: {} })));
    const [first, second] = (await rows()).filter((row) => row.name === 'weather');
    expect(second!.signing).toBe(first!.signing);
    const run = await admin(['list-tools']);
    const { tools } = jsonLine(run);
    expect(run.stdout).not.toContain(SECRET);
    expect(
      tools.map((tool: { name: string; version: string; priceMicroUsdc: string }) => [tool.name, tool.version, tool.priceMicroUsdc]),
    ).toEqual([
      ['no-headers', '0.1.0-beta.1', '7'],
      ['weather', '1.2.0', '10000'],
      ['weather', '1.3.0', '25000'],
    ]);
  });

  it('refuses a manifest that cannot be sold as it is, with one line saying why, and writes nothing', async () => {
    const before = await rows();
    const cases: [unknown, RegExp, NodeJS.ProcessEnv?][] = [
      [manifest({ version: '1.4.0' }), /catalog tools need SECRETS_KEY/, { SECRETS_KEY: '' }],
      [manifest({ name: 'other', version: '1.0.0' }, { headers: {} }), /catalog tools need SECRETS_KEY/, { SECRETS_KEY: '' }],
      [manifest(), /weather 1\.2\.0 is registered already/],
      [manifest({ name: 'getAgentProfile', version: '9.0.0' }), /getAgentProfile is a built-in tool/],
      [manifest({ version: 'v2' }), /version: must be a semantic version/],
      [
        manifest({ version: '2.0.0', argumentsSchema: { type: 'object', properties: { a: { type: 'nonsense' } } } }),
        /argumentsSchema: is not a valid JSON Schema/,
      ],
      [manifest({ version: '2.0.0', argumentsSchema: { type: 'string' } }), /argumentsSchema: must describe an object/],
      [
        manifest({ version: '2.0.0', argumentsSchema: { type: 'object', $ref: 'https://elsewhere.example/schema.json' } }),
        /argumentsSchema: is not a valid JSON Schema/,
      ],
      [manifest({ version: '2.0.0', tier: 2 }), /priceMicroUsdc: is needed: tier 2 has no standard price/],
      [manifest({ version: '2.0.0', priceMicroUsdc: 1_000_000_001 }), /priceMicroUsdc: must be at most/],
      [manifest({ version: '2.0.0', priceMicroUsdc: -1 }), /priceMicroUsdc: must be a whole number/],
      [manifest({ version: '2.0.0' }, { url: 'https://user:pw@weather.example.com/' }), /upstream.url: must not hold credentials/],
      [manifest({ version: '2.0.0' }, { url: 'ftp://weather.example.com/' }), /upstream.url: must be an http/],
      [manifest({ version: '2.0.0' }, { headers: { 'X-Paygate-Task-Id': 'x' } }), /is a header the gateway sets itself/],
      [manifest({ version: '2.0.0' }, { headers: { 'X-Key': 'a\r\nInjected: 1' } }), /without line breaks/],
      [manifest({ version: '2.0.0' }, { timeoutMs: 10 }), /upstream.timeoutMs: must be at least 100/],
      [manifest({ version: '2.0.0', providerOrgId: '00000000-0000-4000-8000-000000000000' }), /no organization 00000000/],
      [manifest({ version: '2.0.0', surprise: true }), /Unrecognized key/],
      ['{"name": "weather", ', /is not JSON/],
      [manifest({ version: '2.0.0', description: 'x'.repeat(300_000) }), /is over 262144 bytes/],
    ];
    for (const [body, message, extraEnv] of cases) refused(await register(body, extraEnv), message);
    expect(await rows()).toEqual(before);
  }, 120_000);

  it('deprecates, then retires, a version; a retired one stays retired', async () => {
    expect(jsonLine(await admin(['deprecate-tool', '--name', 'weather', '--version', '1.2.0'])).tool.status).toBe('deprecated');
    expect(jsonLine(await admin(['retire-tool', '--name', 'weather', '--version', '1.2.0'])).tool.status).toBe('retired');
    refused(await admin(['deprecate-tool', '--name', 'weather', '--version', '1.2.0']), /weather 1\.2\.0 is retired/);
    refused(await admin(['retire-tool', '--name', 'weather', '--version', '7.0.0']), /no catalog tool weather 7\.0\.0/);
    expect((await rows()).map((row) => [row.version, row.status])).toEqual([
      ['0.1.0-beta.1', 'active'],
      ['1.2.0', 'retired'],
      ['1.3.0', 'active'],
    ]);
  }, 60_000);

  it('a key policy may name a catalog tool that takes calls, not one unknown', async () => {
    const granted = jsonLine(await admin(['create-key', '--org', providerOrgId, '--tools', 'weather,getAgentProfile']));
    expect(granted.policy.tools).toEqual(['weather', 'getAgentProfile']);
    refused(
      await admin(['set-key-policy', '--key', granted.keyId, '--tools', 'weather,weathr']),
      /--tools must name tools the gateway offers .*not offered: weathr\n/,
    );
  }, 60_000);
});
