import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The parts of a V8 `.cpuprofile` (node --cpu-prof) the summary reads. */
const CpuProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

export interface ProfiledFunction {
  /** `name (where:line)`: the package for a dependency, the path under src/ for our own code */
  name: string;
  /** share of the process's busy (not idle) time spent in the function itself, in percent */
  selfPercent: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  top: ProfiledFunction[];
}

/** V8's own pseudo-frames: time the process waited for work is not its cost. */
const IDLE = '(idle)';

function whereOf(url: string): string {
  if (url === '') return '';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dependency) return dependency[1] ?? url;
  const own = /\/(src|dist)\/(.+)$/.exec(url);
  if (own) return own[2] ?? url;
  return url.replace(/^node:/, '');
}

/**
 * The ten functions with the most self time in one profile. Each sample's time is the delta to the
 * next one (V8 records how long the sampled stack stayed on the CPU until the next tick).
 */
export function summariseProfile(file: string, count = 10): ProfileSummary {
  const profile = CpuProfileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const nameOf = new Map(
    profile.nodes.map((node) => {
      const where = whereOf(node.callFrame.url);
      const name = node.callFrame.functionName || '(anonymous)';
      return [node.id, where ? `${name} (${where}:${node.callFrame.lineNumber + 1})` : name];
    }),
  );
  const selfUs = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((id, index) => {
    const name = nameOf.get(id) ?? '(unknown)';
    const us = profile.timeDeltas[index + 1] ?? 0;
    if (name === IDLE) return;
    busyUs += us;
    selfUs.set(name, (selfUs.get(name) ?? 0) + us);
  });
  const top = [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, selfPercent: Math.round((us / Math.max(busyUs, 1)) * 1000) / 10 }));
  return { file, busyMs: Math.round(busyUs / 1000), top };
}

/** Summaries of every profile in `dir`, the busiest first (the serving process, not the launcher). */
export function summariseProfiles(dir: string): ProfileSummary[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => summariseProfile(join(dir, name)))
    .sort((a, b) => b.busyMs - a.busyMs);
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = summary.top.map(
    (entry, index) => `  ${String(index + 1).padStart(2)}. ${entry.selfPercent.toFixed(1).padStart(5)} %  ${entry.name}`,
  );
  return [`top ten functions by self time, ${summary.busyMs} ms busy (${summary.file}):`, ...lines].join('\n');
}
