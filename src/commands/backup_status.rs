//! `backup status`: the platform's backup status summary, read from the
//! catalog in the bucket, so it answers while the database is down.
//!
//! The JSON is the body of the platform's `GET /api/v1/admin/backups/status`
//! (what its admin pages and monitors read): `latest_backup` with `id`,
//! `status`, `created_at`, `size_bytes`, `duration_seconds`; `latest_verified`
//! with `id`, `status`, `verified_at`; `total_backups`; `failed_count`, the
//! failed runs of the last 30 days. Two differences are unavoidable: `id` is
//! the backup id of the catalog (`k12_full_...`), a string, since the bucket
//! has no database ids; `created_at` is the manifest's start time. Times are
//! written as Rails writes them (`2026-11-22T02:00:00.000Z`).
//! (`BackupService.status_summary` names the count `failed_last_30_days` and
//! embeds whole records, but the endpoint does not use it.)

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use super::Context;
use crate::output::printer::Style;
use crate::output::tables::{self, status_cell};
use crate::output::Report;
use crate::pipeline::catalog::{self, Catalog, CatalogSummary, FAILED_WINDOW_DAYS};
use crate::pipeline::manifest::{BackupManifest, BackupStatus};

pub async fn run(ctx: &Context) -> Result<()> {
    let store = ctx.store().await?;
    let manifests = Catalog::new(store.as_ref()).list().await?;
    let now = Utc::now();
    let summary = catalog::summarize(&manifests, now);
    ctx.printer
        .print(&StatusReport::new(&summary, store.describe(), now))
}

#[derive(Serialize)]
struct StatusReport {
    latest_backup: Option<LatestBackup>,
    latest_verified: Option<LatestVerified>,
    total_backups: usize,
    failed_count: usize,
    /// For the human rendering only: the platform's body has neither.
    #[serde(skip)]
    storage: String,
    #[serde(skip)]
    now: DateTime<Utc>,
    #[serde(skip)]
    newest: Vec<BackupManifest>,
}

/// `latest&.as_json(only: [:id, :status, :created_at, :size_bytes, :duration_seconds])`
#[derive(Serialize)]
struct LatestBackup {
    id: String,
    status: BackupStatus,
    #[serde(serialize_with = "rails_time")]
    created_at: DateTime<Utc>,
    size_bytes: Option<u64>,
    /// Whole seconds, truncated, as the platform's `.to_i`.
    duration_seconds: i64,
}

/// `latest_verified&.as_json(only: [:id, :status, :verified_at])`
#[derive(Serialize)]
struct LatestVerified {
    id: String,
    status: BackupStatus,
    #[serde(serialize_with = "rails_time_opt")]
    verified_at: Option<DateTime<Utc>>,
}

impl StatusReport {
    fn new(s: &CatalogSummary<'_>, storage: String, now: DateTime<Utc>) -> Self {
        let mut newest: Vec<BackupManifest> = Vec::new();
        for m in [s.latest_backup, s.latest_verified].into_iter().flatten() {
            if !newest.iter().any(|n| n.id == m.id) {
                newest.push(m.clone());
            }
        }
        Self {
            latest_backup: s.latest_backup.map(|m| LatestBackup {
                id: m.id.clone(),
                status: m.status,
                created_at: m.started_at,
                size_bytes: m.compressed_size,
                duration_seconds: m.duration_seconds as i64,
            }),
            latest_verified: s.latest_verified.map(|m| LatestVerified {
                id: m.id.clone(),
                status: m.status,
                verified_at: m.verification.as_ref().map(|v| v.verified_at),
            }),
            total_backups: s.total,
            failed_count: s.failed_recently,
            storage,
            now,
            newest,
        }
    }
}

impl Report for StatusReport {
    fn human(&self, style: &Style) -> String {
        let counts = format!(
            "{} backup(s) in {}, {} failed in the last {FAILED_WINDOW_DAYS} days",
            self.total_backups, self.storage, self.failed_count
        );
        if self.newest.is_empty() {
            return format!("{counts}; none completed or verified (run: k12ctl backup run)");
        }
        let mut t = tables::table([
            "",
            "ID",
            "STATUS",
            "STARTED (UTC)",
            "AGE",
            "SIZE",
            "DURATION",
            "VERIFIED (UTC)",
        ]);
        let latest = self.latest_backup.as_ref().map(|b| b.id.as_str());
        let verified = self.latest_verified.as_ref().map(|v| v.id.as_str());
        for m in &self.newest {
            let role = match (
                Some(m.id.as_str()) == latest,
                Some(m.id.as_str()) == verified,
            ) {
                (true, true) => "latest backup, latest verified",
                (true, false) => "latest backup",
                _ => "latest verified",
            };
            t.add_row(vec![
                role.into(),
                m.id.clone().into(),
                status_cell(m.status.as_str(), style),
                m.started_at.format("%Y-%m-%d %H:%M:%S").to_string().into(),
                tables::age(m.started_at, self.now).into(),
                m.compressed_size
                    .map(tables::bytes)
                    .unwrap_or_else(|| "-".into())
                    .into(),
                tables::duration(m.duration_seconds).into(),
                m.verification
                    .as_ref()
                    .map(|v| v.verified_at.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into())
                    .into(),
            ]);
        }
        if verified.is_none() {
            t.add_row(vec![
                "latest verified",
                "none (run: k12ctl backup verify --latest)",
            ]);
        }
        format!("{counts}\n{t}")
    }
}

/// A time as Rails renders it in JSON: UTC, milliseconds, `Z`.
fn rails_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

fn rails_time_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rails_time(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::pipeline::manifest::Verification;

    #[test]
    fn the_json_is_the_platform_endpoint_body() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let started = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        let mut verified = BackupManifest::for_test(started, BackupStatus::Verified);
        verified.duration_seconds = 61.9;
        verified.verification = Some(Verification {
            verified_at: started + chrono::Duration::milliseconds(90_250),
            passed: true,
            duration_seconds: 3.0,
            failed_check: None,
            error: None,
            tables: Default::default(),
            skipped_extensions: Vec::new(),
        });
        let all = [verified];
        let report = StatusReport::new(&catalog::summarize(&all, now), "s3://b/p".into(), now);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "latest_backup": {
                    "id": "k12_full_20261122_020000", "status": "verified",
                    "created_at": "2026-11-22T02:00:00.000Z", "size_bytes": 1,
                    "duration_seconds": 61
                },
                "latest_verified": {
                    "id": "k12_full_20261122_020000", "status": "verified",
                    "verified_at": "2026-11-22T02:01:30.250Z"
                },
                "total_backups": 1,
                "failed_count": 0
            })
        );
        let text = report.human(&Style { color: false });
        assert!(text.contains("latest backup, latest verified"), "{text}");
    }
}
