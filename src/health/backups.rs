//! The backup catalog as a health check: how old is the newest backup that
//! can be restored (`completed` or `verified`), how old the newest one proven
//! to restore (`verified`), and how many runs failed in the last 30 days (the
//! platform's `BackupService.status_summary`). Read from the manifests in the
//! bucket, so it works while the database is down.

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use super::thresholds::Metric;
use super::{show_value, Finding};
use crate::config::StorageSettings;
use crate::pipeline::catalog::{self, Catalog, FAILED_WINDOW_DAYS};
use crate::pipeline::manifest::{BackupManifest, BackupStatus};
use crate::storage;

/// What the catalog says, as of `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupSummary {
    /// Hours since the newest good backup started; infinity when none.
    pub age_hours: f64,
    pub newest: Option<String>,
    /// Hours since the newest verified backup started; infinity when none.
    pub verified_age_hours: f64,
    pub newest_verified: Option<String>,
    pub failed_30d: u64,
    pub total: usize,
}

pub fn summarize(manifests: &[BackupManifest], now: DateTime<Utc>) -> BackupSummary {
    let hours = |m: &BackupManifest| (now - m.started_at).num_seconds().max(0) as f64 / 3600.0;
    let s = catalog::summarize(manifests, now);
    BackupSummary {
        age_hours: s.latest_backup.map(hours).unwrap_or(f64::INFINITY),
        newest: s.latest_backup.map(|m| m.id.clone()),
        verified_age_hours: s.latest_verified.map(hours).unwrap_or(f64::INFINITY),
        newest_verified: s.latest_verified.map(|m| m.id.clone()),
        failed_30d: s.failed_recently as u64,
        total: s.total,
    }
}

/// Whether the manifests read so far (newest first) decide the summary: the
/// whole failure window is covered, and the newest good and newest verified
/// backups are found.
fn has_enough(read: &[BackupManifest], now: DateTime<Utc>) -> bool {
    let since = now - Duration::days(FAILED_WINDOW_DAYS);
    read.iter().any(|m| m.started_at <= since)
        && read.iter().any(|m| m.status.is_good())
        && read.iter().any(|m| m.status == BackupStatus::Verified)
}

pub(super) async fn check(settings: &StorageSettings) -> Result<Finding> {
    let store = storage::open(settings).await?;
    let now = Utc::now();
    let manifests = Catalog::new(store.as_ref())
        .list_until(&|read| has_enough(read, now))
        .await?;
    let s = summarize(&manifests, now);
    let round = |h: f64| (h * 10.0).round() / 10.0;
    let metrics = vec![
        (Metric::BackupAgeHours, round(s.age_hours)),
        (Metric::BackupVerifiedAgeHours, round(s.verified_age_hours)),
        (Metric::BackupsFailed30d, s.failed_30d as f64),
    ];
    let Some(newest) = &s.newest else {
        return Ok(Finding {
            metrics,
            ..Finding::critical(format!(
                "no completed or verified backup in {} ({} in the catalog; run: k12ctl backup run)",
                store.describe(),
                s.total
            ))
        });
    };
    let verified = match &s.newest_verified {
        Some(id) => format!(
            "newest verified {} h old ({id})",
            show_value(round(s.verified_age_hours))
        ),
        None => "none verified (run: k12ctl backup verify --latest)".to_owned(),
    };
    Ok(Finding {
        metrics,
        ..Finding::healthy(format!(
            "newest backup {} h old ({newest}), {verified}, {} failed in {FAILED_WINDOW_DAYS} days",
            show_value(round(s.age_hours)),
            s.failed_30d
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(
        id: &str,
        status: BackupStatus,
        hours_ago: i64,
        now: DateTime<Utc>,
    ) -> BackupManifest {
        let mut m = BackupManifest::for_test(now - Duration::hours(hours_ago), status);
        m.id = id.into();
        m
    }

    #[test]
    fn ages_count_only_restorable_backups() {
        let now = Utc::now();
        let all = [
            manifest("a", BackupStatus::Failed, 1, now),
            manifest("b", BackupStatus::VerificationFailed, 2, now),
            manifest("c", BackupStatus::Completed, 30, now),
            manifest("d", BackupStatus::Verified, 50, now),
            manifest("e", BackupStatus::Failed, 24 * 31, now),
        ];
        let s = summarize(&all, now);
        assert_eq!(s.newest.as_deref(), Some("c"));
        assert_eq!(s.age_hours, 30.0);
        assert_eq!(s.newest_verified.as_deref(), Some("d"));
        assert_eq!(s.verified_age_hours, 50.0);
        assert_eq!(s.failed_30d, 1);
    }

    #[test]
    fn reading_stops_once_the_window_and_both_ages_are_known() {
        let now = Utc::now();
        let recent = [
            manifest("a", BackupStatus::Completed, 1, now),
            manifest("b", BackupStatus::Verified, 24, now),
        ];
        assert!(
            !has_enough(&recent, now),
            "the 30-day window is not covered"
        );
        let mut all = recent.to_vec();
        all.push(manifest("c", BackupStatus::Failed, 24 * 31, now));
        assert!(has_enough(&all, now));
        let unverified = [
            manifest("a", BackupStatus::Completed, 1, now),
            manifest("c", BackupStatus::Completed, 24 * 31, now),
        ];
        assert!(
            !has_enough(&unverified, now),
            "keep looking for a verified one"
        );
    }

    #[tokio::test]
    async fn the_catalog_is_read_newest_first_and_only_as_far_as_needed() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::storage::LocalStore::new(dir.path().to_owned());
        let catalog = Catalog::new(&store);
        let now = Utc::now();
        for day in 0..40 {
            let started = now - Duration::days(day);
            let id = crate::pipeline::manifest::backup_id("full", started, 1);
            let (data, _) =
                crate::pipeline::manifest::keys_for_id(&id, crate::pipeline::codec::Codec::Gzip)
                    .unwrap();
            let mut m = manifest(&id, BackupStatus::Verified, day * 24, now);
            m.object_key = data;
            catalog.save(&m).await.unwrap();
        }
        let read = catalog.list_until(&|r| has_enough(r, now)).await.unwrap();
        assert!(read.len() < 40, "stopped early: {}", read.len());
        assert!(read.len() >= 31, "covered 30 days: {}", read.len());
        assert!(read.windows(2).all(|w| w[0].started_at >= w[1].started_at));
        assert_eq!(catalog.list_until(&|_| false).await.unwrap().len(), 40);
    }

    #[test]
    fn an_empty_catalog_has_infinitely_old_backups() {
        let s = summarize(&[], Utc::now());
        assert!(s.age_hours.is_infinite() && s.verified_age_hours.is_infinite());
        assert_eq!(s.newest, None);
    }
}
