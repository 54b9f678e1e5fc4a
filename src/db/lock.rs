//! One backup per database at a time: a session-level advisory lock, held by
//! the connection that also exports the snapshot, so it is released by the
//! server whenever that connection ends (crash and SIGKILL included).

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tokio_postgres::Client;

/// First key of the two-key advisory lock: "k12" in ASCII. The second is
/// `hashtext(current_database())`.
const LOCK_CLASS: i32 = 0x006b_3132;

/// Who holds the lock, for the "locked" message.
#[derive(Debug, Clone)]
pub struct LockHolder {
    pub pid: i32,
    pub application_name: String,
    pub client_addr: Option<String>,
    pub backend_start: Option<DateTime<Utc>>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let app = if self.application_name.is_empty() {
            "an unnamed client"
        } else {
            &self.application_name
        };
        write!(f, "{app} (server pid {}", self.pid)?;
        if let Some(addr) = &self.client_addr {
            write!(f, ", from {addr}")?;
        }
        if let Some(t) = self.backend_start {
            write!(f, ", connected {}", t.format("%Y-%m-%d %H:%M:%S UTC"))?;
        }
        write!(f, ")")
    }
}

/// Try to take the backup lock on this session. `Ok(None)` means taken;
/// `Ok(Some(holder))` means another session has it.
pub async fn try_backup_lock(client: &Client) -> Result<Option<LockHolder>> {
    let got: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, hashtext(current_database()))",
            &[&LOCK_CLASS],
        )
        .await
        .context("cannot take the backup lock")?
        .get(0);
    if got {
        return Ok(None);
    }
    let row = client
        .query_opt(
            "SELECT a.pid, coalesce(a.application_name, ''), host(a.client_addr), a.backend_start \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND l.classid = $1::int4::oid \
               AND l.objid = hashtext(current_database())::oid \
             LIMIT 1",
            &[&LOCK_CLASS],
        )
        .await
        .context("cannot find the holder of the backup lock")?;
    Ok(Some(match row {
        Some(r) => LockHolder {
            pid: r.get(0),
            application_name: r.get(1),
            client_addr: r.get(2),
            backend_start: r.get(3),
        },
        // Released between the two queries: report it without details.
        None => LockHolder {
            pid: 0,
            application_name: "another backup run that just finished".to_owned(),
            client_addr: None,
            backend_start: None,
        },
    }))
}
