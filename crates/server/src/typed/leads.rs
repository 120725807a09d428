//! Leads: who typed signals are about, resolved from their identities.
//!
//! Resolution, in order: a lead with the same (normalised) email; else one with the same
//! canonical LinkedIn URL; else, only when the identity has neither an email nor a LinkedIn
//! URL, the oldest lead of the company domain that has neither either — so colleagues are
//! never merged through their company; else a new lead. When the email points at one lead
//! and the LinkedIn URL at another, the capture attaches to the email's lead and records the
//! conflict. A capture fills the identity fields its lead lacks. See `docs/typed-signals.md`.

/// The detail of the conflict a resolution answers when a concurrent capture created or
/// changed the lead it needed (the capture is retried).
pub const LEAD_RACE: &str = "a concurrent capture changed the lead";

/// The lead a capture attaches to.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub lead_id: String,
    /// Why the identity also pointed elsewhere, if it did.
    pub conflict: Option<String>,
}

/// Inside a write transaction: resolves (or creates) the lead for `identity` and counts the
/// capture on it. Evaluates to a [`Resolution`]; a unique violation from a concurrent capture
/// returns `409` with [`LEAD_RACE`] (the caller retries).
macro_rules! resolve_in_tx {
    ($tx:expr, $workspace:expr, $identity:expr, $occurred_at:expr, $now:expr) => {{
        use $crate::typed::leads::{LEAD_RACE, Resolution};
        let workspace: &str = $workspace;
        let identity: &signalbox_core::typed::identity::Identity = $identity;
        let (occurred, now) = ($occurred_at.to_string(), $now.to_string());
        // Only the ids: the lead's own fields are filled by the UPDATE below, in SQL.
        let by_email: Option<String> = match &identity.email {
            Some(email) => {
                sqlx::query_scalar("SELECT id FROM leads WHERE workspace_id = $1 AND email = $2")
                    .bind(workspace)
                    .bind(email)
                    .fetch_optional(&mut *$tx)
                    .await?
            }
            None => None,
        };
        let by_linkedin: Option<String> = match &identity.linkedin_url {
            Some(url) => {
                sqlx::query_scalar("SELECT id FROM leads WHERE workspace_id = $1 AND linkedin_url = $2")
                    .bind(workspace)
                    .bind(url)
                    .fetch_optional(&mut *$tx)
                    .await?
            }
            None => None,
        };
        let by_domain: Option<String> = match (&identity.email, &identity.linkedin_url, &identity.company_domain) {
            (None, None, Some(domain)) => {
                sqlx::query_scalar(
                    "SELECT id FROM leads WHERE workspace_id = $1 AND company_domain = $2 AND email IS NULL \
                     AND linkedin_url IS NULL ORDER BY seq LIMIT 1",
                )
                .bind(workspace)
                .bind(domain)
                .fetch_optional(&mut *$tx)
                .await?
            }
            _ => None,
        };
        let (found, conflict) = match (by_email, by_linkedin) {
            (Some(a), Some(b)) if a != b => {
                let conflict = format!(
                    "the email matched lead {a} but the LinkedIn URL belongs to lead {b}; attached to the email's lead"
                );
                (Some(a), Some(conflict))
            }
            (Some(a), _) => (Some(a), None),
            (None, Some(b)) => (Some(b), None),
            (None, None) => (by_domain, None),
        };
        let written = match &found {
            Some(lead) => {
                // Fill what the lead lacks; a LinkedIn URL that another lead has stays there.
                let linkedin = if conflict.is_some() { None } else { identity.linkedin_url.clone() };
                sqlx::query(
                    "UPDATE leads SET email = COALESCE(email, $2), linkedin_url = COALESCE(linkedin_url, $3), \
                     company_domain = COALESCE(company_domain, $4), first_name = COALESCE(first_name, $5), \
                     last_name = COALESCE(last_name, $6), title = COALESCE(title, $7), \
                     capture_count = capture_count + 1, \
                     first_seen_at = CASE WHEN first_seen_at > $8 THEN $8 ELSE first_seen_at END, \
                     last_seen_at = CASE WHEN last_seen_at < $8 THEN $8 ELSE last_seen_at END, updated_at = $9 \
                     WHERE id = $1",
                )
                .bind(lead)
                .bind(&identity.email)
                .bind(&linkedin)
                .bind(&identity.company_domain)
                .bind(&identity.first_name)
                .bind(&identity.last_name)
                .bind(&identity.title)
                .bind(&occurred)
                .bind(&now)
                .execute(&mut *$tx)
                .await
                .map(|_| lead.clone())
            }
            None => {
                let id = format!("lead_{}", signalbox_core::new_id().simple());
                sqlx::query(
                    "INSERT INTO leads (id, workspace_id, email, linkedin_url, company_domain, first_name, last_name, \
                     title, capture_count, first_seen_at, last_seen_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10, $10)",
                )
                .bind(&id)
                .bind(workspace)
                .bind(&identity.email)
                .bind(&identity.linkedin_url)
                .bind(&identity.company_domain)
                .bind(&identity.first_name)
                .bind(&identity.last_name)
                .bind(&identity.title)
                .bind(&occurred)
                .bind(&now)
                .execute(&mut *$tx)
                .await
                .map(|_| id)
            }
        };
        match written {
            Ok(lead_id) => Resolution { lead_id, conflict },
            Err(e) if $crate::db::is_unique_violation(&e) => return Err($crate::Error::conflict(LEAD_RACE)),
            Err(e) => return Err(e.into()),
        }
    }};
}
pub(crate) use resolve_in_tx;
