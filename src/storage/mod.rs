//! Object storage behind one trait: S3 (and S3-compatible stores) and a local
//! directory (`file://`). Keys passed to a store are relative to its prefix.
//!
//! Nothing here knows about backups or manifests; the pipelines decide what to
//! store and in which order.

mod local;
mod s3;

use std::pin::Pin;

use anyhow::Result;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::AsyncRead;

use crate::config::StorageSettings;
use crate::exit;

pub use local::LocalStore;
pub use s3::S3Store;

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// A multipart upload that was started and never completed or aborted
/// (a run killed with SIGKILL, a machine that lost power).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: Option<DateTime<Utc>>,
}

/// Errors a caller branches on.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0} does not exist")]
    NotFound(String),
}

/// A stream of an object's bytes.
pub type ObjectReader = Pin<Box<dyn AsyncRead + Send>>;

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// The store as a URL, without credentials (`s3://bucket/prefix`).
    fn describe(&self) -> String;

    /// The full location of a key, for messages and manifests.
    fn location(&self, key: &str) -> String {
        format!("{}/{}", self.describe().trim_end_matches('/'), key)
    }

    /// Fails with a clear message when the store cannot be reached or read.
    /// Writes nothing.
    async fn check_access(&self) -> Result<()>;

    /// Store a small object in one request; readers see all of it or none.
    async fn put(&self, key: &str, body: Bytes) -> Result<()>;

    /// Read a small object whole. A missing key is `StorageError::NotFound`.
    async fn get(&self, key: &str) -> Result<Bytes>;

    /// Stream an object; also returns its size.
    async fn open(&self, key: &str) -> Result<(ObjectReader, u64)>;

    /// Size and date of a key, `None` when it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>>;

    /// Every object under `prefix` (relative to the store), all pages.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>>;

    /// Delete a key; deleting a missing key succeeds.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Start a multipart upload of `key`. Nothing is visible at `key` until
    /// `complete` succeeds.
    async fn create_upload(&self, key: &str) -> Result<Box<dyn MultipartUpload>>;

    /// Uploads started under this store's prefix and never finished.
    async fn list_pending_uploads(&self) -> Result<Vec<PendingUpload>>;

    /// Abort one unfinished upload, freeing its parts.
    async fn abort_pending_upload(&self, upload: &PendingUpload) -> Result<()>;
}

#[async_trait]
pub trait MultipartUpload: Send {
    /// Send the next part. Up to the store's limit of parts are in flight at
    /// once; this waits for a free slot, so memory stays bounded.
    async fn write_part(&mut self, data: Bytes) -> Result<()>;

    /// Wait for every part, then make the object visible.
    async fn complete(self: Box<Self>) -> Result<()>;

    /// Stop in-flight parts and discard everything uploaded.
    async fn abort(self: Box<Self>) -> Result<()>;
}

/// S3 allows at most 10,000 parts per upload and 5 GiB per part.
pub const MAX_PARTS: u32 = 10_000;
/// S3's minimum part size. Memory in flight is a few parts, so the smallest
/// allowed part keeps memory low and the same for every database below
/// 40 GB (parts grow only when the estimate needs them to).
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// Chooses part sizes for a stream whose length is not known in advance.
///
/// The base size is chosen from an estimate of the stream (the database
/// size): `estimate / 8,000`, at least 5 MiB. The first 8,000 parts use it;
/// the part size then doubles at part 8,001 and again at 9,001, so the
/// 10,000 parts hold `14,000 x base` in all: 1.75 times the estimate, and
/// never less than 68 GiB, however wrong the estimate.
#[derive(Debug, Clone, Copy)]
pub struct PartSizer {
    base: u64,
}

impl PartSizer {
    pub fn for_estimate(estimated_bytes: u64) -> Self {
        let base = estimated_bytes.div_ceil(8_000);
        // Round to a whole MiB so part sizes are easy to read in logs.
        let base = base.div_ceil(1024 * 1024) * 1024 * 1024;
        Self {
            base: base.clamp(MIN_PART_SIZE, MAX_PART_SIZE / 4),
        }
    }

    /// Size of part `number` (1-based, as S3 counts).
    pub fn size_of(&self, number: u32) -> u64 {
        match number {
            0..=8_000 => self.base,
            8_001..=9_000 => self.base * 2,
            _ => self.base * 4,
        }
    }

    /// Bytes the full 10,000 parts can hold.
    pub fn capacity(&self) -> u64 {
        (1..=MAX_PARTS).map(|n| self.size_of(n)).sum()
    }
}

/// Open the store a storage URL names.
pub async fn open(settings: &StorageSettings) -> Result<Box<dyn ObjectStore>> {
    let url = settings.url.as_str();
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(exit::usage(format!(
                "storage URL {url:?} has no bucket name"
            )));
        }
        return Ok(Box::new(S3Store::new(bucket, prefix, &settings.s3).await?));
    }
    if url.starts_with("file://") {
        let parsed = url::Url::parse(url)
            .map_err(|e| exit::usage(format!("storage URL {url:?} is invalid: {e}")))?;
        let path = parsed.to_file_path().map_err(|()| {
            exit::usage(format!(
                "storage URL {url:?} must be an absolute path, like file:///var/backups/k12"
            ))
        })?;
        return Ok(Box::new(LocalStore::new(path)));
    }
    Err(exit::usage(format!(
        "storage URL {url:?} is not supported (use s3://bucket/prefix or file:///directory)"
    )))
}

/// Joins a prefix and a key with exactly one slash.
pub(crate) fn join_key(prefix: &str, key: &str) -> String {
    let prefix = prefix.trim_matches('/');
    let key = key.trim_start_matches('/');
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}/{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;
    const TIB: u64 = 1024 * GIB;

    #[test]
    fn a_terabyte_fits_in_ten_thousand_parts() {
        let sizer = PartSizer::for_estimate(TIB);
        assert!(sizer.capacity() >= TIB + TIB / 2, "{}", sizer.capacity());
        assert!(sizer.size_of(MAX_PARTS) <= MAX_PART_SIZE);
    }

    #[test]
    fn small_databases_use_small_parts_and_still_have_headroom() {
        let sizer = PartSizer::for_estimate(50 * 1024 * 1024);
        assert_eq!(sizer.size_of(1), MIN_PART_SIZE);
        assert!(sizer.capacity() > 64 * GIB);
    }

    #[test]
    fn part_sizes_never_exceed_the_s3_limit() {
        let sizer = PartSizer::for_estimate(u64::MAX / 2);
        assert!(sizer.size_of(MAX_PARTS) <= MAX_PART_SIZE);
    }

    #[test]
    fn keys_join_with_one_slash() {
        assert_eq!(join_key("", "backups/a"), "backups/a");
        assert_eq!(join_key("prod/", "/backups/a"), "prod/backups/a");
        assert_eq!(join_key("/a/b", "c"), "a/b/c");
    }
}
