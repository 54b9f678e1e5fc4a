//! Object storage behind one trait: S3 (and S3-compatible stores) and a local
//! directory (`file://`). Keys passed to a store are relative to its prefix.
//!
//! Nothing here knows about backups or manifests; the pipelines decide what to
//! store and in which order.

mod local;
mod parts;
mod s3;

use std::path::{Path, PathBuf};
use std::pin::Pin;

use anyhow::Result;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::AsyncRead;

use crate::config::{S3Settings, StorageSettings};
use crate::exit;

pub use local::LocalStore;
pub use parts::{PartBudget, PartSizer};
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

    /// Store a small object only if `key` is free; `false` when it is taken.
    /// Atomic on `file://` and on S3 stores that honour `If-None-Match: *`
    /// (AWS S3, MinIO, R2). Stores that ignore the header (Garage 2.5)
    /// overwrite, so callers must not depend on it alone for uniqueness.
    async fn put_new(&self, key: &str, body: Bytes) -> Result<bool>;

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

/// An object named by a full URL rather than by a key under the configured
/// prefix: old backups sit at a bucket's root, or in a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectUrl {
    /// `s3://bucket/key`: that exact key, in any bucket the credentials reach.
    S3 { bucket: String, key: String },
    /// `file:///dir/name`: a local file.
    File { dir: PathBuf, name: String },
}

impl ObjectUrl {
    /// `Ok(None)` for a plain key (no `scheme://`), which is relative to the
    /// configured storage.
    pub fn parse(s: &str) -> Result<Option<Self>> {
        let Some((scheme, rest)) = s.split_once("://") else {
            return Ok(None);
        };
        let form = "use s3://bucket/key, file:///path/to/file, or a key relative to the storage";
        match scheme {
            "s3" => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(exit::usage(format!("{s:?} has no bucket name ({form})")));
                }
                if key.is_empty() || key.ends_with('/') {
                    return Err(exit::usage(format!(
                        "{s:?} names no object, only a bucket or folder ({form})"
                    )));
                }
                Ok(Some(Self::S3 {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                }))
            }
            "file" => {
                let path = url::Url::parse(s)
                    .ok()
                    .and_then(|u| u.to_file_path().ok())
                    .filter(|_| !s.ends_with('/'));
                let (Some(dir), Some(name)) = (
                    path.as_deref().and_then(Path::parent),
                    path.as_deref().and_then(Path::file_name),
                ) else {
                    return Err(exit::usage(format!(
                        "{s:?} must name a file by its absolute path, like file:///var/backups/k12.dump"
                    )));
                };
                Ok(Some(Self::File {
                    dir: dir.to_owned(),
                    name: name.to_string_lossy().into_owned(),
                }))
            }
            _ => Err(exit::usage(format!("{s:?} is not supported ({form})"))),
        }
    }
}

/// The store holding an object named by a full URL, rooted at its bucket
/// (or directory), and the object's key there. An `s3://` URL is read with
/// the configured S3 settings (endpoint, region, checksums).
pub async fn open_object(
    url: &ObjectUrl,
    s3: Option<&S3Settings>,
) -> Result<(Box<dyn ObjectStore>, String)> {
    match url {
        ObjectUrl::S3 { bucket, key } => {
            let settings = s3.ok_or_else(|| {
                exit::usage(format!(
                    "s3://{bucket}/{key} is read with the S3 settings (endpoint, region) of the \
                     configured storage, and none is configured: set K12CTL_STORAGE or \
                     BACKUP_S3_BUCKET, or pass --storage s3://{bucket}"
                ))
            })?;
            let store = S3Store::new(bucket, "", settings).await?;
            Ok((Box::new(store), key.clone()))
        }
        ObjectUrl::File { dir, name } => Ok((Box::new(LocalStore::new(dir.clone())), name.clone())),
    }
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

    #[test]
    fn full_object_urls_name_a_bucket_and_key_or_a_file() {
        assert_eq!(ObjectUrl::parse("backups/2025/10/x.sql.gz").unwrap(), None);
        assert_eq!(
            ObjectUrl::parse("s3://old-bucket/production/core_production.dump").unwrap(),
            Some(ObjectUrl::S3 {
                bucket: "old-bucket".into(),
                key: "production/core_production.dump".into()
            })
        );
        assert_eq!(
            ObjectUrl::parse("file:///var/backups/k12%20old.dump").unwrap(),
            Some(ObjectUrl::File {
                dir: "/var/backups".into(),
                name: "k12 old.dump".into()
            })
        );
        for bad in [
            "s3://",
            "s3:///x.dump",
            "s3://bucket",
            "s3://bucket/",
            "s3://bucket/folder/",
            "file://x.dump",
            "file:///var/backups/",
            "gs://bucket/x.dump",
        ] {
            let err = ObjectUrl::parse(bad).unwrap_err();
            assert_eq!(exit::code_for(&err), exit::ExitCode::Usage, "{bad}");
        }
    }

    #[test]
    fn keys_join_with_one_slash() {
        assert_eq!(join_key("", "backups/a"), "backups/a");
        assert_eq!(join_key("prod/", "/backups/a"), "prod/backups/a");
        assert_eq!(join_key("/a/b", "c"), "a/b/c");
    }
}
