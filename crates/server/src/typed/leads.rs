//! Leads: who typed signals are about, resolved from their identities.
//!
//! Resolution, in order: a lead with the same (normalised) email; else one with the same
//! canonical LinkedIn URL; else, only when the identity has neither an email nor a LinkedIn
//! URL, the oldest lead of the company domain that has neither either — so colleagues are
//! never merged through their company; else a new lead. When the email points at one lead
//! and the LinkedIn URL at another, the capture attaches to the email's lead and records the
//! conflict. A capture fills the identity fields its lead lacks. See `docs/typed-signals.md`.

use std::collections::HashMap;

use crate::db::statement::{Column, FromColumns, Statement};
use signalbox_core::typed::identity::Identity;

use super::ingest::Qualification;
use super::profiles::LeadFacts;

/// A lead as stored, with what resolution and rules read.
#[derive(Debug, Clone)]
pub struct StoredLead {
    pub id: String,
    pub email: Option<String>,
    pub linkedin_url: Option<String>,
    pub company_domain: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub capture_count: i64,
    pub first_seen_at: String,
    pub last_seen_at: String,
    /// Creation order ("the oldest lead of the company").
    pub seq: i64,
    /// Its newest capture: the head of its timeline, in which each capture names the one
    /// before it (`signal_captures.previous_capture_id`).
    pub latest_capture_id: Option<String>,
}

/// The columns of a [`StoredLead`], in its fields' order.
const STORED_LEAD_COLUMNS: &str = "id, email, linkedin_url, company_domain, first_name, last_name, title, capture_count, first_seen_at, \
     last_seen_at, seq, latest_capture_id";

/// A [`StoredLead`] from a row with [`STORED_LEAD_COLUMNS`], each read with `$read(row, index)`.
macro_rules! stored_lead {
    ($read:path, $row:expr) => {
        StoredLead {
            id: $read($row, 0)?,
            email: $read($row, 1)?,
            linkedin_url: $read($row, 2)?,
            company_domain: $read($row, 3)?,
            first_name: $read($row, 4)?,
            last_name: $read($row, 5)?,
            title: $read($row, 6)?,
            capture_count: $read($row, 7)?,
            first_seen_at: $read($row, 8)?,
            last_seen_at: $read($row, 9)?,
            seq: $read($row, 10)?,
            latest_capture_id: $read($row, 11)?,
        }
    };
}

impl FromColumns for StoredLead {
    fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        Ok(stored_lead!(Column::from_postgres, row))
    }

    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(stored_lead!(Column::from_direct, row))
    }
}

/// A lead as a batch of captures sees it: its stored state with the batch's captures applied.
#[derive(Debug)]
pub struct BookLead {
    pub lead: StoredLead,
    /// Captures of this batch attached to it.
    pub added: i64,
    /// The latest qualification this batch computed for it.
    pub qualification: Option<Qualification>,
    /// Whether it is stored and the batch changed only what [`count_on_stored`] writes: its
    /// counter, seen times, qualification and timeline head — not its identity, which indexes
    /// cover.
    pub only_counted: bool,
}

impl BookLead {
    pub fn facts(&self) -> LeadFacts {
        let l = &self.lead;
        LeadFacts {
            id: l.id.clone(),
            email: l.email.clone(),
            linkedin_url: l.linkedin_url.clone(),
            company_domain: l.company_domain.clone(),
            capture_count: l.capture_count,
            first_seen_at: l.first_seen_at.clone(),
            last_seen_at: l.last_seen_at.clone(),
        }
    }
}

/// The lead a capture attaches to.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Its place in the [`LeadBook`].
    pub index: usize,
    pub lead_id: String,
    /// Why the identity also pointed elsewhere, if it did.
    pub conflict: Option<String>,
    /// The lead's capture before this one (its timeline's previous link), if any.
    pub previous_capture_id: Option<String>,
}

/// One workspace's leads that a batch of captures may attach to, found by every key
/// resolution uses, and the leads the batch creates. Captures are resolved in order, each
/// seeing what the ones before it did, exactly as if each had its own transaction.
#[derive(Debug, Default)]
pub struct LeadBook {
    leads: Vec<BookLead>,
    by_email: HashMap<String, usize>,
    by_linkedin: HashMap<String, usize>,
    /// Company domain → the lead known only by it (no email, no LinkedIn URL).
    company_only: HashMap<String, usize>,
}

impl LeadBook {
    /// The stored leads the batch's identities name (`rows` oldest first).
    pub fn new(rows: Vec<StoredLead>) -> Self {
        let mut book = Self::default();
        for lead in rows {
            book.add(lead, 0);
        }
        book
    }

    fn add(&mut self, lead: StoredLead, added: i64) -> usize {
        let index = self.leads.len();
        // A lead the batch creates is written whole.
        let only_counted = added == 0;
        self.leads.push(BookLead { lead, added, qualification: None, only_counted });
        self.index_keys(index);
        index
    }

    fn index_keys(&mut self, index: usize) {
        let lead = &self.leads[index].lead;
        if let Some(email) = &lead.email {
            self.by_email.entry(email.clone()).or_insert(index);
        }
        if let Some(url) = &lead.linkedin_url {
            self.by_linkedin.entry(url.clone()).or_insert(index);
        }
        match (&lead.email, &lead.linkedin_url, &lead.company_domain) {
            (None, None, Some(domain)) => {
                self.company_only.entry(domain.clone()).or_insert(index);
            }
            (_, _, Some(domain)) if self.company_only.get(domain) == Some(&index) => {
                self.company_only.remove(domain);
            }
            _ => {}
        }
    }

    /// Resolves (or creates) the lead for `identity` and counts the capture `capture_id` on
    /// it: fills the fields it lacks, moves its first/last seen times to include
    /// `occurred_at`, and makes the capture the head of its timeline.
    pub fn resolve(&mut self, identity: &Identity, occurred_at: &str, capture_id: &str) -> Resolution {
        let by_email = identity.email.as_ref().and_then(|e| self.by_email.get(e)).copied();
        let by_linkedin = identity.linkedin_url.as_ref().and_then(|u| self.by_linkedin.get(u)).copied();
        let by_domain = match (&identity.email, &identity.linkedin_url, &identity.company_domain) {
            (None, None, Some(domain)) => self.company_only.get(domain).copied(),
            _ => None,
        };
        let (found, conflict) = match (by_email, by_linkedin) {
            (Some(a), Some(b)) if a != b => {
                let conflict = format!(
                    "the email matched lead {} but the LinkedIn URL belongs to lead {}; attached to the email's lead",
                    self.leads[a].lead.id, self.leads[b].lead.id
                );
                (Some(a), Some(conflict))
            }
            (Some(a), _) => (Some(a), None),
            (None, Some(b)) => (Some(b), None),
            (None, None) => (by_domain, None),
        };
        let index = match found {
            None => self.add(
                StoredLead {
                    id: format!("lead_{}", signalbox_core::new_id().simple()),
                    email: identity.email.clone(),
                    linkedin_url: identity.linkedin_url.clone(),
                    company_domain: identity.company_domain.clone(),
                    first_name: identity.first_name.clone(),
                    last_name: identity.last_name.clone(),
                    title: identity.title.clone(),
                    capture_count: 1,
                    first_seen_at: occurred_at.to_owned(),
                    last_seen_at: occurred_at.to_owned(),
                    // Given at insert; only stored leads are ordered by it.
                    seq: 0,
                    latest_capture_id: None,
                },
                1,
            ),
            Some(index) => {
                let entry = &mut self.leads[index];
                let lead = &mut entry.lead;
                let mut filled = false;
                let mut fill = |field: &mut Option<String>, value: &Option<String>| {
                    if field.is_none() && value.is_some() {
                        field.clone_from(value);
                        filled = true;
                    }
                };
                fill(&mut lead.email, &identity.email);
                // A LinkedIn URL that another lead has stays there.
                if conflict.is_none() {
                    fill(&mut lead.linkedin_url, &identity.linkedin_url);
                }
                fill(&mut lead.company_domain, &identity.company_domain);
                fill(&mut lead.first_name, &identity.first_name);
                fill(&mut lead.last_name, &identity.last_name);
                fill(&mut lead.title, &identity.title);
                entry.only_counted &= !filled;
                lead.capture_count += 1;
                if lead.first_seen_at.as_str() > occurred_at {
                    occurred_at.clone_into(&mut lead.first_seen_at);
                }
                if lead.last_seen_at.as_str() < occurred_at {
                    occurred_at.clone_into(&mut lead.last_seen_at);
                }
                entry.added += 1;
                self.index_keys(index);
                index
            }
        };
        let lead = &mut self.leads[index].lead;
        let previous_capture_id = lead.latest_capture_id.replace(capture_id.to_owned());
        Resolution { index, lead_id: lead.id.clone(), conflict, previous_capture_id }
    }

    pub fn lead(&self, index: usize) -> &BookLead {
        &self.leads[index]
    }

    pub fn lead_mut(&mut self, index: usize) -> &mut BookLead {
        &mut self.leads[index]
    }

    /// The leads the batch's captures attached to.
    pub fn touched(&self) -> impl Iterator<Item = &BookLead> {
        self.leads.iter().filter(|l| l.added > 0)
    }
}

/// `SELECT` of the stored leads that `identities` may resolve to in `workspace` — by email,
/// by LinkedIn URL, and the company-only leads of domain-only identities — oldest first, as
/// [`StoredLead`] rows. `None` when no identity has a key to look up.
pub fn select_candidates<'a>(
    backend: crate::db::Backend,
    workspace: &'a str,
    identities: impl Iterator<Item = &'a Identity> + Clone,
) -> Option<Statement<'a>> {
    let emails: Vec<&str> = identities.clone().filter_map(|i| i.email.as_deref()).collect();
    let urls: Vec<&str> = identities.clone().filter_map(|i| i.linkedin_url.as_deref()).collect();
    let domains: Vec<&str> = identities
        .filter(|i| i.email.is_none() && i.linkedin_url.is_none())
        .filter_map(|i| i.company_domain.as_deref())
        .collect();
    // One SELECT per key, joined by UNION: with OR, SQLite reads every lead of the workspace.
    let mut query = Statement::new(backend, format!("SELECT {STORED_LEAD_COLUMNS} FROM ("));
    let mut any = false;
    for (column, values, extra) in [
        ("email", &emails, ""),
        ("linkedin_url", &urls, ""),
        ("company_domain", &domains, " AND email IS NULL AND linkedin_url IS NULL"),
    ] {
        if values.is_empty() {
            continue;
        }
        if any {
            query.push(" UNION ");
        }
        any = true;
        query.push("SELECT * FROM leads WHERE workspace_id = ");
        query.push_bind(workspace).push(" AND ").push(column).push(" IN (");
        let mut list = query.separated(", ");
        for value in values {
            list.push_bind(*value);
        }
        query.push(")").push(extra);
    }
    query.push(") AS candidates ORDER BY seq");
    any.then_some(query)
}

/// Counts a batch's captures on stored leads whose identity it left alone
/// ([`BookLead::only_counted`]): their counter, seen times, latest qualification and newest
/// capture, by `seq`.
/// No indexed column changes, so unlike [`upsert`] no index entry is rewritten. On SQLite one
/// `UPDATE` per lead (an `UPDATE … FROM (VALUES …)` costs more there than the rows it saves);
/// on Postgres one for all of them.
pub fn count_on_stored<'a>(backend: crate::db::Backend, leads: &[&'a BookLead], now: &'a str) -> Vec<Statement<'a>> {
    // The values of a lead, in placeholder order: seq, added, first_seen_at, last_seen_at,
    // icp_code, icp_score, persona_code, persona_score, qualified_at, updated_at,
    // latest_capture_id.
    let values = |entry: &'a BookLead| -> [crate::db::statement::Value<'a>; 11] {
        let (lead, q) = (&entry.lead, entry.qualification.as_ref());
        [
            lead.seq.into(),
            entry.added.into(),
            lead.first_seen_at.as_str().into(),
            lead.last_seen_at.as_str().into(),
            q.and_then(|q| q.icp_code.as_deref()).into(),
            q.and_then(|q| q.icp_score).into(),
            q.and_then(|q| q.persona_code.as_deref()).into(),
            q.and_then(|q| q.persona_score).into(),
            q.map(|_| now).into(),
            now.into(),
            lead.latest_capture_id.as_deref().into(),
        ]
    };
    match backend {
        crate::db::Backend::Sqlite => leads
            .iter()
            .map(|entry| {
                values(entry).into_iter().fold(Statement::new(backend, COUNT_ON_STORED_SQLITE), Statement::bind)
            })
            .collect(),
        crate::db::Backend::Postgres => {
            let mut statement = Statement::new(backend, COUNT_ON_STORED_POSTGRES);
            statement.push_values(leads, |mut row, entry| {
                for value in values(entry) {
                    row.push_bind(value);
                }
            });
            statement.push(") AS v WHERE l.seq = v.column1");
            vec![statement]
        }
    }
}

/// `?n` (SQLite numbers `$n` by first appearance, and these appear out of order).
const COUNT_ON_STORED_SQLITE: &str = "UPDATE leads SET capture_count = capture_count + ?2, \
    first_seen_at = CASE WHEN ?3 < first_seen_at THEN ?3 ELSE first_seen_at END, \
    last_seen_at = CASE WHEN ?4 > last_seen_at THEN ?4 ELSE last_seen_at END, \
    icp_code = CASE WHEN ?9 IS NULL THEN icp_code ELSE ?5 END, \
    icp_score = CASE WHEN ?9 IS NULL THEN icp_score ELSE ?6 END, \
    persona_code = CASE WHEN ?9 IS NULL THEN persona_code ELSE ?7 END, \
    persona_score = CASE WHEN ?9 IS NULL THEN persona_score ELSE ?8 END, \
    qualified_at = COALESCE(?9, qualified_at), updated_at = ?10, latest_capture_id = ?11 WHERE seq = ?1";

/// As [`COUNT_ON_STORED_SQLITE`], the rows as `VALUES` (`v.column1` is the seq, and so on);
/// followed by the rows and `) AS v WHERE l.seq = v.column1`.
const COUNT_ON_STORED_POSTGRES: &str = "UPDATE leads AS l SET capture_count = l.capture_count + v.column2, \
    first_seen_at = CASE WHEN v.column3 < l.first_seen_at THEN v.column3 ELSE l.first_seen_at END, \
    last_seen_at = CASE WHEN v.column4 > l.last_seen_at THEN v.column4 ELSE l.last_seen_at END, \
    icp_code = CASE WHEN v.column9 IS NULL THEN l.icp_code ELSE v.column5 END, \
    icp_score = CASE WHEN v.column9 IS NULL THEN l.icp_score ELSE v.column6 END, \
    persona_code = CASE WHEN v.column9 IS NULL THEN l.persona_code ELSE v.column7 END, \
    persona_score = CASE WHEN v.column9 IS NULL THEN l.persona_score ELSE v.column8 END, \
    qualified_at = COALESCE(v.column9, l.qualified_at), updated_at = v.column10, latest_capture_id = v.column11 FROM (";

/// Writes leads whole — those the batch created, and stored ones whose identity it filled in
/// ([`count_on_stored`] writes the rest): new ones inserted, stored ones changed relative to
/// what they hold now (counts added, fields filled only where empty, seen times widened), and
/// the qualification set only where the batch computed one.
pub fn upsert<'a>(
    backend: crate::db::Backend,
    workspace: &'a str,
    leads: &[&'a BookLead],
    now: &'a str,
) -> Statement<'a> {
    let mut query = Statement::new(
        backend,
        "INSERT INTO leads (id, workspace_id, email, linkedin_url, company_domain, first_name, last_name, title, \
         capture_count, first_seen_at, last_seen_at, icp_code, icp_score, persona_code, persona_score, qualified_at, \
         created_at, updated_at, latest_capture_id) ",
    );
    query.push_values(leads, |mut row, entry| {
        let (lead, q) = (&entry.lead, entry.qualification.as_ref());
        row.push_bind(lead.id.as_str())
            .push_bind(workspace)
            .push_bind(lead.email.as_deref())
            .push_bind(lead.linkedin_url.as_deref())
            .push_bind(lead.company_domain.as_deref())
            .push_bind(lead.first_name.as_deref())
            .push_bind(lead.last_name.as_deref())
            .push_bind(lead.title.as_deref())
            .push_bind(entry.added)
            .push_bind(lead.first_seen_at.as_str())
            .push_bind(lead.last_seen_at.as_str())
            .push_bind(q.and_then(|q| q.icp_code.as_deref()))
            .push_bind(q.and_then(|q| q.icp_score))
            .push_bind(q.and_then(|q| q.persona_code.as_deref()))
            .push_bind(q.and_then(|q| q.persona_score))
            .push_bind(q.map(|_| now))
            .push_bind(now)
            .push_bind(now)
            .push_bind(lead.latest_capture_id.as_deref());
    });
    query.push(
        " ON CONFLICT (id) DO UPDATE SET email = COALESCE(leads.email, excluded.email), \
         linkedin_url = COALESCE(leads.linkedin_url, excluded.linkedin_url), \
         company_domain = COALESCE(leads.company_domain, excluded.company_domain), \
         first_name = COALESCE(leads.first_name, excluded.first_name), \
         last_name = COALESCE(leads.last_name, excluded.last_name), title = COALESCE(leads.title, excluded.title), \
         capture_count = leads.capture_count + excluded.capture_count, \
         first_seen_at = CASE WHEN excluded.first_seen_at < leads.first_seen_at \
                         THEN excluded.first_seen_at ELSE leads.first_seen_at END, \
         last_seen_at = CASE WHEN excluded.last_seen_at > leads.last_seen_at \
                        THEN excluded.last_seen_at ELSE leads.last_seen_at END, \
         icp_code = CASE WHEN excluded.qualified_at IS NULL THEN leads.icp_code ELSE excluded.icp_code END, \
         icp_score = CASE WHEN excluded.qualified_at IS NULL THEN leads.icp_score ELSE excluded.icp_score END, \
         persona_code = CASE WHEN excluded.qualified_at IS NULL THEN leads.persona_code ELSE excluded.persona_code END, \
         persona_score = CASE WHEN excluded.qualified_at IS NULL THEN leads.persona_score ELSE excluded.persona_score END, \
         qualified_at = COALESCE(excluded.qualified_at, leads.qualified_at), updated_at = excluded.updated_at, \
         latest_capture_id = excluded.latest_capture_id",
    );
    query
}
