CREATE TYPE "public"."x402_payment_status" AS ENUM('claimed', 'settled', 'released', 'failed');--> statement-breakpoint
ALTER TYPE "public"."ledger_kind" ADD VALUE 'x402_payment';--> statement-breakpoint
CREATE TABLE "x402_offers" (
	"task_id" uuid PRIMARY KEY NOT NULL,
	"context_id" text NOT NULL,
	"message" jsonb NOT NULL,
	"tool" text NOT NULL,
	"payment_required" jsonb NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "x402_payments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"network" text NOT NULL,
	"asset" text NOT NULL,
	"payer" text NOT NULL,
	"nonce" text NOT NULL,
	"amount" bigint NOT NULL,
	"status" "x402_payment_status" NOT NULL,
	"org_id" uuid NOT NULL,
	"task_id" uuid NOT NULL,
	"tool" text NOT NULL,
	"valid_before" timestamp with time zone NOT NULL,
	"transaction" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "x402_payments_amount_nonneg" CHECK ("x402_payments"."amount" >= 0)
);
--> statement-breakpoint
ALTER TABLE "x402_payments" ADD CONSTRAINT "x402_payments_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "x402_payments_authorization_uq" ON "x402_payments" USING btree ("network","asset","payer","nonce");--> statement-breakpoint
CREATE INDEX "x402_payments_task_idx" ON "x402_payments" USING btree ("task_id");--> statement-breakpoint
CREATE INDEX "x402_payments_unresolved_idx" ON "x402_payments" USING btree ("updated_at") WHERE "x402_payments"."status" in ('claimed', 'failed');