import { getTableColumns, inArray } from 'drizzle-orm';
import type { Logger } from 'pino';
import semver from 'semver';
import { catalogTools } from '../../drizzle/schema.js';
import type { Database } from '../db/client.js';
import type { ToolDefinition, ToolLookup, ToolSource } from '../tools/types.js';
import { type CatalogCallSettings, catalogToolDefinition } from './catalog-tool.js';
import { CATALOG_CHANGES } from './changes.js';
import { type CatalogToolView, viewOf } from './store.js';

/** One version as a call needs it: what agents see, and the sealed values the upstream request opens. */
export interface CatalogVersion {
  view: CatalogToolView;
  upstreamHeadersSealed: string | null;
  signingSecretSealed: string;
}

/** Which version a call of a name (and an optional version or range) gets. */
export type Resolution =
  | { kind: 'found'; version: CatalogVersion }
  | { kind: 'unknown_tool' }
  /** the version asked for exactly, or every version of the name, is retired */
  | { kind: 'retired'; version: string }
  /** no version that is not retired satisfies the range; `versions` are those there are */
  | { kind: 'no_matching_version'; versions: string[] }
  | { kind: 'invalid_version' };

export interface LiveCatalog extends ToolSource {
  /**
   * The version a call gets: with `range` (an exact version or a semver range such as `^1.2`), the
   * newest version that satisfies it and is not retired; without, the newest active release (a
   * pre-release only when there is no release, a deprecated version only when none is active).
   */
  resolve(name: string, range?: string): Resolution;
  /** resolves once the first full load is done */
  ready(): Promise<void>;
}

/** The catalog's names in code-unit order. */
const byNameOf = (a: readonly CatalogVersion[], b: readonly CatalogVersion[]) => {
  const [x, y] = [a[0]?.view.name ?? '', b[0]?.view.name ?? ''];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Newest first, by semver precedence. */
const newestFirst = (a: CatalogVersion, b: CatalogVersion) => semver.rcompare(a.view.version, b.view.version);

function chooseDefault(versions: readonly CatalogVersion[]): Resolution {
  const live = versions.filter((version) => version.view.status !== 'retired');
  const active = live.filter((version) => version.view.status === 'active');
  const pick =
    active.find((version) => semver.prerelease(version.view.version) === null) ??
    active[0] ??
    live.find((version) => semver.prerelease(version.view.version) === null) ??
    live[0];
  if (pick) return { kind: 'found', version: pick };
  return { kind: 'retired', version: versions[0]?.view.version ?? '' };
}

export function resolveVersion(versions: readonly CatalogVersion[], range: string | undefined): Resolution {
  if (versions.length === 0) return { kind: 'unknown_tool' };
  if (range === undefined) return chooseDefault(versions);
  const exact = semver.valid(range);
  if (exact !== null) {
    const version = versions.find((candidate) => candidate.view.version === exact);
    if (version?.view.status === 'retired') return { kind: 'retired', version: exact };
    if (version) return { kind: 'found', version };
  } else if (semver.validRange(range) === null) {
    return { kind: 'invalid_version' };
  }
  const live = versions.filter((version) => version.view.status !== 'retired');
  const match = live.find((version) => semver.satisfies(version.view.version, range));
  if (match) return { kind: 'found', version: match };
  return { kind: 'no_matching_version', versions: live.map((version) => version.view.version) };
}

/**
 * Every catalog version in this process's memory, so a call finds its tool without a round trip
 * (issue 19). Loaded whole when the LISTEN on CATALOG_CHANGES is in place (at start and after a lost
 * connection, whose announcements are lost with it); each announcement reloads its name. Reloads run
 * one at a time, and one announced while another runs is read after it: a read begins after the
 * change it was told of committed, so nothing announced is missed.
 */
/** Every column but the search document, which only the database's search reads. */
const { searchDocument: _searchDocument, ...VERSION_COLUMNS } = getTableColumns(catalogTools);

export function openLiveCatalog(db: Database, log: Logger, settings: CatalogCallSettings): LiveCatalog {
  let byName = new Map<string, CatalogVersion[]>();
  /** each version's tool, made at its first call; a reload makes new versions, so a changed one is made again */
  const tools = new WeakMap<CatalogVersion, ToolDefinition>();
  /** what `offered` answered for the catalog as `byName` held it then */
  let offeredFor: { catalog: Map<string, CatalogVersion[]>; tools: ToolDefinition[] } | undefined;
  let wholeDue = false;
  const namesDue = new Set<string>();
  let draining: Promise<void> | undefined;
  let markReady: () => void = () => {};
  const firstLoad = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const versionsOf = async (names?: string[]) => {
    const query = db.orm.select(VERSION_COLUMNS).from(catalogTools);
    const rows = await (names ? query.where(inArray(catalogTools.name, names)) : query);
    const grouped = new Map<string, CatalogVersion[]>();
    for (const row of rows) {
      const version = { view: viewOf(row), upstreamHeadersSealed: row.upstreamHeadersSealed, signingSecretSealed: row.signingSecretSealed };
      const versions = grouped.get(row.name);
      if (versions) versions.push(version);
      else grouped.set(row.name, [version]);
    }
    for (const versions of grouped.values()) versions.sort(newestFirst);
    return grouped;
  };

  /** Reads what is due until nothing is; false when a read failed (retried at the next announcement or reconnection). */
  async function drain(): Promise<boolean> {
    while (wholeDue || namesDue.size > 0) {
      try {
        if (wholeDue) {
          wholeDue = false;
          namesDue.clear();
          byName = await versionsOf();
          markReady();
        } else {
          const names = [...namesDue];
          namesDue.clear();
          const fresh = await versionsOf(names);
          const next = new Map(byName);
          for (const name of names) {
            const versions = fresh.get(name);
            if (versions) next.set(name, versions);
            else next.delete(name);
          }
          byName = next;
        }
      } catch (error) {
        // Read again at the next announcement or reconnection; until then the last catalog read serves.
        log.error({ err: error }, 'catalog reload failed');
        wholeDue = true;
        return false;
      }
    }
    return true;
  }
  const schedule = () => {
    if (draining) return;
    draining = drain().then((ok) => {
      draining = undefined;
      // an announcement that came as the last read ended
      if (ok && (wholeDue || namesDue.size > 0)) schedule();
    });
  };

  db.listen(
    CATALOG_CHANGES,
    (name) => {
      namesDue.add(name);
      schedule();
    },
    (listening) => {
      if (!listening) return;
      wholeDue = true;
      schedule();
    },
  );

  const toolOf = (version: CatalogVersion, versions: readonly CatalogVersion[]): ToolDefinition => {
    let tool = tools.get(version);
    if (!tool) {
      const newest = chooseDefault(versions);
      const newestActive = newest.kind === 'found' && newest.version.view.status === 'active' ? newest.version.view.version : undefined;
      tool = catalogToolDefinition(version, newestActive, settings);
      tools.set(version, tool);
    }
    return tool;
  };

  const lookup = (name: string, range?: string): ToolLookup => {
    const versions = byName.get(name) ?? [];
    const resolution = resolveVersion(versions, range);
    return resolution.kind === 'found' ? { kind: 'found', tool: toolOf(resolution.version, versions) } : resolution;
  };

  return {
    resolve: (name, range) => resolveVersion(byName.get(name) ?? [], range),
    lookup,
    offered() {
      if (offeredFor?.catalog !== byName) {
        const catalog = byName;
        // by name, so the card's share of a large catalog is the same on every instance
        const offered = [...catalog.values()].sort(byNameOf).flatMap((versions) => {
          const chosen = chooseDefault(versions);
          return chosen.kind === 'found' ? [toolOf(chosen.version, versions)] : [];
        });
        offeredFor = { catalog, tools: offered };
      }
      return offeredFor.tools;
    },
    ready: () => firstLoad,
  };
}
