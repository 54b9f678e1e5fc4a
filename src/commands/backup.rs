//! `backup run`, `backup list`, `backup show`.

use anyhow::Result;
use chrono::Utc;
use serde::Serialize;

use super::Context;
use crate::cli::{BackupListArgs, BackupRunArgs, BackupShowArgs, BackupType, StatusFilter};
use crate::exit;
use crate::output::printer::Style;
use crate::output::prometheus::Gauge;
use crate::output::tables::{self, status_cell};
use crate::output::Report;
use crate::pipeline::backup::{self as pipeline, BackupRequest};
use crate::pipeline::catalog::Catalog;
use crate::pipeline::codec::{Codec, Compression};
use crate::pipeline::encryption;
use crate::pipeline::manifest::{BackupManifest, BackupStatus};
use crate::pipeline::ProgressSink;

/// Lock, snapshot, dump, compress, upload, record.
pub async fn run(ctx: &Context, args: BackupRunArgs) -> Result<Vec<Gauge>> {
    if args.backup_type == BackupType::Incremental {
        return Err(exit::usage(
            "incremental backups are not offered: they need continuous WAL archiving, which a \
             logical dump cannot provide. Use --type full (the default); for point-in-time \
             recovery run a WAL archiver such as pgBackRest or WAL-G next to k12ctl",
        ));
    }
    let conn = ctx.conn()?;
    let recipient_keys = if args.encrypt_to.is_empty() {
        ctx.settings.backup.encrypt_to.clone()
    } else {
        args.encrypt_to.clone()
    };
    let recipients = encryption::parse_recipients(&recipient_keys)?;
    let store = ctx.store().await?;
    let progress = ctx.progress(("dumped", "uploaded"));
    let settings = &ctx.settings.backup;
    let compression = args.compression.unwrap_or(settings.compression);
    let gzip_level = args.compression_level.unwrap_or(settings.compression_level);
    let threads = match compression {
        Compression::Gzip => settings.compression_threads,
        Compression::Zstd { .. } => settings.zstd_threads,
    };
    let manifest = pipeline::run(&BackupRequest {
        conn: &conn,
        store: store.as_ref(),
        backup_type: "full",
        compression,
        gzip_level,
        compression_threads: threads,
        recipients: &recipients,
        recipient_keys: &recipient_keys,
        pg_bindir: ctx.settings.backup.pg_bindir.as_deref(),
        progress: &progress,
        interrupt: &ctx.interrupt,
    })
    .await?;
    progress.finish();
    let gauges = vec![
        Gauge::new(
            "size_bytes",
            "Bytes stored by the last successful backup.",
            manifest.compressed_size.unwrap_or_default() as f64,
        ),
        Gauge::new(
            "dumped_bytes",
            "Bytes pg_dump wrote in the last successful backup.",
            manifest.uncompressed_size.unwrap_or_default() as f64,
        ),
        Gauge::new(
            "tables",
            "Tables in the last successful backup.",
            manifest.table_row_counts.len() as f64,
        ),
    ];
    ctx.printer.print(&RunReport {
        location: store.location(&manifest.object_key),
        manifest,
    })?;
    Ok(gauges)
}

#[derive(Serialize)]
struct RunReport {
    location: String,
    #[serde(flatten)]
    manifest: BackupManifest,
}

impl Report for RunReport {
    fn human(&self, _: &Style) -> String {
        let m = &self.manifest;
        let stored = m.compressed_size.unwrap_or_default();
        let raw = m.uncompressed_size.unwrap_or_default().max(1);
        let rows: i64 = m.table_row_counts.values().sum();
        format!(
            "backup {} completed in {}: {} stored ({} dumped, {:.0}%), {} rows in {} tables\n  {}",
            m.id,
            tables::duration(m.duration_seconds),
            tables::bytes(stored),
            tables::bytes(raw),
            stored as f64 * 100.0 / raw as f64,
            rows,
            m.table_row_counts.len(),
            self.location,
        )
    }
}

/// The catalog, newest first.
pub async fn list(ctx: &Context, args: BackupListArgs) -> Result<()> {
    let store = ctx.store().await?;
    let wanted: Vec<BackupStatus> = args.status.iter().map(|s| status_of(*s)).collect();
    let backups: Vec<ListEntry> = Catalog::new(store.as_ref())
        .list()
        .await?
        .into_iter()
        .filter(|m| wanted.is_empty() || wanted.contains(&m.status))
        .take(args.limit.unwrap_or(usize::MAX))
        .map(ListEntry::from)
        .collect();
    ctx.printer.print(&ListReport {
        storage: store.describe(),
        backups,
    })
}

fn status_of(s: StatusFilter) -> BackupStatus {
    match s {
        StatusFilter::Completed => BackupStatus::Completed,
        StatusFilter::Failed => BackupStatus::Failed,
        StatusFilter::Verified => BackupStatus::Verified,
        StatusFilter::VerificationFailed => BackupStatus::VerificationFailed,
    }
}

#[derive(Serialize)]
struct ListReport {
    storage: String,
    backups: Vec<ListEntry>,
}

#[derive(Serialize)]
struct ListEntry {
    id: String,
    status: BackupStatus,
    #[serde(rename = "type")]
    backup_type: String,
    database: String,
    started_at: chrono::DateTime<Utc>,
    duration_seconds: f64,
    compressed_size: Option<u64>,
    compression: Codec,
    verified_at: Option<chrono::DateTime<Utc>>,
    error: Option<String>,
}

impl From<BackupManifest> for ListEntry {
    fn from(m: BackupManifest) -> Self {
        Self {
            verified_at: m.verification.as_ref().map(|v| v.verified_at),
            id: m.id,
            status: m.status,
            backup_type: m.backup_type,
            database: m.database,
            started_at: m.started_at,
            duration_seconds: m.duration_seconds,
            compressed_size: m.compressed_size,
            compression: m.compression,
            error: m.error,
        }
    }
}

impl Report for ListReport {
    fn human(&self, style: &Style) -> String {
        if self.backups.is_empty() {
            return format!("no backups in {}", self.storage);
        }
        let now = Utc::now();
        let mut t = tables::table([
            "ID",
            "STATUS",
            "STARTED (UTC)",
            "AGE",
            "SIZE",
            "COMPRESSION",
            "DURATION",
            "DATABASE",
        ]);
        for b in &self.backups {
            t.add_row(vec![
                b.id.clone().into(),
                status_cell(b.status.as_str(), style),
                b.started_at.format("%Y-%m-%d %H:%M:%S").to_string().into(),
                tables::age(b.started_at, now).into(),
                b.compressed_size
                    .map(tables::bytes)
                    .unwrap_or_else(|| "-".into())
                    .into(),
                b.compression.name().into(),
                tables::duration(b.duration_seconds).into(),
                b.database.clone().into(),
            ]);
        }
        t.to_string()
    }
}

/// One manifest.
pub async fn show(ctx: &Context, args: BackupShowArgs) -> Result<()> {
    let store = ctx.store().await?;
    let manifest = Catalog::new(store.as_ref()).load(&args.id).await?;
    ctx.printer.print(&ShowReport {
        location: store.location(&manifest.object_key),
        manifest,
    })
}

#[derive(Serialize)]
struct ShowReport {
    location: String,
    #[serde(flatten)]
    manifest: BackupManifest,
}

impl Report for ShowReport {
    fn human(&self, style: &Style) -> String {
        let m = &self.manifest;
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
        let mut t = tables::table(["FIELD", "VALUE"]);
        let rows: Vec<(&str, comfy_table::Cell)> = vec![
            ("id", m.id.clone().into()),
            ("status", status_cell(m.status.as_str(), style)),
            ("type", m.backup_type.clone().into()),
            ("database", m.database.clone().into()),
            ("server version", opt(m.server_version.clone()).into()),
            ("pg_dump version", opt(m.pg_dump_version.clone()).into()),
            (
                "started (UTC)",
                m.started_at.format("%Y-%m-%d %H:%M:%S").to_string().into(),
            ),
            ("duration", tables::duration(m.duration_seconds).into()),
            ("object", self.location.clone().into()),
            (
                "stored size",
                opt(m.compressed_size.map(tables::bytes)).into(),
            ),
            (
                "dumped size",
                opt(m.uncompressed_size.map(tables::bytes)).into(),
            ),
            ("sha256", opt(m.sha256.clone()).into()),
            (
                "compression",
                format!(
                    "{} level {}",
                    m.compression,
                    opt(m.compression_level.map(|l| l.to_string()))
                )
                .into(),
            ),
            (
                "database size",
                opt(m.database_size.map(|s| tables::bytes(s.max(0) as u64))).into(),
            ),
            ("k12ctl version", m.tool_version.clone().into()),
        ];
        for (k, v) in rows {
            t.add_row(vec![comfy_table::Cell::new(k), v]);
        }
        if let Some(e) = &m.error {
            t.add_row(vec![
                comfy_table::Cell::new("error"),
                comfy_table::Cell::new(e),
            ]);
        }
        if let Some(v) = &m.verification {
            let verdict = if v.passed { "passed" } else { "failed" };
            t.add_row(vec![
                comfy_table::Cell::new("verification"),
                format!(
                    "{verdict} at {} in {}",
                    v.verified_at.format("%Y-%m-%d %H:%M:%S"),
                    tables::duration(v.duration_seconds)
                )
                .into(),
            ]);
            if let Some(e) = &v.error {
                t.add_row(vec![
                    comfy_table::Cell::new("verification error"),
                    comfy_table::Cell::new(e),
                ]);
            }
        }
        let mut out = t.to_string();
        if !m.table_row_counts.is_empty() {
            let mut counts = tables::table(["TABLE", "ROWS", "RESTORED"]);
            for (table, rows) in &m.table_row_counts {
                let restored = m
                    .verification
                    .as_ref()
                    .and_then(|v| v.tables.get(table))
                    .and_then(|c| c.actual)
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into());
                counts.add_row(vec![table.clone(), rows.to_string(), restored]);
            }
            out.push('\n');
            out.push_str(&counts.to_string());
        }
        out
    }
}
