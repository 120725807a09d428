//! `/v1/signal-types`: the built-in types every workspace has and the workspace's own
//! (owner, admin). A type's slug is what `signal_type` names in `POST /signals`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use signalbox_core::typed::scoring::{Condition, Variables, compile_condition, evaluate};
use signalbox_core::typed::slug::slugify;
use signalbox_core::{Role, Timestamp, new_id};
use sqlx::FromRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{SignalType, SignalTypeIn, SignalTypePatch, SubRule};
use super::profiles::SignalFacts;
use crate::auth::model::Caller;
use crate::db::{Db, TxExt, row};
use crate::http::{ApiJson, ApiPath, Patch};
use crate::state::AppState;
use crate::{Error, in_write_tx, on_read};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_types, create_type)).routes(routes!(get_type, update_type, delete_type))
}

#[derive(FromRow)]
struct TypeRow {
    id: String,
    slug: String,
    name: String,
    source_description: Option<String>,
    builtin: bool,
    sub_rules: String,
    autoqualify: bool,
    enabled: bool,
    created_at: String,
    updated_at: String,
}

fn signal_type(r: TypeRow) -> Result<SignalType, Error> {
    Ok(SignalType {
        id: row::id(&r.id)?,
        slug: r.slug,
        name: r.name,
        source_description: r.source_description,
        builtin: r.builtin,
        sub_rules: serde_json::from_str(&r.sub_rules)
            .map_err(|e| Error::internal(anyhow::anyhow!("stored sub-rules: {e}")))?,
        autoqualify: r.autoqualify,
        enabled: r.enabled,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
    })
}

const SELECT: &str = "SELECT id, slug, name, source_description, builtin, sub_rules, autoqualify, enabled, \
                      created_at, updated_at FROM signal_types";

/// Gives the built-in types to workspaces that predate them (at start-up; new workspaces get
/// them when they are created, in `TxExt::insert_workspace`).
pub async fn ensure_builtins(db: &Db, now: Timestamp) -> Result<(), Error> {
    let missing: Vec<String> = on_read!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM workspaces w WHERE NOT EXISTS \
         (SELECT 1 FROM signal_types t WHERE t.workspace_id = w.id AND t.builtin = $1)"
    )
    .bind(true)
    .fetch_all(pool)
    .await)?;
    for workspace in missing {
        let workspace_id = row::id(&workspace)?;
        in_write_tx!(db, |tx| tx.insert_builtin_signal_types(workspace_id, now).await?)?;
    }
    Ok(())
}

pub async fn list(db: &Db, workspace_id: Uuid) -> Result<Vec<SignalType>, Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE workspace_id = $1 ORDER BY builtin DESC, slug"));
    let rows: Vec<TypeRow> =
        on_read!(db, |pool| sqlx::query_as(sql).bind(workspace_id.to_string()).fetch_all(pool).await)?;
    rows.into_iter().map(signal_type).collect()
}

/// A type by slug (what ingest names) or by id.
pub async fn find(db: &Db, workspace_id: Uuid, slug_or_id: &str) -> Result<Option<SignalType>, Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE workspace_id = $1 AND (slug = $2 OR id = $2)"));
    let found: Option<TypeRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(slug_or_id)
        .fetch_optional(pool)
        .await)?;
    found.map(signal_type).transpose()
}

fn check_sub_rules(rules: &[SubRule]) -> Result<(), Error> {
    for (i, rule) in rules.iter().enumerate() {
        if rule.name.trim().is_empty() || rule.name.chars().count() > 100 {
            return Err(Error::invalid_field(format!("sub_rules[{i}].name"), "must be 1-100 characters"));
        }
        if let Err(e) = signalbox_core::typed::scoring::compile_condition(&rule.condition) {
            return Err(Error::invalid_field(
                format!("sub_rules[{i}].condition"),
                format!("is not valid CEL at line {}, column {}: {}", e.line, e.column, e.message),
            ));
        }
    }
    Ok(())
}

fn description(text: Option<String>) -> Result<Option<String>, Error> {
    match text {
        Some(text) if text.chars().count() > 1000 => {
            Err(Error::invalid_field("source_description", "must be at most 1000 characters"))
        }
        other => Ok(other),
    }
}

/// The workspace's signal types, built-in first (admin).
#[utoipa::path(get, path = "/v1/signal-types", tag = "typed-signals",
    responses((status = 200, body = Vec<SignalType>)))]
async fn list_types(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<SignalType>>, Error> {
    caller.require(Role::Admin)?;
    Ok(Json(list(&state.db, caller.workspace_id).await?))
}

/// Declare a custom signal type (admin). Its slug is made from `name`; a slug that exists
/// (built-ins included) is a `409`.
#[utoipa::path(post, path = "/v1/signal-types", tag = "typed-signals", request_body = SignalTypeIn,
    responses((status = 201, body = SignalType), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json")))]
async fn create_type(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SignalTypeIn>,
) -> Result<(StatusCode, Json<SignalType>), Error> {
    Ok((StatusCode::CREATED, Json(create(&state, &caller, body).await?)))
}

/// Declares a custom signal type (admin): the API's and the UI's operation.
pub async fn create(state: &AppState, caller: &Caller, body: SignalTypeIn) -> Result<SignalType, Error> {
    caller.require(Role::Admin)?;
    let slug = slugify(&body.name).map_err(|e| Error::invalid_field("name", e.to_string()))?;
    let name = body.name.trim().to_owned();
    if name.chars().count() > 200 {
        return Err(Error::invalid_field("name", "must be at most 200 characters"));
    }
    let source_description = description(body.source_description)?;
    check_sub_rules(&body.sub_rules)?;
    let now = state.clock.now();
    let id = new_id();
    let event = crate::events::NewEvent::new(
        caller.workspace_id,
        crate::events::types::SIGNAL_TYPE_CREATED,
        Some(caller.principal_id),
        serde_json::json!({ "id": id, "slug": slug, "name": name }),
        now,
    );
    let rules = serde_json::to_string(&body.sub_rules).expect("sub-rules serialise");
    in_write_tx!(&state.db, |tx| {
        let inserted = sqlx::query(
            "INSERT INTO signal_types (id, workspace_id, slug, name, source_description, builtin, sub_rules, \
             autoqualify, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id.to_string())
        .bind(caller.workspace_id.to_string())
        .bind(&slug)
        .bind(&name)
        .bind(&source_description)
        .bind(false)
        .bind(&rules)
        .bind(body.autoqualify.unwrap_or(false))
        .bind(body.enabled.unwrap_or(true))
        .bind(now.to_string())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(Error::conflict(format!("a signal type with the slug {slug:?} exists")));
            }
            other => other?,
        };
        tx.append_event(&event).await?;
    })?;
    state.typed.cache.changed(&state.db).await;
    find(&state.db, caller.workspace_id, &id.to_string())
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("a signal type vanished after its insert")))
}

async fn existing(state: &AppState, caller: &Caller, slug: &str) -> Result<SignalType, Error> {
    find(&state.db, caller.workspace_id, slug).await?.ok_or_else(|| Error::not_found("no signal type with this slug"))
}

/// One signal type, by slug (admin).
#[utoipa::path(get, path = "/v1/signal-types/{slug}", tag = "typed-signals",
    params(("slug" = String, Path)), responses((status = 200, body = SignalType)))]
async fn get_type(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<SignalType>, Error> {
    caller.require(Role::Admin)?;
    Ok(Json(existing(&state, &caller, &slug).await?))
}

/// Change a signal type (admin): `enabled`, `autoqualify`, `sub_rules`, `source_description`.
#[utoipa::path(put, path = "/v1/signal-types/{slug}", tag = "typed-signals",
    params(("slug" = String, Path)), request_body = SignalTypePatch, responses((status = 200, body = SignalType)))]
async fn update_type(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(patch): ApiJson<SignalTypePatch>,
) -> Result<Json<SignalType>, Error> {
    Ok(Json(update(&state, &caller, &slug, patch).await?))
}

/// Changes a signal type (admin): the API's and the UI's operation.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    slug: &str,
    patch: SignalTypePatch,
) -> Result<SignalType, Error> {
    caller.require(Role::Admin)?;
    let mut current = existing(state, caller, slug).await?;
    match patch.source_description {
        Patch::Absent => {}
        Patch::Null => current.source_description = None,
        Patch::Value(text) => current.source_description = description(Some(text))?,
    }
    if let Some(rules) = patch.sub_rules.not_null("sub_rules")? {
        check_sub_rules(&rules)?;
        current.sub_rules = rules;
    }
    if let Some(autoqualify) = patch.autoqualify.not_null("autoqualify")? {
        current.autoqualify = autoqualify;
    }
    if let Some(enabled) = patch.enabled.not_null("enabled")? {
        current.enabled = enabled;
    }
    let now = state.clock.now();
    let event = crate::events::NewEvent::new(
        caller.workspace_id,
        crate::events::types::SIGNAL_TYPE_UPDATED,
        Some(caller.principal_id),
        serde_json::json!({ "id": current.id, "slug": current.slug, "enabled": current.enabled,
                            "autoqualify": current.autoqualify }),
        now,
    );
    let rules = serde_json::to_string(&current.sub_rules).expect("sub-rules serialise");
    in_write_tx!(&state.db, |tx| {
        sqlx::query(
            "UPDATE signal_types SET source_description = $2, sub_rules = $3, autoqualify = $4, enabled = $5, \
             updated_at = $6 WHERE id = $1",
        )
        .bind(current.id.to_string())
        .bind(&current.source_description)
        .bind(&rules)
        .bind(current.autoqualify)
        .bind(current.enabled)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        tx.append_event(&event).await?;
    })?;
    state.typed.cache.changed(&state.db).await;
    existing(state, caller, &current.slug).await
}

/// Delete a custom signal type (admin); built-in types can only be disabled (`409`). Its
/// captures stay.
#[utoipa::path(delete, path = "/v1/signal-types/{slug}", tag = "typed-signals",
    params(("slug" = String, Path)), responses((status = 204, description = "Deleted")))]
async fn delete_type(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> Result<StatusCode, Error> {
    delete(&state, &caller, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a custom signal type, as `DELETE /v1/signal-types/{slug}` (the UI calls it too).
pub async fn delete(state: &AppState, caller: &Caller, slug: &str) -> Result<(), Error> {
    caller.require(Role::Admin)?;
    let current = existing(state, caller, slug).await?;
    if current.builtin {
        return Err(Error::conflict("built-in signal types cannot be deleted; disable it instead"));
    }
    let event = crate::events::NewEvent::new(
        caller.workspace_id,
        crate::events::types::SIGNAL_TYPE_DELETED,
        Some(caller.principal_id),
        serde_json::json!({ "id": current.id, "slug": current.slug }),
        state.clock.now(),
    );
    in_write_tx!(&state.db, |tx| {
        sqlx::query("DELETE FROM signal_types WHERE id = $1").bind(current.id.to_string()).execute(&mut *tx).await?;
        tx.append_event(&event).await?;
    })?;
    state.typed.cache.changed(&state.db).await;
    Ok(())
}

/// A type as ingest needs it: enabled or not, and its sub-rules compiled.
pub struct Resolved {
    pub slug: String,
    pub enabled: bool,
    pub autoqualify: bool,
    sub_rules: Vec<(String, Option<Condition>)>,
}

impl Resolved {
    /// The name of the first sub-rule whose condition holds for the signal and identity (the
    /// signal as JSON is built only when the type has sub-rules).
    pub fn sub_rule(&self, signals: &SignalFacts<'_>, identity: &serde_json::Value) -> Option<String> {
        if self.sub_rules.is_empty() {
            return None;
        }
        // Sub-rules are decided before the lead: to them it is an empty object.
        let (signals, no_lead) = (signals.variable(), serde_json::json!({}));
        let variables = Variables::new(&signals, identity, &no_lead);
        self.sub_rules.iter().find_map(|(name, program)| {
            let program = program.as_ref()?;
            match evaluate(program, &variables) {
                Ok(true) => Some(name.clone()),
                Ok(false) => None,
                Err(error) => {
                    tracing::debug!(rule = %name, %error, "a sub-rule's condition failed; it does not hold");
                    None
                }
            }
        })
    }
}

/// Every type of the workspace, ready for ingest (`typed::cache` keeps them by slug).
pub async fn resolve_all(db: &Db, workspace_id: Uuid) -> Result<Vec<Resolved>, Error> {
    let types = list(db, workspace_id).await?;
    Ok(types
        .into_iter()
        .map(|found| {
            let sub_rules =
                found.sub_rules.into_iter().map(|rule| (rule.name, compile_condition(&rule.condition).ok())).collect();
            Resolved { slug: found.slug, enabled: found.enabled, autoqualify: found.autoqualify, sub_rules }
        })
        .collect())
}
