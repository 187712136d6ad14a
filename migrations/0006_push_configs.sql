CREATE TABLE "push_configs" (
	"id" text NOT NULL,
	"task_id" uuid NOT NULL,
	"org_id" uuid NOT NULL,
	"url" text NOT NULL,
	"token" text,
	"protocol" text NOT NULL,
	"delivered_version" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "push_configs_protocol" CHECK ("push_configs"."protocol" in ('1.0', '0.3'))
);
--> statement-breakpoint
ALTER TABLE "push_configs" ADD CONSTRAINT "push_configs_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_configs" ADD CONSTRAINT "push_configs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "push_configs_task_id_uq" ON "push_configs" USING btree ("task_id","id");--> statement-breakpoint
CREATE INDEX "push_configs_due_idx" ON "push_configs" USING btree ("next_attempt_at");