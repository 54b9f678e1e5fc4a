//! `backup prune`: apply the retention policy to the catalog, and clean up
//! the debris of killed runs (multipart uploads never completed).
//!
//! A backup is removed data object first, manifest second: a prune that
//! dies in between leaves a manifest whose object is gone, which the next
//! prune selects again and finishes (deleting a missing key succeeds).
//!
//! An unfinished upload is aborted only when both hold:
//! - it is older than the given age (a day by default), and
//! - its run is not alive: no running marker rewritten within
//!   `running::EXPIRY` sits beside it (`running.rs`). A backup of a large
//!   database runs for more than a day and rewrites its marker every minute
//!   while it does; its upload is never aborted under it. A run that was
//!   killed stops rewriting, and its upload goes after the age like any
//!   debris; so does the upload of a k12ctl older than the markers.
//!
//! Markers of runs that are no longer alive are removed once older than the
//! same age.

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::catalog::Catalog;
use super::manifest::BACKUPS_DIR;
use super::retention::{self, Decision, Policy};
use super::running::{self, RUNNING_SUFFIX};
use crate::exit;
use crate::storage::ObjectStore;

#[derive(Debug, Serialize)]
pub struct PruneOutcome {
    pub dry_run: bool,
    pub decisions: Vec<Decision>,
    pub aborted_uploads: Vec<AbortedUpload>,
}

#[derive(Debug, Serialize)]
pub struct AbortedUpload {
    pub key: String,
    pub initiated: Option<DateTime<Utc>>,
}

pub async fn run(
    store: &dyn ObjectStore,
    policy: &Policy,
    dry_run: bool,
    now: DateTime<Utc>,
    stale_upload_age: chrono::Duration,
) -> Result<PruneOutcome> {
    let catalog = Catalog::new(store);
    let manifests = catalog.list().await?;
    let decisions =
        retention::select(&manifests, policy, now).map_err(|e| exit::usage(e.to_string()))?;
    if !dry_run {
        // Oldest first, so an interrupted prune has removed the least valuable.
        for d in decisions.iter().rev().filter(|d| !d.keep) {
            let Some(m) = manifests.iter().find(|m| m.id == d.id) else {
                continue;
            };
            store.delete(&m.object_key).await?;
            store.delete(&m.manifest_key()).await?;
            tracing::info!("removed {} ({})", d.id, d.reasons.join(", "));
        }
    }
    let mut aborted_uploads = Vec::new();
    for upload in store.list_pending_uploads().await? {
        let stale = upload
            .initiated
            .is_some_and(|t| now - t >= stale_upload_age);
        if !stale {
            continue;
        }
        // Checked per upload, just before acting: a run may have started
        // since the listing, and its marker is its only word.
        if running::is_alive(store, &upload.key, now).await? {
            tracing::info!(
                "left the unfinished upload of {} alone: its backup is still running",
                upload.key
            );
            continue;
        }
        if !dry_run {
            store.abort_pending_upload(&upload).await?;
            tracing::info!("aborted the unfinished upload of {}", upload.key);
        }
        aborted_uploads.push(AbortedUpload {
            key: upload.key,
            initiated: upload.initiated,
        });
    }
    if !dry_run {
        remove_dead_markers(store, now, stale_upload_age).await?;
    }
    Ok(PruneOutcome {
        dry_run,
        decisions,
        aborted_uploads,
    })
}

/// Remove the markers of runs that died (killed, machine lost) once older
/// than `age`; a live run's marker is rewritten every minute and never is.
async fn remove_dead_markers(
    store: &dyn ObjectStore,
    now: DateTime<Utc>,
    age: chrono::Duration,
) -> Result<()> {
    for object in store.list(BACKUPS_DIR).await? {
        let Some(stem) = object.key.strip_suffix(RUNNING_SUFFIX) else {
            continue;
        };
        let old = object.last_modified.is_some_and(|t| now - t >= age);
        let data_key = format!("{stem}{}", super::codec::Codec::Gzip.data_suffix());
        if old && !running::is_alive(store, &data_key, now).await? {
            store.delete(&object.key).await?;
            tracing::info!("removed {}, left by a run that died", object.key);
        }
    }
    Ok(())
}
