import { createServer, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import type { LocalAccount } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewOrganization } from '../../src/auth/organizations.js';
import { type RegistrationFileSettings, readDueRegistrationFiles } from '../../src/indexer/registration-files.js';
import type { Resolve } from '../../src/webhooks/destination.js';
import { call, expectResult, request, toolCall, v1Data, v1Send } from '../a2a/support.js';
import { type LocalChain, startLocalChain } from '../helpers/chain.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { listenOnLoopback } from '../helpers/loopback.js';
import { catchUp, deployRegistries, indexerDeps, type Registries, registryCalls } from './support.js';

const file = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1',
    name,
    description: `${name}, described`,
    services: [],
    ...extra,
  });

/** A file server for registration files: plain paths, an IPFS gateway path, a redirect, a huge file, a hanging one. */
async function startFileServer() {
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (path === '/zero.json')
      return void response.writeHead(200, { 'content-type': 'application/json' }).end(file('Zero', { active: true }));
    if (path === '/ipfs/bafyagentone/agent.json') return void response.writeHead(200).end(file('One', { active: false }));
    if (path === '/moved') return void response.writeHead(302, { location: '/zero.json' }).end();
    if (path === '/huge.json') return void response.writeHead(200).end(`{"name":"${'x'.repeat(300_000)}"}`);
    if (path === '/not-json') return void response.writeHead(200).end('<html>hello</html>');
    if (path === '/hang') return; // never answers
    response.writeHead(404).end();
  });
  const loopback = await listenOnLoopback(server);
  return { base: loopback.baseUrl, close: loopback.close };
}

describe('registration files: name, description and active from the agent URI, never holding the chain cursor', () => {
  let chain: LocalChain;
  let gateway: TestGateway;
  let org: NewOrganization;
  let registries: Registries;
  let files: Awaited<ReturnType<typeof startFileServer>>;
  let owner: LocalAccount;
  let settings: RegistrationFileSettings;
  const log = pino({ level: 'silent' });

  const profile = async (agentId: number) =>
    expectResult(await call(gateway, request('SendMessage', v1Send([v1Data(toolCall('getAgentProfile', { agentId }))])), org.apiKey.key))
      .task.artifacts[0].parts[0].data;
  const registration = async (agentId: number) =>
    (
      await gateway.database.db.rows(
        z.object({ registration_error: z.string().nullable(), registration_attempts: z.number(), due: z.boolean() }),
        sql`select registration_error, registration_attempts, agent_uri is distinct from registration_uri as due from agents where id = ${agentId}`,
      )
    )[0];

  beforeAll(async () => {
    chain = await startLocalChain();
    gateway = await startTestGateway();
    org = await gateway.createOrg({ credits: 1_000_000n });
    files = await startFileServer();
    // The timeout is waited out once (the hanging file); long enough that a loaded machine serves the others in it.
    settings = { ipfsGateway: `${files.base}/ipfs/`, timeoutMs: 3_000, maxBytes: 64 * 1024, allowPrivateNetworks: true };
    const deployer = await chain.fundedWallet();
    owner = await chain.fundedWallet();
    registries = await deployRegistries(chain, deployer);
    const calls = registryCalls(registries);
    const inline = `data:application/json;base64,${Buffer.from(file('Two')).toString('base64')}`;
    for (const uri of [
      `${files.base}/zero.json`,
      'ipfs://bafyagentone/agent.json',
      inline,
      `${files.base}/moved`,
      `${files.base}/huge.json`,
      `${files.base}/not-json`,
      `${files.base}/hang`,
      'ftp://agents.example/x.json',
      '',
    ]) {
      await chain.write(owner, calls.register(uri));
    }
  }, 60_000);
  afterAll(async () => {
    await files?.close();
    await gateway?.close();
    await chain?.stop();
  });

  it('reads http(s), ipfs:// through the gateway, data: URIs and redirects; refuses what cannot be a registration file', async () => {
    // The cursor moves without waiting for any file, the hanging one included.
    expect(await catchUp(indexerDeps(gateway.database.db, chain, registries))).toBe(18);
    expect(await profile(0)).toMatchObject({ name: null, is_active: null });

    expect(await readDueRegistrationFiles({ db: gateway.database.db, settings, log })).toBe(9);
    expect(await profile(0)).toMatchObject({ name: 'Zero', description: 'Zero, described', is_active: true });
    expect(await profile(1)).toMatchObject({ name: 'One', is_active: false });
    expect(await profile(2)).toMatchObject({ name: 'Two', is_active: null }); // no active field: unknown, not assumed
    expect(await profile(3)).toMatchObject({ name: 'Zero' });

    expect(await registration(4)).toMatchObject({ registration_error: 'larger than 65536 bytes', due: false });
    expect(await registration(5)).toMatchObject({ registration_error: 'not JSON', due: false });
    expect(await registration(6)).toMatchObject({ registration_attempts: 1, due: true }); // timed out: retried later
    expect((await registration(6))?.registration_error).toMatch(/timeout|aborted/i);
    expect(await registration(7)).toMatchObject({ registration_error: 'unsupported URI scheme ftp:', due: false });
    expect(await registration(8)).toMatchObject({ registration_error: 'no URI', due: false });
    expect(await readDueRegistrationFiles({ db: gateway.database.db, settings, log })).toBe(0); // the retry waits for its backoff
  });

  it('a file is read from the address its name resolved to, looked up once (a rebinding name cannot redirect the read)', async () => {
    const lookups: string[] = [];
    const resolve: Resolve = async (host) => {
      lookups.push(host);
      return [{ address: lookups.length === 1 ? '127.0.0.1' : '192.0.2.1', family: 4 }];
    };
    await chain.write(owner, registryCalls(registries).setAgentURI(1n, `http://files.rebind.test:${new URL(files.base).port}/zero.json`));
    await catchUp(indexerDeps(gateway.database.db, chain, registries));
    await readDueRegistrationFiles({ db: gateway.database.db, settings: { ...settings, resolve }, log });
    expect(lookups).toEqual(['files.rebind.test']);
    expect(await profile(1)).toMatchObject({ name: 'Zero' });
  });

  it('a new URI is read again; loopback files are refused unless private networks are allowed', async () => {
    await chain.write(owner, registryCalls(registries).setAgentURI(0n, `${files.base}/ipfs/bafyagentone/agent.json`));
    await catchUp(indexerDeps(gateway.database.db, chain, registries));
    await readDueRegistrationFiles({ db: gateway.database.db, settings: { ...settings, allowPrivateNetworks: false }, log });
    expect((await registration(0))?.registration_error).toMatch(/private or loopback/);
    expect(await profile(0)).toMatchObject({ name: 'Zero' });
  });
});
