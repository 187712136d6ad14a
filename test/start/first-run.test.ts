import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisAddress } from '../../src/limits/redis-store.js';
import { type BuiltGateway, buildGateway, startBuiltGateway } from '../helpers/built-gateway.js';
import { createEmptyPostgresDatabase } from '../helpers/database.js';
import { MACHINE_REDIS_URL } from '../helpers/redis.js';
import { needs } from '../helpers/requirements.js';

/**
 * `npm start` as a newcomer meets it: the built gateway in its own process, on a database nothing
 * has touched yet (a fresh PostgreSQL database made as `createdb` makes it when DATABASE_URL is
 * set, else a new embedded one), with a DATA_DIR whose folder does not exist.
 */

const serverUrl = process.env.DATABASE_URL;
const onPostgres = Boolean(serverUrl);
// A fresh embedded database takes seconds to create and migrate, more on a busy machine.
const START_TIMEOUT_MS = 120_000;
const CURL_LINE = /^curl -s (\S+) -H 'Authorization: Bearer ([^']+)' -H 'Content-Type: application\/json' -d '([^']+)'$/m;

let scratch: string;
const running: BuiltGateway[] = [];
const disposals: Array<() => Promise<void>> = [];

beforeAll(async () => {
  await buildGateway();
  scratch = await mkdtemp(join(tmpdir(), 'paygate-start-'));
});

afterEach(async () => {
  for (const gateway of running.splice(0)) {
    gateway.child.kill('SIGKILL');
    await gateway.exited;
  }
  for (const dispose of disposals.splice(0)) await dispose();
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let runs = 0;
/** A DATA_DIR two folders below anything that exists. */
function freshDataDir(): string {
  runs += 1;
  return join(scratch, `run-${runs}`, 'nested', 'db');
}

/** The database for one start: a fresh, empty PostgreSQL database, or none (embedded in DATA_DIR). */
async function freshDatabaseEnv(): Promise<Record<string, string>> {
  if (!serverUrl) return {};
  const database = await createEmptyPostgresDatabase();
  disposals.push(database.dispose);
  return database.routes.env;
}

function start(env: Record<string, string>): BuiltGateway {
  const gateway = startBuiltGateway({ PORT: '0', ...env });
  running.push(gateway);
  return gateway;
}

/** A port nothing listens on: the system picks a free one, which is then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function expectOneLineWithoutStack(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, `stderr was:\n${stderr}`).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at\s/m);
  return lines[0] as string;
}

describe.sequential(`first start (${onPostgres ? 'fresh PostgreSQL database' : 'fresh embedded database'}, DATA_DIR not there yet)`, () => {
  it(
    'with DEMO=1 it starts, prints the banner and curl line on stderr, and that call completes; stdout is JSON logs without the key',
    async () => {
      const dataDir = freshDataDir();
      const gateway = start({ ...(await freshDatabaseEnv()), DEMO: '1', DATA_DIR: dataDir });
      const [, url, apiKey, body] = (await gateway.stderrMatching(CURL_LINE)) as unknown as [string, string, string, string];

      const banner = gateway.stderr();
      expect(banner).toMatch(/a2a-paygate is up at http:\/\/127\.0\.0\.1:\d+/);
      expect(banner).toMatch(/\/dashboard\b/);
      expect(banner).toMatch(/\/reference\b/);
      expect(banner).toContain(`${dataDir}.demo-key`);
      expect(banner).toContain("rate limits: in this instance's memory; set REDIS_URL to share them across instances");
      expect(existsSync(`${dataDir}.demo-key`)).toBe(true);

      const answer = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body,
      });
      expect(answer.status).toBe(200);
      const rpc = (await answer.json()) as { result?: { task?: { status?: { state?: string } } } };
      expect(rpc.result?.task?.status?.state).toBe('TASK_STATE_COMPLETED');

      expect(await gateway.stop()).toBe(0);
      const logLines = gateway.stdout().trimEnd().split('\n');
      for (const line of logLines) expect(() => JSON.parse(line), line).not.toThrow();
      expect(logLines.some((line) => (JSON.parse(line) as { msg?: string }).msg === 'listening')).toBe(true);
      expect(gateway.stdout()).not.toContain(apiKey);
      expect(gateway.stdout()).not.toContain('apg_');
    },
    START_TIMEOUT_MS,
  );

  it(
    'without demo data it says how to create an organization and its key with the admin commands',
    async () => {
      const gateway = start({ ...(await freshDatabaseEnv()), DEMO: '0', DATA_DIR: freshDataDir() });
      await gateway.stderrMatching(/npm run admin -- --help/);
      const banner = gateway.stderr();
      expect(banner).toMatch(/a2a-paygate is up at http:\/\/127\.0\.0\.1:\d+/);
      expect(banner).toContain('npm run admin -- create-org --name');
      expect(banner).not.toMatch(/^curl /m);
      expect(await gateway.stop()).toBe(0);
    },
    START_TIMEOUT_MS,
  );

  it(
    'with REDIS_URL the banner says rate limits are shared through that Redis, /readyz reports it answering, SIGTERM closes its connection',
    async () => {
      const gateway = start({ ...(await freshDatabaseEnv()), DEMO: '0', DATA_DIR: freshDataDir(), REDIS_URL: MACHINE_REDIS_URL });
      await gateway.stderrMatching(/npm run admin -- --help/);
      const address = redisAddress(MACHINE_REDIS_URL);
      expect(gateway.stderr()).toContain(`rate limits: shared through Redis at ${address}\n`);
      const [, baseUrl] = gateway.stderr().match(/a2a-paygate is up at (\S+)/) as unknown as [string, string];
      const ready = await fetch(`${baseUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { rateLimits: unknown }).rateLimits).toEqual({ store: 'redis', address, answering: true });
      expect(await gateway.stop()).toBe(0);
      expect(gateway.stdout()).toContain('"msg":"stopped"');
    },
    START_TIMEOUT_MS,
  );

  it('a port in use is one line naming PORT, before any database or demo data is written', async () => {
    const occupier: Server = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    disposals.push(() => new Promise((resolve) => occupier.close(() => resolve())));
    const port = (occupier.address() as { port: number }).port;
    const databaseEnv = await freshDatabaseEnv();
    const dataDir = freshDataDir();

    const gateway = start({ ...databaseEnv, DEMO: '1', DATA_DIR: dataDir, PORT: String(port) });
    expect(await gateway.exited).not.toBe(0);
    const line = expectOneLineWithoutStack(gateway.stderr());
    expect(line).toMatch(new RegExp(`PORT ${port}\\b.*in use`));

    // Not even the data folder's parent: no demo key, no embedded database, no pid file.
    expect(existsSync(join(dataDir, '..', '..'))).toBe(false);
    if (databaseEnv.DATABASE_URL) {
      const client = postgres(databaseEnv.DATABASE_URL, { max: 1, onnotice: () => {} });
      const tables = await client`select table_name from information_schema.tables where table_schema = 'public'`;
      await client.end();
      expect(tables).toEqual([]);
    }
  });

  it('a PostgreSQL server that does not answer is one line naming DATABASE_URL, exit non-zero', async () => {
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/paygate`;
    const gateway = start({ DATABASE_URL: url, DATA_DIR: freshDataDir() });
    expect(await gateway.exited).not.toBe(0);
    const line = expectOneLineWithoutStack(gateway.stderr());
    expect(line).toMatch(/DATABASE_URL/);
    expect(line).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:\d+/);
  });

  it('a read replica that does not answer is a warning naming DATABASE_READ_URL; balances are served, and a tool whose data it holds is 503 unavailable, retryable, without a charge', {
    ...needs('postgres'),
    timeout: START_TIMEOUT_MS,
  }, async () => {
    const readUrl = `postgres://reader:replica-password@127.0.0.1:${await closedPort()}/paygate`;
    const gateway = start({ ...(await freshDatabaseEnv()), DEMO: '1', DATA_DIR: freshDataDir(), DATABASE_READ_URL: readUrl });
    const [, url, apiKey, body] = (await gateway.stderrMatching(CURL_LINE)) as unknown as [string, string, string, string];
    const balance = async () => {
      const answer = await fetch(new URL('/v1/balance', url), { headers: { authorization: `Bearer ${apiKey}` } });
      expect(answer.status).toBe(200);
      return ((await answer.json()) as { balanceMicroUsdc: string }).balanceMicroUsdc;
    };
    const before = await balance();
    const answer = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body,
    });
    // Not a failed tool: the data is there, its database is not; the same messageId, sent again once
    // the replica answers, is served then (nothing was written).
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('2');
    const rpc = (await answer.json()) as { error?: { code?: number; data?: { reason?: string } } };
    expect(rpc.error).toMatchObject({ code: -32050, data: { reason: 'database_unavailable' } });
    expect(await balance()).toBe(before);

    expect(await gateway.stop()).toBe(0);
    const warnings = gateway
      .stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; msg?: string })
      .filter((line) => line.msg?.startsWith('DATABASE_READ_URL'));
    expect(warnings).toEqual([expect.objectContaining({ level: 40 })]);
    expect(warnings[0]?.msg).toMatch(
      /^DATABASE_READ_URL: cannot reach PostgreSQL at 127\.0\.0\.1:\d+ \(nothing listens there, ECONNREFUSED\)/,
    );
    expect(gateway.stdout()).not.toContain('replica-password');
  });

  it('a database that does not exist is one line naming DATABASE_URL and the createdb that makes it', needs('postgres'), async () => {
    const url = new URL(serverUrl as string);
    url.pathname = '/paygate_never_created';
    const gateway = start({ DATABASE_URL: url.toString(), DATA_DIR: freshDataDir() });
    expect(await gateway.exited).not.toBe(0);
    const line = expectOneLineWithoutStack(gateway.stderr());
    expect(line).toMatch(/DATABASE_URL/);
    expect(line).toMatch(/createdb .*paygate_never_created$/);
  });
});
