CREATE TABLE "indexer_state" (
	"chain_id" integer PRIMARY KEY NOT NULL,
	"final_block" bigint NOT NULL,
	"final_hash" text,
	"tip_block" bigint NOT NULL,
	"tip_hash" text,
	"head_block" bigint,
	"head_seen_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "indexer_undo" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"chain_id" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"table_name" text NOT NULL,
	"key" jsonb NOT NULL,
	"before" jsonb
);
--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "metadata" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "registration_uri" text;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "registration_error" text;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "registration_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "registration_next_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "indexer_undo_chain_block_idx" ON "indexer_undo" USING btree ("chain_id","block_number");--> statement-breakpoint
CREATE INDEX "agents_registration_due_idx" ON "agents" USING btree ("registration_next_at") WHERE "agents"."agent_uri" is distinct from "agents"."registration_uri";