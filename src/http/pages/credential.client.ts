/**
 * How the dashboard's sign-in (an API key or a wallet session token) outlives a reload and reaches
 * the API reference without lying about in plain text: it is sealed with AES-GCM under a key the
 * browser will not export (kept in IndexedDB), and only the sealed bytes go in this tab's
 * sessionStorage. Never in the URL, never shown on a page. Where the browser offers no Web Crypto
 * (a page served over plain HTTP from another host than this one) nothing is kept: the visitor
 * signs in again after a reload. Bundled into each page's script that imports it.
 */

const SEALED = 'paygate-credential-sealed';
/** where the credential was kept in plain text before: removed when found */
const PLAIN = 'paygate-credential';
const DATABASE = 'a2a-paygate';
const STORE = 'keys';
const SEAL_KEY = 'credential-seal';

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

function inStore<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  return openDatabase().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const request = act(db.transaction(STORE, mode).objectStore(STORE));
        request.onsuccess = () => {
          db.close();
          resolve(request.result as T);
        };
        request.onerror = () => {
          db.close();
          reject(request.error);
        };
      }),
  );
}

/** The sealing key, made (non-extractable) the first time one is asked for. */
async function sealingKey(create: boolean): Promise<CryptoKey | undefined> {
  const kept = await inStore<CryptoKey | undefined>('readonly', (store) => store.get(SEAL_KEY));
  if (kept || !create) return kept;
  const made = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  await inStore('readwrite', (store) => store.put(made, SEAL_KEY));
  return made;
}

const available = () => typeof indexedDB !== 'undefined' && typeof crypto !== 'undefined' && crypto.subtle !== undefined;
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Keeps `credential` for this tab, sealed. */
export async function keepCredential(credential: string): Promise<void> {
  sessionStorage.removeItem(PLAIN);
  if (!available()) return;
  try {
    const key = await sealingKey(true);
    if (!key) return;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, new TextEncoder().encode(credential)));
    sessionStorage.setItem(SEALED, toBase64(iv) + '.' + toBase64(sealed));
  } catch {
    sessionStorage.removeItem(SEALED);
  }
}

/** The credential kept for this tab, if any (a plain one left by an older page is dropped, not used). */
export async function keptCredential(): Promise<string | null> {
  sessionStorage.removeItem(PLAIN);
  const sealed = sessionStorage.getItem(SEALED);
  if (!sealed || !available()) return null;
  try {
    const key = await sealingKey(false);
    const [iv, bytes] = sealed.split('.');
    if (!key || !iv || !bytes) return null;
    const opened = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64(iv) }, key, fromBase64(bytes));
    return new TextDecoder().decode(opened);
  } catch {
    sessionStorage.removeItem(SEALED);
    return null;
  }
}

/** Forgets the kept credential (sign-out). */
export function forgetCredential(): void {
  sessionStorage.removeItem(PLAIN);
  sessionStorage.removeItem(SEALED);
}
