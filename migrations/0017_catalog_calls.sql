ALTER TYPE "public"."ledger_kind" ADD VALUE 'earning';--> statement-breakpoint
ALTER TYPE "public"."ledger_kind" ADD VALUE 'fee';--> statement-breakpoint
-- What GET /v1/tools searches (issue 19). The name whole and split at its camel-case humps
-- ("getAgentProfile" is found by "agent profile" and by "getagentprofile") and the tags weigh A, the
-- description B. IMMUTABLE, as a generated column needs: array_to_string is only STABLE in general
-- (an element type's output function could change), but over text[] it cannot.
CREATE FUNCTION catalog_search_document(name text, description text, tags text[]) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    select setweight(to_tsvector('simple'::regconfig, name), 'A')
        || setweight(to_tsvector('english'::regconfig, regexp_replace(name, '([a-z0-9])([A-Z])', '\1 \2', 'g') || ' ' || array_to_string(tags, ' ')), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')
  $$;--> statement-breakpoint
ALTER TABLE "catalog_tools" ADD COLUMN "search_document" "tsvector" GENERATED ALWAYS AS (catalog_search_document(name, description, tags)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "tool_version" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "deprecation_note" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "provider_org_id" uuid;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "provider_earning" bigint;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_provider_org_id_organizations_id_fk" FOREIGN KEY ("provider_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "catalog_tools_search_idx" ON "catalog_tools" USING gin ("search_document");--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_provider_earning_within_cost" CHECK (("tasks"."provider_org_id" is null) = ("tasks"."provider_earning" is null) and ("tasks"."provider_earning" is null or "tasks"."provider_earning" between 0 and "tasks"."cost"));--> statement-breakpoint
-- The platform's own organization and account: the fee of every call of a provider's tool is
-- credited here, with its ledger row (docs/adr/0020-provider-earnings.md). No wallet is its member,
-- so nobody signs in to it; the operator reads it.
INSERT INTO "organizations" ("id", "name") VALUES ('00000000-0000-0000-0000-000000000001', 'a2a-paygate platform');--> statement-breakpoint
INSERT INTO "credit_accounts" ("org_id") VALUES ('00000000-0000-0000-0000-000000000001');
