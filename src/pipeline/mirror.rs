//! Runs mirrored into the platform's `backup_records` table, so that its admin
//! pages and `GET /api/v1/admin/backups` show k12ctl's backups like the ones its
//! own `DatabaseBackupJob` and `BackupVerificationJob` record. The bucket's
//! manifests stay the source of truth: a mirror write that fails is a warning.
//!
//! The two jsonb columns are written in the platform's shapes:
//!
//! - `metadata` (`DatabaseBackupJob`): `pg_version` (the text of `version()`),
//!   `table_row_counts` (`{table: integer}`), `database_size` (the text of
//!   `pg_size_pretty`); plus k12ctl's `backup_id`, `pg_dump_version`, `sha256`
//!   and `tool`. The platform leaves out its `rails_env`, which k12ctl has not.
//! - `verification_result` (`BackupVerificationJob`): `passed`,
//!   `tables_checked`, `mismatches` (table names), `details`
//!   (`{table: {expected, actual, match}}`, with `error` when a table could
//!   not be counted); plus `error` (as the platform writes it when a run
//!   fails before counting), k12ctl's `failed_check` and `duration_seconds`.
//!
//! The extra keys are safe: the platform reads only
//! `metadata["table_row_counts"]` (its verification job) and serializes both
//! columns whole.

use anyhow::Result;
use serde_json::{json, Map, Value};
use tokio_postgres::Client;

use super::backup::{application_name, BackupRequest};
use super::manifest::{BackupManifest, Verification};
use crate::db::{self, records, ConnInfo};
use crate::storage::ObjectStore;

/// The platform's name for a table the manifest names `schema.table`.
///
/// The platform's job keys its counts by ActiveRecord's `connection.tables`:
/// plain names of the tables in the search path, i.e. `public`. k12ctl counts
/// every schema and keys its manifest `schema.table`, so `public.users`
/// becomes `users`, and a table of another schema keeps its qualified name,
/// which stays unambiguous and which Rails' `quote_table_name` splits into
/// `"schema"."table"` if the platform's own verification job counts it.
/// `schema_migrations` and `ar_internal_metadata`, which the platform's job
/// leaves out, are kept: they are in the dump and k12ctl checks them too.
/// A name holding a dot or a quote is quoted in the manifest's key
/// (`public."a.b"`) and keeps its quotes here (`"a.b"`): it cannot be taken
/// for a qualified name (`a.b`), and Rails' `quote_table_name` reads it as
/// the one table it is.
pub fn platform_table_name(qualified: &str) -> &str {
    qualified.strip_prefix("public.").unwrap_or(qualified)
}

/// `metadata` of a completed run; `pg_version` and `database_size` are the
/// server's own texts, as the platform stores them.
pub fn metadata(m: &BackupManifest, pg_version: &str, database_size: &str) -> Value {
    let counts: Map<String, Value> = m
        .table_row_counts
        .iter()
        .map(|(t, n)| (platform_table_name(t).to_owned(), Value::from(*n)))
        .collect();
    json!({
        "pg_version": pg_version,
        "table_row_counts": counts,
        "database_size": database_size,
        "backup_id": m.id,
        "pg_dump_version": m.pg_dump_version,
        "sha256": m.sha256,
        "tool": format!("k12ctl {}", m.tool_version),
    })
}

/// `verification_result` of a verification. `tables_checked` counts the
/// tables of the manifest, as the platform counts the tables of `metadata`;
/// a check that failed before the counts (checksum, restore) checked none.
pub fn verification_result(v: &Verification) -> Value {
    let mut details = Map::new();
    let mut mismatches = Vec::new();
    for (table, c) in &v.tables {
        let name = platform_table_name(table);
        let matched = c.expected == c.actual;
        let mut detail = json!({ "expected": c.expected, "actual": c.actual, "match": matched });
        // Only tampering makes `expected` null: the restored database has
        // exactly the dumped tables.
        let error = match (c.expected, c.actual) {
            (Some(_), None) => Some("missing from the restored database"),
            (None, Some(_)) => Some("not in the backup's manifest"),
            _ => None,
        };
        if let Some(error) = error {
            detail["error"] = error.into();
        }
        if !matched {
            mismatches.push(name.to_owned());
        }
        details.insert(name.to_owned(), detail);
    }
    let mut result = json!({
        "passed": v.passed,
        "tables_checked": v.tables.values().filter(|c| c.expected.is_some()).count(),
        "mismatches": mismatches,
        "details": details,
        "failed_check": v.failed_check,
        "duration_seconds": v.duration_seconds,
    });
    if let Some(error) = &v.error {
        result["error"] = error.as_str().into();
    }
    if !v.skipped_extensions.is_empty() {
        result["skipped_extensions"] = json!(v.skipped_extensions);
    }
    result
}

/// A backup run's row: `in_progress`, then `completed` or `failed`.
pub(super) struct Mirror {
    client: Client,
    record_id: i64,
}

impl Mirror {
    pub(super) async fn start(req: &BackupRequest<'_>, data_key: &str) -> Option<Self> {
        let attempt = async {
            let client = db::connect(req.conn, &application_name("backup run (records)")).await?;
            let (bucket, key) = split_location(&req.store.location(data_key));
            let record_id =
                records::insert_in_progress(&client, req.backup_type, &key, &bucket).await?;
            Ok::<_, anyhow::Error>(Self { client, record_id })
        };
        match attempt.await {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!("not mirroring this run into backup_records: {e:#}");
                None
            }
        }
    }

    pub(super) async fn completed(&self, m: &BackupManifest) {
        let attempt = async {
            let (pg_version, size) = records::server_texts(&self.client, m.database_size).await?;
            let metadata = metadata(m, &pg_version, &size);
            let size = m.compressed_size.unwrap_or_default() as i64;
            // Whole seconds, truncated, as the platform's `.to_i`.
            let secs = m.duration_seconds as i32;
            records::mark_completed(&self.client, self.record_id, size, secs, &metadata).await
        };
        if let Err(e) = attempt.await {
            tracing::warn!("cannot mirror the completed run into backup_records: {e:#}");
        }
    }

    pub(super) async fn failed(&self, error: &str) {
        if let Err(e) = records::mark_failed(&self.client, self.record_id, error).await {
            tracing::warn!("cannot mirror the failed run into backup_records: {e:#}");
        }
    }
}

/// Record `m`'s verification on its row in the source database, if that
/// database has the platform's table.
pub(super) async fn record_verification(
    store: &dyn ObjectStore,
    conn: &ConnInfo,
    m: &BackupManifest,
) -> Result<()> {
    let Some(v) = &m.verification else {
        return Ok(());
    };
    let client = db::connect(conn, &application_name("backup verify (records)")).await?;
    if !records::table_present(&client).await? {
        return Ok(());
    }
    let (_, key) = split_location(&store.location(&m.object_key));
    let result = verification_result(v);
    records::mark_verification(&client, &key, v.passed, &result, v.error.as_deref()).await?;
    Ok(())
}

/// "s3://bucket/prefix/key" -> ("bucket", "prefix/key"); other schemes keep
/// the whole location as the key's place.
pub fn split_location(location: &str) -> (String, String) {
    match location
        .strip_prefix("s3://")
        .and_then(|r| r.split_once('/'))
    {
        Some((bucket, key)) => (bucket.to_owned(), key.to_owned()),
        None => match location.rsplit_once("/backups/") {
            Some((root, rest)) => (root.to_owned(), format!("backups/{rest}")),
            None => (String::new(), location.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;

    use super::*;
    use crate::pipeline::manifest::{BackupStatus, TableCheck};

    #[test]
    fn locations_split_into_bucket_and_key() {
        assert_eq!(
            split_location("s3://k12-backups/prod/backups/2026/11/x.dump.gz"),
            (
                "k12-backups".into(),
                "prod/backups/2026/11/x.dump.gz".into()
            )
        );
        assert_eq!(
            split_location("file:///var/backups/k12/backups/2026/11/x.dump.gz"),
            (
                "file:///var/backups/k12".into(),
                "backups/2026/11/x.dump.gz".into()
            )
        );
    }

    #[test]
    fn metadata_has_the_platform_keys_and_plain_table_names() {
        let mut m = BackupManifest::for_test(Utc::now(), BackupStatus::Completed);
        m.table_row_counts = BTreeMap::from([
            ("public.users".to_owned(), 3),
            ("audit.events".to_owned(), 2),
        ]);
        let v = metadata(&m, "PostgreSQL 16.2 on x86_64", "7901 kB");
        assert_eq!(v["pg_version"], "PostgreSQL 16.2 on x86_64");
        assert_eq!(v["database_size"], "7901 kB");
        assert_eq!(
            v["table_row_counts"],
            json!({ "users": 3, "audit.events": 2 })
        );
        assert_eq!(v["backup_id"], m.id.as_str());
    }

    fn check(expected: Option<i64>, actual: Option<i64>) -> TableCheck {
        TableCheck { expected, actual }
    }

    #[test]
    fn verification_results_have_the_platform_shape() {
        let v = Verification {
            verified_at: Utc::now(),
            passed: false,
            duration_seconds: 2.5,
            failed_check: Some("row_counts".into()),
            error: Some("row counts differ".into()),
            tables: BTreeMap::from([
                ("public.users".to_owned(), check(Some(3), Some(3))),
                ("public.courses".to_owned(), check(Some(9), Some(2))),
                ("public.gone".to_owned(), check(Some(1), None)),
            ]),
            skipped_extensions: Vec::new(),
        };
        let r = verification_result(&v);
        assert_eq!(r["passed"], false);
        assert_eq!(r["tables_checked"], 3);
        assert_eq!(r["mismatches"], json!(["courses", "gone"]));
        assert_eq!(
            r["details"]["users"],
            json!({ "expected": 3, "actual": 3, "match": true })
        );
        assert_eq!(
            r["details"]["courses"],
            json!({ "expected": 9, "actual": 2, "match": false })
        );
        assert_eq!(r["details"]["gone"]["actual"], Value::Null);
        assert_eq!(r["details"]["gone"]["match"], false);
        assert!(r["details"]["gone"]["error"].is_string());
        assert_eq!(r["error"], "row counts differ");
    }

    #[test]
    fn a_verification_that_failed_before_counting_checked_no_table() {
        let v = Verification {
            verified_at: Utc::now(),
            passed: false,
            duration_seconds: 1.0,
            failed_check: Some("sha256".into()),
            error: Some("SHA-256 mismatch".into()),
            tables: BTreeMap::new(),
            skipped_extensions: Vec::new(),
        };
        let r = verification_result(&v);
        assert_eq!(r["tables_checked"], 0);
        assert_eq!(r["mismatches"], json!([]));
        assert_eq!(r["details"], json!({}));
        assert_eq!(r["error"], "SHA-256 mismatch");
    }
}
