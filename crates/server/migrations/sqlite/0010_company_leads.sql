-- One lead per company domain among leads known only by their domain (no email, no
-- LinkedIn URL): concurrent domain-only captures for a new company make one lead.
CREATE UNIQUE INDEX leads_company_only ON leads(workspace_id, company_domain)
    WHERE email IS NULL AND linkedin_url IS NULL AND company_domain IS NOT NULL;
