import { z } from 'zod';

/** One node of an `explain (format json)` plan, with the fields the plan tests look at. */
const planNode = z.object({
  'Node Type': z.string(),
  'Relation Name': z.string().optional(),
  'Index Name': z.string().optional(),
  'Sort Key': z.array(z.string()).optional(),
  get Plans() {
    return z.array(planNode).optional();
  },
});
export type PlanNode = z.infer<typeof planNode>;

/** `explain (format json)` answers one row holding a one-element array around the plan. */
export const ExplainedRow = z.object({ 'QUERY PLAN': z.tuple([z.object({ Plan: planNode })]) });

/** Every node of a plan, the root first. */
export const planNodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(planNodes)];
