CREATE TYPE "public"."catalog_tool_status" AS ENUM('active', 'deprecated', 'retired');--> statement-breakpoint
CREATE TABLE "catalog_tools" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"description" text NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"tier" smallint NOT NULL,
	"price_micro_usdc" bigint,
	"settlement" text NOT NULL,
	"arguments_schema" json NOT NULL,
	"result_schema" json,
	"upstream_url" text NOT NULL,
	"upstream_timeout_ms" integer NOT NULL,
	"upstream_header_names" text[] DEFAULT '{}'::text[] NOT NULL,
	"upstream_headers_sealed" text,
	"signing_secret_sealed" text NOT NULL,
	"provider_org_id" uuid,
	"status" "catalog_tool_status" DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_tools_tier_range" CHECK ("catalog_tools"."tier" between 0 and 3),
	CONSTRAINT "catalog_tools_price_nonneg" CHECK ("catalog_tools"."price_micro_usdc" is null or "catalog_tools"."price_micro_usdc" >= 0),
	CONSTRAINT "catalog_tools_settlement" CHECK ("catalog_tools"."settlement" in ('instant', 'hold'))
);
--> statement-breakpoint
ALTER TABLE "catalog_tools" ADD CONSTRAINT "catalog_tools_provider_org_id_organizations_id_fk" FOREIGN KEY ("provider_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_tools_name_version_uq" ON "catalog_tools" USING btree ("name","version");