//! What a tenant restore needs from a stored backup: a scratch copy of its
//! tables and rows to select one school's rows from, and (for an extract)
//! its schema in a new database.
//!
//! The scratch copy is the verify path (`stored::spawn_reader` into
//! `restore::load`, checked whole before pg_restore can finish) with the
//! post-data section left out: indexes, constraints and triggers cost a
//! full restore's index builds and the copy is only read, once per table.
//! It is a `k12ctl_verify_` database, so an earlier run killed before it
//! could drop its copy is swept like verify's.
//!
//! The schema of an extract comes from the archive's table of contents:
//! `pg_restore --schema-only` reads the head of the stream and stops, so
//! the object is not read a second time.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::io::AsyncWriteExt;
use tokio_postgres::Client;

use super::backup::application_name;
use super::catalog::is_not_found;
use super::manifest::BackupManifest;
use super::pg_tools::{collect_stderr, last_lines, PgTool};
use super::restore::{load, LoadOptions, Loaders};
use super::stored::{spawn_reader, Decode, ReadOutcome};
use super::verify::checksum_problem;
use super::{NoProgress, ProgressSink};
use crate::db::conn::conninfo_dbname;
use crate::db::{self, admin, ConnInfo};
use crate::exit;
use crate::signals::Interrupt;
use crate::storage::{ObjectReader, ObjectStore};

/// The stored backup and how to read it.
pub struct StoredBackup<'a> {
    pub store: &'a dyn ObjectStore,
    pub manifest: &'a BackupManifest,
    pub pg_bindir: Option<&'a Path>,
    pub identities: Option<Arc<Vec<age::x25519::Identity>>>,
}

impl StoredBackup<'_> {
    async fn open(&self) -> Result<ObjectReader> {
        let key = &self.manifest.object_key;
        let (reader, _) = self.store.open(key).await.map_err(|e| {
            if is_not_found(&e) {
                anyhow::anyhow!("the data object {} is missing", self.store.location(key))
            } else {
                e
            }
        })?;
        Ok(reader)
    }

    /// How the stored bytes decode, as verify reads them.
    fn decode(&self) -> Decode {
        Decode::Expect(self.manifest.compression)
    }

    async fn pg_restore(&self) -> Result<PgTool> {
        let tool = PgTool::locate("pg_restore", self.pg_bindir).await?;
        if let Some(major) = self
            .manifest
            .pg_dump_version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse::<u32>().ok())
        {
            tool.check_server(major)?;
        }
        Ok(tool)
    }
}

/// A scratch database holding the backup's tables and rows; `remove` it.
pub struct ScratchCopy {
    admin: Client,
    pub conn: ConnInfo,
    pub client: Client,
}

impl ScratchCopy {
    /// Drop the copy; a failure is logged (the sweep of a later run or
    /// verify removes it after a day).
    pub async fn remove(self) {
        drop(self.client);
        if let Err(e) = admin::drop_database(&self.admin, &self.conn.dbname).await {
            tracing::error!("{e:#}; drop it by hand");
        }
    }
}

/// Restore the backup's tables and rows (no post-data) into a new scratch
/// database on `server`. On any failure or signal the scratch database is
/// dropped again; a damaged backup is exit 4.
pub async fn restore_scratch(
    backup: &StoredBackup<'_>,
    server: &ConnInfo,
    progress: Arc<dyn ProgressSink>,
    interrupt: &Interrupt,
) -> Result<ScratchCopy> {
    let pg_restore = backup.pg_restore().await?;
    let admin_client = db::connect(server, &application_name("restore --tenant")).await?;
    for name in admin::sweep_scratch(&admin_client, Utc::now()).await? {
        tracing::info!("dropped {name}, left behind by an earlier run");
    }
    let name = admin::scratch_name(Utc::now());
    admin::create_database(&admin_client, &name)
        .await
        .context("cannot create the scratch database for the backup's rows")?;
    tracing::info!(
        "restoring {} into scratch database {name}",
        backup.manifest.id
    );
    let conn = server.with_dbname(&name);
    let loaded = tokio::select! {
        r = fill(backup, pg_restore, &conn, progress) => r,
        sig = interrupt.wait() => Err(sig.into()),
    };
    let client = match loaded {
        Ok(()) => db::connect(&conn, &application_name("restore --tenant (backup)")).await,
        Err(e) => Err(e),
    };
    match client {
        Ok(client) => Ok(ScratchCopy {
            admin: admin_client,
            conn,
            client,
        }),
        Err(e) => {
            if let Err(drop_error) = admin::drop_database(&admin_client, &name).await {
                tracing::error!("{drop_error:#}; drop it by hand");
            }
            Err(e)
        }
    }
}

async fn fill(
    backup: &StoredBackup<'_>,
    pg_restore: PgTool,
    conn: &ConnInfo,
    progress: Arc<dyn ProgressSink>,
) -> Result<()> {
    let m = backup.manifest;
    let reader = backup.open().await?;
    let (chunks, reader) = spawn_reader(
        reader,
        backup.decode(),
        backup.identities.clone(),
        progress.clone(),
    );
    let loaders = Loaders {
        pg_restore,
        bindir: backup.pg_bindir.map(Path::to_path_buf),
    };
    let check = |read: &ReadOutcome| checksum_problem(m, read);
    let opts = LoadOptions {
        skip_post_data: true,
        ..LoadOptions::default()
    };
    progress.phase("restoring the backup into a scratch database");
    let report = load(
        &loaders,
        conn,
        chunks,
        reader,
        &check,
        &opts,
        progress.as_ref(),
    )
    .await?;
    if let Some(e) = report.integrity_error {
        return Err(exit::rejected(format!("backup {} is damaged: {e}", m.id)));
    }
    if let Some(e) = report.restore_error {
        anyhow::bail!(
            "restore of backup {} into a scratch database failed: {}",
            m.id,
            e.message
        );
    }
    Ok(())
}

/// Create the backup's schema (pre-data and post-data, no rows) in the
/// empty database `target`, in one transaction, from the head of the stream.
pub async fn apply_schema(backup: &StoredBackup<'_>, target: &ConnInfo) -> Result<()> {
    let pg_restore = backup.pg_restore().await?;
    let reader = backup.open().await?;
    let (mut chunks, _reader) = spawn_reader(
        reader,
        backup.decode(),
        backup.identities.clone(),
        Arc::new(NoProgress),
    );
    let mut cmd = pg_restore.command(target, "k12ctl restore --tenant (schema)");
    cmd.args([
        "--schema-only",
        "--exit-on-error",
        "--no-owner",
        "--no-acl",
        "--single-transaction",
    ])
    .arg(format!("--dbname={}", conninfo_dbname(&target.dbname)))
    .stdin(Stdio::piped())
    .stdout(Stdio::null());
    let mut child = cmd.spawn().context("cannot start pg_restore")?;
    let stderr = collect_stderr("pg_restore", child.stderr.take().context("no stderr")?);
    let mut stdin = child.stdin.take();
    // pg_restore stops reading once it has the table of contents; the
    // write that fails then ends the feed, and dropping the receiver stops
    // the reader.
    while let Some(chunk) = chunks.recv().await {
        let Some(pipe) = stdin.as_mut() else { break };
        if pipe.write_all(&chunk).await.is_err() {
            break;
        }
    }
    drop(stdin);
    drop(chunks);
    let status = child.wait().await.context("cannot wait for pg_restore")?;
    if !status.success() {
        let stderr = stderr.await.unwrap_or_default();
        anyhow::bail!(
            "pg_restore could not create the backup's schema in {} ({status}): {}",
            target.dbname,
            last_lines(&stderr, 3)
        );
    }
    Ok(())
}
