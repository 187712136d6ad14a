import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { OPERATOR } from '../audit/record.js';
import type { Database } from '../db/client.js';
import { authenticateApiKey, createApiKey } from './api-keys.js';
import { createOrganization } from './organizations.js';

const DEMO_ORG_NAME = 'Demo organization';

export interface DemoOrganization {
  orgId: string;
  apiKey: string;
}

const OrgIdRow = z.object({ id: z.string() });

/**
 * The demo organization and a key that works, made by the operator (the gateway at its start). Keys are stored hashed, so the demo key itself is
 * kept in a file beside the data folder (mode 0600) to print the same curl line after a restart.
 */
export async function ensureDemoOrganization(db: Database, options: { credits: bigint; keyFile: string }): Promise<DemoOrganization> {
  const saved = await readFile(options.keyFile, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  const principal = saved ? await authenticateApiKey(db, saved) : undefined;
  if (saved && principal) return { orgId: principal.orgId, apiKey: saved };

  const [existing] = await db.rows(OrgIdRow, sql`select id from organizations where name = ${DEMO_ORG_NAME} order by created_at limit 1`);
  const issued = existing
    ? { orgId: existing.id, apiKey: await createApiKey(db, { orgId: existing.id, name: 'demo', by: OPERATOR }) }
    : await createOrganization(db, {
        name: DEMO_ORG_NAME,
        credits: options.credits,
        keyName: 'demo',
        grantReason: 'demo credits',
        by: OPERATOR,
      });
  // On PostgreSQL nothing else has made the data folder's parent yet (the embedded lock does on PGlite).
  await mkdir(dirname(options.keyFile), { recursive: true });
  await writeFile(options.keyFile, `${issued.apiKey.key}\n`, { mode: 0o600 });
  return { orgId: issued.orgId, apiKey: issued.apiKey.key };
}
