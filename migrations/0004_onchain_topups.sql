CREATE TYPE "public"."topup_status" AS ENUM('credited', 'unclaimed');--> statement-breakpoint
CREATE TABLE "chain_cursors" (
	"chain_id" integer PRIMARY KEY NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "topups" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"chain_id" integer NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"from_address" text NOT NULL,
	"amount" bigint NOT NULL,
	"status" "topup_status" NOT NULL,
	"org_id" uuid,
	"source" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"credited_at" timestamp with time zone,
	CONSTRAINT "topups_amount_positive" CHECK ("topups"."amount" > 0),
	CONSTRAINT "topups_credited_has_org" CHECK (("topups"."status" = 'credited') = ("topups"."org_id" is not null))
);
--> statement-breakpoint
ALTER TABLE "topups" ADD CONSTRAINT "topups_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "topups_chain_tx_log_uq" ON "topups" USING btree ("chain_id","tx_hash","log_index");--> statement-breakpoint
CREATE INDEX "topups_org_created_idx" ON "topups" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "topups_unclaimed_from_idx" ON "topups" USING btree ("from_address") WHERE "topups"."status" = 'unclaimed';