//! `file:///dir`: a local directory as object storage, for first runs, demos
//! and machines with a mounted backup volume.
//!
//! Writes go to a `.partial-*` file next to the target and are renamed into
//! place when complete, so a reader sees a whole object or none; an
//! interrupted upload leaves only a `.partial-*` file, which
//! `list_pending_uploads` reports.
//!
//! Backups hold student data, unencrypted unless age recipients are set, so
//! every file is created 0600 and every directory 0700, whatever the umask
//! (the mode is set explicitly after creation, since a umask can only take
//! bits away and an odd one could take the owner's). The directory is
//! fsynced after a rename or a new entry, so a completed object survives a
//! crash of the machine, not only of the process.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::fs;
use tokio::io::AsyncWriteExt;

use super::{MultipartUpload, ObjectInfo, ObjectReader, ObjectStore, PendingUpload, StorageError};
use crate::exit;

const PARTIAL_MARKER: &str = ".partial-";
/// Modes of what the store creates: owner only.
const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The path of a key; keys that would leave the root are refused.
    fn path(&self, key: &str) -> Result<PathBuf> {
        let rel = Path::new(key);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(exit::usage(format!(
                "object key {key:?} is not a plain relative path"
            )));
        }
        Ok(self.root.join(rel))
    }

    fn partial_path(path: &Path) -> PathBuf {
        let suffix: u64 = rand::random();
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!("{PARTIAL_MARKER}{suffix:016x}"));
        path.with_file_name(name)
    }

    async fn info(&self, key: String, path: &Path) -> Result<ObjectInfo> {
        let meta = fs::metadata(path)
            .await
            .with_context(|| format!("cannot inspect {}", path.display()))?;
        Ok(ObjectInfo {
            key,
            size: meta.len(),
            last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
        })
    }

    /// Every file under the root, as (relative key, path), partial files included.
    async fn walk(&self) -> Result<Vec<(String, PathBuf)>> {
        let mut files = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let mut entries = match fs::read_dir(&dir).await {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
            };
            while let Some(entry) = entries.next_entry().await? {
                let path = entry.path();
                if entry.file_type().await?.is_dir() {
                    dirs.push(path);
                } else if let Ok(rel) = path.strip_prefix(&self.root) {
                    files.push((rel.to_string_lossy().replace('\\', "/"), path));
                }
            }
        }
        Ok(files)
    }
}

/// Create `dir` and any missing parent, each 0700, and fsync the parent of
/// each new directory so that the entry itself is durable.
async fn create_private_dirs(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(d) = cursor {
        match fs::metadata(d).await {
            Ok(m) if m.is_dir() => break,
            Ok(_) => anyhow::bail!("{} exists and is not a directory", d.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(d),
            Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", d.display())),
        }
        cursor = d.parent();
    }
    for d in missing.into_iter().rev() {
        let created = fs::DirBuilder::new().mode(DIR_MODE).create(d).await;
        match created {
            Ok(()) => {
                fs::set_permissions(d, Permissions::from_mode(DIR_MODE))
                    .await
                    .with_context(|| format!("cannot make {} private", d.display()))?;
                if let Some(parent) = d.parent() {
                    sync_dir(parent).await?;
                }
            }
            // Another run created it meanwhile: it made it private too.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create directory {}", d.display()))
            }
        }
    }
    Ok(())
}

/// Create a new file readable by its owner only.
async fn create_private_file(path: &Path) -> Result<fs::File> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))
        .await
        .with_context(|| format!("cannot make {} private", path.display()))?;
    Ok(file)
}

/// Flush a directory's entries (a rename, a new file) to disk.
async fn sync_dir(dir: &Path) -> Result<()> {
    let handle = fs::File::open(dir)
        .await
        .with_context(|| format!("cannot open directory {}", dir.display()))?;
    handle
        .sync_all()
        .await
        .with_context(|| format!("cannot flush directory {}", dir.display()))
}

/// Move a complete file into place and make the rename durable.
async fn rename_durably(tmp: &Path, path: &Path) -> Result<()> {
    fs::rename(tmp, path)
        .await
        .with_context(|| format!("cannot move {} into place", path.display()))?;
    match path.parent() {
        Some(dir) => sync_dir(dir).await,
        None => Ok(()),
    }
}

/// Write the whole file, flush it to disk, then rename it into place.
async fn write_atomically(path: &Path, body: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dirs(dir).await?;
    }
    let tmp = LocalStore::partial_path(path);
    let result = async {
        let mut f = create_private_file(&tmp).await?;
        f.write_all(body).await?;
        f.sync_all().await?;
        rename_durably(&tmp, path).await
    }
    .await;
    if result.is_err() {
        let _ = fs::remove_file(&tmp).await;
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[async_trait]
impl ObjectStore for LocalStore {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    async fn check_access(&self) -> Result<()> {
        match fs::metadata(&self.root).await {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(anyhow::anyhow!(
                "storage path {} is not a directory",
                self.root.display()
            )),
            // A missing directory is created by the first write.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot access {}", self.root.display())),
        }
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<()> {
        write_atomically(&self.path(key)?, &body).await
    }

    async fn put_new(&self, key: &str, body: Bytes) -> Result<bool> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            create_private_dirs(dir).await?;
        }
        // Written whole under a temporary name, then hard-linked to the key:
        // link(2) fails when the name exists, atomically, and readers never
        // see a half-written object.
        let tmp = Self::partial_path(&path);
        let result = async {
            let mut f = create_private_file(&tmp).await?;
            f.write_all(&body).await?;
            f.sync_all().await?;
            match fs::hard_link(&tmp, &path).await {
                Ok(()) => {
                    if let Some(dir) = path.parent() {
                        sync_dir(dir).await?;
                    }
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(anyhow::Error::new(e)),
            }
        }
        .await;
        let _ = fs::remove_file(&tmp).await;
        result.with_context(|| format!("cannot create {}", path.display()))
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        let path = self.path(key)?;
        match fs::read(&path).await {
            Ok(b) => Ok(Bytes::from(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StorageError::NotFound(self.location(key)).into())
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    async fn open(&self, key: &str) -> Result<(ObjectReader, u64)> {
        let path = self.path(key)?;
        match fs::File::open(&path).await {
            Ok(f) => {
                let size = f.metadata().await?.len();
                Ok((Box::pin(f), size))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StorageError::NotFound(self.location(key)).into())
            }
            Err(e) => Err(e).with_context(|| format!("cannot open {}", path.display())),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let path = self.path(key)?;
        if !fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(None);
        }
        self.info(key.to_owned(), &path).await.map(Some)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        for (key, path) in self.walk().await? {
            if key.starts_with(prefix) && !key.contains(PARTIAL_MARKER) {
                out.push(self.info(key, &path).await?);
            }
        }
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot delete {}", path.display())),
        }
    }

    async fn create_upload(&self, key: &str) -> Result<Box<dyn MultipartUpload>> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            create_private_dirs(dir).await?;
        }
        let tmp = Self::partial_path(&path);
        let file = create_private_file(&tmp).await?;
        Ok(Box::new(LocalUpload { file, tmp, path }))
    }

    async fn list_pending_uploads(&self) -> Result<Vec<PendingUpload>> {
        let mut out = Vec::new();
        for (key, path) in self.walk().await? {
            if let Some((target, _)) = key.split_once(PARTIAL_MARKER) {
                let info = self.info(key.clone(), &path).await?;
                out.push(PendingUpload {
                    key: target.to_owned(),
                    upload_id: key,
                    initiated: info.last_modified,
                });
            }
        }
        Ok(out)
    }

    async fn abort_pending_upload(&self, upload: &PendingUpload) -> Result<()> {
        self.delete(&upload.upload_id).await
    }
}

struct LocalUpload {
    file: fs::File,
    tmp: PathBuf,
    path: PathBuf,
}

#[async_trait]
impl MultipartUpload for LocalUpload {
    async fn write_part(&mut self, data: Bytes) -> Result<()> {
        self.file
            .write_all(&data)
            .await
            .with_context(|| format!("cannot write {}", self.tmp.display()))
    }

    async fn complete(self: Box<Self>) -> Result<()> {
        let mut file = self.file;
        file.flush().await?;
        file.sync_all()
            .await
            .with_context(|| format!("cannot flush {}", self.tmp.display()))?;
        rename_durably(&self.tmp, &self.path).await
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        drop(self.file);
        match fs::remove_file(&self.tmp).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", self.tmp.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Every file and directory under `dir`, `dir` included.
    fn everything(dir: &Path) -> Vec<PathBuf> {
        let mut out = vec![dir.to_path_buf()];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(everything(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[tokio::test]
    async fn objects_and_directories_are_private_to_the_owner() {
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("store");
        let store = LocalStore::new(root.clone());
        store
            .put("backups/2026/11/a.manifest.json", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        let mut upload = store
            .create_upload("backups/2026/12/b.dump.gz")
            .await
            .unwrap();
        upload
            .write_part(Bytes::from_static(b"data"))
            .await
            .unwrap();
        upload.complete().await.unwrap();
        let pending = store
            .create_upload("backups/2026/12/c.dump.gz")
            .await
            .unwrap();

        let all = everything(&root);
        assert_eq!(all.len(), 8, "{all:?}");
        for path in all {
            let expected = if path.is_dir() { DIR_MODE } else { FILE_MODE };
            assert_eq!(mode(&path), expected, "{}", path.display());
        }
        pending.abort().await.unwrap();
    }

    #[tokio::test]
    async fn a_new_object_is_created_once() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalStore::new(root.path().to_path_buf());
        let key = "backups/2026/11/a.running.json";
        assert!(store
            .put_new(key, Bytes::from_static(b"first"))
            .await
            .unwrap());
        assert!(!store
            .put_new(key, Bytes::from_static(b"second"))
            .await
            .unwrap());
        assert_eq!(store.get(key).await.unwrap(), Bytes::from_static(b"first"));
        assert_eq!(mode(&root.path().join(key)), FILE_MODE);
        assert_eq!(store.list_pending_uploads().await.unwrap(), Vec::new());
    }

    #[tokio::test]
    async fn an_existing_directory_is_left_as_the_operator_made_it() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o750)).unwrap();
        let store = LocalStore::new(root.path().to_path_buf());
        store
            .put("x.json", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(mode(root.path()), 0o750);
        assert_eq!(mode(&root.path().join("x.json")), FILE_MODE);
    }
}
