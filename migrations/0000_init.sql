CREATE TYPE "public"."ledger_kind" AS ENUM('grant', 'topup', 'reserve', 'capture', 'release');--> statement-breakpoint
CREATE TYPE "public"."task_state" AS ENUM('submitted', 'working', 'input-required', 'completed', 'failed', 'canceled', 'rejected');--> statement-breakpoint
CREATE TABLE "agents" (
	"id" bigint PRIMARY KEY NOT NULL,
	"owner_address" text NOT NULL,
	"agent_uri" text,
	"name" text,
	"description" text,
	"active" boolean,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "credit_accounts" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"balance" bigint DEFAULT 0 NOT NULL,
	"reserved" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_accounts_balance_nonneg" CHECK ("credit_accounts"."balance" >= 0),
	CONSTRAINT "credit_accounts_reserved_nonneg" CHECK ("credit_accounts"."reserved" >= 0),
	CONSTRAINT "credit_accounts_reserved_covered" CHECK ("credit_accounts"."reserved" <= "credit_accounts"."balance")
);
--> statement-breakpoint
CREATE TABLE "feedbacks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"agent_id" bigint NOT NULL,
	"client_address" text NOT NULL,
	"feedback_index" bigint NOT NULL,
	"value" numeric(39, 0) NOT NULL,
	"value_decimals" smallint NOT NULL,
	"tag1" text DEFAULT '' NOT NULL,
	"tag2" text DEFAULT '' NOT NULL,
	"endpoint" text DEFAULT '' NOT NULL,
	"feedback_uri" text DEFAULT '' NOT NULL,
	"feedback_hash" text,
	"created_at" timestamp with time zone NOT NULL,
	"revoked" boolean DEFAULT false NOT NULL,
	CONSTRAINT "feedbacks_value_decimals_range" CHECK ("feedbacks"."value_decimals" between 0 and 18)
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"kind" "ledger_kind" NOT NULL,
	"amount" bigint NOT NULL,
	"reserved_delta" bigint NOT NULL,
	"task_id" uuid,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"context_id" text NOT NULL,
	"message_id" text NOT NULL,
	"call_message_id" text,
	"tool" text,
	"arguments" jsonb,
	"cost" bigint DEFAULT 0 NOT NULL,
	"state" "task_state" NOT NULL,
	"result" jsonb,
	"error" jsonb,
	"history" jsonb NOT NULL,
	"deadline_at" timestamp with time zone,
	"duration_ms" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tasks_cost_nonneg" CHECK ("tasks"."cost" >= 0)
);
--> statement-breakpoint
CREATE TABLE "validations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"agent_id" bigint NOT NULL,
	"validator_address" text NOT NULL,
	"request_hash" text NOT NULL,
	"response" smallint NOT NULL,
	"tag" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "validations_response_range" CHECK ("validations"."response" between 0 and 100)
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD CONSTRAINT "credit_accounts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedbacks" ADD CONSTRAINT "feedbacks_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "validations" ADD CONSTRAINT "validations_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_key_hash_uq" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_org_idx" ON "api_keys" USING btree ("org_id");--> statement-breakpoint
CREATE UNIQUE INDEX "feedbacks_agent_client_index_uq" ON "feedbacks" USING btree ("agent_id","client_address","feedback_index");--> statement-breakpoint
CREATE INDEX "feedbacks_agent_created_idx" ON "feedbacks" USING btree ("agent_id","created_at");--> statement-breakpoint
CREATE INDEX "ledger_entries_org_created_idx" ON "ledger_entries" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "ledger_entries_task_idx" ON "ledger_entries" USING btree ("task_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_org_message_uq" ON "tasks" USING btree ("org_id","message_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_org_call_message_uq" ON "tasks" USING btree ("org_id","call_message_id");--> statement-breakpoint
CREATE INDEX "tasks_org_created_idx" ON "tasks" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "tasks_working_deadline_idx" ON "tasks" USING btree ("deadline_at") WHERE "tasks"."state" = 'working';--> statement-breakpoint
CREATE UNIQUE INDEX "validations_request_hash_uq" ON "validations" USING btree ("request_hash");--> statement-breakpoint
CREATE INDEX "validations_agent_created_idx" ON "validations" USING btree ("agent_id","created_at");