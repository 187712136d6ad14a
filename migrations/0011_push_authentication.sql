ALTER TABLE "push_configs" ADD COLUMN "auth_scheme" text;--> statement-breakpoint
ALTER TABLE "push_configs" ADD COLUMN "auth_credentials" text;