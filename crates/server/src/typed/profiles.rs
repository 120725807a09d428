//! Qualification profiles: `/v1/icp-profiles` and `/v1/persona-profiles` (owner, admin), and
//! scoring a capture against them. A profile is a `code` and weighted CEL rules over
//! `signals`, `identity` and `lead`; its score is the share of the weights whose rules hold.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use signalbox_core::typed::scoring::{
    CompiledProfile, PartialScore, Profile, ProfileError, Rule, VARIABLES, Variables, best, compile_profile,
};
use signalbox_core::{Role, Timestamp, new_id};
use sqlx::FromRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ingest::Qualification;
use crate::auth::model::Caller;
use crate::db::{Db, TxExt, row};
use crate::error::FieldError;
use crate::events::{NewEvent, types};
use crate::http::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::{Error, in_write_tx, on_read};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_icp, create_icp))
        .routes(routes!(get_icp, update_icp, delete_icp))
        .routes(routes!(list_persona, create_persona))
        .routes(routes!(get_persona, update_persona, delete_persona))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Icp,
    Persona,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Icp => "icp",
            Kind::Persona => "persona",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProfileRule {
    /// CEL over `signals`, `identity` and `lead`.
    pub condition: String,
    /// 1-100.
    pub weight: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProfileView {
    pub id: Uuid,
    /// `icp` or `persona`.
    pub kind: String,
    pub code: String,
    pub rules: Vec<ProfileRule>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ProfileIn {
    /// E.g. "Mid-market SaaS"; unique among the workspace's profiles of this kind.
    pub code: String,
    pub rules: Vec<ProfileRule>,
}

#[derive(FromRow)]
struct ProfileRow {
    id: String,
    kind: String,
    code: String,
    rules: String,
    created_at: String,
    updated_at: String,
}

fn view(r: ProfileRow) -> Result<ProfileView, Error> {
    Ok(ProfileView {
        id: row::id(&r.id)?,
        kind: r.kind,
        code: r.code,
        rules: serde_json::from_str(&r.rules).map_err(|e| Error::internal(anyhow::anyhow!("stored rules: {e}")))?,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
    })
}

const SELECT: &str = "SELECT id, kind, code, rules, created_at, updated_at FROM qualification_profiles";

pub async fn list(db: &Db, workspace_id: Uuid, kind: Option<Kind>) -> Result<Vec<ProfileView>, Error> {
    let rows: Vec<ProfileRow> = match kind {
        Some(kind) => {
            let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE workspace_id = $1 AND kind = $2 ORDER BY code"));
            on_read!(db, |pool| sqlx::query_as(sql)
                .bind(workspace_id.to_string())
                .bind(kind.as_str())
                .fetch_all(pool)
                .await)?
        }
        None => {
            let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE workspace_id = $1 ORDER BY kind, code"));
            on_read!(db, |pool| sqlx::query_as(sql).bind(workspace_id.to_string()).fetch_all(pool).await)?
        }
    };
    rows.into_iter().map(view).collect()
}

async fn find(db: &Db, workspace_id: Uuid, kind: Kind, id: Uuid) -> Result<ProfileView, Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE workspace_id = $1 AND kind = $2 AND id = $3"));
    let found: Option<ProfileRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(kind.as_str())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
    found.map(view).transpose()?.ok_or_else(|| Error::not_found("no profile with this id"))
}

fn as_profile(code: &str, rules: &[ProfileRule]) -> Profile {
    Profile {
        code: code.to_owned(),
        rules: rules.iter().map(|r| Rule { condition: r.condition.clone(), weight: r.weight }).collect(),
    }
}

/// Every problem with a profile, each naming its field (`rules[1].condition` with the CEL
/// error's line and column).
fn check(body: &ProfileIn) -> Result<(), Error> {
    let mut errors = Vec::new();
    let code = body.code.trim();
    if code.is_empty() || code.chars().count() > 100 {
        errors.push(FieldError { field: "code".into(), message: "must be 1-100 characters".into() });
    }
    if let Err(problems) = compile_profile(&as_profile(code, &body.rules)) {
        for problem in problems {
            let (field, message) = match &problem {
                ProfileError::NoRules => ("rules".to_owned(), "must have at least one rule".to_owned()),
                ProfileError::Weight { rule, weight } => {
                    (format!("rules[{rule}].weight"), format!("must be a whole number from 1 to 100, not {weight}"))
                }
                ProfileError::Condition { rule, error } => (
                    format!("rules[{rule}].condition"),
                    format!("is not valid CEL at line {}, column {}: {}", error.line, error.column, error.message),
                ),
            };
            errors.push(FieldError { field, message });
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::invalid_fields(errors)) }
}

/// A unique violation on `(workspace, kind, code)` is the client's `409`.
fn code_taken(error: sqlx::Error, kind: Kind, code: &str) -> Error {
    if crate::db::is_unique_violation(&error) {
        Error::conflict(format!("a {} profile with the code {code:?} exists", kind.as_str()))
    } else {
        error.into()
    }
}

pub async fn create(state: &AppState, caller: &Caller, kind: Kind, body: ProfileIn) -> Result<ProfileView, Error> {
    caller.require(Role::Admin)?;
    check(&body)?;
    let (id, now) = (new_id(), state.clock.now());
    let code = body.code.trim().to_owned();
    let event = NewEvent::new(
        caller.workspace_id,
        types::QUALIFICATION_PROFILE_CREATED,
        Some(caller.principal_id),
        json!({ "id": id, "kind": kind.as_str(), "code": code }),
        now,
    );
    let rules = serde_json::to_string(&body.rules).expect("rules serialise");
    in_write_tx!(&state.db, |tx| {
        let inserted = sqlx::query(
            "INSERT INTO qualification_profiles (id, workspace_id, kind, code, rules, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id.to_string())
        .bind(caller.workspace_id.to_string())
        .bind(kind.as_str())
        .bind(&code)
        .bind(&rules)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await;
        inserted.map_err(|e| code_taken(e, kind, &code))?;
        tx.append_event(&event).await?;
    })?;
    state.typed.cache.changed(&state.db).await;
    find(&state.db, caller.workspace_id, kind, id).await
}

/// Replaces a profile's code and rules, as `PUT /v1/…/{id}` (the UI calls it too).
pub async fn update(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    id: Uuid,
    body: ProfileIn,
) -> Result<ProfileView, Error> {
    caller.require(Role::Admin)?;
    find(&state.db, caller.workspace_id, kind, id).await?;
    check(&body)?;
    let now = state.clock.now();
    let code = body.code.trim().to_owned();
    let event = NewEvent::new(
        caller.workspace_id,
        types::QUALIFICATION_PROFILE_UPDATED,
        Some(caller.principal_id),
        json!({ "id": id, "kind": kind.as_str(), "code": code }),
        now,
    );
    let rules = serde_json::to_string(&body.rules).expect("rules serialise");
    in_write_tx!(&state.db, |tx| {
        let updated =
            sqlx::query("UPDATE qualification_profiles SET code = $2, rules = $3, updated_at = $4 WHERE id = $1")
                .bind(id.to_string())
                .bind(&code)
                .bind(&rules)
                .bind(now.to_string())
                .execute(&mut *tx)
                .await;
        updated.map_err(|e| code_taken(e, kind, &code))?;
        tx.append_event(&event).await?;
    })?;
    state.typed.cache.changed(&state.db).await;
    find(&state.db, caller.workspace_id, kind, id).await
}

/// Deletes a profile, as `DELETE /v1/…/{id}` (the UI calls it too).
pub async fn delete(state: &AppState, caller: &Caller, kind: Kind, id: Uuid) -> Result<StatusCode, Error> {
    caller.require(Role::Admin)?;
    let profile = find(&state.db, caller.workspace_id, kind, id).await?;
    let event = NewEvent::new(
        caller.workspace_id,
        types::QUALIFICATION_PROFILE_DELETED,
        Some(caller.principal_id),
        json!({ "id": id, "kind": kind.as_str(), "code": profile.code }),
        state.clock.now(),
    );
    in_write_tx!(&state.db, |tx| {
        sqlx::query("DELETE FROM qualification_profiles WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
        tx.append_event(&event).await?;
    })?;
    state.typed.cache.changed(&state.db).await;
    Ok(StatusCode::NO_CONTENT)
}

macro_rules! profile_routes {
    ($kind:expr, $path:literal, $item:literal, $list:ident, $create:ident, $get:ident, $update:ident, $delete:ident) => {
        /// The workspace's profiles of this kind, by code (admin).
        #[utoipa::path(get, path = $path, tag = "typed-signals", responses((status = 200, body = Vec<ProfileView>)))]
        async fn $list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ProfileView>>, Error> {
            caller.require(Role::Admin)?;
            Ok(Json(list(&state.db, caller.workspace_id, Some($kind)).await?))
        }

        /// Create a profile (admin): a `code` and weighted CEL `rules`.
        #[utoipa::path(post, path = $path, tag = "typed-signals", request_body = ProfileIn,
                                                                    responses((status = 201, body = ProfileView)))]
        async fn $create(
            State(state): State<AppState>,
            caller: Caller,
            ApiJson(body): ApiJson<ProfileIn>,
        ) -> Result<(StatusCode, Json<ProfileView>), Error> {
            Ok((StatusCode::CREATED, Json(create(&state, &caller, $kind, body).await?)))
        }

        /// One profile (admin).
        #[utoipa::path(get, path = $item, tag = "typed-signals", params(("id" = Uuid, Path)),
                                                                    responses((status = 200, body = ProfileView)))]
        async fn $get(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<Uuid>,
        ) -> Result<Json<ProfileView>, Error> {
            caller.require(Role::Admin)?;
            Ok(Json(find(&state.db, caller.workspace_id, $kind, id).await?))
        }

        /// Replace a profile's code and rules (admin).
        #[utoipa::path(put, path = $item, tag = "typed-signals", params(("id" = Uuid, Path)), request_body = ProfileIn,
                                                                    responses((status = 200, body = ProfileView)))]
        async fn $update(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<Uuid>,
            ApiJson(body): ApiJson<ProfileIn>,
        ) -> Result<Json<ProfileView>, Error> {
            Ok(Json(update(&state, &caller, $kind, id, body).await?))
        }

        /// Delete a profile (admin).
        #[utoipa::path(delete, path = $item, tag = "typed-signals", params(("id" = Uuid, Path)),
                                                                    responses((status = 204, description = "Deleted")))]
        async fn $delete(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<Uuid>,
        ) -> Result<StatusCode, Error> {
            delete(&state, &caller, $kind, id).await
        }
    };
}

profile_routes!(
    Kind::Icp,
    "/v1/icp-profiles",
    "/v1/icp-profiles/{id}",
    list_icp,
    create_icp,
    get_icp,
    update_icp,
    delete_icp
);
profile_routes!(
    Kind::Persona,
    "/v1/persona-profiles",
    "/v1/persona-profiles/{id}",
    list_persona,
    create_persona,
    get_persona,
    update_persona,
    delete_persona
);

/// The workspace's profiles, compiled, by kind.
pub struct Profiles {
    icp: Vec<Arc<CompiledProfile>>,
    persona: Vec<Arc<CompiledProfile>>,
    /// Which of `VARIABLES` the rules that read `lead` read, across every profile.
    lead_rules_read: [bool; 3],
}

impl Profiles {
    /// Reads and compiles them; `typed::cache` keeps the result until a profile changes.
    pub async fn load(db: &Db, workspace_id: Uuid) -> Result<Self, Error> {
        let mut profiles = Profiles { icp: Vec::new(), persona: Vec::new(), lead_rules_read: [false; 3] };
        for p in list(db, workspace_id, None).await? {
            // Stored rules always compiled when saved.
            let Ok(compiled) = compile_profile(&as_profile(&p.code, &p.rules)) else { continue };
            for (read, reads) in profiles.lead_rules_read.iter_mut().zip(compiled.lead_rules_read()) {
                *read |= reads;
            }
            match p.kind.as_str() {
                "icp" => profiles.icp.push(Arc::new(compiled)),
                _ => profiles.persona.push(Arc::new(compiled)),
            }
        }
        Ok(profiles)
    }

    /// The best ICP and the best persona for a capture; runtime CEL errors count as "does not
    /// hold" and are logged.
    pub fn qualify(&self, signals: &Value, identity: &Value, lead: &Value) -> Qualification {
        self.qualify_with_lead(&self.score_before_lead(signals, identity), signals, identity, lead)
    }

    /// Every profile's rules that do not read `lead` (typed ingest's handlers run them in
    /// parallel, before the writer resolves the lead).
    pub fn score_before_lead(&self, signals: &Value, identity: &Value) -> BeforeLead {
        // These rules do not read `lead`.
        let variables = Variables::with(&[("signals", signals), ("identity", identity)]);
        let before =
            |profiles: &[Arc<CompiledProfile>]| profiles.iter().map(|p| p.score_before_lead(&variables)).collect();
        BeforeLead { icp: before(&self.icp), persona: before(&self.persona) }
    }

    /// [`Self::qualify`] with the rules that do not read `lead` already evaluated (`before`,
    /// from [`Self::score_before_lead`] of these same profiles).
    pub fn qualify_with_lead(
        &self,
        before: &BeforeLead,
        signals: &Value,
        identity: &Value,
        lead: &Value,
    ) -> Qualification {
        // Only what the rules about the lead read (converting JSON for CEL costs more than a
        // rule), and only when there are such rules.
        let variables = self.lead_rules_read[2].then(|| {
            let bindings: Vec<(&str, &Value)> = VARIABLES
                .into_iter()
                .zip([signals, identity, lead])
                .zip(self.lead_rules_read)
                .filter_map(|(binding, read)| read.then_some(binding))
                .collect();
            Variables::with(&bindings)
        });
        let score = |profiles: &[Arc<CompiledProfile>], before: &[PartialScore]| {
            let scores: Vec<_> =
                profiles.iter().zip(before).map(|(p, b)| p.score_with_lead(b, variables.as_ref())).collect();
            for score in &scores {
                for (rule, error) in &score.errors {
                    tracing::debug!(profile = %score.code, rule, %error, "a qualification rule failed; it does not hold");
                }
            }
            best(&scores).map(|(code, score)| (code.to_owned(), i64::from(score)))
        };
        let icp = score(&self.icp, &before.icp);
        let persona = score(&self.persona, &before.persona);
        Qualification {
            icp_code: icp.as_ref().map(|(c, _)| c.clone()),
            icp_score: icp.map(|(_, s)| s),
            persona_code: persona.as_ref().map(|(c, _)| c.clone()),
            persona_score: persona.map(|(_, s)| s),
        }
    }
}

/// The part of each profile's score that does not depend on the lead, in [`Profiles`]' order.
#[derive(Debug, Clone)]
pub struct BeforeLead {
    icp: Vec<PartialScore>,
    persona: Vec<PartialScore>,
}

/// A capture as rules see it (`signals`): sub-rules see it without `sub_rule`, profiles with.
pub struct SignalFacts<'a> {
    pub signal_type: &'a str,
    pub source: &'a str,
    pub event_name: Option<&'a str>,
    pub occurred_at: Timestamp,
    pub context: Option<&'a Value>,
    pub sub_rule: Option<&'a str>,
}

impl SignalFacts<'_> {
    pub fn variable(&self) -> Value {
        json!({
            "signal_type": self.signal_type, "source": self.source, "event_name": self.event_name,
            "occurred_at": self.occurred_at, "context": self.context.cloned().unwrap_or_else(|| json!({})),
            "sub_rule": self.sub_rule,
        })
    }
}

/// A lead as rules see it (`lead`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeadFacts {
    pub id: String,
    pub email: Option<String>,
    pub linkedin_url: Option<String>,
    pub company_domain: Option<String>,
    pub capture_count: i64,
    pub first_seen_at: String,
    pub last_seen_at: String,
}

impl LeadFacts {
    pub fn variable(&self) -> Value {
        json!({
            "id": self.id, "email": self.email, "linkedin_url": self.linkedin_url,
            "company_domain": self.company_domain, "capture_count": self.capture_count,
            "first_seen_at": self.first_seen_at, "last_seen_at": self.last_seen_at,
        })
    }
}
