/**
 * The per-day chart's parts: each day's spend per tool, the tools that spent most in the range in
 * colours of their own and the rest as one "other", so the colours and the legend stay few.
 */

/** a row of /v1/usage, as the page reads it (split by tool: `tool` names the row's tool) */
export interface UsageRow {
  key: string;
  tool?: string;
  calls: number;
  succeeded: number;
  failed: number;
  spentMicroUsdc: string;
  spentDisplay: string;
  p50Ms: number | null;
}

/** One part of stacked bars: a value per label, drawn in `color`, named in the legend. */
export interface Stack {
  label: string;
  color: string;
  values: number[];
}

/** the tools given a colour of their own, by spend in the range; the rest are one "other" */
export const NAMED_TOOLS = 6;
/** each at least 4.5:1 against white, so the legend's names written in them read as body text */
export const TOOL_COLOURS = ['#1d4ed8', '#b45309', '#15803d', '#be185d', '#7c3aed', '#0e7490'];
export const OTHER_COLOUR = '#5a6070';

/**
 * The spend (USDC) of each of `days` per tool, from rows split by tool: a stack per tool that spent
 * in the range, most first (the bottom of each bar), then "other tools" when more than NAMED_TOOLS
 * did. A day without rows is zero in every stack.
 */
export function stacksOf(days: string[], rows: UsageRow[]): Stack[] {
  const spentBy = new Map<string, number>();
  for (const row of rows) spentBy.set(row.tool ?? '', (spentBy.get(row.tool ?? '') ?? 0) + Number(row.spentMicroUsdc));
  const ranked = [...spentBy].filter(([, spent]) => spent > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const named = ranked.slice(0, NAMED_TOOLS).map(([tool]) => tool);
  const stacks: Stack[] = named.map((tool, i) => ({ label: tool, color: TOOL_COLOURS[i] as string, values: days.map(() => 0) }));
  const other: Stack = { label: 'other tools', color: OTHER_COLOUR, values: days.map(() => 0) };
  const dayIndex = new Map(days.map((day, i) => [day, i]));
  for (const row of rows) {
    const i = dayIndex.get(row.key);
    if (i === undefined) continue;
    const stack = stacks[named.indexOf(row.tool ?? '')] ?? other;
    stack.values[i] = (stack.values[i] ?? 0) + Number(row.spentMicroUsdc) / 1e6;
  }
  return ranked.length > NAMED_TOOLS ? [...stacks, other] : stacks;
}
