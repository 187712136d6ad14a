import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { sign, verify } from 'hono/jwt';
import { z } from 'zod';
import type { Database } from '../db/client.js';

const ALGORITHM = 'HS256';
const AUDIENCE = 'a2a-paygate/session';

/** What a session token says: this wallet signed in to this organization. The role is read per request. */
export interface SessionClaims {
  address: string;
  orgId: string;
}

const claimsSchema = z.object({
  sub: z.string().regex(/^0x[0-9a-f]{40}$/),
  org: z.uuid(),
  aud: z.literal(AUDIENCE),
  exp: z.number().int(),
});

const SecretRow = z.object({ value: z.string() });

/**
 * The key sessions are signed with: the configured one, else one made on the first start and kept
 * in the database, so every instance shares it and sessions survive restarts.
 */
export async function loadSessionSecret(db: Database, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  await db.run(sql`
    insert into gateway_secrets (name, value) values ('session', ${randomBytes(32).toString('base64url')})
    on conflict (name) do nothing`);
  const [row] = await db.rows(SecretRow, sql`select value from gateway_secrets where name = 'session'`);
  if (!row) throw new Error('session secret neither inserted nor found');
  return row.value;
}

export interface Sessions {
  issue(claims: SessionClaims, now: Date): Promise<{ token: string; expiresAt: string }>;
  /** The claims of a valid, unexpired token; undefined for anything else. */
  read(token: string): Promise<SessionClaims | undefined>;
}

export function sessions(secret: string, ttlS: number): Sessions {
  return {
    async issue(claims, now) {
      const exp = Math.floor(now.getTime() / 1000) + ttlS;
      const token = await sign(
        { sub: claims.address, org: claims.orgId, aud: AUDIENCE, iat: Math.floor(now.getTime() / 1000), exp },
        secret,
        ALGORITHM,
      );
      return { token, expiresAt: new Date(exp * 1000).toISOString() };
    },
    async read(token) {
      try {
        const payload = claimsSchema.parse(await verify(token, secret, { alg: ALGORITHM, aud: AUDIENCE }));
        return { address: payload.sub, orgId: payload.org };
      } catch {
        return undefined;
      }
    },
  };
}
