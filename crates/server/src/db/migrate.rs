//! Embedded migrations, one folder per backend, and the check that refuses a database whose
//! schema is newer than this binary.

use anyhow::bail;
use sqlx::migrate::Migrator;

use super::Db;

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

fn migrator(db: &Db) -> &'static Migrator {
    match db {
        Db::Sqlite { .. } => &SQLITE,
        Db::Postgres(_) => &POSTGRES,
    }
}

/// Where the database's schema stands against this binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The newest migration applied to the database (0 when none).
    pub applied: i64,
    /// The newest migration this binary carries.
    pub known: i64,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.applied == self.known
    }
}

pub async fn schema_status(db: &Db) -> Result<SchemaStatus, sqlx::Error> {
    let known = migrator(db).iter().map(|m| m.version).max().unwrap_or(0);
    let sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
    let applied: Result<i64, sqlx::Error> = crate::on_read!(db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await);
    let applied = match applied {
        Ok(version) => version,
        Err(sqlx::Error::Database(e)) if is_missing_table(e.as_ref()) => 0, // a fresh database
        Err(other) => return Err(other),
    };
    Ok(SchemaStatus { applied, known })
}

/// "No such table" on SQLite, `undefined_table` (42P01) on Postgres.
fn is_missing_table(error: &dyn sqlx::error::DatabaseError) -> bool {
    error.code().as_deref() == Some("42P01") || error.message().contains("no such table")
}

/// Applies pending migrations; refuses a schema newer than the binary.
pub async fn migrate(db: &Db) -> anyhow::Result<SchemaStatus> {
    let before = schema_status(db).await?;
    if before.applied > before.known {
        bail!(
            "the database schema is at version {} but this signalbox knows only up to {}; \
             run a newer signalbox",
            before.applied,
            before.known
        );
    }
    crate::on_write!(db, |pool| migrator(db).run(pool).await)?;
    Ok(schema_status(db).await?)
}
