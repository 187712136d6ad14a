import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The floor plan, checked from the source text: the domain folders never reach out to a wire or
 * http folder, billing never reaches push, and no two top-level folders of src/ import each other
 * in a ring (a ring makes "inward" meaningless).
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

const DOMAIN = ['domain', 'tasks', 'billing', 'tools', 'data', 'limits', 'audit', 'policies'];
const EDGE = ['a2a', 'http', 'rpc'];
const FORBIDDEN: ReadonlyArray<readonly [string, string]> = [
  ...DOMAIN.flatMap((from) => EDGE.map((to) => [from, to] as const)),
  ...DOMAIN.map((from) => [from, 'metrics'] as const),
  ['billing', 'push'],
  ['auth', 'http'],
  ['auth', 'rpc'],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `import … from './x.js'`, `export … from '../y.js'`, `import('./z.js')`: the relative ones only */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** the top-level folder of src/ a file lives in; a file directly in src/ is its own unit */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.[jt]s$/, '');
}

interface Edge {
  from: string;
  to: string;
  file: string;
  specifier: string;
}

function folderEdges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(IMPORT)].flatMap((match) => {
      const specifier = match[1]!;
      const target = resolve(dirname(file), specifier);
      // the drizzle schema and other files outside src/ are no room of the floor plan
      if (relative(SRC, target).startsWith('..')) return [];
      const from = folderOf(file);
      const to = folderOf(target);
      return from === to ? [] : [{ from, to, file: relative(SRC, file), specifier }];
    }),
  );
}

/** one cycle in the folder graph as `a → b → … → a`, or undefined */
function findCycle(edges: Edge[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const at = path.indexOf(node);
    if (at >= 0) return [...path.slice(at), node];
    if (done.has(node)) return undefined;
    path.push(node);
    for (const to of [...(next.get(node) ?? [])].sort()) {
      const cycle = visit(to);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(node);
    return undefined;
  };
  for (const node of [...next.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('the import graph of src/', () => {
  const edges = folderEdges();

  it('reads imports (a check that finds nothing checks nothing)', () => {
    expect(edges.some((edge) => edge.from === 'http' && edge.to === 'tasks')).toBe(true);
  });

  it('never imports a wire or http folder from the domain (rate limits included), nor push from billing', () => {
    const forbidden = edges
      .filter((edge) => FORBIDDEN.some(([from, to]) => edge.from === from && edge.to === to))
      .map((edge) => `${edge.file} → ${edge.specifier}`);
    expect(forbidden).toEqual([]);
  });

  it('has no cycle between top-level folders', () => {
    expect(findCycle(edges)?.join(' → ')).toBeUndefined();
  });
});
