//! The marker of a backup in progress: `<id>.running.json` beside the data
//! object and manifest it will produce.
//!
//! `backup run` claims its id by creating the marker (a conditional create:
//! `Catalog::claim`), rewrites it every [`HEARTBEAT`] while it streams, and
//! removes it once its manifest is written. `backup prune` reads it before
//! aborting an unfinished upload: an upload whose marker was rewritten
//! within [`EXPIRY`] belongs to a run that is alive, however old the upload
//! (a large database takes more than a day), and is never aborted.
//!
//! The catalog lists manifests only, so the marker never shows as a backup,
//! and older k12ctl versions ignore it.

use anyhow::{Context, Result};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::codec::Codec;
use crate::storage::ObjectStore;

pub const RUNNING_SUFFIX: &str = ".running.json";
/// How often a running backup rewrites its marker.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(60);
/// A marker not rewritten for this long belongs to a dead run (killed, its
/// machine lost): fifteen heartbeats, so that a few failed rewrites during a
/// storage hiccup never make a live run look dead.
pub const EXPIRY: Duration = Duration::minutes(15);

/// What a marker says: who runs, and when it last said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningMarker {
    pub id: String,
    pub database: String,
    /// `k12ctl backup run (pid 123 on db-backup-1)`
    pub runner: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

impl RunningMarker {
    pub fn to_bytes(&self) -> Result<Bytes> {
        Ok(Bytes::from(
            serde_json::to_vec_pretty(self).context("cannot encode the running marker")?,
        ))
    }
}

/// The marker key of a backup's data key.
pub fn marker_key_for(data_key: &str) -> String {
    let stem = Codec::ALL
        .iter()
        .find_map(|c| data_key.strip_suffix(c.data_suffix()))
        .unwrap_or(data_key);
    format!("{stem}{RUNNING_SUFFIX}")
}

/// Whether the run that owns `data_key` is alive as of `now`: its marker
/// exists and was rewritten within [`EXPIRY`]. The newer of the time the
/// run wrote in it and the store's own date of the object counts, so a
/// clock that lags on either side never makes a live run look dead.
pub async fn is_alive(store: &dyn ObjectStore, data_key: &str, now: DateTime<Utc>) -> Result<bool> {
    let key = marker_key_for(data_key);
    let Some(info) = store.head(&key).await? else {
        return Ok(false);
    };
    let written = match store.get(&key).await {
        Ok(body) => serde_json::from_slice::<RunningMarker>(&body)
            .ok()
            .map(|m| m.heartbeat_at),
        // Removed between HEAD and GET: the run has just finished.
        Err(e) if super::catalog::is_not_found(&e) => return Ok(false),
        Err(e) => return Err(e),
    };
    let last = written.into_iter().chain(info.last_modified).max();
    // A marker with no date at all is taken as alive: never abort on doubt.
    Ok(last.is_none_or(|t| now - t < EXPIRY))
}

/// Rewrite the marker every [`HEARTBEAT`] until `stop` fires. A rewrite in
/// progress when `stop` fires is finished first, so no late rewrite can land
/// after the caller removes the marker. A failed rewrite is logged only: the
/// backup itself matters more than its marker.
pub async fn heartbeat(
    store: &dyn ObjectStore,
    key: &str,
    mut marker: RunningMarker,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(HEARTBEAT) => {
                marker.heartbeat_at = Utc::now();
                let written = match marker.to_bytes() {
                    Ok(body) => store.put(key, body).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = written {
                    tracing::warn!("cannot rewrite {}: {e:#}", store.location(key));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LocalStore;

    fn marker(heartbeat_at: DateTime<Utc>) -> RunningMarker {
        RunningMarker {
            id: "k12_full_20261122_020000_3f9a2c1b".into(),
            database: "k12".into(),
            runner: "k12ctl backup run (pid 1 on test)".into(),
            started_at: heartbeat_at,
            heartbeat_at,
        }
    }

    #[test]
    fn the_marker_sits_beside_the_data_object() {
        assert_eq!(
            marker_key_for("backups/2026/11/k12_full_20261122_020000_3f9a2c1b.dump.gz"),
            "backups/2026/11/k12_full_20261122_020000_3f9a2c1b.running.json"
        );
    }

    #[tokio::test]
    async fn a_recent_marker_is_alive_and_a_missing_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_path_buf());
        let data = "backups/2026/11/x.dump.gz";
        let now = Utc::now();
        assert!(!is_alive(&store, data, now).await.unwrap());
        let body = marker(now).to_bytes().unwrap();
        store.put(&marker_key_for(data), body).await.unwrap();
        assert!(is_alive(&store, data, now).await.unwrap());
        // Seen from an hour later, the same marker is a dead run's.
        assert!(!is_alive(&store, data, now + Duration::hours(1))
            .await
            .unwrap());
    }
}
