import { describe, expect, it } from 'vitest';
import { NAMED_TOOLS, OTHER_COLOUR, stacksOf, TOOL_COLOURS, type UsageRow } from '../../src/http/pages/dashboard/spend-stacks.client.js';

/** The dashboard's per-day chart parts: a stack per tool, most spent first, no more colours than NAMED_TOOLS and "other". */
describe('spend per day stacked by tool', () => {
  const row = (key: string, tool: string, spentMicroUsdc: number): UsageRow => ({
    key,
    tool,
    calls: 1,
    succeeded: 1,
    failed: 0,
    spentMicroUsdc: String(spentMicroUsdc),
    spentDisplay: '',
    p50Ms: null,
  });
  const days = ['2026-11-01', '2026-11-02', '2026-11-03'];

  it('a stack per tool that spent, most first; days without rows are zero; tools that spent nothing are left out', () => {
    const stacks = stacksOf(days, [
      row('2026-11-01', 'getAgentProfile', 1000),
      row('2026-11-01', 'getTrend', 20_000),
      row('2026-11-03', 'getAgentProfile', 2000),
      row('2026-11-03', 'getMyFeedbacks', 0),
    ]);
    expect(stacks).toEqual([
      { label: 'getTrend', color: TOOL_COLOURS[0], values: [0.02, 0, 0] },
      { label: 'getAgentProfile', color: TOOL_COLOURS[1], values: [0.001, 0, 0.002] },
    ]);
  });

  it(`more than ${NAMED_TOOLS} tools: the ${NAMED_TOOLS} that spent most in colours of their own, the rest summed as "other tools"`, () => {
    const tools = Array.from({ length: NAMED_TOOLS + 3 }, (_, i) => `tool${i}`);
    const stacks = stacksOf(
      days,
      tools.flatMap((tool, i) => [row('2026-11-02', tool, (i + 1) * 1000), row('2026-11-03', tool, 1000)]),
    );
    expect(stacks.map((stack) => stack.label)).toEqual([...tools.slice(3).reverse(), 'other tools']);
    expect(new Set(stacks.map((stack) => stack.color)).size).toBe(NAMED_TOOLS + 1);
    expect(stacks.at(-1)).toEqual({ label: 'other tools', color: OTHER_COLOUR, values: [0, 0.006, 0.003] });
    // every day's total is kept, whichever stack holds it
    const dayTotal = (i: number) => stacks.reduce((sum, stack) => sum + (stack.values[i] ?? 0), 0);
    expect(dayTotal(1)).toBeCloseTo(
      tools.reduce((sum, _, i) => sum + (i + 1) / 1000, 0),
      9,
    );
    expect(dayTotal(2)).toBeCloseTo(tools.length / 1000, 9);
  });
});
