import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API_ERROR_CODES } from '../../src/http/api-errors.js';
import { documentedRoutes } from '../helpers/documented-answer.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type SignedIn, signIn } from '../helpers/sign-in.js';

/**
 * Property-based fuzzing of the REST routes wallets and dashboards use: random JSON, wrong types
 * in every field, long and odd strings, raw bytes, random path segments. Every answer is JSON;
 * every refusal is the one error envelope with a 4xx status (503 only where top-ups are not
 * configured); nothing is created by a refused request; no money moves.
 * FUZZ_SEED and FUZZ_RUNS_SCALE make a run reproducible or shorter / longer.
 */

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const SCALE = process.env.FUZZ_RUNS_SCALE ? Number(process.env.FUZZ_RUNS_SCALE) : 1;
const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * SCALE)), ...(SEED === undefined ? {} : { seed: SEED }) });

const ERROR_CODES: ReadonlySet<string> = new Set(API_ERROR_CODES);

let gateway: TestGateway;
let owner: SignedIn;

const oddString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    ' ',
    '0x',
    `0x${'f'.repeat(40)}`,
    `0x${'g'.repeat(40)}`,
    `0x${'a'.repeat(64)}`,
    '9'.repeat(400),
    '\u0000',
    '\ud800',
    'apg_x',
  ),
);
/** Whole numbers around and past int8's and JavaScript's limits, and number-like text. */
const edgeNumber = fc.oneof(
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.constantFrom(
    '9223372036854775807',
    '9223372036854775808',
    '9999999999999999999',
    '18446744073709551616',
    '-9223372036854775809',
    '1e400',
    '-0',
    '0x10',
    'Infinity',
    'NaN',
  ),
);
const pad = (value: number, width = 2) => String(value).padStart(width, '0');
/** ISO-8601 instants over every 4-digit year and offset, among them the edges of PostgreSQL's and JavaScript's ranges. */
const edgeInstant = fc.oneof(
  fc
    .record({
      year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 1969, 1970, 9998, 9999)),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.oneof(fc.integer({ min: 1, max: 28 }), fc.constant(31)),
      time: fc.oneof(fc.constant('00:00:00'), fc.constant('23:59:59'), fc.constant('23:59:59.999999')),
      offset: fc.oneof(
        fc.constant('Z'),
        fc
          .tuple(fc.constantFrom('+', '-'), fc.oneof(fc.integer({ min: 0, max: 23 }), fc.constant(23)), fc.integer({ min: 0, max: 59 }))
          .map(([sign, h, m]) => `${sign}${pad(h)}:${pad(m)}`),
      ),
    })
    .map(({ year, month, day, time, offset }) => `${pad(year, 4)}-${pad(month)}-${pad(day)}T${time}${offset}`),
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00+23:59',
    '9999-12-31T23:59:59Z',
    '9999-12-31T23:59:59-23:59',
    '9999-01-01T00:00:00Z',
  ),
);
const anyValue = fc.oneof(
  oddString,
  edgeNumber,
  edgeInstant,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(oddString, { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);
const fieldsOf = (names: string[]) =>
  fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 })), anyValue, { maxKeys: 4 });

const body = (names: string[]) =>
  fc.oneof(
    fieldsOf(names).map((value) => JSON.stringify(value)),
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('', '{', 'null', '[]', '{"a":'.repeat(50)),
  );

async function expectWellFormed(response: Response, allowed: number[]): Promise<void> {
  expect(allowed).toContain(response.status);
  if (response.status === 204) return;
  const text = await response.text();
  const parsed = JSON.parse(text) as { error?: { code: string; message: string; requestId: string } };
  if (response.status >= 400) {
    expect(ERROR_CODES.has(parsed.error?.code ?? '')).toBe(true);
    expect(typeof parsed.error?.message).toBe('string');
    expect(typeof parsed.error?.requestId).toBe('string');
  }
}

function send(method: string, path: string, raw: string, token?: string): Promise<Response> {
  return Promise.resolve(
    gateway.app.request(path, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(method === 'GET' || method === 'DELETE' ? {} : { body: raw }),
    }),
  );
}

beforeAll(async () => {
  gateway = await startTestGateway();
  owner = await signIn(gateway, privateKeyToAccount(generatePrivateKey()));
});
afterAll(() => gateway.close());

describe('REST routes under generated input', () => {
  it('sign-in verification answers every body with 4xx and the error envelope', async () => {
    await fc.assert(
      fc.asyncProperty(body(['message', 'signature']), async (raw) => {
        await expectWellFormed(await send('POST', '/v1/auth/verify', raw), [400, 401, 413]);
      }),
      runs(400),
    );
  });

  it('key and member creation take only well-formed bodies; nothing else is created', async () => {
    const countOf = async (table: 'api_keys' | 'org_members') =>
      (
        await gateway.database.db.rows(
          z.object({ n: z.number() }),
          sql`select count(*)::int as n from ${sql.identifier(table)} where org_id = ${owner.orgId}`,
        )
      )[0]?.n;
    await fc.assert(
      fc.asyncProperty(body(['name', 'expiresAt']), body(['address', 'role']), async (keyBody, memberBody) => {
        const keysBefore = await countOf('api_keys');
        const keyAnswer = await send('POST', '/v1/keys', keyBody, owner.token);
        await expectWellFormed(keyAnswer, [201, 400, 413]);
        expect(await countOf('api_keys')).toBe((keysBefore ?? 0) + (keyAnswer.status === 201 ? 1 : 0));

        const membersBefore = await countOf('org_members');
        const memberAnswer = await send('POST', '/v1/members', memberBody, owner.token);
        await expectWellFormed(memberAnswer, [201, 400, 409, 413]);
        expect(await countOf('org_members')).toBe((membersBefore ?? 0) + (memberAnswer.status === 201 ? 1 : 0));
      }),
      runs(300),
    );
  });

  it('every documented query (ledger, usage, tasks, top-ups, audit and their CSVs) answers 200 or a 400 envelope, whatever the parameters', async () => {
    const queried = documentedRoutes(gateway.app).filter((route) => route.method === 'get' && route.request?.query);
    expect(queried.length).toBeGreaterThanOrEqual(6);
    const parameters = (names: string[]) =>
      fc.dictionary(
        fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 })),
        fc.oneof(
          oddString,
          fc.integer().map(String),
          edgeNumber,
          edgeInstant,
          fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        ),
        { maxKeys: 4 },
      );
    for (const route of queried) {
      await fc.assert(
        fc.asyncProperty(parameters(Object.keys((route.request!.query as z.ZodObject).shape)), async (query) => {
          const search = new URLSearchParams(
            Object.entries(query).map(([name, value]): [string, string] => [
              name.replace(/[\ud800-\udfff]/g, ''),
              value.replace(/[\ud800-\udfff]/g, ''),
            ]),
          );
          const response = await send('GET', `${route.path}?${search}`, '', owner.token);
          if (response.status === 200 && route.path.endsWith('.csv')) expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
          else await expectWellFormed(response, [200, 400]);
        }),
        runs(150),
      );
    }
  });

  it('random path segments and tokens never reach a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), oddString, async (segment, token) => {
        const path = encodeURIComponent(segment) || 'x';
        await expectWellFormed(await send('DELETE', `/v1/keys/${path}`, '', owner.token), [404]);
        await expectWellFormed(await send('DELETE', `/v1/members/${path}`, '', owner.token), [204, 400, 404, 409]);
        const authorization = token.replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, '');
        await expectWellFormed(await send('GET', '/v1/keys', '', authorization || undefined), [401]);
        await expectWellFormed(await send('POST', '/v1/topups', JSON.stringify({ txHash: token }), owner.token), [400, 503]);
      }),
      runs(300),
    );
    const [account] = await gateway.database.db.rows(
      z.object({ balance: z.bigint() }),
      sql`select balance from credit_accounts where org_id = ${owner.orgId}`,
    );
    expect(account?.balance).toBe(0n);
  });
});
