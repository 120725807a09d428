//! `/v1/leads` and `/v1/signal-captures`: who typed signals were about, their latest
//! qualification and their captures; `POST /v1/leads/{id}/qualify` scores a lead later.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use signalbox_core::{Role, Timestamp};
use sqlx::{FromRow, QueryBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ingest::{Captured, Qualification, qualified_event};
use super::profiles::{LeadFacts, SignalFacts};
use crate::auth::model::Caller;
use crate::db::{TxExt, row};
use crate::http::{ApiPath, PageRequest, Paginated};
use crate::state::AppState;
use crate::{Error, in_write_tx, on_read};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_leads))
        .routes(routes!(get_lead))
        .routes(routes!(qualify_lead))
        .routes(routes!(get_capture))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadView {
    pub id: String,
    pub email: Option<String>,
    pub linkedin_url: Option<String>,
    pub company_domain: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub capture_count: i64,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The latest qualification (`null` fields until one ran).
    pub qualification: Qualification,
    pub qualified_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(FromRow)]
struct LeadRow {
    id: String,
    email: Option<String>,
    linkedin_url: Option<String>,
    company_domain: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    title: Option<String>,
    capture_count: i64,
    first_seen_at: String,
    last_seen_at: String,
    icp_code: Option<String>,
    icp_score: Option<i64>,
    persona_code: Option<String>,
    persona_score: Option<i64>,
    qualified_at: Option<String>,
    created_at: String,
    updated_at: String,
}

const LEAD_COLUMNS: &str = "id, email, linkedin_url, company_domain, first_name, last_name, title, capture_count, \
                            first_seen_at, last_seen_at, icp_code, icp_score, persona_code, persona_score, \
                            qualified_at, created_at, updated_at";

fn lead(r: LeadRow) -> Result<LeadView, Error> {
    Ok(LeadView {
        id: r.id,
        email: r.email,
        linkedin_url: r.linkedin_url,
        company_domain: r.company_domain,
        first_name: r.first_name,
        last_name: r.last_name,
        title: r.title,
        capture_count: r.capture_count,
        first_seen_at: row::time(&r.first_seen_at)?,
        last_seen_at: row::time(&r.last_seen_at)?,
        qualification: Qualification {
            icp_code: r.icp_code,
            icp_score: r.icp_score,
            persona_code: r.persona_code,
            persona_score: r.persona_score,
        },
        qualified_at: row::opt_time(r.qualified_at.as_deref())?,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaptureView {
    pub id: String,
    pub signal_type: String,
    pub source: String,
    pub event_name: Option<String>,
    pub occurred_at: Timestamp,
    /// The normalised identity.
    #[schema(value_type = Object)]
    pub identity: Value,
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
    pub sub_rule: Option<String>,
    pub lead_id: String,
    /// Set when the identity also pointed at another lead.
    pub conflict: Option<String>,
    /// The qualification given in the capture's answer.
    pub qualification: Qualification,
    pub created_at: Timestamp,
}

#[derive(FromRow)]
struct CaptureRow {
    id: String,
    signal_type: String,
    source: String,
    event_name: Option<String>,
    occurred_at: String,
    identity: String,
    context: Option<String>,
    sub_rule: Option<String>,
    lead_id: String,
    conflict: Option<String>,
    response: String,
    created_at: String,
}

const CAPTURE_COLUMNS: &str = "id, signal_type, source, event_name, occurred_at, identity, context, sub_rule, \
                               lead_id, conflict, response, created_at";

fn capture(r: CaptureRow) -> Result<CaptureView, Error> {
    let corrupt = |what: &str, e: serde_json::Error| Error::internal(anyhow::anyhow!("stored capture {what}: {e}"));
    let answer: Captured = serde_json::from_str(&r.response).map_err(|e| corrupt("answer", e))?;
    Ok(CaptureView {
        id: r.id,
        signal_type: r.signal_type,
        source: r.source,
        event_name: r.event_name,
        occurred_at: row::time(&r.occurred_at)?,
        identity: serde_json::from_str(&r.identity).map_err(|e| corrupt("identity", e))?,
        context: r.context.as_deref().map(serde_json::from_str).transpose().map_err(|e| corrupt("context", e))?,
        sub_rule: r.sub_rule,
        lead_id: r.lead_id,
        conflict: r.conflict,
        qualification: answer.qualification,
        created_at: row::time(&r.created_at)?,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LeadFilter {
    /// Leads whose email, domain or name contains this (case-insensitive).
    pub q: Option<String>,
    pub email: Option<String>,
    pub domain: Option<String>,
    pub icp_code: Option<String>,
    pub persona_code: Option<String>,
    /// Only leads whose latest ICP score is at least this.
    pub min_score: Option<i64>,
}

/// The workspace's leads, newest first (any member), searchable and filterable by their
/// latest qualification.
#[utoipa::path(get, path = "/v1/leads", tag = "typed-signals", params(PageRequest, LeadFilter),
    responses((status = 200, body = Paginated<LeadView>)))]
async fn list_leads(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
    Query(filter): Query<LeadFilter>,
) -> Result<Json<Paginated<LeadView>>, Error> {
    let (leads, total) = search(&state, &caller, &filter, page).await?;
    Ok(Json(Paginated::new(leads, total, page)))
}

/// A page of the workspace's leads matching `filter`, and how many match (any member): the
/// API's and the UI's search.
pub async fn search(
    state: &AppState,
    caller: &Caller,
    filter: &LeadFilter,
    page: PageRequest,
) -> Result<(Vec<LeadView>, i64), Error> {
    caller.require(Role::Viewer)?;
    let workspace = caller.workspace_id.to_string();
    let like = filter.q.as_deref().map(|q| format!("%{}%", q.trim().to_lowercase()));
    let email = filter.email.as_deref().map(|e| e.trim().to_lowercase());
    let domain = filter.domain.as_deref().map(|d| d.trim().to_lowercase());
    macro_rules! filtered {
        ($select:expr) => {{
            let mut query = QueryBuilder::new($select);
            query.push(" FROM leads WHERE workspace_id = ").push_bind(&workspace);
            if let Some(like) = &like {
                query
                    .push(" AND (LOWER(COALESCE(email, '')) LIKE ")
                    .push_bind(like)
                    .push(" OR LOWER(COALESCE(company_domain, '')) LIKE ")
                    .push_bind(like)
                    .push(" OR LOWER(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')) LIKE ")
                    .push_bind(like)
                    .push(")");
            }
            if let Some(email) = &email {
                query.push(" AND email = ").push_bind(email);
            }
            if let Some(domain) = &domain {
                query.push(" AND company_domain = ").push_bind(domain);
            }
            if let Some(code) = &filter.icp_code {
                query.push(" AND icp_code = ").push_bind(code);
            }
            if let Some(code) = &filter.persona_code {
                query.push(" AND persona_code = ").push_bind(code);
            }
            if let Some(min) = filter.min_score {
                query.push(" AND icp_score >= ").push_bind(min);
            }
            query
        }};
    }
    let (rows, total): (Vec<LeadRow>, i64) = on_read!(&state.db, |pool| async {
        let mut rows = filtered!(format!("SELECT {LEAD_COLUMNS}"));
        rows.push(" ORDER BY seq DESC LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.offset);
        let rows = rows.build_query_as().fetch_all(pool).await?;
        let total = filtered!("SELECT COUNT(*)").build_query_scalar().fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, total))
    }
    .await)?;
    let leads = rows.into_iter().map(lead).collect::<Result<_, _>>()?;
    Ok((leads, total))
}

pub async fn find_lead(state: &AppState, caller: &Caller, id: &str) -> Result<LeadView, Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND id = $2"));
    let found: Option<LeadRow> = on_read!(&state.db, |pool| sqlx::query_as(sql)
        .bind(caller.workspace_id.to_string())
        .bind(id)
        .fetch_optional(pool)
        .await)?;
    found.map(lead).transpose()?.ok_or_else(|| Error::not_found("no lead with this id"))
}

/// The lead's newest `limit` captures, newest first: its timeline's chain followed from the
/// lead's latest capture, each capture naming the one before it (migration 0013 says why).
pub async fn captures_of(state: &AppState, lead_id: &str, limit: i64) -> Result<Vec<CaptureView>, Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE timeline (capture_id, depth) AS ( \
             SELECT latest_capture_id, 1 FROM leads WHERE id = $1 AND latest_capture_id IS NOT NULL \
             UNION ALL \
             SELECT c.previous_capture_id, t.depth + 1 FROM timeline AS t JOIN signal_captures AS c ON c.id = t.capture_id \
             WHERE t.depth < $2 AND c.previous_capture_id IS NOT NULL) \
         SELECT {CAPTURE_COLUMNS} FROM timeline JOIN signal_captures ON signal_captures.id = timeline.capture_id \
         ORDER BY timeline.depth"
    ));
    let rows: Vec<CaptureRow> =
        on_read!(&state.db, |pool| sqlx::query_as(sql).bind(lead_id).bind(limit).fetch_all(pool).await)?;
    rows.into_iter().map(capture).collect()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: LeadView,
    /// The newest 100 captures, newest first.
    pub captures: Vec<CaptureView>,
}

/// One lead with its identity, latest qualification and captures (any member).
#[utoipa::path(get, path = "/v1/leads/{id}", tag = "typed-signals", params(("id" = String, Path)),
    responses((status = 200, body = LeadDetail)))]
async fn get_lead(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<LeadDetail>, Error> {
    caller.require(Role::Viewer)?;
    let lead = find_lead(&state, &caller, &id).await?;
    let captures = captures_of(&state, &lead.id, 100).await?;
    Ok(Json(LeadDetail { lead, captures }))
}

/// One capture (any member).
#[utoipa::path(get, path = "/v1/signal-captures/{id}", tag = "typed-signals", params(("id" = String, Path)),
    responses((status = 200, body = CaptureView)))]
async fn get_capture(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaptureView>, Error> {
    caller.require(Role::Viewer)?;
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {CAPTURE_COLUMNS} FROM signal_captures WHERE workspace_id = $1 AND id = $2"
    ));
    let found: Option<CaptureRow> = on_read!(&state.db, |pool| sqlx::query_as(sql)
        .bind(caller.workspace_id.to_string())
        .bind(&id)
        .fetch_optional(pool)
        .await)?;
    Ok(Json(found.map(capture).transpose()?.ok_or_else(|| Error::not_found("no signal capture with this id"))?))
}

/// Qualify a lead now (editor): scores it against the profiles with its latest capture, as
/// autoqualify would have, stores the result on the lead and emits `signal.qualified` when
/// the ICP score reaches the workspace's threshold.
#[utoipa::path(post, path = "/v1/leads/{id}/qualify", tag = "typed-signals", params(("id" = String, Path)),
    responses((status = 200, body = Captured)))]
async fn qualify_lead(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Captured>, Error> {
    caller.require(Role::Editor)?;
    let lead = find_lead(&state, &caller, &id).await?;
    let latest = captures_of(&state, &lead.id, 1)
        .await?
        .pop()
        .ok_or_else(|| Error::conflict("the lead has no captures to qualify with"))?;
    let typing = state.typed.cache.workspace(&state.db, caller.workspace_id).await?;
    let (profiles, threshold) = (&typing.profiles, typing.threshold());
    let signals = SignalFacts {
        signal_type: &latest.signal_type,
        source: &latest.source,
        event_name: latest.event_name.as_deref(),
        occurred_at: latest.occurred_at,
        context: latest.context.as_ref(),
        sub_rule: latest.sub_rule.as_deref(),
    };
    let facts = LeadFacts {
        id: lead.id.clone(),
        email: lead.email.clone(),
        linkedin_url: lead.linkedin_url.clone(),
        company_domain: lead.company_domain.clone(),
        capture_count: lead.capture_count,
        first_seen_at: lead.first_seen_at.to_string(),
        last_seen_at: lead.last_seen_at.to_string(),
    };
    let qualification = profiles.qualify(&signals.variable(), &latest.identity, &facts.variable());
    let answer = Captured {
        signal_capture_id: latest.id.clone(),
        matched_record_id: lead.id.clone(),
        qualification,
        warnings: Vec::new(),
    };
    let now = state.clock.now();
    in_write_tx!(&state.db, |tx| {
        // The typed writer's lock first, as it takes it before the leads' rows: never the
        // other way round, which could deadlock on Postgres.
        tx.order_events().await?;
        let q = &answer.qualification;
        sqlx::query(
            "UPDATE leads SET icp_code = $2, icp_score = $3, persona_code = $4, persona_score = $5, qualified_at = $6 \
             WHERE id = $1",
        )
        .bind(&lead.id)
        .bind(&q.icp_code)
        .bind(q.icp_score)
        .bind(&q.persona_code)
        .bind(q.persona_score)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        if answer.qualification.icp_score.is_some_and(|s| u64::try_from(s).unwrap_or(0) >= threshold) {
            tx.append_event(&qualified_event(caller.workspace_id, Some(caller.principal_id), &answer, now)).await?;
        }
    })?;
    Ok(Json(answer))
}
