//! Writes that several features make inside their own transactions: appending to the event
//! log, creating workspaces, principals and memberships. Implemented once, expanded for each
//! backend's transaction type by `impl_tx_ext!`.

use signalbox_core::{Email, Role, Timestamp, new_id};
use sqlx::{Postgres, Sqlite, Transaction};
use uuid::Uuid;

use crate::auth::model::PrincipalKind;
use crate::events::NewEvent;
use crate::webhooks::outbox;

/// A principal about to be created.
pub struct NewPrincipal<'a> {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub email: Option<&'a Email>,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
}

/// Keys for [`TxExt::serialize`].
#[derive(Debug, Clone, Copy)]
#[repr(i64)]
pub enum SerialKey {
    /// First-start bootstrap: two nodes starting on one empty database create one owner.
    Bootstrap = 0x7362_626f_6f74,
    /// Count limits: counting and inserting must not interleave with another node's, or
    /// concurrent creates each see room for themselves (`max_signal_endpoints`,
    /// `max_tokens_per_endpoint`, `max_action_sets_per_project`).
    CountLimits = 0x7362_6c69_6d74,
}

pub trait TxExt {
    /// Makes event `seq` order equal to commit order for this transaction; call before
    /// inserting events directly (`append_event` does it itself).
    fn order_events(&mut self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Tells other nodes, at commit, that events up to `seq` exist (Postgres NOTIFY on
    /// [`EVENTS_CHANNEL`]). A no-op on SQLite, which has one node.
    fn notify_events(&mut self, seq: i64) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Holds an exclusive lock on `key` until this transaction ends. A no-op on SQLite, whose
    /// single writer already runs write transactions one at a time.
    fn serialize(&mut self, key: SerialKey) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Appends an event in this transaction, with one delivery per enabled webhook of the
    /// workspace that subscribes to its type (the outbox), and returns its `seq`.
    fn append_event(&mut self, event: &NewEvent) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;

    /// Appends an event delivered to one webhook only, whatever its subscriptions
    /// (`webhook.test`); returns the delivery's id.
    fn append_event_for(
        &mut self,
        event: &NewEvent,
        webhook_id: Uuid,
    ) -> impl Future<Output = Result<Uuid, sqlx::Error>> + Send;

    fn insert_workspace(
        &mut self,
        id: Uuid,
        name: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The built-in signal types (`typed::model::BUILTIN_TYPES`) a workspace lacks: all of
    /// them for a new workspace (`insert_workspace` calls it).
    fn insert_builtin_signal_types(
        &mut self,
        workspace_id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The `default` project and the `development` and `production` environments a new
    /// workspace starts with (`insert_workspace` calls it).
    fn insert_flag_defaults(
        &mut self,
        workspace_id: Uuid,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    fn insert_principal(
        &mut self,
        principal: &NewPrincipal<'_>,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    fn insert_membership(
        &mut self,
        workspace_id: Uuid,
        principal_id: Uuid,
        role: Role,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

const INSERT_EVENT: &str = "INSERT INTO events (id, workspace_id, type, actor_id, data, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq";

/// The Postgres NOTIFY channel that announces newly committed events to other nodes.
pub const EVENTS_CHANNEL: &str = "signalbox_events";

async fn notify_sqlite(_: &mut Transaction<'_, Sqlite>, _: i64) -> Result<(), sqlx::Error> {
    Ok(())
}

async fn notify_postgres(tx: &mut Transaction<'_, Postgres>, seq: i64) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(EVENTS_CHANNEL).bind(seq.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// The advisory-lock key that serialises event appends on Postgres ("sbxevent").
const EVENT_LOCK_KEY: i64 = 0x7362_7865_7665_6e74;

/// Event order on each backend. SQLite has one writer, so AUTOINCREMENT order is commit
/// order. On Postgres an identity column hands out numbers in call order, not commit order —
/// a reader could see seq 8 committed before seq 7 — so appends hold a transaction-scoped
/// advisory lock from the insert to the commit, which makes the two orders the same and lets
/// `seq` be a resumable cursor.
async fn order_events_sqlite(_: &mut Transaction<'_, Sqlite>) -> Result<(), sqlx::Error> {
    Ok(())
}

async fn order_events_postgres(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(EVENT_LOCK_KEY).execute(&mut **tx).await?;
    Ok(())
}

async fn serialize_sqlite(_: &mut Transaction<'_, Sqlite>, _: SerialKey) -> Result<(), sqlx::Error> {
    Ok(())
}

async fn serialize_postgres(tx: &mut Transaction<'_, Postgres>, key: SerialKey) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(key as i64).execute(&mut **tx).await?;
    Ok(())
}

macro_rules! insert_event {
    ($tx:expr, $event:expr) => {{
        let seq: i64 = sqlx::query_scalar(INSERT_EVENT)
            .bind($event.id.to_string())
            .bind($event.workspace_id.to_string())
            .bind($event.event_type)
            .bind($event.actor_id.map(|id| id.to_string()))
            .bind($event.data.to_string())
            .bind($event.created_at.to_string())
            .fetch_one(&mut **$tx)
            .await?;
        seq
    }};
}

macro_rules! impl_tx_ext {
    ($database:ty, $backend:expr, $order_events:ident, $serialize:ident, $notify:ident) => {
        impl TxExt for Transaction<'_, $database> {
            async fn order_events(&mut self) -> Result<(), sqlx::Error> {
                $order_events(self).await
            }

            async fn notify_events(&mut self, seq: i64) -> Result<(), sqlx::Error> {
                $notify(self, seq).await
            }

            async fn serialize(&mut self, key: SerialKey) -> Result<(), sqlx::Error> {
                $serialize(self, key).await
            }

            async fn append_event(&mut self, event: &NewEvent) -> Result<i64, sqlx::Error> {
                $order_events(self).await?;
                let seq = insert_event!(self, event);
                let workspace_id = event.workspace_id.to_string();
                let rows = sqlx::query_as(outbox::SUBSCRIBERS).bind(&workspace_id).fetch_all(&mut **self).await?;
                let subscribers = outbox::subscribers(rows);
                let (event_id, at) = (event.id.to_string(), event.created_at.to_string());
                let deliveries: Vec<outbox::NewDelivery<'_>> = subscribers
                    .iter()
                    .filter(|s| s.wants(event.event_type))
                    .map(|s| outbox::NewDelivery {
                        id: new_id().to_string(),
                        webhook_id: &s.id,
                        workspace_id: &workspace_id,
                        event_id: &event_id,
                        event_type: event.event_type,
                        at: &at,
                    })
                    .collect();
                if !deliveries.is_empty() {
                    outbox::insert_deliveries($backend, &deliveries).query().execute(&mut **self).await?;
                }
                Ok(seq)
            }

            async fn append_event_for(&mut self, event: &NewEvent, webhook_id: Uuid) -> Result<Uuid, sqlx::Error> {
                $order_events(self).await?;
                insert_event!(self, event);
                let id = new_id();
                let (workspace_id, event_id, at) =
                    (event.workspace_id.to_string(), event.id.to_string(), event.created_at.to_string());
                let webhook_id = webhook_id.to_string();
                let delivery = [outbox::NewDelivery {
                    id: id.to_string(),
                    webhook_id: &webhook_id,
                    workspace_id: &workspace_id,
                    event_id: &event_id,
                    event_type: event.event_type,
                    at: &at,
                }];
                outbox::insert_deliveries($backend, &delivery).query().execute(&mut **self).await?;
                Ok(id)
            }

            async fn insert_workspace(&mut self, id: Uuid, name: &str, now: Timestamp) -> Result<(), sqlx::Error> {
                sqlx::query("INSERT INTO workspaces (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)")
                    .bind(id.to_string())
                    .bind(name)
                    .bind(now.to_string())
                    .execute(&mut **self)
                    .await?;
                self.insert_flag_defaults(id, now).await?;
                self.insert_builtin_signal_types(id, now).await
            }

            async fn insert_builtin_signal_types(&mut self, workspace_id: Uuid, now: Timestamp) -> Result<(), sqlx::Error> {
                for (name, slug, description) in crate::typed::model::BUILTIN_TYPES {
                    sqlx::query(
                        "INSERT INTO signal_types (id, workspace_id, slug, name, source_description, builtin, sub_rules, \
                         autoqualify, enabled, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, '[]', $7, $6, $8, $8) ON CONFLICT (workspace_id, slug) DO NOTHING",
                    )
                    .bind(new_id().to_string())
                    .bind(workspace_id.to_string())
                    .bind(*slug)
                    .bind(*name)
                    .bind(*description)
                    .bind(true)
                    .bind(false)
                    .bind(now.to_string())
                    .execute(&mut **self)
                    .await?;
                }
                Ok(())
            }

            async fn insert_flag_defaults(&mut self, workspace_id: Uuid, now: Timestamp) -> Result<(), sqlx::Error> {
                let (workspace, now) = (workspace_id.to_string(), now.to_string());
                sqlx::query(
                    "INSERT INTO projects (id, workspace_id, key, name, description, created_at, updated_at) \
                     VALUES ($1, $2, 'default', 'Default', NULL, $3, $3)",
                )
                .bind(new_id().to_string())
                .bind(&workspace)
                .bind(&now)
                .execute(&mut **self)
                .await?;
                for (key, name, sort_order) in [("development", "Development", 0_i64), ("production", "Production", 1)] {
                    sqlx::query(
                        "INSERT INTO environments (id, workspace_id, key, name, type, sort_order, requires_approval, \
                         approvals_required, created_at, updated_at) VALUES ($1, $2, $3, $4, $3, $5, FALSE, 1, $6, $6)",
                    )
                    .bind(new_id().to_string())
                    .bind(&workspace)
                    .bind(key)
                    .bind(name)
                    .bind(sort_order)
                    .bind(&now)
                    .execute(&mut **self)
                    .await?;
                }
                Ok(())
            }

            async fn insert_principal(&mut self, p: &NewPrincipal<'_>, now: Timestamp) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO principals (id, kind, email, name, password_hash, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(p.id.to_string())
                .bind(p.kind.as_str())
                .bind(p.email.map(|e| e.as_str().to_owned()))
                .bind(p.name)
                .bind(p.password_hash)
                .bind(now.to_string())
                .execute(&mut **self)
                .await?;
                Ok(())
            }

            async fn insert_membership(
                &mut self,
                workspace_id: Uuid,
                principal_id: Uuid,
                role: Role,
                now: Timestamp,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO memberships (workspace_id, principal_id, role, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(workspace_id.to_string())
                .bind(principal_id.to_string())
                .bind(role.as_str())
                .bind(now.to_string())
                .execute(&mut **self)
                .await?;
                Ok(())
            }
        }
    };
}

impl_tx_ext!(Sqlite, super::Backend::Sqlite, order_events_sqlite, serialize_sqlite, notify_sqlite);
impl_tx_ext!(Postgres, super::Backend::Postgres, order_events_postgres, serialize_postgres, notify_postgres);
