-- The task an organization's messageId was used by, if any: the task it opened, or the task it
-- made a tool call on (a follow-up). A function, and one PostgreSQL does not inline, so its lookups
-- are planned apart from the prepared statement that calls it (docs/adr/0018-prepared-charge.md):
-- a statement's cached generic plan, made while `tasks` was near empty, would otherwise keep
-- reading every task of an organization through (org_id, created_at) for each lookup until the
-- next ANALYZE. PostgreSQL 15 to 17 plan a SQL function's queries once per execution of the calling
-- statement, with the size `tasks` has then. From PostgreSQL 18 on they are cached per session
-- like a prepared statement's, and force_custom_plan keeps them planned at every call. STABLE: it
-- sees the calling statement's snapshot, as the subqueries it replaces did. Two lookups, not one
-- condition with OR, which becomes a scan of the organization's tasks.
CREATE FUNCTION "task_using_message_id"("for_org" uuid, "message" text) RETURNS uuid
  LANGUAGE sql STABLE
  SET plan_cache_mode = force_custom_plan
AS $$
  SELECT coalesce(
    (SELECT t."id" FROM "tasks" t WHERE t."org_id" = "for_org" AND t."message_id" = "message" LIMIT 1),
    (SELECT t."id" FROM "tasks" t WHERE t."org_id" = "for_org" AND t."call_message_id" = "message" LIMIT 1))
$$;
