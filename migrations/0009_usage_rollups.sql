CREATE TABLE "usage_rollup_cursor" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"rolled_until" timestamp with time zone NOT NULL,
	CONSTRAINT "usage_rollup_cursor_one_row" CHECK ("usage_rollup_cursor"."id")
);
--> statement-breakpoint
CREATE TABLE "usage_rollup_pending" (
	"task_id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_rollups" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"day" date NOT NULL,
	"tool" text NOT NULL,
	"calls" integer NOT NULL,
	"succeeded" integer NOT NULL,
	"failed" integer NOT NULL,
	"spent" bigint NOT NULL,
	"latency" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "usage_rollup_pending" ADD CONSTRAINT "usage_rollup_pending_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_rollups" ADD CONSTRAINT "usage_rollups_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_rollup_pending_org_created_idx" ON "usage_rollup_pending" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "usage_rollups_org_day_idx" ON "usage_rollups" USING btree ("org_id","day");