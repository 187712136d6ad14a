-- The task an organization's messageId was used by, if any: the task it opened, or the task it
-- made a tool call on (a follow-up). A function, and one PostgreSQL cannot inline (its SET clause
-- forbids it), so its probes are planned apart from the statement that calls it, with the size
-- `tasks` has then (docs/adr/0018-prepared-charge.md): a prepared statement's cached generic plan,
-- made while `tasks` was near empty, would otherwise keep reading every task of an organization
-- through (org_id, created_at) for each probe until the next ANALYZE. STABLE: it sees the calling
-- statement's snapshot, as the subqueries it replaces did. force_custom_plan keeps this true where
-- SQL functions cache their plans (PostgreSQL 18). Two probes, not one condition with OR, which
-- becomes a scan of the organization's tasks.
CREATE FUNCTION "task_using_message_id"("for_org" uuid, "message" text) RETURNS uuid
  LANGUAGE sql STABLE
  SET plan_cache_mode = force_custom_plan
AS $$
  SELECT coalesce(
    (SELECT t."id" FROM "tasks" t WHERE t."org_id" = "for_org" AND t."message_id" = "message" LIMIT 1),
    (SELECT t."id" FROM "tasks" t WHERE t."org_id" = "for_org" AND t."call_message_id" = "message" LIMIT 1))
$$;
