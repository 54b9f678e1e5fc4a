//! `backup verify`: prove a backup restores. Stream the object once, checking
//! its size and SHA-256 against the manifest while pg_restore loads it into a
//! scratch database; compare every table's row count with the manifest; drop
//! the scratch database whatever happens.
//!
//! A problem with the data (checksum, gzip or zstd, restore, row counts) is a
//! verdict, returned as a failed `Verification`. A problem with the tools
//! (storage unreachable, object missing, no right to create a database) is
//! an error: the backup was not judged and must not be marked bad.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Utc;

use super::backup::application_name;
use super::catalog::{is_not_found, Catalog};
use super::manifest::{BackupManifest, BackupStatus, TableCheck, Verification};
use super::mirror::record_verification;
use super::pg_tools::PgTool;
use super::restore::{load, LoadOptions, Loaders};
use super::stored::{spawn_reader, Decode, ReadOutcome};
use super::ProgressSink;
use crate::db::{self, admin, snapshot, ConnInfo};
use crate::signals::Interrupt;
use crate::storage::ObjectStore;

pub struct VerifyRequest<'a> {
    pub store: &'a dyn ObjectStore,
    pub manifest: &'a BackupManifest,
    /// Server on which the scratch database is created; None for `--quick`.
    pub scratch_server: Option<&'a ConnInfo>,
    pub pg_bindir: Option<&'a Path>,
    /// Keys for an encrypted backup.
    pub identities: Option<Arc<Vec<age::x25519::Identity>>>,
    pub progress: Arc<dyn ProgressSink>,
    pub interrupt: &'a Interrupt,
}

/// A failed check: which one, and what it found.
struct Failure {
    check: &'static str,
    message: String,
}

pub async fn run(req: &VerifyRequest<'_>) -> Result<Verification> {
    let clock = Instant::now();
    let m = req.manifest;
    if m.status == BackupStatus::Failed {
        anyhow::bail!(
            "backup {} is a failed run: there is nothing to verify",
            m.id
        );
    }
    let (reader, _) = req.store.open(&m.object_key).await.map_err(|e| {
        if is_not_found(&e) {
            anyhow::anyhow!(
                "the data object of {} is missing: {} (size and checksum could not be checked)",
                m.id,
                req.store.location(&m.object_key)
            )
        } else {
            e
        }
    })?;
    let (failure, tables) = match req.scratch_server {
        None => {
            req.progress.phase("checking size and SHA-256");
            let (_chunks, reader) = spawn_reader(reader, Decode::None, None, req.progress.clone());
            let read = tokio::select! {
                r = reader => r.context("the reading thread failed")??,
                sig = req.interrupt.wait() => return Err(sig.into()),
            };
            (checksum_failure(m, &read), BTreeMap::new())
        }
        Some(server) => restore_in_scratch(req, server, reader).await?,
    };
    Ok(Verification {
        verified_at: Utc::now(),
        passed: failure.is_none(),
        duration_seconds: clock.elapsed().as_secs_f64(),
        failed_check: failure.as_ref().map(|f| f.check.to_owned()),
        error: failure.map(|f| f.message),
        tables,
    })
}

/// The checksum verdict as one message, for restore's integrity check.
pub fn checksum_problem(m: &BackupManifest, read: &ReadOutcome) -> Option<String> {
    checksum_failure(m, read).map(|f| f.message)
}

/// Size first (it explains truncation), then SHA-256.
fn checksum_failure(m: &BackupManifest, read: &ReadOutcome) -> Option<Failure> {
    if let Some(expected) = m.compressed_size.filter(|s| *s != read.size) {
        return Some(Failure {
            check: "size",
            message: format!(
                "size mismatch: the stored object is {} bytes, the manifest says {expected}",
                read.size
            ),
        });
    }
    match &m.sha256 {
        Some(expected) if *expected != read.sha256 => Some(Failure {
            check: "sha256",
            message: format!(
                "SHA-256 mismatch: the stored object hashes to {}, the manifest says {expected}",
                read.sha256
            ),
        }),
        _ => None,
    }
}

async fn restore_in_scratch(
    req: &VerifyRequest<'_>,
    server: &ConnInfo,
    reader: crate::storage::ObjectReader,
) -> Result<(Option<Failure>, BTreeMap<String, TableCheck>)> {
    let m = req.manifest;
    let pg_restore = PgTool::locate("pg_restore", req.pg_bindir).await?;
    if let Some(dump_major) = m
        .pg_dump_version
        .as_deref()
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse::<u32>().ok())
    {
        pg_restore.check_server(dump_major)?;
    }
    let admin_client = db::connect(server, &application_name("backup verify")).await?;
    for name in admin::sweep_scratch(&admin_client, Utc::now()).await? {
        tracing::info!("dropped {name}, left behind by an earlier verify");
    }
    let name = admin::scratch_name(Utc::now());
    admin::create_database(&admin_client, &name)
        .await
        .context("cannot create the scratch database (use --scratch-url to verify elsewhere)")?;
    tracing::info!("restoring {} into scratch database {name}", m.id);
    let scratch = server.with_dbname(&name);
    let loaders = Loaders {
        pg_restore,
        bindir: req.pg_bindir.map(Path::to_path_buf),
    };
    let outcome = tokio::select! {
        r = restore_and_compare(req, &loaders, &scratch, reader) => r,
        sig = req.interrupt.wait() => Err(sig.into()),
    };
    // Always, whatever happened above.
    if let Err(e) = admin::drop_database(&admin_client, &name).await {
        tracing::error!("{e:#}; drop it by hand");
    }
    outcome
}

async fn restore_and_compare(
    req: &VerifyRequest<'_>,
    loaders: &Loaders,
    scratch: &ConnInfo,
    reader: crate::storage::ObjectReader,
) -> Result<(Option<Failure>, BTreeMap<String, TableCheck>)> {
    let m = req.manifest;
    let (chunks, reader) = spawn_reader(
        reader,
        Decode::Expect(m.compression),
        req.identities.clone(),
        req.progress.clone(),
    );
    let check = |read: &ReadOutcome| checksum_problem(m, read);
    let report = load(
        loaders,
        scratch,
        chunks,
        reader,
        &check,
        &LoadOptions {
            single_transaction: true,
            ..LoadOptions::default()
        },
        req.progress.as_ref(),
    )
    .await?;
    if let Some(f) = checksum_failure(m, &report.read) {
        return Ok((Some(f), BTreeMap::new()));
    }
    if let Some(message) = report.integrity_error {
        return Ok((
            Some(Failure {
                check: m.compression.name(),
                message,
            }),
            BTreeMap::new(),
        ));
    }
    if let Some(message) = report.restore_error {
        return Ok((
            Some(Failure {
                check: "restore",
                message,
            }),
            BTreeMap::new(),
        ));
    }
    req.progress.phase("counting rows");
    let client = db::connect(scratch, &application_name("backup verify (row counts)")).await?;
    let actual = snapshot::count_rows(&client).await?;
    let tables = compare_counts(&m.table_row_counts, &actual);
    let differing: Vec<String> = tables
        .iter()
        .filter(|(_, c)| c.expected != c.actual)
        .map(|(t, c)| {
            let show =
                |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_else(|| "missing".into());
            format!(
                "{t} expected {}, restored {}",
                show(c.expected),
                show(c.actual)
            )
        })
        .collect();
    let failure = (!differing.is_empty()).then(|| Failure {
        check: "row_counts",
        message: format!(
            "row counts differ in {} table(s): {}",
            differing.len(),
            differing.join("; ")
        ),
    });
    Ok((failure, tables))
}

/// Every table of either side, with both counts.
pub fn compare_counts(
    expected: &BTreeMap<String, i64>,
    actual: &BTreeMap<String, i64>,
) -> BTreeMap<String, TableCheck> {
    expected
        .keys()
        .chain(actual.keys())
        .map(|t| {
            (
                t.clone(),
                TableCheck {
                    expected: expected.get(t).copied(),
                    actual: actual.get(t).copied(),
                },
            )
        })
        .collect()
}

/// Write the verdict into the manifest and, where the source database has a
/// `backup_records` table, there too. Returns the updated manifest.
pub async fn record(
    store: &dyn ObjectStore,
    source: Option<&ConnInfo>,
    manifest: &BackupManifest,
    verification: Verification,
) -> Result<BackupManifest> {
    let mut updated = manifest.clone();
    updated.status = if verification.passed {
        BackupStatus::Verified
    } else {
        BackupStatus::VerificationFailed
    };
    updated.verification = Some(verification);
    Catalog::new(store).save(&updated).await?;
    if let Some(conn) = source.filter(|c| c.dbname == manifest.database) {
        if let Err(e) = record_verification(store, conn, &updated).await {
            tracing::warn!("cannot record the verification in backup_records: {e:#}");
        }
    }
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_compared_in_both_directions() {
        let expected = BTreeMap::from([("public.a".to_owned(), 3), ("public.b".to_owned(), 5)]);
        let actual = BTreeMap::from([("public.a".to_owned(), 3), ("public.c".to_owned(), 1)]);
        let t = compare_counts(&expected, &actual);
        assert_eq!(
            t["public.a"],
            TableCheck {
                expected: Some(3),
                actual: Some(3)
            }
        );
        assert_eq!(
            t["public.b"],
            TableCheck {
                expected: Some(5),
                actual: None
            }
        );
        assert_eq!(
            t["public.c"],
            TableCheck {
                expected: None,
                actual: Some(1)
            }
        );
    }
}
