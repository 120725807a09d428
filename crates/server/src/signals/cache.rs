//! What ingest needs to know about endpoints and tokens, held in memory so that a warm
//! server answers a signal without reading the database: which endpoint names exist, and
//! which token (by hash) belongs to which endpoint, with the workspace's limits.
//!
//! Any change to endpoints, tokens or workspace settings empties the cache on this node at
//! once; on Postgres it also sends a NOTIFY so other nodes empty theirs (and a listener that
//! reconnects empties it too, since notifications may have been lost). Entries also expire
//! after a few seconds, as a backstop only.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::limits::EndpointLimits;
use crate::Error;
use crate::db::{Db, row};
use crate::on_read;

const TTL: Duration = Duration::from_secs(5);
/// Bounds memory under a flood of random tokens: past this, the cache starts over.
const MAX_TOKENS: usize = 100_000;

/// A token as ingest needs it.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    pub token_id: Uuid,
    pub token_name: String,
    pub endpoint_id: Uuid,
    pub endpoint_name: String,
    pub workspace_id: Uuid,
    pub enabled: bool,
    pub limits: EndpointLimits,
}

#[derive(Default)]
struct Contents {
    /// Endpoint name → the ids of endpoints with that name (one per workspace at most).
    names: Option<(Instant, HashMap<String, Vec<Uuid>>)>,
    /// Token hash → the token, or `None` for a hash known not to exist.
    tokens: HashMap<String, (Instant, Option<TokenEntry>)>,
}

#[derive(Default)]
pub struct IngestCache {
    contents: RwLock<Contents>,
    /// Bumped by every invalidation. A load that started before one does not store what it
    /// read, or a token revoked during the load could live on until the TTL.
    generation: AtomicU64,
}

impl IngestCache {
    /// Forgets everything; the next requests reload from the database.
    pub fn invalidate(&self) {
        let mut contents = self.contents.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        *contents = Contents::default();
    }

    /// Stores what a load read, unless the cache was invalidated since the load began.
    fn store_if_current(&self, generation: u64, store: impl FnOnce(&mut Contents)) {
        let mut contents = self.contents.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            store(&mut contents);
        }
    }

    /// The ids of the endpoints called `name`, in every workspace (empty: no such name).
    pub async fn endpoints_named(&self, db: &Db, name: &str) -> Result<Vec<Uuid>, Error> {
        {
            let contents = self.contents.read().unwrap_or_else(|e| e.into_inner());
            if let Some((loaded, names)) = &contents.names
                && loaded.elapsed() < TTL
            {
                return Ok(names.get(name).cloned().unwrap_or_default());
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let rows: Vec<(String, String)> =
            on_read!(db, |pool| sqlx::query_as("SELECT name, id FROM signal_endpoints").fetch_all(pool).await)?;
        let mut names: HashMap<String, Vec<Uuid>> = HashMap::new();
        for (endpoint_name, id) in rows {
            names.entry(endpoint_name).or_default().push(row::id(&id)?);
        }
        let found = names.get(name).cloned().unwrap_or_default();
        self.store_if_current(generation, |contents| contents.names = Some((Instant::now(), names)));
        Ok(found)
    }

    /// The token with this hash, if it exists.
    pub async fn token(
        &self,
        db: &Db,
        hash: &str,
        load_limits: impl AsyncFnOnce(Uuid) -> Result<EndpointLimits, Error>,
    ) -> Result<Option<TokenEntry>, Error> {
        {
            let contents = self.contents.read().unwrap_or_else(|e| e.into_inner());
            if let Some((loaded, entry)) = contents.tokens.get(hash)
                && loaded.elapsed() < TTL
            {
                return Ok(entry.clone());
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let sql = "SELECT t.id, t.name, e.id, e.name, e.workspace_id, e.enabled \
                   FROM signal_endpoint_tokens t JOIN signal_endpoints e ON e.id = t.endpoint_id \
                   WHERE t.token_hash = $1";
        let found: Option<(String, String, String, String, String, bool)> =
            on_read!(db, |pool| sqlx::query_as(sql).bind(hash).fetch_optional(pool).await)?;
        let entry = match found {
            None => None,
            Some((token_id, token_name, endpoint_id, endpoint_name, workspace_id, enabled)) => {
                let workspace_id = row::id(&workspace_id)?;
                Some(TokenEntry {
                    token_id: row::id(&token_id)?,
                    token_name,
                    endpoint_id: row::id(&endpoint_id)?,
                    endpoint_name,
                    workspace_id,
                    enabled,
                    limits: load_limits(workspace_id).await?,
                })
            }
        };
        self.store_if_current(generation, |contents| {
            if contents.tokens.len() >= MAX_TOKENS {
                contents.tokens.clear();
            }
            contents.tokens.insert(hash.to_owned(), (Instant::now(), entry.clone()));
        });
        Ok(entry)
    }
}
