//! What the client API serves, per (workspace, environment): every live flag in the Unleash
//! client shape and the segments, read from the database once and kept until the flag
//! revision moves (any change here or, via NOTIFY, on another node) or a few seconds pass.
//! Rendered answers are kept per query, with their ETag, so a warm `304` or `200` reads no
//! database and serialises nothing.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use signalbox_core::flags::{Constraint, Strategy, Variant};
use uuid::Uuid;

use crate::db::Db;
use crate::flags::segments;
use crate::{Error, on_read};

/// A backstop only: changes invalidate at once.
const TTL: Duration = Duration::from_secs(5);
/// Distinct queries kept rendered per snapshot.
const MAX_RENDERED: usize = 256;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConstraint {
    pub context_name: String,
    pub operator: String,
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub inverted: bool,
    pub case_insensitive: bool,
}

impl From<&Constraint> for ClientConstraint {
    fn from(c: &Constraint) -> Self {
        Self {
            context_name: c.context_name.clone(),
            operator: c.operator.clone(),
            values: c.values.clone(),
            value: c.value.clone(),
            inverted: c.inverted,
            case_insensitive: c.case_insensitive,
        }
    }
}

/// A strategy as SDKs get it: no `id`, parameters as strings, in stored order.
#[derive(Debug, Clone, Serialize)]
pub struct ClientStrategy {
    pub name: String,
    pub constraints: Vec<ClientConstraint>,
    pub parameters: BTreeMap<String, String>,
    pub segments: Vec<i64>,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientFeature {
    pub name: String,
    #[serde(rename = "type")]
    pub feature_type: String,
    pub enabled: bool,
    pub project: String,
    pub stale: bool,
    pub impression_data: bool,
    pub description: Option<String>,
    pub strategies: Vec<ClientStrategy>,
    pub variants: Vec<Variant>,
    pub dependencies: Vec<signalbox_core::flags::eval::Dependency>,
    #[serde(skip)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientSegment {
    pub id: i64,
    pub name: String,
    pub constraints: Vec<ClientConstraint>,
}

/// A rendered answer and its entity tag.
#[derive(Debug)]
pub struct Rendered {
    pub etag: String,
    pub body: axum::body::Bytes,
}

/// A flag as the frontend API evaluates it.
#[derive(Debug, Clone)]
pub struct EvalFeature {
    pub project: String,
    pub impression_data: bool,
    pub feature: signalbox_core::flags::eval::Feature,
}

pub struct Snapshot {
    pub revision: u64,
    /// The flags for server-side evaluation (frontend API), with disabled strategies.
    pub evaluation: Vec<EvalFeature>,
    /// Segment id → its constraints.
    pub segment_constraints: BTreeMap<i64, Vec<Constraint>>,
    built_at: Instant,
    /// The event log position when read: the `revisionId` SDKs see.
    pub revision_id: i64,
    pub features: Vec<ClientFeature>,
    pub segments: Vec<ClientSegment>,
    rendered: Mutex<HashMap<String, Arc<Rendered>>>,
}

impl Snapshot {
    /// The rendered answer for `key`, rendering it with `render` the first time.
    pub fn rendered(&self, key: &str, render: impl FnOnce(&Snapshot) -> Rendered) -> Arc<Rendered> {
        if let Some(found) = self.rendered.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
            return found.clone();
        }
        let made = Arc::new(render(self));
        let mut rendered = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if rendered.len() >= MAX_RENDERED {
            rendered.clear();
        }
        rendered.insert(key.to_owned(), made.clone());
        made
    }
}

#[derive(Default)]
pub struct Snapshots {
    by_environment: RwLock<HashMap<(Uuid, Uuid), Arc<Snapshot>>>,
    /// Environments being rebuilt right now: one request rebuilds, the others keep serving
    /// the previous snapshot meanwhile (a rebuild per waiting request piled up queries,
    /// renders and memory under load).
    rebuilding: std::sync::Mutex<std::collections::HashSet<(Uuid, Uuid)>>,
}

/// Clears the rebuilding mark when the rebuild ends, however it ends.
struct RebuildGuard<'a> {
    set: &'a std::sync::Mutex<std::collections::HashSet<(Uuid, Uuid)>>,
    key: (Uuid, Uuid),
}

impl Drop for RebuildGuard<'_> {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.key);
    }
}

impl Snapshots {
    /// The current snapshot of a workspace's environment, rebuilt when stale.
    pub async fn get(&self, db: &Db, workspace_id: Uuid, environment_id: Uuid) -> Result<Arc<Snapshot>, Error> {
        let key = (workspace_id, environment_id);
        let revision = crate::flags::revision();
        // The TTL is a backstop for notifications another node's change might have lost; a
        // single SQLite node sees every change through the revision.
        let ttl_applies = matches!(db, Db::Postgres(_));
        let current = self.by_environment.read().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        if let Some(found) = &current
            && found.revision == revision
            && !(ttl_applies && found.built_at.elapsed() >= TTL)
        {
            return Ok(found.clone());
        }
        let claimed = self.rebuilding.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
        if !claimed && let Some(found) = current {
            return Ok(found);
        }
        let _guard = claimed.then(|| RebuildGuard { set: &self.rebuilding, key });
        let built = Arc::new(build(db, workspace_id, environment_id, revision).await?);
        self.by_environment
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((workspace_id, environment_id), built.clone());
        Ok(built)
    }
}

#[derive(sqlx::FromRow)]
struct FeatureRow {
    key: String,
    #[sqlx(rename = "type")]
    flag_type: String,
    description: Option<String>,
    impression_data: bool,
    tags: String,
    project_key: String,
    enabled: Option<bool>,
    strategies: Option<String>,
    variants: Option<String>,
    dependencies: String,
}

async fn build(db: &Db, workspace_id: Uuid, environment_id: Uuid, revision: u64) -> Result<Snapshot, Error> {
    let sql = "SELECT f.key, f.type, f.description, f.impression_data, f.tags, p.key AS project_key, fe.enabled, \
               fe.strategies, fe.variants, f.dependencies FROM flags f JOIN projects p ON p.id = f.project_id \
               LEFT JOIN flag_environments fe ON fe.flag_id = f.id AND fe.environment_id = $2 \
               WHERE f.workspace_id = $1 AND f.archived_at IS NULL ORDER BY f.key, p.key";
    let (rows, revision_id): (Vec<FeatureRow>, i64) = on_read!(db, |pool| {
        let revision_id = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events").fetch_one(pool).await?;
        let rows =
            sqlx::query_as(sql).bind(workspace_id.to_string()).bind(environment_id.to_string()).fetch_all(pool).await?;
        Ok::<_, sqlx::Error>((rows, revision_id))
    })?;
    let corrupt = |e: serde_json::Error| Error::internal(anyhow::anyhow!("stored flag configuration: {e}"));
    let mut features = Vec::with_capacity(rows.len());
    let mut evaluation = Vec::with_capacity(rows.len());
    for r in rows {
        let strategies: Vec<Strategy> =
            r.strategies.as_deref().map(serde_json::from_str).transpose().map_err(corrupt)?.unwrap_or_default();
        let variants: Vec<Variant> =
            r.variants.as_deref().map(serde_json::from_str).transpose().map_err(corrupt)?.unwrap_or_default();
        let dependencies: Vec<signalbox_core::flags::eval::Dependency> =
            serde_json::from_str(&r.dependencies).map_err(corrupt)?;
        evaluation.push(EvalFeature {
            project: r.project_key.clone(),
            impression_data: r.impression_data,
            feature: signalbox_core::flags::eval::Feature {
                name: r.key.clone(),
                enabled: r.enabled.unwrap_or(false),
                strategies: strategies.clone(),
                variants: variants.clone(),
                dependencies: dependencies.clone(),
            },
        });
        features.push(ClientFeature {
            name: r.key,
            feature_type: r.flag_type,
            enabled: r.enabled.unwrap_or(false),
            project: r.project_key,
            stale: false,
            impression_data: r.impression_data,
            description: r.description,
            strategies: strategies
                .iter()
                .filter(|s| !s.disabled)
                .map(|s| ClientStrategy {
                    name: s.name.clone(),
                    constraints: s.constraints.iter().map(ClientConstraint::from).collect(),
                    parameters: s.parameters.clone(),
                    segments: s.segments.clone(),
                    variants: s.variants.clone(),
                })
                .collect(),
            variants,
            dependencies,
            tags: serde_json::from_str(&r.tags).map_err(corrupt)?,
        });
    }
    let stored_segments = segments::list(db, workspace_id, None).await?;
    let segment_constraints = stored_segments.iter().map(|s| (s.id, s.constraints.clone())).collect();
    let segments = stored_segments
        .into_iter()
        .map(|s| ClientSegment {
            id: s.id,
            name: s.name,
            constraints: s.constraints.iter().map(ClientConstraint::from).collect(),
        })
        .collect();
    Ok(Snapshot {
        revision,
        evaluation,
        segment_constraints,
        built_at: Instant::now(),
        revision_id,
        features,
        segments,
        rendered: Mutex::new(HashMap::new()),
    })
}

/// A short, stable hash for ETags and query hashes.
pub fn digest(parts: &[&[u8]]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for part in parts {
        part.hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}
