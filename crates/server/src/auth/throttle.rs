//! Login throttling, counted in the database so it holds across restarts and nodes: after
//! `login_max_failures` failures for one email, or from one IP, within the window, further
//! attempts get 429 until the oldest failure leaves the window.

use std::net::IpAddr;
use std::time::Duration;

use signalbox_core::{Email, Timestamp};

use crate::db::{Db, row};
use crate::{Error, on_read, on_write};

pub struct LoginThrottle<'a> {
    pub db: &'a Db,
    pub max_failures: u32,
    pub window: Duration,
}

fn subjects(email: &Email, ip: IpAddr) -> [String; 2] {
    [format!("email:{email}"), format!("ip:{ip}")]
}

impl LoginThrottle<'_> {
    /// Err(429) when either the email or the IP has used up its failures.
    pub async fn check(&self, email: &Email, ip: IpAddr, now: Timestamp) -> Result<(), Error> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let since = now.minus(self.window).to_string();
        let sql = "SELECT COUNT(*), MIN(at) FROM ( \
                     SELECT at FROM login_failures WHERE subject = $1 AND at > $2 ORDER BY at DESC LIMIT $3 \
                   ) recent";
        for subject in subjects(email, ip) {
            let (count, oldest): (i64, Option<String>) = on_read!(self.db, |pool| sqlx::query_as(sql)
                .bind(&subject)
                .bind(&since)
                .bind(i64::from(self.max_failures))
                .fetch_one(pool)
                .await)?;
            if count >= i64::from(self.max_failures) {
                let oldest = row::opt_time(oldest.as_deref())?.unwrap_or(now);
                let retry_after = now.until(oldest.plus(self.window));
                return Err(Error::too_many_requests(
                    "too many failed logins; try again later",
                    retry_after.max(Duration::from_secs(1)),
                ));
            }
        }
        Ok(())
    }

    pub async fn record_failure(&self, email: &Email, ip: IpAddr, now: Timestamp) -> Result<(), Error> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let sql = "INSERT INTO login_failures (subject, at) VALUES ($1, $3), ($2, $3)";
        let [by_email, by_ip] = subjects(email, ip);
        on_write!(self.db, |pool| sqlx::query(sql)
            .bind(by_email)
            .bind(by_ip)
            .bind(now.to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A successful login clears the email's count (not the IP's: one good password must not
    /// let an address keep guessing others), and prunes rows that left the window.
    pub async fn record_success(&self, email: &Email, now: Timestamp) -> Result<(), Error> {
        let sql = "DELETE FROM login_failures WHERE subject = $1 OR at <= $2";
        on_write!(self.db, |pool| sqlx::query(sql)
            .bind(format!("email:{email}"))
            .bind(now.minus(self.window).to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
