//! Scratch Postgres databases for tests that run the binary against Postgres.

use sqlx::Connection;

/// A Postgres database of one test's own, `sbx_crash_<pid>_<label>`, dropped (`WITH (FORCE)`) on drop.
/// Creating one first drops those left by test processes that no longer run.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ScratchDatabase {
    const PREFIX: &str = "sbx_crash_";

    pub async fn create(admin_url: &str, label: &str) -> Self {
        let name = format!("{}{}_{label}", Self::PREFIX, std::process::id());
        let mut admin = sqlx::PgConnection::connect(admin_url).await.expect("connecting to SIGNALBOX_TEST_POSTGRES");
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'sbx\\_crash\\_%'")
                .fetch_all(&mut admin)
                .await
                .expect("listing databases");
        for leftover in names {
            let owner_alive = leftover
                .strip_prefix(Self::PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
            if !owner_alive || leftover == name {
                drop_database(&mut admin, &leftover).await;
            }
        }
        let sql = sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""));
        sqlx::query(sql).execute(&mut admin).await.expect("creating the test database");
        let _ = admin.close().await;
        Self { admin_url: admin_url.to_owned(), url: url_for(admin_url, &name), name }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime (which cannot block on another future), or
        // while unwinding: a thread with a runtime of its own does the async work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    drop_database(&mut admin, &name).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

async fn drop_database(admin: &mut sqlx::PgConnection, name: &str) {
    let sql = sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    let _ = sqlx::query(sql).execute(&mut *admin).await;
}

/// `postgres://…/test?…` with the database name replaced.
fn url_for(admin_url: &str, database: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let slash = base.rfind('/').expect("a database URL with a path");
    let mut url = format!("{}/{database}", &base[..slash]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}
