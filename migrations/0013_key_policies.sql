CREATE TYPE "public"."spend_period" AS ENUM('day', 'month');--> statement-breakpoint
CREATE TABLE "org_policies" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"rate_limit_requests" integer,
	"rate_limit_window_seconds" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "org_policies_rate_limit_whole" CHECK (("org_policies"."rate_limit_requests" is null) = ("org_policies"."rate_limit_window_seconds" is null)),
	CONSTRAINT "org_policies_rate_limit_positive" CHECK ("org_policies"."rate_limit_requests" > 0 and "org_policies"."rate_limit_window_seconds" > 0)
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "tools" text[];--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "max_tier" smallint;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "spend_cap_micro_usdc" bigint;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "spend_cap_period" "spend_period";--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "rate_limit_requests" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "rate_limit_window_seconds" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "day_start" date DEFAULT '1970-01-01' NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "day_spent" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "month_start" date DEFAULT '1970-01-01' NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "month_spent" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "reserved" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD COLUMN "spend_cap_micro_usdc" bigint;--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD COLUMN "spend_cap_period" "spend_period";--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD COLUMN "day_start" date DEFAULT '1970-01-01' NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD COLUMN "day_spent" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD COLUMN "month_start" date DEFAULT '1970-01-01' NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD COLUMN "month_spent" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "api_key_id" uuid;--> statement-breakpoint
ALTER TABLE "org_policies" ADD CONSTRAINT "org_policies_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- NOT VALID, then VALIDATE: adding the key checks new rows at once; the scan of existing tasks
-- (all null) then takes a lock that lets paid calls go on writing tasks meanwhile.
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action NOT VALID;--> statement-breakpoint
ALTER TABLE "tasks" VALIDATE CONSTRAINT "tasks_api_key_id_api_keys_id_fk";--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_spend_cap_whole" CHECK (("api_keys"."spend_cap_micro_usdc" is null) = ("api_keys"."spend_cap_period" is null));--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_spend_cap_nonneg" CHECK ("api_keys"."spend_cap_micro_usdc" >= 0);--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_rate_limit_whole" CHECK (("api_keys"."rate_limit_requests" is null) = ("api_keys"."rate_limit_window_seconds" is null));--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_rate_limit_positive" CHECK ("api_keys"."rate_limit_requests" > 0 and "api_keys"."rate_limit_window_seconds" > 0);--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_max_tier_range" CHECK ("api_keys"."max_tier" between 0 and 3);--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_reserved_nonneg" CHECK ("api_keys"."reserved" >= 0);--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD CONSTRAINT "credit_accounts_spend_cap_whole" CHECK (("credit_accounts"."spend_cap_micro_usdc" is null) = ("credit_accounts"."spend_cap_period" is null));--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD CONSTRAINT "credit_accounts_spend_cap_nonneg" CHECK ("credit_accounts"."spend_cap_micro_usdc" >= 0);