//! SQL for captures that more than one part reads.

use uuid::Uuid;

use super::ingest::Captured;
use crate::db::Db;
use crate::{Error, on_read};

/// The answer first given for a capture with this dedupe key, if there is one.
pub async fn find_answer(db: &Db, workspace_id: Uuid, dedupe_key: &str) -> Result<Option<Captured>, Error> {
    let stored: Option<String> = on_read!(db, |pool| sqlx::query_scalar(
        "SELECT response FROM signal_captures WHERE workspace_id = $1 AND dedupe_key = $2"
    )
    .bind(workspace_id.to_string())
    .bind(dedupe_key)
    .fetch_optional(pool)
    .await)?;
    stored
        .map(|text| serde_json::from_str(&text).map_err(|e| Error::internal(anyhow::anyhow!("stored answer: {e}"))))
        .transpose()
}
