import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createApiKey, revokeApiKey } from './auth/api-keys.js';
import { createOrganization, organizationExists } from './auth/organizations.js';
import { grantCredits } from './billing/accounts.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase, type Database } from './db/client.js';
import { embeddedDatabaseInUse } from './db/embedded-lock.js';

/**
 * Operator commands, for use before wallet top-ups exist:
 *   npm run admin -- create-org --name <name> --credits <micro-USDC>
 *   npm run admin -- grant --org <id> --amount <micro-USDC> --reason <text>
 *   npm run admin -- create-key --org <id> --name <name> [--expires-at <ISO time>]
 *   npm run admin -- revoke-key --key <key id>
 * Each prints one JSON line; a bad argument prints one line on stderr and exits 2.
 */

class UsageError extends Error {}

const microUsdc = z
  .string({ error: 'is required' })
  .regex(/^\d+$/, 'must be a whole number of micro-USDC (1 USDC = 1000000)')
  .transform((value) => BigInt(value));
const uuid = z.uuid({ error: 'must be an id (uuid)' });

const commands = {
  'create-org': z.object({ name: z.string({ error: 'is required' }).min(1).max(200), credits: microUsdc.default(0n) }),
  grant: z.object({
    org: uuid,
    amount: microUsdc.refine((value) => value > 0n, 'must be positive'),
    reason: z.string({ error: 'is required' }).min(1).max(500),
  }),
  'create-key': z.object({
    org: uuid,
    name: z.string().min(1).max(200).default('default'),
    'expires-at': z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time' }).optional(),
  }),
  'revoke-key': z.object({ key: uuid }),
} as const;

type Command = keyof typeof commands;

function isCommand(value: string | undefined): value is Command {
  return value !== undefined && Object.hasOwn(commands, value);
}

/** `--credits -5` reads as two options to parseArgs; glue it so the schema can say what is wrong. */
function joinNegativeValues(argv: string[]): string[] {
  return argv.reduce<string[]>((joined, arg, index) => {
    const previous = joined.at(-1);
    if (/^-\d/.test(arg) && index > 0 && previous?.startsWith('--') && !previous.includes('=')) {
      joined[joined.length - 1] = `${previous}=${arg}`;
    } else {
      joined.push(arg);
    }
    return joined;
  }, []);
}

function parseCommand(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: joinNegativeValues(argv),
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      credits: { type: 'string' },
      org: { type: 'string' },
      amount: { type: 'string' },
      reason: { type: 'string' },
      key: { type: 'string' },
      'expires-at': { type: 'string' },
    },
  });
  const [command] = positionals;
  if (!isCommand(command)) {
    throw new UsageError(`unknown command ${command ?? '(none)'}; use one of ${Object.keys(commands).join(', ')}`);
  }
  const parsed = commands[command].safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${command}: --${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}`);
  }
  return { command, args: parsed.data } as { [C in Command]: { command: C; args: z.output<(typeof commands)[C]> } }[Command];
}

async function requireOrganization(db: Database, orgId: string): Promise<void> {
  if (!(await organizationExists(db, orgId))) throw new UsageError(`no organization ${orgId}`);
}

async function run(db: Database, parsed: ReturnType<typeof parseCommand>): Promise<Record<string, unknown>> {
  switch (parsed.command) {
    case 'create-org': {
      const org = await createOrganization(db, { name: parsed.args.name, credits: parsed.args.credits });
      return {
        orgId: org.orgId,
        name: org.name,
        credits: org.credits.toString(),
        apiKey: org.apiKey.key,
        keyId: org.apiKey.id,
        keyPrefix: org.apiKey.prefix,
      };
    }
    case 'grant': {
      await requireOrganization(db, parsed.args.org);
      const account = await grantCredits(db, {
        orgId: parsed.args.org,
        amount: parsed.args.amount,
        reason: parsed.args.reason,
      });
      return {
        orgId: account.orgId,
        granted: parsed.args.amount.toString(),
        balance: account.balance.toString(),
        available: account.available.toString(),
      };
    }
    case 'create-key': {
      await requireOrganization(db, parsed.args.org);
      const expiresAt = parsed.args['expires-at'];
      const key = await createApiKey(db, {
        orgId: parsed.args.org,
        name: parsed.args.name,
        ...(expiresAt ? { expiresAt: new Date(expiresAt) } : {}),
      });
      return { orgId: key.orgId, apiKey: key.key, keyId: key.id, keyPrefix: key.prefix, expiresAt: key.expiresAt };
    }
    case 'revoke-key': {
      if (!(await revokeApiKey(db, { keyId: parsed.args.key }))) throw new UsageError(`no API key ${parsed.args.key}`);
      return { keyId: parsed.args.key, revoked: true };
    }
  }
}

async function main(): Promise<void> {
  const parsed = parseCommand(process.argv.slice(2));
  const config = loadConfig();
  if (!config.databaseUrl && (await embeddedDatabaseInUse(config.dataDir))) {
    throw new UsageError(
      `the embedded database in ${config.dataDir} is open in a running gateway; stop it first (or use DATABASE_URL)`,
    );
  }
  const db = await openDatabase(config.databaseUrl ? { url: config.databaseUrl, poolSize: 2 } : { dataDir: config.dataDir });
  try {
    await db.migrate();
    console.log(JSON.stringify(await run(db, parsed)));
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  const known = error instanceof UsageError || error instanceof ConfigError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
  const message = error instanceof Error ? error.message : String(error);
  console.error(`admin: ${known ? '' : 'failed: '}${message.split('\n')[0]}`);
  process.exit(known ? 2 : 1);
});
