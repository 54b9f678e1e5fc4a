//! Which backups a retention policy keeps, and why. Pure: no storage, no
//! clock (the caller passes `now`), so every rule is unit-tested.
//!
//! Rules, in the spirit of restic's `forget`:
//! - only `completed` and `verified` backups count towards `keep-last`,
//!   `keep-daily/weekly/monthly` and `keep-within`, so a run of failures can
//!   never push the last good backup out;
//! - the newest verified and the newest completed backup are always kept;
//! - `failed` and `verification_failed` runs are removed once older than
//!   `keep_failed_days`;
//! - a policy that keeps nothing is refused.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use super::manifest::{BackupManifest, BackupStatus};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub keep_last: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_within: Option<chrono::Duration>,
    pub keep_failed_days: u32,
}

pub const DEFAULT_KEEP_FAILED_DAYS: u32 = 30;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the retention policy is empty: set at least one of --keep-last, --keep-daily, \
     --keep-weekly, --keep-monthly, --keep-within (or retention: in the config file)"
)]
pub struct EmptyPolicy;

impl Policy {
    fn is_empty(&self) -> bool {
        let zero = |n: Option<u32>| n.unwrap_or(0) == 0;
        zero(self.keep_last)
            && zero(self.keep_daily)
            && zero(self.keep_weekly)
            && zero(self.keep_monthly)
            && self
                .keep_within
                .is_none_or(|d| d <= chrono::Duration::zero())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub id: String,
    pub status: BackupStatus,
    pub started_at: DateTime<Utc>,
    pub keep: bool,
    pub reasons: Vec<String>,
}

/// Decide for every manifest (any order). The result is newest first.
pub fn select(
    manifests: &[BackupManifest],
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<Decision>, EmptyPolicy> {
    if policy.is_empty() {
        return Err(EmptyPolicy);
    }
    let mut sorted: Vec<&BackupManifest> = manifests.iter().collect();
    sorted.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    let mut decisions: Vec<Decision> = sorted
        .iter()
        .map(|m| Decision {
            id: m.id.clone(),
            status: m.status,
            started_at: m.started_at,
            keep: false,
            reasons: Vec::new(),
        })
        .collect();
    let good: Vec<usize> = (0..sorted.len())
        .filter(|&i| sorted[i].status.is_good())
        .collect();

    if let Some(n) = policy.keep_last {
        for &i in good.iter().take(n as usize) {
            decisions[i].reasons.push(format!("last {n}"));
        }
    }
    type BucketKey = fn(DateTime<Utc>) -> String;
    let buckets: [(Option<u32>, &str, BucketKey); 3] = [
        (policy.keep_daily, "daily", |t| {
            t.format("%Y-%m-%d").to_string()
        }),
        (policy.keep_weekly, "weekly", |t| {
            let w = t.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }),
        (policy.keep_monthly, "monthly", |t| {
            t.format("%Y-%m").to_string()
        }),
    ];
    for (count, name, key) in buckets {
        let Some(count) = count else { continue };
        let mut seen = HashSet::new();
        for &i in &good {
            if seen.len() >= count as usize {
                break;
            }
            let bucket = key(sorted[i].started_at);
            if seen.insert(bucket.clone()) {
                decisions[i].reasons.push(format!("{name} {bucket}"));
            }
        }
    }
    if let Some(within) = policy.keep_within {
        for &i in &good {
            if now - sorted[i].started_at <= within {
                decisions[i]
                    .reasons
                    .push(format!("within {}", human(within)));
            }
        }
    }
    for (status, reason) in [
        (BackupStatus::Verified, "newest verified"),
        (BackupStatus::Completed, "newest completed"),
    ] {
        if let Some(i) = (0..sorted.len()).find(|&i| sorted[i].status == status) {
            decisions[i].reasons.push(reason.to_owned());
        }
    }
    let failed_horizon = chrono::Duration::days(i64::from(policy.keep_failed_days));
    for (i, m) in sorted.iter().enumerate() {
        if !m.status.is_good() && now - m.started_at <= failed_horizon {
            decisions[i].reasons.push(format!(
                "{} within {} days",
                m.status.as_str(),
                policy.keep_failed_days
            ));
        }
    }
    for d in &mut decisions {
        d.keep = !d.reasons.is_empty();
        if !d.keep {
            d.reasons.push(if d.status.is_good() {
                "not selected by the policy".to_owned()
            } else {
                format!(
                    "{} older than {} days",
                    d.status.as_str(),
                    policy.keep_failed_days
                )
            });
        }
    }
    Ok(decisions)
}

fn human(d: chrono::Duration) -> String {
    let secs = d.num_seconds();
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::manifest::backup_id;
    use chrono::TimeZone;

    fn backup(started: DateTime<Utc>, status: BackupStatus) -> BackupManifest {
        BackupManifest::for_test(started, status)
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    fn kept(decisions: &[Decision]) -> Vec<String> {
        decisions
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.id.clone())
            .collect()
    }

    fn nightly(days: std::ops::RangeInclusive<u32>, status: BackupStatus) -> Vec<BackupManifest> {
        days.map(|d| backup(at(d, 2), status)).collect()
    }

    #[test]
    fn an_empty_policy_is_refused() {
        let all = nightly(1..=3, BackupStatus::Completed);
        let policy = Policy {
            keep_failed_days: 30,
            ..Policy::default()
        };
        assert_eq!(select(&all, &policy, at(4, 0)), Err(EmptyPolicy));
        let zeros = Policy {
            keep_last: Some(0),
            keep_daily: Some(0),
            ..policy
        };
        assert_eq!(select(&all, &zeros, at(4, 0)), Err(EmptyPolicy));
    }

    #[test]
    fn keep_last_counts_only_good_backups() {
        let mut all = nightly(1..=5, BackupStatus::Completed);
        all.extend((6..=15).map(|d| backup(at(d, 2), BackupStatus::Failed)));
        let policy = Policy {
            keep_last: Some(2),
            keep_failed_days: 3,
            ..Policy::default()
        };
        let d = select(&all, &policy, at(16, 0)).unwrap();
        let kept = kept(&d);
        // Ten days of failures do not eat the last good backups.
        assert!(kept.contains(&backup_id("full", at(5, 2), 1)));
        assert!(kept.contains(&backup_id("full", at(4, 2), 1)));
        assert!(!kept.contains(&backup_id("full", at(3, 2), 1)));
        // Failures inside the window stay, older ones go.
        assert!(kept.contains(&backup_id("full", at(14, 2), 1)));
        assert!(!kept.contains(&backup_id("full", at(10, 2), 1)));
        let removed = d
            .iter()
            .find(|d| d.id == backup_id("full", at(10, 2), 1))
            .unwrap();
        assert_eq!(removed.reasons, vec!["failed older than 3 days".to_owned()]);
    }

    #[test]
    fn daily_keeps_the_newest_of_each_day() {
        let all = vec![
            backup(at(10, 2), BackupStatus::Completed),
            backup(at(10, 14), BackupStatus::Completed),
            backup(at(11, 2), BackupStatus::Completed),
            backup(at(12, 2), BackupStatus::Completed),
            backup(at(12, 20), BackupStatus::Completed),
        ];
        let policy = Policy {
            keep_daily: Some(2),
            keep_failed_days: 30,
            ..Policy::default()
        };
        let d = select(&all, &policy, at(13, 0)).unwrap();
        assert_eq!(
            kept(&d),
            vec![
                backup_id("full", at(12, 20), 1),
                backup_id("full", at(11, 2), 1)
            ]
        );
        assert_eq!(d[0].reasons, vec!["daily 2026-11-12", "newest completed"]);
    }

    #[test]
    fn weekly_and_monthly_buckets() {
        // Nightly from 2026-09-01 to 2026-11-30.
        let start = Utc.with_ymd_and_hms(2026, 9, 1, 2, 0, 0).unwrap();
        let all: Vec<_> = (0..91)
            .map(|i| backup(start + chrono::Duration::days(i), BackupStatus::Completed))
            .collect();
        let now = start + chrono::Duration::days(91);
        let weekly = Policy {
            keep_weekly: Some(4),
            keep_failed_days: 30,
            ..Policy::default()
        };
        let d = select(&all, &weekly, now).unwrap();
        // Four distinct ISO weeks; each keeps its newest (latest) day.
        let weeks: Vec<_> = d
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.started_at.iso_week().week())
            .collect();
        assert_eq!(weeks.len(), 4);
        assert!(weeks.windows(2).all(|w| w[0] != w[1]));
        let monthly = Policy {
            keep_monthly: Some(3),
            keep_failed_days: 30,
            ..Policy::default()
        };
        let d = select(&all, &monthly, now).unwrap();
        let months: Vec<_> = d
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.started_at.format("%Y-%m-%d").to_string())
            .collect();
        assert_eq!(months, vec!["2026-11-30", "2026-10-31", "2026-09-30"]);
    }

    #[test]
    fn the_newest_verified_and_completed_are_always_kept() {
        let mut all = nightly(1..=3, BackupStatus::Verified);
        all.extend(nightly(4..=6, BackupStatus::Completed));
        all.push(backup(at(7, 2), BackupStatus::VerificationFailed));
        let policy = Policy {
            keep_within: Some(chrono::Duration::hours(1)),
            keep_failed_days: 0,
            ..Policy::default()
        };
        let d = select(&all, &policy, at(20, 0)).unwrap();
        assert_eq!(
            kept(&d),
            vec![
                backup_id("full", at(6, 2), 1),
                backup_id("full", at(3, 2), 1)
            ]
        );
    }

    #[test]
    fn keep_within_uses_the_given_now() {
        let all = nightly(1..=10, BackupStatus::Completed);
        let policy = Policy {
            keep_within: Some(chrono::Duration::days(3)),
            keep_failed_days: 30,
            ..Policy::default()
        };
        let d = select(&all, &policy, at(10, 12)).unwrap();
        assert_eq!(kept(&d).len(), 3);
        assert!(d[0].reasons.contains(&"within 3d".to_owned()));
    }
}
