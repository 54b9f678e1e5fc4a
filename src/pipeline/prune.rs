//! `backup prune`: apply the retention policy to the catalog, and clean up
//! the debris of killed runs (multipart uploads never completed).
//!
//! A backup is removed data object first, manifest second: a prune that
//! dies in between leaves a manifest whose object is gone, which the next
//! prune selects again and finishes (deleting a missing key succeeds).
//! Unfinished uploads younger than the given age (a day by default) may
//! belong to a backup that is running right now, and are left alone.

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::catalog::Catalog;
use super::retention::{self, Decision, Policy};
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
        if !dry_run {
            store.abort_pending_upload(&upload).await?;
            tracing::info!("aborted the unfinished upload of {}", upload.key);
        }
        aborted_uploads.push(AbortedUpload {
            key: upload.key,
            initiated: upload.initiated,
        });
    }
    Ok(PruneOutcome {
        dry_run,
        decisions,
        aborted_uploads,
    })
}
