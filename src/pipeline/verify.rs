//! `backup verify`: prove a backup restores. Stream the object once, checking
//! its size and SHA-256 against the manifest while pg_restore loads it into a
//! scratch database; compare every table's row count with the manifest; drop
//! the scratch database whatever happens.
//!
//! A problem with the data (checksum, gzip or zstd, an archive pg_restore
//! cannot read, COPY data rejected, row counts) is a verdict, returned as a
//! failed `Verification`. A problem with the environment (storage
//! unreachable, object missing, no right to create a database, a restore
//! refused for privileges, disk, memory, connections, or a scratch server
//! older than the source: `pg_errors`) is an error: the backup was not judged
//! and must not be marked bad. Extensions the scratch role cannot create are
//! left out of the restore and reported; every table is still restored and
//! counted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Utc;

use super::backup::application_name;
use super::catalog::{is_not_found, Catalog};
use super::manifest::{BackupManifest, BackupStatus, SkippedExtension, TableCheck, Verification};
use super::mirror::record_verification;
use super::pg_errors::{FailureClass, ToolFailure};
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

/// What a restore into the scratch database found.
#[derive(Default)]
struct Judged {
    failure: Option<Failure>,
    tables: BTreeMap<String, TableCheck>,
    skipped_extensions: Vec<SkippedExtension>,
}

impl Judged {
    fn failed(check: &'static str, message: String) -> Self {
        Self {
            failure: Some(Failure { check, message }),
            ..Self::default()
        }
    }
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
    let judged = match req.scratch_server {
        None => {
            req.progress.phase("checking size and SHA-256");
            let (_chunks, reader) = spawn_reader(reader, Decode::None, None, req.progress.clone());
            let read = tokio::select! {
                r = reader => r.context("the reading thread failed")??,
                sig = req.interrupt.wait() => return Err(sig.into()),
            };
            Judged {
                failure: checksum_failure(m, &read),
                ..Judged::default()
            }
        }
        Some(server) => restore_in_scratch(req, server, reader).await?,
    };
    let failure = judged.failure;
    Ok(Verification {
        verified_at: Utc::now(),
        passed: failure.is_none(),
        duration_seconds: clock.elapsed().as_secs_f64(),
        failed_check: failure.as_ref().map(|f| f.check.to_owned()),
        error: failure.map(|f| f.message),
        tables: judged.tables,
        skipped_extensions: judged.skipped_extensions,
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
) -> Result<Judged> {
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
    let scratch_major = db::server_facts(&admin_client)
        .await
        .map(|f| (f.server_version_num / 10000) as u32)
        .ok();
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
    let older = older_scratch(m, scratch_major);
    let outcome = tokio::select! {
        r = restore_and_compare(req, &loaders, &scratch, reader, older) => r,
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
    older: Option<String>,
) -> Result<Judged> {
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
        return Ok(Judged {
            failure: Some(f),
            ..Judged::default()
        });
    }
    if let Some(message) = report.integrity_error {
        return Ok(Judged::failed(m.compression.name(), message));
    }
    if let Some(failure) = report.restore_error {
        return match (failure.class, older) {
            (FailureClass::Environment, _) => Err(could_not_verify(m, &failure, None)),
            (FailureClass::Data, Some(older)) => Err(could_not_verify(m, &failure, Some(older))),
            (FailureClass::Data, None) => Ok(Judged::failed("restore", failure.message)),
        };
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
    Ok(Judged {
        failure,
        tables,
        skipped_extensions: report.skipped_extensions,
    })
}

/// "the scratch server (PostgreSQL 15) is older than the backup's source
/// (16)", when it is.
fn older_scratch(m: &BackupManifest, scratch_major: Option<u32>) -> Option<String> {
    let source: u32 = m
        .server_version
        .as_deref()?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let scratch = scratch_major?;
    (scratch < source).then(|| {
        format!("the scratch server (PostgreSQL {scratch}) is older than the backup's source ({source})")
    })
}

/// The restore failed for a reason that says nothing about the backup.
fn could_not_verify(m: &BackupManifest, f: &ToolFailure, older: Option<String>) -> anyhow::Error {
    let why = older.unwrap_or_else(|| f.reason.to_owned());
    anyhow::anyhow!(
        "could not verify backup {}: the restore into the scratch database failed because of \
         the scratch server or role ({why}), not the backup: {}. The backup's status is \
         unchanged ({}); fix the scratch server or role, or verify elsewhere with --scratch-url",
        m.id,
        f.message,
        m.status.as_str()
    )
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

/// Why a verdict was not recorded: the backup changed under the verify.
#[derive(Debug, thiserror::Error)]
pub enum VerdictRefused {
    #[error(
        "backup {id} was removed from {store} while it was being verified (by backup prune?): \
         its verdict is not recorded and its manifest is not re-created"
    )]
    Removed { id: String, store: String },
    #[error(
        "backup {id} was replaced in {store} while it was being verified: the verdict was for \
         the old object and is not recorded (run backup verify {id} again)"
    )]
    Replaced { id: String, store: String },
}

/// Whether the backup is still the one that was verified: its manifest is
/// there and names the same object and checksum, and its data object is
/// there with the size the manifest gives. Read just before the verdict is
/// written, so a prune that removed the backup meanwhile (data object first,
/// then manifest) is seen rather than undone by re-creating its manifest.
/// A good verdict also needs the object to still have the manifest's size:
/// one of another size was put there after it was read. A failed verdict
/// may well be about that size (a truncated object), so it is recorded.
async fn check_still_there(
    store: &dyn ObjectStore,
    verified: &BackupManifest,
    passed: bool,
) -> Result<()> {
    let removed = || VerdictRefused::Removed {
        id: verified.id.clone(),
        store: store.describe(),
    };
    let now = Catalog::new(store)
        .reread(&verified.manifest_key())
        .await
        .context("cannot re-read the manifest before recording the verdict")?
        .ok_or_else(removed)?;
    if now.object_key != verified.object_key || now.sha256 != verified.sha256 {
        return Err(VerdictRefused::Replaced {
            id: verified.id.clone(),
            store: store.describe(),
        }
        .into());
    }
    match store.head(&verified.object_key).await? {
        None => Err(removed().into()),
        Some(info) if passed && verified.compressed_size.is_some_and(|s| s != info.size) => {
            Err(VerdictRefused::Replaced {
                id: verified.id.clone(),
                store: store.describe(),
            }
            .into())
        }
        Some(_) => Ok(()),
    }
}

/// Write the verdict into the manifest and, where the source database has a
/// `backup_records` table, there too. Returns the updated manifest.
///
/// Refuses (`VerdictRefused`, exit 1) when the backup was removed or
/// replaced while it was verified: nothing is written then.
pub async fn record(
    store: &dyn ObjectStore,
    source: Option<&ConnInfo>,
    manifest: &BackupManifest,
    verification: Verification,
) -> Result<BackupManifest> {
    check_still_there(store, manifest, verification.passed).await?;
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
    use crate::storage::LocalStore;
    use bytes::Bytes;

    fn passed() -> Verification {
        Verification {
            verified_at: Utc::now(),
            passed: true,
            duration_seconds: 1.0,
            failed_check: None,
            error: None,
            tables: BTreeMap::new(),
            skipped_extensions: Vec::new(),
        }
    }

    /// A completed backup in a fresh local store: its manifest and object.
    async fn stored_backup(store: &LocalStore) -> BackupManifest {
        let m = BackupManifest::for_test(Utc::now(), BackupStatus::Completed);
        store
            .put(&m.object_key, Bytes::from_static(b"x"))
            .await
            .unwrap();
        Catalog::new(store).save(&m).await.unwrap();
        m
    }

    #[tokio::test]
    async fn a_verdict_is_recorded_while_the_backup_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_path_buf());
        let m = stored_backup(&store).await;
        let updated = record(&store, None, &m, passed()).await.unwrap();
        assert_eq!(updated.status, BackupStatus::Verified);
        let stored = Catalog::new(&store)
            .reread(&m.manifest_key())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, BackupStatus::Verified);
    }

    #[tokio::test]
    async fn a_verdict_on_a_pruned_backup_is_refused_and_nothing_is_re_created() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_path_buf());
        let m = stored_backup(&store).await;
        // Prune removed it whole while it was verified.
        store.delete(&m.object_key).await.unwrap();
        store.delete(&m.manifest_key()).await.unwrap();
        let err = record(&store, None, &m, passed()).await.unwrap_err();
        assert!(matches!(
            err.downcast_ref::<VerdictRefused>(),
            Some(VerdictRefused::Removed { .. })
        ));
        assert_eq!(crate::exit::code_for(&err), crate::exit::ExitCode::Failure);
        assert!(store.head(&m.manifest_key()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_verdict_is_refused_when_prune_is_half_way() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_path_buf());
        let m = stored_backup(&store).await;
        // Prune removes the data object first, the manifest second.
        store.delete(&m.object_key).await.unwrap();
        let err = record(&store, None, &m, passed()).await.unwrap_err();
        assert!(err.to_string().contains("was removed"), "{err}");
        let stored = Catalog::new(&store)
            .reread(&m.manifest_key())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.status,
            BackupStatus::Completed,
            "not marked verified"
        );
    }

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
