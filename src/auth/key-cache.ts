import type { SpendPeriods } from '../billing/spend-caps.js';
import type { Database } from '../db/client.js';
import { authenticateApiKey, type Caller, hashApiKey, type KeyHolder } from './api-keys.js';
import { KEY_CHANGES } from './key-changes.js';

/**
 * The paid call's key lookup, kept in this process's memory between calls (issue 18,
 * docs/adr/0016-key-cache.md). A key, its organization and their policies change only by statements
 * that announce it on KEY_CHANGES in their transaction, so an entry is dropped as soon as such a
 * change commits, at every gateway; expiry needs no announcement, it is compared with the clock at
 * every call. The cache is used only while this process is listening: from start-up until its
 * LISTEN is in place, and from a lost connection until it is back, every call reads the database,
 * and each (re)start of listening starts from an empty cache, since announcements were missed.
 */
export interface KeyCache {
  /**
   * The caller a key stands for, or undefined for a key unknown, revoked or expired: from the cache
   * (without the credit hints) when it holds the key, else from `authenticateApiKey`.
   */
  authenticate(key: string, periods: SpendPeriods): Promise<Caller | undefined>;
  /**
   * The key's call was refused for credit or a spend cap: its next calls read the database, hints
   * and all, for a TTL, so an organization that cannot pay is refused before a tool runs, as it was
   * without a cache, instead of running a tool per call that the charge then refuses.
   */
  creditRefused(key: string): void;
}

/** At most this many keys are held, the least recently used dropped first. */
const MAX_ENTRIES = 10_000;
/** A backstop for anything unannounced: an entry is read again from the database this long after it was. */
const TTL_MS = 60_000;

/** A key held, or (no `holder`) one to read in full, hints and all, until `until`. */
interface Entry {
  holder?: KeyHolder;
  until: number;
}

/** The cache of `db`'s keys, listening on KEY_CHANGES from now on (in use once the LISTEN is in place). */
export function openKeyCache(db: Database): KeyCache {
  /** by the key's sha256, never the key itself; a Map keeps insertion order, so its first key is the least recently used */
  const entries = new Map<string, Entry>();
  let listening = false;
  /**
   * Moves at every announcement and change of listening state: a lookup that started before one
   * may have read what it announced changed, so its result is not kept.
   */
  let epoch = 0;

  const put = (hash: string, entry: Entry) => {
    entries.delete(hash);
    entries.set(hash, entry);
    if (entries.size > MAX_ENTRIES) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
  };

  db.listen(
    KEY_CHANGES,
    (id) => {
      epoch += 1;
      // A key id or an organization id (both uuids): a scan of at most MAX_ENTRIES, at a policy change.
      for (const [hash, { holder }] of entries) {
        if (holder && (holder.keyId === id || holder.orgId === id)) entries.delete(hash);
      }
    },
    (isListening) => {
      epoch += 1;
      listening = isListening;
      entries.clear();
    },
  );

  return {
    async authenticate(key, periods) {
      const hash = hashApiKey(key);
      const entry = entries.get(hash);
      const at = Date.now();
      if (entry && entry.until > at) {
        const { holder } = entry;
        if (holder && (holder.expiresAtMs === null || holder.expiresAtMs > at)) {
          // Most recently used goes last.
          entries.delete(hash);
          entries.set(hash, entry);
          return holder;
        }
      }
      const started = epoch;
      const principal = await authenticateApiKey(db, key, periods);
      if (entry && !entry.holder && entry.until > at) return principal;
      if (principal && listening && epoch === started) {
        const { availableMicroUsdc: _available, capLeftMicroUsdc: _capLeft, ...holder } = principal;
        put(hash, { holder, until: at + TTL_MS });
      } else if (entry) {
        entries.delete(hash);
      }
      return principal;
    },
    creditRefused(key) {
      if (listening) put(hashApiKey(key), { until: Date.now() + TTL_MS });
    },
  };
}
