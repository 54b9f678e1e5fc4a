//! Loading a backup into a database: pg_restore for custom-format archives,
//! psql for the gzipped plain-SQL dumps some old backups are.
//!
//! Streaming: the decoded stream goes straight to pg_restore's stdin, but the
//! last chunk is held back until the whole stored object has been read and
//! checked (size, SHA-256, gzip or zstd integrity). pg_restore cannot
//! finish, and so cannot commit, without that chunk: a damaged object never
//! leaves a half-restored target behind.
//!
//! `--jobs`: pg_restore needs a seekable archive for parallel restore, so the
//! stream is written to a temporary file (mode 0600, deleted on every path),
//! checked, and only then restored.

use std::io::Write;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use anyhow::{Context, Result};
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::pg_tools::{collect_stderr, last_lines, PgTool};
use super::stored::ReadOutcome;
use super::ProgressSink;
use crate::db::conn::conninfo_dbname;
use crate::db::ConnInfo;

const CUSTOM_MAGIC: &[u8] = b"PGDMP";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveFormat {
    Custom,
    PlainSql,
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Drop existing objects first (`--clean --if-exists`).
    pub clean: bool,
    /// All or nothing: `--single-transaction`.
    pub single_transaction: bool,
    /// Parallel restore through a temporary file.
    pub jobs: Option<u32>,
    /// Accept a plain-SQL stream (old backups only).
    pub allow_plain_sql: bool,
    /// Where the temporary file of `--jobs` goes (default: the system's).
    pub temp_dir: Option<std::path::PathBuf>,
    /// Tables and their rows only (`--section=pre-data --section=data`): no
    /// indexes, constraints or triggers, for a scratch copy that is only read.
    pub skip_post_data: bool,
}

/// What happened. Data problems are reported here; `Err` is for the tool's
/// own failures (storage unreadable, pg_restore missing).
#[derive(Debug)]
pub struct LoadReport {
    pub read: ReadOutcome,
    pub format: Option<ArchiveFormat>,
    /// The stored object is not what the manifest says, or not valid gzip/zstd.
    pub integrity_error: Option<String>,
    /// pg_restore or psql failed (or the stream is not an archive).
    pub restore_error: Option<String>,
    /// Decoded bytes handed to pg_restore/psql.
    pub restored_bytes: u64,
}

impl LoadReport {
    pub fn ok(&self) -> bool {
        self.integrity_error.is_none() && self.restore_error.is_none()
    }
}

/// The client tools a load may need.
pub struct Loaders {
    pub pg_restore: PgTool,
    pub bindir: Option<std::path::PathBuf>,
}

/// Load a decoded stream into `target`. `check` judges the stored object
/// once it has been read whole (size and SHA-256 against the manifest).
pub async fn load(
    loaders: &Loaders,
    target: &ConnInfo,
    mut chunks: mpsc::Receiver<Bytes>,
    reader: JoinHandle<Result<ReadOutcome>>,
    check: &(dyn Fn(&ReadOutcome) -> Option<String> + Sync),
    opts: &LoadOptions,
    progress: &dyn ProgressSink,
) -> Result<LoadReport> {
    let Some(first) = chunks.recv().await else {
        let read = finish_read(reader).await?;
        let integrity_error = integrity(&read, check);
        let restore_error = integrity_error
            .is_none()
            .then(|| "the backup holds no data".to_owned());
        return Ok(LoadReport {
            read,
            format: None,
            integrity_error,
            restore_error,
            restored_bytes: 0,
        });
    };
    let format = if first.starts_with(CUSTOM_MAGIC) {
        ArchiveFormat::Custom
    } else if opts.allow_plain_sql {
        ArchiveFormat::PlainSql
    } else {
        drain(&mut chunks).await;
        let read = finish_read(reader).await?;
        let integrity_error = integrity(&read, check);
        return Ok(LoadReport {
            restore_error: integrity_error.is_none().then(|| {
                "the backup is not a pg_dump custom-format archive (no PGDMP header)".to_owned()
            }),
            read,
            format: None,
            integrity_error,
            restored_bytes: 0,
        });
    };
    match opts.jobs {
        Some(jobs) if format == ArchiveFormat::Custom => {
            load_via_file(
                loaders, target, first, chunks, reader, check, opts, jobs, progress,
            )
            .await
        }
        _ => {
            load_streaming(
                loaders, target, format, first, chunks, reader, check, opts, progress,
            )
            .await
        }
    }
}

async fn finish_read(reader: JoinHandle<Result<ReadOutcome>>) -> Result<ReadOutcome> {
    reader.await.context("the reading thread failed")?
}

async fn drain(chunks: &mut mpsc::Receiver<Bytes>) {
    while chunks.recv().await.is_some() {}
}

fn integrity(
    read: &ReadOutcome,
    check: &(dyn Fn(&ReadOutcome) -> Option<String> + Sync),
) -> Option<String> {
    check(read).or_else(|| {
        read.decode_error
            .as_ref()
            .map(|e| format!("the stored object is damaged: {e}"))
    })
}

async fn spawn_loader(
    loaders: &Loaders,
    target: &ConnInfo,
    format: ArchiveFormat,
    opts: &LoadOptions,
    file: Option<&Path>,
) -> Result<(Child, JoinHandle<String>, &'static str)> {
    let dbname = conninfo_dbname(&target.dbname);
    let (mut cmd, name) = match format {
        ArchiveFormat::Custom => {
            let mut cmd = loaders
                .pg_restore
                .command(target, "k12ctl restore (pg_restore)");
            cmd.arg("--exit-on-error")
                .arg("--no-owner")
                .arg("--no-acl")
                .arg(format!("--dbname={dbname}"));
            if opts.single_transaction {
                cmd.arg("--single-transaction");
            }
            if opts.clean {
                cmd.arg("--clean").arg("--if-exists");
            }
            if opts.skip_post_data {
                cmd.arg("--section=pre-data").arg("--section=data");
            }
            if let (Some(jobs), Some(file)) = (opts.jobs, file) {
                cmd.arg(format!("--jobs={jobs}")).arg(file);
            }
            (cmd, "pg_restore")
        }
        ArchiveFormat::PlainSql => {
            let psql = PgTool::locate("psql", loaders.bindir.as_deref()).await?;
            let mut cmd = psql.command(target, "k12ctl restore (psql)");
            cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"])
                .arg(format!("--dbname={dbname}"))
                .arg("-f")
                .arg(
                    file.map(|f| f.as_os_str().to_owned())
                        .unwrap_or_else(|| "-".into()),
                );
            (cmd, "psql")
        }
    };
    cmd.stdout(Stdio::null());
    if file.is_some() {
        cmd.stdin(Stdio::null());
    } else {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    let stderr = collect_stderr(name, child.stderr.take().context("no stderr")?);
    Ok((child, stderr, name))
}

fn tool_error(name: &str, status: ExitStatus, stderr: &str) -> String {
    let detail = last_lines(stderr, 3);
    if detail.is_empty() {
        format!("{name} failed ({status})")
    } else {
        format!("{name} failed ({status}): {detail}")
    }
}

#[allow(clippy::too_many_arguments)]
async fn load_streaming(
    loaders: &Loaders,
    target: &ConnInfo,
    format: ArchiveFormat,
    first: Bytes,
    mut chunks: mpsc::Receiver<Bytes>,
    reader: JoinHandle<Result<ReadOutcome>>,
    check: &(dyn Fn(&ReadOutcome) -> Option<String> + Sync),
    opts: &LoadOptions,
    progress: &dyn ProgressSink,
) -> Result<LoadReport> {
    let (mut child, stderr, name) = spawn_loader(loaders, target, format, opts, None).await?;
    let mut stdin = child.stdin.take();
    let mut restored = 0u64;
    // Everything but the last chunk goes through as it arrives.
    let mut held = first;
    while let Some(next) = chunks.recv().await {
        let chunk = std::mem::replace(&mut held, next);
        restored += feed(&mut stdin, chunk, progress).await;
    }
    let read = finish_read(reader).await?;
    let integrity_error = integrity(&read, check);
    if integrity_error.is_none() {
        restored += feed(&mut stdin, held, progress).await;
        drop(stdin);
    } else {
        // Withhold the end of the archive: the load cannot commit.
        drop(stdin);
        let _ = child.start_kill();
    }
    let status = child
        .wait()
        .await
        .with_context(|| format!("cannot wait for {name}"))?;
    let stderr = stderr.await.unwrap_or_default();
    let restore_error =
        (integrity_error.is_none() && !status.success()).then(|| tool_error(name, status, &stderr));
    Ok(LoadReport {
        read,
        format: Some(format),
        integrity_error,
        restore_error,
        restored_bytes: restored,
    })
}

/// Write a chunk to the loader's stdin; once the loader has gone (it failed
/// and closed its end), the rest is discarded and its exit status tells why.
async fn feed(stdin: &mut Option<ChildStdin>, chunk: Bytes, progress: &dyn ProgressSink) -> u64 {
    let Some(pipe) = stdin.as_mut() else { return 0 };
    match pipe.write_all(&chunk).await {
        Ok(()) => {
            progress.written(chunk.len() as u64);
            chunk.len() as u64
        }
        Err(_) => {
            *stdin = None;
            0
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn load_via_file(
    loaders: &Loaders,
    target: &ConnInfo,
    first: Bytes,
    mut chunks: mpsc::Receiver<Bytes>,
    reader: JoinHandle<Result<ReadOutcome>>,
    check: &(dyn Fn(&ReadOutcome) -> Option<String> + Sync),
    opts: &LoadOptions,
    jobs: u32,
    progress: &dyn ProgressSink,
) -> Result<LoadReport> {
    // NamedTempFile is created 0600 and deleted when dropped, on every path.
    let mut temp = match &opts.temp_dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("k12ctl-restore-")
            .tempfile_in(dir),
        None => tempfile::Builder::new()
            .prefix("k12ctl-restore-")
            .tempfile(),
    }
    .context("cannot create the temporary file for --jobs")?;
    let mut written = 0u64;
    let mut next = Some(first);
    while let Some(chunk) = next {
        let file = temp.as_file_mut();
        let len = chunk.len() as u64;
        tokio::task::block_in_place(|| file.write_all(&chunk))
            .with_context(|| format!("cannot write {}", temp.path().display()))?;
        written += len;
        next = chunks.recv().await;
    }
    let read = finish_read(reader).await?;
    let integrity_error = integrity(&read, check);
    if integrity_error.is_some() {
        return Ok(LoadReport {
            read,
            format: Some(ArchiveFormat::Custom),
            integrity_error,
            restore_error: None,
            restored_bytes: 0,
        });
    }
    progress.phase("restoring in parallel");
    let opts = LoadOptions {
        jobs: Some(jobs),
        single_transaction: false,
        ..opts.clone()
    };
    let (mut child, stderr, name) = spawn_loader(
        loaders,
        target,
        ArchiveFormat::Custom,
        &opts,
        Some(temp.path()),
    )
    .await?;
    let status = child.wait().await.context("cannot wait for pg_restore")?;
    let stderr = stderr.await.unwrap_or_default();
    progress.written(written);
    drop(temp);
    Ok(LoadReport {
        read,
        format: Some(ArchiveFormat::Custom),
        integrity_error: None,
        restore_error: (!status.success()).then(|| tool_error(name, status, &stderr)),
        restored_bytes: written,
    })
}
