//! What typed ingest reads about a workspace on every request — its settings (rate limits,
//! qualification threshold), its signal types with compiled sub-rules, and its compiled
//! qualification profiles — held in memory so that a warm server reads none of it from the
//! database.
//!
//! Any change to signal types, profiles or workspace settings empties the cache on this node
//! at once and, on Postgres, tells other nodes to empty theirs (NOTIFY; a listener that
//! reconnects empties it too). Entries also expire after a few seconds, as a backstop only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::limits::Limits;
use super::profiles::Profiles;
use super::types::{self, Resolved};
use crate::Error;
use crate::config::TypedSignalConfig;
use crate::db::Db;
use crate::workspaces::model::WorkspaceSettings;

const TTL: Duration = Duration::from_secs(5);
/// Bounds memory when many workspaces ingest: past this, the cache starts over.
const MAX_WORKSPACES: usize = 10_000;

/// One workspace's typed-ingest configuration.
pub struct WorkspaceTyping {
    pub settings: WorkspaceSettings,
    /// Signal types by slug.
    pub types: HashMap<String, Arc<Resolved>>,
    pub profiles: Arc<Profiles>,
}

impl WorkspaceTyping {
    /// The rate limits that apply: the workspace's own, else the server's.
    pub fn limits(&self, server: &TypedSignalConfig) -> Limits {
        Limits {
            per_minute: self.settings.typed_signal_rate_per_minute.unwrap_or(server.typed_signal_rate_per_minute),
            per_day: self.settings.typed_signal_rate_per_day.unwrap_or(server.typed_signal_rate_per_day),
        }
    }

    /// The ICP score from which a capture qualifies.
    pub fn threshold(&self) -> u64 {
        self.settings.qualification_threshold.unwrap_or(super::ingest::DEFAULT_THRESHOLD)
    }
}

#[derive(Default)]
pub struct TypedCache {
    workspaces: RwLock<HashMap<Uuid, (Instant, Arc<WorkspaceTyping>)>>,
    /// Bumped by every invalidation: a load that began before one does not store what it read.
    generation: AtomicU64,
    /// Held while loading an entry.
    loading: tokio::sync::Mutex<()>,
}

impl TypedCache {
    /// The workspace's configuration, loaded when it is not cached or has expired.
    pub async fn workspace(&self, db: &Db, workspace_id: Uuid) -> Result<Arc<WorkspaceTyping>, Error> {
        if let Some(typing) = self.fresh(workspace_id) {
            return Ok(typing);
        }
        // One load at a time: when an entry expires under load, the requests that find it
        // gone wait for one load instead of each reading and compiling everything again.
        let _loading = self.loading.lock().await;
        if let Some(typing) = self.fresh(workspace_id) {
            return Ok(typing);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let settings = crate::workspaces::store::settings(db, workspace_id).await?;
        let types = types::resolve_all(db, workspace_id).await?;
        let profiles = Arc::new(Profiles::load(db, workspace_id).await?);
        let typing = Arc::new(WorkspaceTyping {
            settings,
            types: types.into_iter().map(|t| (t.slug.clone(), Arc::new(t))).collect(),
            profiles,
        });
        let mut workspaces = self.workspaces.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            if workspaces.len() >= MAX_WORKSPACES {
                workspaces.clear();
            }
            workspaces.insert(workspace_id, (Instant::now(), typing.clone()));
        }
        Ok(typing)
    }

    fn fresh(&self, workspace_id: Uuid) -> Option<Arc<WorkspaceTyping>> {
        let workspaces = self.workspaces.read().unwrap_or_else(|e| e.into_inner());
        let (loaded, typing) = workspaces.get(&workspace_id)?;
        (loaded.elapsed() < TTL).then(|| typing.clone())
    }

    /// Forgets everything (a change elsewhere, or a gap in notifications).
    pub fn invalidate(&self) {
        let mut workspaces = self.workspaces.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        workspaces.clear();
    }

    /// Signal types, profiles or settings changed here: forget them, and tell other nodes.
    pub async fn changed(&self, db: &Db) {
        self.invalidate();
        crate::ops::listener::announce_config_change(db, "typed").await;
    }
}
