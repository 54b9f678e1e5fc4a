//! The catalog: the manifests in the bucket. It survives the loss of the
//! database it describes, which is the point.

use anyhow::{Context, Result};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use futures_util::{stream, StreamExt};

use super::codec::Codec;
use super::manifest::{
    keys_for_id, new_run_tag, parse_id_time, run_id, BackupManifest, BackupStatus, BACKUPS_DIR,
    MANIFEST_SUFFIX, NEWEST_FORMAT_VERSION,
};
use super::running::{marker_key_for, RunningMarker};
use crate::storage::{ObjectStore, StorageError};

/// Manifests fetched at once while listing.
const FETCH_CONCURRENCY: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("backup {id} not found in {store} (try: k12ctl backup list)")]
    NotFound { id: String, store: String },
    #[error("no completed or verified backup in {store} (try: k12ctl backup list)")]
    NoneUsable { store: String },
    #[error("{id:?} is not a backup id (expected k12_<type>_YYYYMMDD_HHMMSS, or latest)")]
    BadId { id: String },
}

pub struct Catalog<'a> {
    store: &'a dyn ObjectStore,
}

impl<'a> Catalog<'a> {
    pub fn new(store: &'a dyn ObjectStore) -> Self {
        Self { store }
    }

    /// Every readable manifest, newest first. Unreadable manifests are
    /// skipped with a warning rather than hiding every other backup.
    pub async fn list(&self) -> Result<Vec<BackupManifest>> {
        self.list_until(&|_| false).await
    }

    /// Manifests newest first (by the time in their id), read a batch at a
    /// time until `enough` is satisfied with what was read: a monitor run every
    /// minute needs the recent past, not years of history. Manifests whose
    /// name carries no time are read last.
    pub async fn list_until(
        &self,
        enough: &(dyn Fn(&[BackupManifest]) -> bool + Sync),
    ) -> Result<Vec<BackupManifest>> {
        let mut keys: Vec<(Option<DateTime<Utc>>, String)> = self
            .store
            .list(BACKUPS_DIR)
            .await?
            .into_iter()
            .filter_map(|o| {
                let id = o.key.rsplit('/').next()?.strip_suffix(MANIFEST_SUFFIX)?;
                Some((parse_id_time(id), o.key))
            })
            .collect();
        // Descending: the newest first, `None` (no time) last.
        keys.sort_by(|a, b| b.cmp(a));
        let mut manifests = Vec::new();
        for batch in keys.chunks(FETCH_CONCURRENCY) {
            let keys: Vec<String> = batch.iter().map(|(_, key)| key.clone()).collect();
            let fetched: Vec<(String, Result<BackupManifest>)> = stream::iter(keys)
                .map(|key| async move {
                    let result = self.read(&key).await;
                    (key, result)
                })
                .buffer_unordered(FETCH_CONCURRENCY)
                .collect()
                .await;
            for (key, result) in fetched {
                match result {
                    Ok(m) => manifests.push(m),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => tracing::warn!("skipping manifest {key}: {e:#}"),
                }
            }
            if enough(&manifests) {
                break;
            }
        }
        manifests.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        Ok(manifests)
    }

    async fn read(&self, key: &str) -> Result<BackupManifest> {
        let body = self.store.get(key).await?;
        let mut manifest: BackupManifest = serde_json::from_slice(&body)
            .with_context(|| format!("{} is not a valid manifest", self.store.location(key)))?;
        if manifest.format_version > NEWEST_FORMAT_VERSION {
            anyhow::bail!(
                "{} has manifest format {} but this k12ctl reads up to {}; upgrade k12ctl",
                self.store.location(key),
                manifest.format_version,
                NEWEST_FORMAT_VERSION
            );
        }
        manifest.upgrade_row_count_keys();
        Ok(manifest)
    }

    /// The manifest stored at `key` now, `None` when it is gone.
    pub async fn reread(&self, key: &str) -> Result<Option<BackupManifest>> {
        match self.read(key).await {
            Ok(m) => Ok(Some(m)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One manifest by id, or `latest`: the newest completed or verified backup.
    pub async fn load(&self, id: &str) -> Result<BackupManifest> {
        if id == "latest" {
            return self
                .list()
                .await?
                .into_iter()
                .find(|m| m.status.is_good())
                .ok_or_else(|| {
                    CatalogError::NoneUsable {
                        store: self.store.describe(),
                    }
                    .into()
                });
        }
        // The manifest's key does not depend on the codec.
        let (_, manifest_key) = keys_for_id(id, Codec::Gzip)
            .ok_or_else(|| CatalogError::BadId { id: id.to_owned() })?;
        self.read(&manifest_key).await.map_err(|e| {
            if is_not_found(&e) {
                CatalogError::NotFound {
                    id: id.to_owned(),
                    store: self.store.describe(),
                }
                .into()
            } else {
                e
            }
        })
    }

    /// Write (or replace) a manifest in one request, in the oldest format
    /// that can hold it (`BackupManifest::format_needed`).
    pub async fn save(&self, manifest: &BackupManifest) -> Result<()> {
        let mut stored = manifest.clone();
        stored.format_version = manifest.format_needed();
        let body = serde_json::to_vec_pretty(&stored).context("cannot encode the manifest")?;
        self.store
            .put(&manifest.manifest_key(), Bytes::from(body))
            .await
            .with_context(|| format!("cannot write the manifest of {}", manifest.id))
    }

    /// Whether `manifest` is stored as given (same status and checksum):
    /// read back after a write whose answer was lost. `Ok(false)` when it
    /// is missing or differs.
    pub async fn is_saved(&self, manifest: &BackupManifest) -> Result<bool> {
        match self.read(&manifest.manifest_key()).await {
            Ok(stored) => Ok(stored.id == manifest.id
                && stored.status == manifest.status
                && stored.sha256 == manifest.sha256),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Claim a new id for a run started at `started` by `marker.runner`,
    /// its data stored as `codec` names it: its keys, with its running
    /// marker created (`running.rs`).
    pub async fn claim(
        &self,
        backup_type: &str,
        started: DateTime<Utc>,
        codec: Codec,
        marker: &RunningMarker,
    ) -> Result<Claim> {
        self.claim_with(backup_type, started, codec, marker, &mut new_run_tag)
            .await
    }

    /// [`Catalog::claim`] with the tags drawn from `next_tag`.
    ///
    /// Unique by construction first: the id ends with a random tag. Then
    /// claimed atomically: the running marker is created only if its key is
    /// free (`ObjectStore::put_new`: O_EXCL-like on `file://`, `If-None-Match`
    /// on S3). A tag whose marker, manifest or data object of any codec
    /// exists (a store that ignores conditional writes, a backup of an older
    /// version) is skipped for the next one: both suffixes share one
    /// manifest key.
    pub(crate) async fn claim_with(
        &self,
        backup_type: &str,
        started: DateTime<Utc>,
        codec: Codec,
        marker: &RunningMarker,
        next_tag: &mut (dyn FnMut() -> String + Send),
    ) -> Result<Claim> {
        'ids: for _ in 0..CLAIM_ATTEMPTS {
            let id = run_id(backup_type, started, &next_tag());
            let (data_key, manifest_key) = keys_for_id(&id, codec)
                .context("internal error: generated an invalid backup id")?;
            let marker_key = marker_key_for(&data_key);
            if self.store.head(&manifest_key).await?.is_some() {
                continue;
            }
            for other in Codec::ALL {
                let (key, _) = keys_for_id(&id, other)
                    .context("internal error: generated an invalid backup id")?;
                if self.store.head(&key).await?.is_some() {
                    continue 'ids;
                }
            }
            let mut ours = marker.clone();
            ours.id = id.clone();
            if self.store.put_new(&marker_key, ours.to_bytes()?).await? {
                return Ok(Claim {
                    id,
                    data_key,
                    marker_key,
                    marker: ours,
                });
            }
        }
        anyhow::bail!(
            "could not claim a backup id in {} after {CLAIM_ATTEMPTS} tries: every id drawn was \
             taken, which random ids make all but impossible; check the storage",
            self.store.describe()
        )
    }
}

/// Random tags drawn before a claim gives up.
const CLAIM_ATTEMPTS: usize = 20;

/// The id of a run and the keys it owns.
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: String,
    pub data_key: String,
    pub marker_key: String,
    pub marker: RunningMarker,
}

/// The window of the platform's count of failed runs.
pub const FAILED_WINDOW_DAYS: i64 = 30;

/// The catalog seen as the platform's `BackupService.status_summary` and
/// `GET /api/v1/admin/backups/status` see `backup_records`, with a
/// manifest's start time standing for the record's `created_at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatalogSummary<'a> {
    /// Every manifest (`BackupRecord.count`).
    pub total: usize,
    /// The newest `completed` or `verified` backup (`BackupRecord.successful`).
    pub latest_backup: Option<&'a BackupManifest>,
    /// The newest `verified` backup, newest by start, not by verification
    /// (`BackupRecord.latest_verified`).
    pub latest_verified: Option<&'a BackupManifest>,
    /// `failed` runs started in the last [`FAILED_WINDOW_DAYS`] days;
    /// `verification_failed` backups are not counted, as in the platform.
    pub failed_recently: usize,
}

/// Summarize manifests in any order, as of `now`.
pub fn summarize(manifests: &[BackupManifest], now: DateTime<Utc>) -> CatalogSummary<'_> {
    let newest = |keep: &dyn Fn(&BackupManifest) -> bool| {
        manifests
            .iter()
            .filter(|m| keep(m))
            .max_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)))
    };
    let since = now - Duration::days(FAILED_WINDOW_DAYS);
    CatalogSummary {
        total: manifests.len(),
        latest_backup: newest(&|m| m.status.is_good()),
        latest_verified: newest(&|m| m.status == BackupStatus::Verified),
        failed_recently: manifests
            .iter()
            .filter(|m| m.status == BackupStatus::Failed && m.started_at > since)
            .count(),
    }
}

pub fn is_not_found(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<StorageError>(),
            Some(StorageError::NotFound(_))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(
        id: &str,
        status: BackupStatus,
        hours_ago: i64,
        now: DateTime<Utc>,
    ) -> BackupManifest {
        let mut m = BackupManifest::for_test(now - Duration::hours(hours_ago), status);
        m.id = id.into();
        m
    }

    #[test]
    fn the_summary_follows_the_platform_scopes() {
        let now = Utc::now();
        let all = [
            manifest("failed-recent", BackupStatus::Failed, 1, now),
            manifest("bad", BackupStatus::VerificationFailed, 2, now),
            manifest("completed", BackupStatus::Completed, 30, now),
            manifest("verified", BackupStatus::Verified, 50, now),
            manifest("failed-old", BackupStatus::Failed, 24 * 31, now),
        ];
        let s = summarize(&all, now);
        assert_eq!(s.total, 5);
        assert_eq!(s.latest_backup.map(|m| m.id.as_str()), Some("completed"));
        assert_eq!(s.latest_verified.map(|m| m.id.as_str()), Some("verified"));
        assert_eq!(
            s.failed_recently, 1,
            "verification_failed and old runs are not counted"
        );
    }

    #[tokio::test]
    async fn a_new_id_never_shares_a_manifest_key_with_an_object_of_either_codec() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::storage::LocalStore::new(dir.path().to_owned());
        let catalog = Catalog::new(&store);
        let started = Utc::now();
        // An orphaned zstd object with tag aaaaaaaa: a gzip run skips it too.
        let (zst, _) = keys_for_id(&run_id("full", started, "aaaaaaaa"), Codec::Zstd).unwrap();
        store
            .put(&zst, Bytes::from_static(b"orphan"))
            .await
            .unwrap();
        let claim = catalog
            .claim_with("full", started, Codec::Gzip, &marker(started), &mut tags())
            .await
            .unwrap();
        assert!(
            claim.data_key.ends_with("_bbbbbbbb.dump.gz"),
            "{}",
            claim.data_key
        );
        let zstd = catalog
            .claim_with("full", started, Codec::Zstd, &marker(started), &mut tags())
            .await
            .unwrap();
        assert!(
            zstd.data_key.ends_with("_cccccccc.dump.zst"),
            "{}",
            zstd.data_key
        );
    }

    fn marker(started: DateTime<Utc>) -> RunningMarker {
        RunningMarker {
            id: String::new(),
            database: "k12".into(),
            runner: "k12ctl backup run (pid 1 on test)".into(),
            started_at: started,
            heartbeat_at: started,
        }
    }

    /// Tags "aaaaaaaa", "bbbbbbbb", ... in turn.
    fn tags() -> impl FnMut() -> String + Send {
        let mut letters = b'a'..=b'z';
        move || (letters.next().unwrap() as char).to_string().repeat(8)
    }

    #[tokio::test]
    async fn a_claim_skips_an_id_another_run_holds() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::storage::LocalStore::new(dir.path().to_path_buf());
        let catalog = Catalog::new(&store);
        let started = Utc::now();
        let first = catalog
            .claim_with("full", started, Codec::Gzip, &marker(started), &mut tags())
            .await
            .unwrap();
        assert!(first.id.ends_with("_aaaaaaaa"), "{}", first.id);
        // A second run drawing the same tags in the same second: the first
        // id is taken (its marker exists), so it gets the next one.
        let second = catalog
            .claim_with("full", started, Codec::Gzip, &marker(started), &mut tags())
            .await
            .unwrap();
        assert!(second.id.ends_with("_bbbbbbbb"), "{}", second.id);
        assert_ne!(first.data_key, second.data_key);
        let stored: RunningMarker =
            serde_json::from_slice(&store.get(&first.marker_key).await.unwrap()).unwrap();
        assert_eq!(stored.id, first.id, "the first run's marker is untouched");
    }

    #[tokio::test]
    async fn a_claim_never_reuses_the_keys_of_an_existing_backup() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::storage::LocalStore::new(dir.path().to_path_buf());
        let catalog = Catalog::new(&store);
        let started = Utc::now();
        // A finished backup with tag aaaaaaaa (its marker long removed).
        let taken = run_id("full", started, "aaaaaaaa");
        let (_, manifest_key) = keys_for_id(&taken, Codec::Gzip).unwrap();
        store
            .put(&manifest_key, Bytes::from_static(b"{}"))
            .await
            .unwrap();
        let claim = catalog
            .claim_with("full", started, Codec::Gzip, &marker(started), &mut tags())
            .await
            .unwrap();
        assert!(claim.id.ends_with("_bbbbbbbb"), "{}", claim.id);
        assert_eq!(
            store.get(&manifest_key).await.unwrap(),
            Bytes::from_static(b"{}")
        );
    }

    #[test]
    fn an_empty_catalog_has_nothing_to_show() {
        let s = summarize(&[], Utc::now());
        assert_eq!((s.total, s.failed_recently), (0, 0));
        assert!(s.latest_backup.is_none() && s.latest_verified.is_none());
    }
}
