/**
 * The signed-in credential, the wallet session it may be, and the REST calls made with it. The
 * answers' types are the parts the page shows (the routes' schemas in src/http/ are the whole of them).
 */

export interface Session {
  address: string;
  orgId: string;
  role: 'owner' | 'admin' | 'viewer';
}
export interface Balance {
  orgId: string;
  availableDisplay: string;
  balanceDisplay: string;
  reservedDisplay: string;
  lowBalance: { thresholdMicroUsdc: string; below: boolean } | null;
}

/** who is signed in: the credential the API is asked with, and the wallet session's member (null with an API key) */
export const signedIn = { credential: null as string | null, session: null as Session | null };

/** admins and owners manage keys and alerts; viewers and API keys read */
export const canManage = () => signedIn.session?.role === 'owner' || signedIn.session?.role === 'admin';
export const isOwner = () => signedIn.session?.role === 'owner';
export const mine = (address: string) => address.toLowerCase() === signedIn.session?.address.toLowerCase();

export async function api<Answer>(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(path, { ...init, headers: { ...(init.headers || {}), authorization: 'Bearer ' + signedIn.credential } });
  const body = response.status === 204 ? {} : await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error?.message || 'HTTP ' + response.status), { reason: body.error?.reason });
  return body;
}

export const sendJson = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
