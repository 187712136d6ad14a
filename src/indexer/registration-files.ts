import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { repeat } from '../repeat.js';
import { inSpan } from '../tracing/spans.js';
import { boundedText } from '../webhooks/bounded-text.js';
import { type Resolve, resolveDestination } from '../webhooks/destination.js';
import { pinnedFetch } from '../webhooks/pinned-fetch.js';

export interface RegistrationFileSettings {
  /** where ipfs://<cid>/<path> is read from: <gateway><cid>/<path> */
  ipfsGateway: string;
  timeoutMs: number;
  maxBytes: number;
  /** read files from loopback and private addresses too (tests; a registry on one's own network) */
  allowPrivateNetworks: boolean;
  /** the resolver of host names (tests inject one); each hop connects to the address it checked */
  resolve?: Resolve;
}

/** The fields of an ERC-8004 registration file the gateway keeps; everything else is left alone. */
const registrationFile = z.looseObject({
  name: z.string().max(1_000).optional(),
  description: z.string().max(20_000).optional(),
  active: z.boolean().optional(),
});

/** A file that cannot be read this way whatever we retry: not tried again until the URI changes. */
class UnreadableFile extends Error {}

const MAX_REDIRECTS = 3;
const MAX_ATTEMPTS = 8;
const BATCH = 10;

function decodeDataUri(uri: string): string {
  const comma = uri.indexOf(',');
  if (comma < 0) throw new UnreadableFile('malformed data: URI');
  const header = uri.slice(5, comma);
  const payload = uri.slice(comma + 1);
  return header.endsWith(';base64') ? Buffer.from(payload, 'base64').toString('utf8') : decodeURIComponent(payload);
}

/** The http(s) URL a registration URI is read from: itself, or an ipfs:// path through the gateway. */
function registrationUrl(uri: string, ipfsGateway: string): URL {
  if (uri.startsWith('ipfs://')) {
    const path = uri.slice('ipfs://'.length).replace(/^ipfs\//, '');
    if (!path) throw new UnreadableFile('ipfs:// URI without a CID');
    return new URL(path, ipfsGateway.endsWith('/') ? ipfsGateway : `${ipfsGateway}/`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UnreadableFile('not a URI');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UnreadableFile(`unsupported URI scheme ${url.protocol}`);
  return url;
}

/** The registration file's text, from a data: URI or over http(s) (each redirect checked like the first hop). */
async function readRegistrationFile(uri: string, settings: RegistrationFileSettings): Promise<string> {
  if (uri.startsWith('data:')) return decodeDataUri(uri);
  let url = registrationUrl(uri, settings.ipfsGateway);
  for (let hop = 0; ; hop++) {
    const pinned = await resolveDestination(url, settings);
    const response = await pinnedFetch(
      url,
      { method: 'GET', signal: AbortSignal.timeout(settings.timeoutMs), headers: { accept: 'application/json' } },
      pinned,
    );
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new UnreadableFile('too many redirects');
      url = new URL(location, url);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      // 4xx other than 408/429 will not get better by asking again soon; the backoff still retries them.
      throw new Error(`HTTP ${response.status}`);
    }
    return boundedText(response, settings.maxBytes, () => new UnreadableFile(`larger than ${settings.maxBytes} bytes`));
  }
}

/** readRegistrationFile in a span of its own: a call to whatever host the agent's owner named. */
function readInSpan(agentId: bigint, uri: string, settings: RegistrationFileSettings): Promise<string> {
  return inSpan('registration file read', { 'agent.id': agentId.toString() }, () => readRegistrationFile(uri, settings), {
    kind: 'client',
  });
}

function parseRegistrationFile(text: string): z.output<typeof registrationFile> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UnreadableFile('not JSON');
  }
  const parsed = registrationFile.safeParse(value);
  if (!parsed.success) throw new UnreadableFile(`not a registration file: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** An agent whose registration file is to be read, claimed for this pass. */
const dueAgent = z.object({ id: z.bigint(), uri: z.string().nullable(), attempts: z.number() });

/**
 * Reads the registration files of agents whose URI changed since their file was last read, at most
 * `BATCH` at a time, and keeps their name, description and active flag. Claimed rows are leased for
 * two minutes (`FOR UPDATE SKIP LOCKED`), so instances share the work; a write only lands if the
 * agent's URI is still the one read. Failures back off 30 s · 2^attempts; after 8, or for a file
 * that can never be read (a scheme we do not read, not JSON, too large), the URI is left until it changes.
 */
export async function readDueRegistrationFiles(deps: { db: Database; settings: RegistrationFileSettings; log: Logger }): Promise<number> {
  const due = await deps.db.rows(
    dueAgent,
    sql`
    update agents a set registration_next_at = now() + interval '2 minutes'
      from (select id from agents
             where agent_uri is distinct from registration_uri and (registration_next_at is null or registration_next_at <= now())
             order by registration_next_at nulls first
             limit ${BATCH} for update skip locked) due
     where a.id = due.id
 returning a.id, a.agent_uri as uri, a.registration_attempts as attempts`,
  );
  await Promise.all(
    due.map(async (agent) => {
      try {
        if (!agent.uri) throw new UnreadableFile('no URI');
        const file = parseRegistrationFile(await readInSpan(agent.id, agent.uri, deps.settings));
        await deps.db.run(sql`
          update agents set name = ${file.name ?? null}, description = ${file.description ?? null}, active = ${file.active ?? null},
                 registration_uri = agent_uri, registration_error = null, registration_attempts = 0, registration_next_at = null
           where id = ${agent.id} and agent_uri is not distinct from ${agent.uri}`);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const final = error instanceof UnreadableFile || agent.attempts + 1 >= MAX_ATTEMPTS;
        deps.log.info({ agentId: agent.id.toString(), reason, final }, 'registration file not read');
        await deps.db.run(sql`
          update agents set registration_error = ${reason}, registration_attempts = registration_attempts + 1,
                 registration_uri = case when ${final} then agent_uri else registration_uri end,
                 registration_next_at = case when ${final} then null else now() + least(30 * 2 ^ registration_attempts, 21600) * interval '1 second' end
           where id = ${agent.id} and agent_uri is not distinct from ${agent.uri}`);
      }
    }),
  );
  return due.length;
}

export function startRegistrationFiles(deps: {
  db: Database;
  settings: RegistrationFileSettings;
  log: Logger;
  intervalMs: number;
}): () => Promise<void> {
  return repeat(
    async () => {
      while ((await readDueRegistrationFiles(deps)) > 0);
    },
    { intervalMs: deps.intervalMs, onError: (error) => deps.log.warn({ err: error }, 'registration file pass failed') },
  );
}
