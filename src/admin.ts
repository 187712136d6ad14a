import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { OPERATOR } from './audit/record.js';
import { createApiKey, EXPIRY_IN_PAST, isExpiryInPast, listApiKeys, revokeApiKey } from './auth/api-keys.js';
import {
  createOrganization,
  getOrganization,
  listOrganizations,
  type OrganizationSummary,
  organizationExists,
  organizationsNamed,
} from './auth/organizations.js';
import { getCreditAccount, grantCredits } from './billing/accounts.js';
import { platformFeesBy } from './billing/earnings.js';
import { PLATFORM_ORG_ID } from './billing/platform.js';
import { MAX_MANIFEST_BYTES, manifestProblem, type ToolManifest, ToolManifestSchema } from './catalog/manifest.js';
import { callableCatalogNames, listTools, registerTool, setToolStatus } from './catalog/store.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import type { Database } from './db/client.js';
import { DatabaseUnavailableError, openConfiguredDatabase } from './db/configured.js';
import { embeddedDatabaseInUse } from './db/embedded-lock.js';
import { INT8_MAX, NUMERIC_VALUE_OUT_OF_RANGE, sqlState } from './db/sql.js';
import { isDomainError } from './domain/errors.js';
import { cliMaxTier, cliRateLimit, cliSpendCap, cliTools, type KeyPolicyPatch, NO_KEY_POLICY, policyJson } from './policies/policy.js';
import { updateKeyPolicy, updateOrgPolicy } from './policies/store.js';
import { createToolRegistry } from './tools/registry.js';

/**
 * Operator commands (`npm run admin -- --help` lists them). Each prints one JSON line; a bad
 * argument prints one line on stderr and exits 2. What they change is in the audit trail with
 * the actor `operator`.
 */
const HELP = `Usage: npm run admin -- <command> [options]    (same DATABASE_URL / DATA_DIR as the gateway)

  create-org --name <name> [--credits <micro-USDC>] [--allow-duplicate-name]
                 a new organization, its credit (1 USDC = 1000000) and its first API key
  list-orgs      every organization: id, name, balance, available
  show-org --org <id>
                 one organization: its balance and its API keys (prefixes only)
  grant --org <id> --amount <micro-USDC> --reason <text>
                 adds credit, with a ledger row carrying the reason
  create-key --org <id> [--name <name>] [--expires-at <ISO time in the future>] [policy flags]
                 a new API key (shown once)
  set-key-policy --key <key id> [policy flags]
                 changes the flags given, from the key's next call on
  set-org-policy --org <id> [--spend-cap …] [--rate-limit …]
                 bounds over all the organization's keys
  revoke-key --key <key id>
                 refused at once from then on

  register-tool --file <tool.json>
                 sells an upstream HTTP tool: a new name, or a new version of one (README, "Tool catalog")
  list-tools     every version of every catalog tool (header values never shown)
  deprecate-tool --name <name> --version <semver>
                 still answers, with a deprecation note
  retire-tool --name <name> --version <semver>
                 refused from then on
  platform-fees [--by <tool|day>]
                 the platform's account: its balance and the fees of providers' tools, by tool or UTC day

Policy flags (none removes a bound):
  --tools <name,name,…|all>         the tools the key may call
  --max-tier <0-3|none>             the highest tier it may call
  --spend-cap <micro-USDC>/<day|month>|none    e.g. 37000/day (UTC periods)
  --rate-limit <requests>/<seconds>s|none      e.g. 10/60s

Each command prints one JSON line on stdout; a bad argument prints one line on stderr and exits 2.`;

class UsageError extends Error {}

const knownTools = createToolRegistry({});

const keyPolicyFlags = {
  tools: cliTools.optional(),
  'max-tier': cliMaxTier.optional(),
  'spend-cap': cliSpendCap.optional(),
  'rate-limit': cliRateLimit.optional(),
};

/**
 * Refuses a --tools list naming a tool the gateway does not offer: a built-in tool's name, or a
 * catalog tool's with a version that takes calls (the catalog is read, so this needs the database).
 */
async function requireOfferedTools(db: Database, command: string, tools: readonly string[] | null | undefined): Promise<void> {
  const unknown = (tools ?? []).filter((name) => !knownTools.find(name));
  const inCatalog = await callableCatalogNames(db, unknown);
  const missing = unknown.filter((name) => !inCatalog.has(name));
  if (missing.length > 0) {
    throw new UsageError(
      `${command}: --tools must name tools the gateway offers (${knownTools
        .listEnabled()
        .map((tool) => tool.name)
        .join(', ')}, or a catalog tool's name; see list-tools); not offered: ${missing.join(', ')}`,
    );
  }
}

/** The policy flags given, as a patch: a flag left out leaves its bound as it is. */
function policyPatchOf(args: {
  tools?: string[] | null;
  'max-tier'?: number | null;
  'spend-cap'?: KeyPolicyPatch['spendCap'];
  'rate-limit'?: KeyPolicyPatch['rateLimit'];
}): KeyPolicyPatch {
  return { tools: args.tools, maxTier: args['max-tier'], spendCap: args['spend-cap'], rateLimit: args['rate-limit'] };
}

/** An amount the ledger can hold: its columns are int8, so a larger one is refused here rather than failing in SQL. */
const microUsdc = z
  .string({ error: 'is required' })
  .regex(/^\d+$/, 'must be a whole number of micro-USDC (1 USDC = 1000000)')
  .transform((value) => BigInt(value))
  .refine((value) => value <= INT8_MAX, `must be at most ${INT8_MAX} micro-USDC`);
const uuid = z.uuid({ error: 'must be an id (uuid)' });
const text = (maxLength: number) =>
  z.string({ error: 'is required' }).min(1, 'must not be empty').max(maxLength, `must be at most ${maxLength} characters`);

const commands = {
  'create-org': z.object({ name: text(200), credits: microUsdc.default(0n), 'allow-duplicate-name': z.boolean().default(false) }),
  'list-orgs': z.object({}),
  'show-org': z.object({ org: uuid }),
  grant: z.object({
    org: uuid,
    amount: microUsdc.refine((value) => value > 0n, 'must be positive'),
    reason: text(500),
  }),
  'create-key': z.object({
    org: uuid,
    name: text(200).default('default'),
    'expires-at': z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time' }).optional(),
    ...keyPolicyFlags,
  }),
  'set-key-policy': z.object({ key: uuid, ...keyPolicyFlags }),
  'set-org-policy': z.object({ org: uuid, 'spend-cap': cliSpendCap.optional(), 'rate-limit': cliRateLimit.optional() }),
  'revoke-key': z.object({ key: uuid }),
  'register-tool': z.object({ file: text(4096) }),
  'list-tools': z.object({}),
  'deprecate-tool': z.object({ name: text(64), version: text(64) }),
  'retire-tool': z.object({ name: text(64), version: text(64) }),
  'platform-fees': z.object({ by: z.enum(['tool', 'day'], { error: 'must be tool or day' }).default('tool') }),
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
      'allow-duplicate-name': { type: 'boolean' },
      tools: { type: 'string' },
      'max-tier': { type: 'string' },
      'spend-cap': { type: 'string' },
      'rate-limit': { type: 'string' },
      file: { type: 'string' },
      version: { type: 'string' },
      by: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || command === 'help') return { command: 'help' as const };
  if (!isCommand(command)) {
    throw new UsageError(`unknown command ${command ?? '(none)'}; use one of ${Object.keys(commands).join(', ')} (--help says more)`);
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

function orgView(org: OrganizationSummary) {
  return {
    id: org.id,
    name: org.name,
    createdAt: org.createdAt,
    balance: org.balance.toString(),
    available: (org.balance - org.reserved).toString(),
  };
}

type Parsed = Exclude<ReturnType<typeof parseCommand>, { command: 'help' }>;

/** The manifest in `path`, parsed and checked; a usage error says what is wrong with it. */
async function readManifest(path: string) {
  const size = await stat(path).then(
    (info) => info.size,
    () => {
      throw new UsageError(`register-tool: cannot read ${path}`);
    },
  );
  if (size > MAX_MANIFEST_BYTES) throw new UsageError(`register-tool: ${path} is over ${MAX_MANIFEST_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new UsageError(`register-tool: ${path} is not JSON`);
  }
  const parsed = ToolManifestSchema.safeParse(json);
  if (!parsed.success) throw new UsageError(`register-tool: ${manifestProblem(parsed.error)}`);
  return parsed.data;
}

/** A catalog refusal (a domain error) as the command's usage error. */
function refusedAs<T>(command: string, work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    throw isDomainError(error) ? new UsageError(`${command}: ${error.message}`) : error;
  });
}

/** What a command needs besides the database: the configuration, and register-tool's manifest, read before the database opens. */
interface RunContext {
  config: Config;
  manifest: ToolManifest | undefined;
}

async function run(db: Database, parsed: Parsed, context: RunContext): Promise<object> {
  switch (parsed.command) {
    case 'create-org': {
      const [namesake] = parsed.args['allow-duplicate-name'] ? [] : await organizationsNamed(db, parsed.args.name);
      if (namesake) {
        throw new UsageError(
          `create-org: an organization named ${JSON.stringify(parsed.args.name)} already exists (${namesake.id}); pass --allow-duplicate-name to create another`,
        );
      }
      const org = await createOrganization(db, { name: parsed.args.name, credits: parsed.args.credits, by: OPERATOR });
      return {
        orgId: org.orgId,
        name: org.name,
        credits: org.credits.toString(),
        apiKey: org.apiKey.key,
        keyId: org.apiKey.id,
        keyPrefix: org.apiKey.prefix,
      };
    }
    case 'list-orgs':
      return { organizations: (await listOrganizations(db)).map(orgView) };
    case 'show-org': {
      const org = await getOrganization(db, parsed.args.org);
      if (!org) throw new UsageError(`no organization ${parsed.args.org}`);
      return { ...orgView(org), reserved: org.reserved.toString(), keys: await listApiKeys(db, org.id) };
    }
    case 'grant': {
      await requireOrganization(db, parsed.args.org);
      const account = await grantCredits(db, {
        orgId: parsed.args.org,
        amount: parsed.args.amount,
        reason: parsed.args.reason,
        by: OPERATOR,
      }).catch((error: unknown) => {
        if (sqlState(error) !== NUMERIC_VALUE_OUT_OF_RANGE) throw error;
        throw new UsageError(`grant: the balance of ${parsed.args.org} would pass ${INT8_MAX} micro-USDC, the most the ledger holds`);
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
      const expiresAt = parsed.args['expires-at'] === undefined ? undefined : new Date(parsed.args['expires-at']);
      // the REST API's rule and words, with the flag's name
      if (isExpiryInPast(expiresAt)) throw new UsageError(`create-key: ${EXPIRY_IN_PAST.message.replace(/^expiresAt/, '--expires-at')}`);
      await requireOfferedTools(db, 'create-key', parsed.args.tools);
      const patch = policyPatchOf(parsed.args);
      const { key, policy } = await db.transaction(async (tx) => {
        const key = await createApiKey(tx, {
          orgId: parsed.args.org,
          name: parsed.args.name,
          ...(expiresAt ? { expiresAt } : {}),
          by: OPERATOR,
        });
        const changed = await updateKeyPolicy(tx, { keyId: key.id, patch, by: OPERATOR });
        return { key, policy: changed?.after ?? NO_KEY_POLICY };
      });
      return {
        orgId: key.orgId,
        apiKey: key.key,
        keyId: key.id,
        keyPrefix: key.prefix,
        expiresAt: key.expiresAt,
        policy: policyJson(policy),
      };
    }
    case 'set-key-policy': {
      await requireOfferedTools(db, 'set-key-policy', parsed.args.tools);
      const patch = policyPatchOf(parsed.args);
      const changed = await db.transaction((tx) => updateKeyPolicy(tx, { keyId: parsed.args.key, patch, by: OPERATOR }));
      if (!changed) throw new UsageError(`no API key ${parsed.args.key}`);
      return { keyId: parsed.args.key, orgId: changed.orgId, policy: policyJson(changed.after) };
    }
    case 'set-org-policy': {
      await requireOrganization(db, parsed.args.org);
      const changed = await db.transaction((tx) =>
        updateOrgPolicy(tx, {
          orgId: parsed.args.org,
          patch: { spendCap: parsed.args['spend-cap'], rateLimit: parsed.args['rate-limit'] },
          by: OPERATOR,
        }),
      );
      if (!changed) throw new UsageError(`organization ${parsed.args.org} has no credit account`);
      return { orgId: parsed.args.org, policy: policyJson(changed.after) };
    }
    case 'revoke-key': {
      if (!(await revokeApiKey(db, { keyId: parsed.args.key, by: OPERATOR }))) throw new UsageError(`no API key ${parsed.args.key}`);
      return { keyId: parsed.args.key, revoked: true };
    }
    case 'register-tool': {
      const { manifest } = context;
      // main reads and checks it before the database opens
      if (!manifest) throw new UsageError('register-tool: --file is required');
      const reservedNames = new Set(knownTools.list().map((tool) => tool.name));
      return refusedAs('register-tool', registerTool(db, { manifest, secretsKey: context.config.secretsKey, reservedNames }));
    }
    case 'list-tools':
      return { tools: await listTools(db) };
    case 'deprecate-tool':
    case 'retire-tool': {
      const status = parsed.command === 'deprecate-tool' ? 'deprecated' : 'retired';
      const tool = await refusedAs(parsed.command, setToolStatus(db, { ...parsed.args, status }));
      if (!tool) throw new UsageError(`${parsed.command}: no catalog tool ${parsed.args.name} ${parsed.args.version}`);
      return { tool };
    }
    case 'platform-fees': {
      const account = await getCreditAccount(db, PLATFORM_ORG_ID);
      const rows = await platformFeesBy(db, { by: parsed.args.by });
      return {
        orgId: PLATFORM_ORG_ID,
        balance: (account?.balance ?? 0n).toString(),
        feesMicroUsdc: rows.reduce((sum, row) => sum + row.credited, 0n).toString(),
        by: parsed.args.by,
        fees: rows.map((row) => ({
          key: row.key,
          calls: row.calls,
          grossMicroUsdc: row.gross.toString(),
          feeMicroUsdc: row.credited.toString(),
        })),
      };
    }
  }
}

async function main(): Promise<void> {
  const parsed = parseCommand(process.argv.slice(2));
  if (parsed.command === 'help') {
    console.log(HELP);
    return;
  }
  const config = loadConfig();
  if (!config.databaseUrl && (await embeddedDatabaseInUse(config.dataDir))) {
    throw new UsageError(`the embedded database in ${config.dataDir} is open in a running gateway; stop it first (or use DATABASE_URL)`);
  }
  // a bad manifest is refused before the database is opened
  const manifest = parsed.command === 'register-tool' ? await readManifest(parsed.args.file) : undefined;
  const db = await openConfiguredDatabase(config, 2);
  try {
    console.log(JSON.stringify(await run(db, parsed, { config, manifest })));
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  const usage =
    error instanceof UsageError || error instanceof ConfigError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
  const explained = usage || error instanceof DatabaseUnavailableError;
  const message = error instanceof Error ? error.message : String(error);
  console.error(`admin: ${explained ? '' : 'failed: '}${message.split('\n')[0]}`);
  process.exit(usage ? 2 : 1);
});
