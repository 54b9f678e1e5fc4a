//! Loading a backup into a database: pg_restore for custom-format archives,
//! psql for the gzipped plain-SQL dumps some old backups are.
//!
//! Streaming: the decoded stream goes straight to pg_restore's stdin, but the
//! last chunk is held back until the whole stored object has been read and
//! checked (size, SHA-256, gzip or zstd integrity). pg_restore cannot
//! finish, and so cannot commit, without that chunk: a damaged object never
//! leaves a half-restored target behind.
//!
//! Extensions the restoring role cannot create are left out (`toc.rs`), and
//! a failure is classified (`pg_errors.rs`): the environment's fault, or the
//! data's.
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

use super::manifest::SkippedExtension;
use super::pg_errors::{self, FailureClass, ToolFailure};
use super::pg_tools::{collect_stderr, PgTool};
use super::stored::ReadOutcome;
use super::toc::{self, Pending};
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
    pub restore_error: Option<ToolFailure>,
    /// Decoded bytes handed to pg_restore/psql.
    pub restored_bytes: u64,
    /// Extensions left out because the role cannot create them.
    pub skipped_extensions: Vec<SkippedExtension>,
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
            .then(|| data_failure("the backup holds no data"));
        return Ok(LoadReport {
            read,
            format: None,
            integrity_error,
            restore_error,
            restored_bytes: 0,
            skipped_extensions: Vec::new(),
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
                data_failure("the backup is not a pg_dump custom-format archive (no PGDMP header)")
            }),
            read,
            format: None,
            integrity_error,
            restored_bytes: 0,
            skipped_extensions: Vec::new(),
        });
    };
    let mut pending = Pending::new(first, chunks);
    let plan = match format {
        ArchiveFormat::Custom => match toc::read_list(&loaders.pg_restore, &mut pending).await? {
            Some(list) => toc::plan(&list, target).await?,
            None => toc::ExtensionPlan::default(),
        },
        ArchiveFormat::PlainSql => toc::ExtensionPlan::default(),
    };
    let list = plan.list_file.as_ref().map(|f| f.path());
    let mut report = match opts.jobs {
        Some(jobs) if format == ArchiveFormat::Custom => {
            load_via_file(
                loaders, target, pending, reader, check, opts, jobs, list, progress,
            )
            .await?
        }
        _ => {
            load_streaming(
                loaders, target, format, pending, reader, check, opts, list, progress,
            )
            .await?
        }
    };
    if let Some(failure) = &mut report.restore_error {
        blame_skipped_extensions(failure, &plan.skipped);
    }
    report.skipped_extensions = plan.skipped;
    Ok(report)
}

fn data_failure(message: &str) -> ToolFailure {
    ToolFailure {
        class: FailureClass::Data,
        sqlstate: None,
        reason: "archive unreadable",
        message: message.to_owned(),
    }
}

/// An object that needs a skipped extension (a column of its type, a
/// function of it) cannot be created: that is the role's limit, not the data.
fn blame_skipped_extensions(failure: &mut ToolFailure, skipped: &[SkippedExtension]) {
    if skipped.is_empty() || !failure.message.contains("does not exist") {
        return;
    }
    let names: Vec<&str> = skipped.iter().map(|s| s.name.as_str()).collect();
    failure.class = FailureClass::Environment;
    failure.reason = "needs an extension the role cannot create";
    failure.message = format!(
        "{} (the backup needs extension(s) {} that this role cannot create)",
        failure.message,
        names.join(", ")
    );
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
    list: Option<&Path>,
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
            if let Some(list) = list {
                cmd.arg("--use-list").arg(list);
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

fn tool_error(name: &str, status: ExitStatus, stderr: &str) -> ToolFailure {
    pg_errors::classify(name, &status.to_string(), stderr)
}

#[allow(clippy::too_many_arguments)]
async fn load_streaming(
    loaders: &Loaders,
    target: &ConnInfo,
    format: ArchiveFormat,
    mut chunks: Pending,
    reader: JoinHandle<Result<ReadOutcome>>,
    check: &(dyn Fn(&ReadOutcome) -> Option<String> + Sync),
    opts: &LoadOptions,
    list: Option<&Path>,
    progress: &dyn ProgressSink,
) -> Result<LoadReport> {
    let (mut child, stderr, name) = spawn_loader(loaders, target, format, opts, None, list).await?;
    let mut stdin = child.stdin.take();
    let mut restored = 0u64;
    // Everything but the last chunk goes through as it arrives.
    let Some(mut held) = chunks.next().await else {
        anyhow::bail!("the decoded stream ended before it began");
    };
    while let Some(next) = chunks.next().await {
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
        skipped_extensions: Vec::new(),
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
    mut chunks: Pending,
    reader: JoinHandle<Result<ReadOutcome>>,
    check: &(dyn Fn(&ReadOutcome) -> Option<String> + Sync),
    opts: &LoadOptions,
    jobs: u32,
    list: Option<&Path>,
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
    while let Some(chunk) = chunks.next().await {
        let file = temp.as_file_mut();
        let len = chunk.len() as u64;
        if let Err(e) = tokio::task::block_in_place(|| file.write_all(&chunk)) {
            // The reader must not block on a full channel: stop it.
            drop(chunks);
            return Err(temp_write_error(temp.path(), written, e));
        }
        written += len;
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
            skipped_extensions: Vec::new(),
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
        list,
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
        skipped_extensions: Vec::new(),
    })
}

/// A write to the temporary file of `--jobs` failed: name the directory
/// and, when it is full, say so (the file is removed when it is dropped).
fn temp_write_error(path: &Path, written: u64, e: std::io::Error) -> anyhow::Error {
    let dir = path
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    if e.raw_os_error() == Some(28) || e.kind() == std::io::ErrorKind::StorageFull {
        anyhow::anyhow!(
            "the disk of the temporary directory {dir} is full after {written} bytes of the \
             --jobs copy ({e}); the temporary file was removed. Free space there or give \
             --temp-dir a directory with room for the uncompressed backup"
        )
    } else {
        anyhow::anyhow!(
            "cannot write the --jobs copy in {dir}: {e}; the temporary file was removed"
        )
    }
}
