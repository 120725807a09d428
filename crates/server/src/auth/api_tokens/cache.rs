//! API tokens resolved in memory, so a warm server authenticates a token without reading the
//! database (typed ingest sends one with every signal).
//!
//! Any change that could alter what a token may do — a token revoked, a member's role
//! changed, a member disabled or removed — empties the cache on this node at once, and on
//! Postgres sends a NOTIFY so other nodes empty theirs (a listener that reconnects empties
//! it too). An entry also expires after a few seconds, as a backstop only, and a token's own
//! expiry is checked on every use. Unknown tokens are not cached: each is read again.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use signalbox_core::Timestamp;

use crate::auth::model::Caller;

const TTL: Duration = Duration::from_secs(5);
/// Bounds memory: past this many tokens, the cache starts over.
const MAX_TOKENS: usize = 10_000;

/// A token as authentication found it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub caller: Caller,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Default)]
pub struct TokenCache {
    /// Token hash → when it was read, and what.
    tokens: RwLock<HashMap<String, (Instant, Resolved)>>,
    /// Bumped by every invalidation: a read that began before one does not store what it
    /// found, or a token revoked meanwhile could live on until the TTL.
    generation: AtomicU64,
}

impl TokenCache {
    /// The token with this hash, if it is cached, fresh, and not expired at `now`.
    pub fn get(&self, hash: &str, now: Timestamp) -> Option<Resolved> {
        let tokens = self.tokens.read().unwrap_or_else(|e| e.into_inner());
        let (loaded, resolved) = tokens.get(hash)?;
        let usable = loaded.elapsed() < TTL && resolved.expires_at.is_none_or(|at| at > now);
        usable.then(|| resolved.clone())
    }

    /// Where invalidations stand; pass it to [`Self::put`] after reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps what a read found, unless the cache was invalidated since `generation`.
    pub fn put(&self, generation: u64, hash: &str, resolved: Resolved) {
        let mut tokens = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if tokens.len() >= MAX_TOKENS {
            tokens.clear();
        }
        tokens.insert(hash.to_owned(), (Instant::now(), resolved));
    }

    /// The token's `last_used_at` was just written: remember it, so the next uses do not
    /// write it again.
    pub fn touched(&self, hash: &str, at: Timestamp) {
        let mut tokens = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        if let Some((_, resolved)) = tokens.get_mut(hash) {
            resolved.last_used_at = Some(at);
        }
    }

    /// A token, role or membership changed: forget everything here and on other nodes.
    pub async fn changed(&self, db: &crate::db::Db) {
        self.invalidate();
        crate::ops::listener::announce_config_change(db, "api-tokens").await;
    }

    /// Forgets everything on this node.
    pub fn invalidate(&self) {
        let mut tokens = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        tokens.clear();
    }
}
