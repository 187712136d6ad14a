CREATE TABLE "low_balance_alerts" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"threshold" bigint NOT NULL,
	"webhook_url" text,
	"secret" text,
	"below" boolean DEFAULT false NOT NULL,
	"pending" boolean DEFAULT false NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"crossed_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "low_balance_alerts_threshold_positive" CHECK ("low_balance_alerts"."threshold" > 0)
);
--> statement-breakpoint
ALTER TABLE "low_balance_alerts" ADD CONSTRAINT "low_balance_alerts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;