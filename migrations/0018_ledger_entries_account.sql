ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_org_id_organizations_id_fk";
--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_org_id_credit_accounts_org_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."credit_accounts"("org_id") ON DELETE no action ON UPDATE no action;