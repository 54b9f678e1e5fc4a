//! `backup run`: lock, snapshot, count, dump, compress, hash, upload, record.
//!
//! ```text
//! pg_dump -Fc -Z0 --snapshot ──stdout──> reader task ──chunks──> gzip/zstd thread
//!        (child, no shell)                (header check)          (SHA-256, parts)
//!                                                                      │ parts
//! row counts (same snapshot, own connection)        uploader <─────────┘
//!                                                  (bounded parts in flight)
//! ```
//!
//! pg_dump's exit status and header are checked before the upload is
//! completed; any failure or signal aborts the upload and records a `failed`
//! manifest. The manifest of a good backup is written last.
//!
//! The id is claimed before the dump starts (`Catalog::claim`), by creating
//! the run's marker, which is rewritten while the stream runs and removed at
//! the end (`running.rs`): `backup prune` leaves the upload of a live run
//! alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::catalog::{Catalog, Claim};
use super::codec::Compression;
use super::compress::{compress, Sealing};
use super::encryption;
use super::manifest::{BackupManifest, BackupStatus, Encryption, MANIFEST_FORMAT_VERSION};
use super::mirror::Mirror;
use super::pg_tools::{collect_stderr, last_lines, PgTool};
use super::running::{self, RunningMarker};
use super::ProgressSink;
use crate::db::{self, lock, records, snapshot, ConnInfo, ServerFacts};
use crate::exit;
use crate::signals::Interrupt;
use crate::storage::{MultipartUpload, ObjectStore, PartBudget};

/// What a custom-format archive starts with.
const CUSTOM_FORMAT_MAGIC: &[u8] = b"PGDMP";
const READ_CHUNK: usize = 256 * 1024;
const PIPE_SIZE: usize = 1024 * 1024;

pub struct BackupRequest<'a> {
    pub conn: &'a ConnInfo,
    pub store: &'a dyn ObjectStore,
    pub backup_type: &'a str,
    pub compression: Compression,
    /// gzip's level (zstd's is in `compression`).
    pub gzip_level: u32,
    pub compression_threads: usize,
    /// age recipients; empty: not encrypted.
    pub recipients: &'a [age::x25519::Recipient],
    /// The same, as text for the manifest.
    pub recipient_keys: &'a [String],
    pub pg_bindir: Option<&'a Path>,
    pub progress: &'a dyn ProgressSink,
    pub interrupt: &'a Interrupt,
}

/// Everything checked and held before the first byte is dumped.
struct Prepared {
    /// Holds the advisory lock and the exporting transaction.
    client: Client,
    facts: ServerFacts,
    pg_dump: PgTool,
    snapshot_id: String,
    claim: Claim,
    started: DateTime<Utc>,
    mirror: Option<Mirror>,
}

struct Streamed {
    raw_bytes: u64,
    stored_bytes: u64,
    sha256: String,
    counts: BTreeMap<String, i64>,
}

/// Run a backup. Returns the manifest of the completed backup.
pub async fn run(req: &BackupRequest<'_>) -> Result<BackupManifest> {
    let prepared = tokio::select! {
        r = prepare(req) => r?,
        sig = req.interrupt.wait() => return Err(sig.into()),
    };
    let clock = Instant::now();
    let result = transfer_with_heartbeat(req, &prepared).await;
    let outcome = record(req, &prepared, result, clock).await;
    let marker = &prepared.claim.marker_key;
    if let Err(e) = req.store.delete(marker).await {
        tracing::warn!(
            "cannot remove {}: {e:#} (k12ctl backup prune removes it later)",
            req.store.location(marker)
        );
    }
    outcome
}

/// The stream, with the run's marker rewritten until it ends.
async fn transfer_with_heartbeat(req: &BackupRequest<'_>, p: &Prepared) -> Result<Streamed> {
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let transfer = async {
        let result = transfer(req, p).await;
        let _ = stop.send(());
        result
    };
    let beat = running::heartbeat(
        req.store,
        &p.claim.marker_key,
        p.claim.marker.clone(),
        stopped,
    );
    let (result, ()) = tokio::join!(transfer, beat);
    result
}

/// Write the manifest of the run: `completed`, or `failed` with the error.
async fn record(
    req: &BackupRequest<'_>,
    prepared: &Prepared,
    result: Result<Streamed>,
    clock: Instant,
) -> Result<BackupManifest> {
    let mut manifest = base_manifest(req, prepared);
    manifest.finished_at = Utc::now();
    manifest.duration_seconds = clock.elapsed().as_secs_f64();
    match result {
        Ok(streamed) => {
            manifest.status = BackupStatus::Completed;
            manifest.uncompressed_size = Some(streamed.raw_bytes);
            manifest.compressed_size = Some(streamed.stored_bytes);
            manifest.sha256 = Some(streamed.sha256);
            manifest.table_row_counts = streamed.counts;
            if let Err(e) = save_manifest(req.store, &manifest).await {
                if let Some(m) = &prepared.mirror {
                    m.failed(&format!("{e:#}")).await;
                }
                return Err(e);
            }
            if let Some(m) = &prepared.mirror {
                m.completed(&manifest).await;
            }
            // Ends the snapshot transaction; the lock goes with the session.
            if let Err(e) = prepared.client.batch_execute("ROLLBACK").await {
                tracing::debug!("closing the snapshot transaction: {e}");
            }
            Ok(manifest)
        }
        Err(e) => {
            manifest.error = Some(format!("{e:#}"));
            if let Err(save) = Catalog::new(req.store).save(&manifest).await {
                tracing::error!("cannot record the failed run: {save:#}");
            }
            if let Some(m) = &prepared.mirror {
                m.failed(&format!("{e:#}")).await;
            }
            Err(e)
        }
    }
}

/// Write the manifest of a complete object. When the write fails (after the
/// SDK's retries) its last attempt may still have landed, only the answer
/// lost: the manifest is read back before deciding. A manifest that is there
/// makes the backup complete; one that is not means the object is no backup
/// and is removed; when neither can be told, the object is kept.
async fn save_manifest(store: &dyn ObjectStore, manifest: &BackupManifest) -> Result<()> {
    let catalog = Catalog::new(store);
    let Err(e) = catalog.save(manifest).await else {
        return Ok(());
    };
    match catalog.is_saved(manifest).await {
        Ok(true) => {
            tracing::warn!(
                "the answer to writing the manifest of {} was lost, but the manifest is \
                 there: the backup is complete ({e:#})",
                manifest.id
            );
            Ok(())
        }
        Ok(false) => {
            // Without its manifest the object is not a backup: remove it.
            if let Err(d) = store.delete(&manifest.object_key).await {
                tracing::warn!("cannot remove {}: {d:#}", manifest.object_key);
            }
            Err(e)
        }
        Err(check) => {
            tracing::warn!(
                "cannot read back the manifest of {}: {check:#}",
                manifest.id
            );
            Err(e.context(format!(
                "{} was kept, since its manifest may have been written (see k12ctl backup list)",
                store.location(&manifest.object_key)
            )))
        }
    }
}

/// Test-only hook: `K12CTL_TEST_SIZE_ESTIMATE` (bytes) replaces the database
/// size the server reports, as if the database were that large, so a test
/// can show that a backup's memory does not follow the database's size. It
/// only changes the size recorded in the manifest; operators have no use
/// for it and it is not documented as a setting.
fn test_size_estimate(reported: i64) -> i64 {
    std::env::var("K12CTL_TEST_SIZE_ESTIMATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(reported)
}

/// Tools, storage, connection, lock, snapshot: all before anything is written.
async fn prepare(req: &BackupRequest<'_>) -> Result<Prepared> {
    let pg_dump = PgTool::locate("pg_dump", req.pg_bindir).await?;
    req.store.check_access().await?;
    let client = db::connect(req.conn, &application_name("backup run")).await?;
    if let Some(holder) = lock::try_backup_lock(&client).await? {
        return Err(exit::locked(format!(
            "another backup of database {} is running: {holder}",
            req.conn.dbname
        )));
    }
    let mut facts = db::server_facts(&client).await?;
    facts.database_size = test_size_estimate(facts.database_size);
    pg_dump.check_server(facts.server_version_num as u32 / 10_000)?;
    let snapshot_id = snapshot::export(&client).await?;
    let has_records = records::table_present(&client).await.unwrap_or(false);
    let started = Utc::now();
    let marker = RunningMarker {
        id: String::new(),
        database: facts.database.clone(),
        runner: application_name("backup run"),
        started_at: started,
        heartbeat_at: started,
    };
    let claim = Catalog::new(req.store)
        .claim(req.backup_type, started, req.compression.codec(), &marker)
        .await?;
    let mirror = if has_records {
        Mirror::start(req, &claim.data_key).await
    } else {
        None
    };
    tracing::info!(
        "backing up {} to {} as {}",
        req.conn.describe(),
        req.store.location(&claim.data_key),
        claim.id
    );
    Ok(Prepared {
        client,
        facts,
        pg_dump,
        snapshot_id,
        claim,
        started,
        mirror,
    })
}

/// The name our sessions carry in pg_stat_activity, so a lock holder can be
/// identified: "k12ctl backup run (pid 123 on db-backup-1)".
pub fn application_name(what: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    format!("k12ctl {what} (pid {} on {host})", std::process::id())
}

fn base_manifest(req: &BackupRequest<'_>, p: &Prepared) -> BackupManifest {
    BackupManifest {
        format_version: MANIFEST_FORMAT_VERSION,
        id: p.claim.id.clone(),
        backup_type: req.backup_type.to_owned(),
        status: BackupStatus::Failed,
        database: p.facts.database.clone(),
        server_version: Some(p.facts.server_version.clone()),
        system_identifier: p.facts.system_identifier.clone(),
        pg_dump_version: Some(p.pg_dump.version.clone()),
        started_at: p.started,
        finished_at: p.started,
        duration_seconds: 0.0,
        object_key: p.claim.data_key.clone(),
        compressed_size: None,
        uncompressed_size: None,
        sha256: None,
        compression: req.compression.codec(),
        compression_level: Some(match req.compression {
            Compression::Gzip => req.gzip_level,
            Compression::Zstd { level } => level,
        }),
        table_row_counts: BTreeMap::new(),
        database_size: Some(p.facts.database_size),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        error: None,
        verification: None,
        encryption: (!req.recipient_keys.is_empty()).then(|| Encryption {
            scheme: encryption::SCHEME.to_owned(),
            recipients: req.recipient_keys.to_vec(),
        }),
    }
}

/// Upload the stream; complete the upload only if everything succeeded,
/// abort it otherwise (signals included).
async fn transfer(req: &BackupRequest<'_>, p: &Prepared) -> Result<Streamed> {
    let mut upload = req.store.create_upload(&p.claim.data_key).await?;
    let streamed = tokio::select! {
        r = stream(req, p, upload.as_mut()) => r,
        sig = req.interrupt.wait() => Err(sig.into()),
    };
    match streamed {
        Ok(s) => {
            upload.complete().await?;
            Ok(s)
        }
        Err(e) => {
            if let Err(abort) = upload.abort().await {
                tracing::error!(
                    "cannot abort the upload of {}: {abort:#} (k12ctl backup prune removes it later)",
                    p.claim.data_key
                );
            }
            Err(e)
        }
    }
}

async fn stream(
    req: &BackupRequest<'_>,
    p: &Prepared,
    upload: &mut dyn MultipartUpload,
) -> Result<Streamed> {
    let mut child = p
        .pg_dump
        .command(req.conn, &application_name("backup run (pg_dump)"))
        .arg("--format=custom")
        .arg("--compress=0")
        .arg("--no-password")
        .arg(format!("--snapshot={}", p.snapshot_id))
        .spawn()
        .with_context(|| format!("cannot start {}", p.pg_dump.path.display()))?;
    let stdout = child.stdout.take().context("pg_dump has no stdout")?;
    // A 1 MiB pipe instead of the default 64 KiB halves the context switches
    // between pg_dump and us; not being allowed to grow it is harmless.
    if let Err(e) = rustix::pipe::fcntl_setpipe_size(&stdout, PIPE_SIZE) {
        tracing::debug!("cannot grow pg_dump's pipe: {e}");
    }
    let stderr = collect_stderr(
        "pg_dump",
        child.stderr.take().context("pg_dump has no stderr")?,
    );
    req.progress.phase("dumping");

    let (raw_tx, raw_rx) = mpsc::channel::<Bytes>(8);
    let (part_tx, mut part_rx) = mpsc::channel::<Bytes>(1);
    // Parts grow with their count (storage::PartSizer); the budget caps the
    // bytes of parts in memory whatever the database's size.
    let budget = PartBudget::new();
    let settings = Sealing {
        compression: req.compression,
        gzip_level: req.gzip_level,
        threads: req.compression_threads,
        recipients: req.recipients.to_vec(),
    };
    let compressor = tokio::task::spawn_blocking({
        let budget = budget.clone();
        move || compress(raw_rx, part_tx, budget, settings)
    });

    let reader = read_dump(stdout, raw_tx, req.progress);
    let compressed = async { compressor.await.context("the compression thread failed")? };
    let uploader = async {
        while let Some(part) = part_rx.recv().await {
            let len = part.len() as u64;
            upload.write_part(part).await?;
            req.progress.written(len);
        }
        Ok::<_, anyhow::Error>(())
    };
    let counter = count_in_snapshot(req.conn, &p.snapshot_id);
    let joined = tokio::try_join!(reader, compressed, uploader, counter);
    // Nobody frees parts any more: a compressor waiting for room must stop.
    budget.close();
    let (raw, (stored_bytes, sha256), (), counts) = joined?;

    let status = child.wait().await.context("cannot wait for pg_dump")?;
    let stderr = stderr.await.unwrap_or_default();
    if !status.success() {
        anyhow::bail!("pg_dump failed ({status}): {}", last_lines(&stderr, 3));
    }
    if raw.bytes == 0 {
        anyhow::bail!("pg_dump exited successfully but wrote nothing");
    }
    if !raw.header_ok {
        anyhow::bail!("pg_dump's output is not a custom-format archive (no PGDMP header)");
    }
    Ok(Streamed {
        raw_bytes: raw.bytes,
        stored_bytes,
        sha256,
        counts,
    })
}

struct RawStats {
    bytes: u64,
    header_ok: bool,
}

async fn read_dump(
    mut stdout: tokio::process::ChildStdout,
    tx: mpsc::Sender<Bytes>,
    progress: &dyn ProgressSink,
) -> Result<RawStats> {
    let mut total = 0u64;
    let mut header = Vec::with_capacity(CUSTOM_FORMAT_MAGIC.len());
    loop {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        let n = stdout
            .read_buf(&mut buf)
            .await
            .context("cannot read pg_dump's output")?;
        if n == 0 {
            break;
        }
        if header.len() < CUSTOM_FORMAT_MAGIC.len() {
            let want = (CUSTOM_FORMAT_MAGIC.len() - header.len()).min(n);
            header.extend_from_slice(&buf[..want]);
        }
        total += n as u64;
        progress.read(n as u64);
        if tx.send(buf.freeze()).await.is_err() {
            // The compressor stopped; its error is reported by try_join.
            break;
        }
    }
    Ok(RawStats {
        bytes: total,
        header_ok: header == CUSTOM_FORMAT_MAGIC,
    })
}

async fn count_in_snapshot(conn: &ConnInfo, snapshot_id: &str) -> Result<BTreeMap<String, i64>> {
    let client = db::connect(conn, &application_name("backup run (row counts)")).await?;
    snapshot::import(&client, snapshot_id).await?;
    let counts = snapshot::count_rows(&client).await?;
    client.batch_execute("COMMIT").await?;
    Ok(counts)
}
