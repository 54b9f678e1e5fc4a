//! The metrics `health` measures and the warning / critical levels that turn
//! a value into a verdict. Every metric is "higher is worse": a value at or
//! above a level reaches it. The defaults are documented in the README (with
//! where each comes from) and can be overridden under `health.thresholds` in
//! the YAML file; a level set to `null` is switched off.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CheckName, Status};

/// One measured quantity. Where the platform's `GET /api/v1/admin/operations/health`
/// has a metric of the same meaning (`db_response_time`, `sidekiq_queue_depth`,
/// `backup_age_hours`), its name and unit are used; the others have names of
/// their own, so that a dashboard never shows two meanings under one name
/// (`PLATFORM_ONLY_KEYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Client connections to the server, percent of `max_connections`
    /// (not the platform's `db_connection_pool`, one app's ActiveRecord pool).
    DbConnectionsPercent,
    /// `SELECT 1` round trip, milliseconds.
    DbResponseTime,
    /// Redis `PING` round trip, milliseconds.
    RedisResponseTime,
    /// Redis `used_memory`, percent of `maxmemory` (of the host's memory when unset)
    /// (not the platform's `memory_usage_percent`, the app host's memory).
    RedisMemoryPercent,
    /// Jobs waiting in all Sidekiq queues.
    SidekiqQueueDepth,
    /// Age of the oldest job waiting in any queue, seconds (not the platform's
    /// `sidekiq_latency`, the `default` queue alone).
    SidekiqMaxLatency,
    /// Jobs in Sidekiq's retry set.
    SidekiqRetrySize,
    /// Jobs in Sidekiq's dead set.
    SidekiqDeadSize,
    /// Age of the newest completed or verified backup, hours.
    BackupAgeHours,
    /// Age of the newest verified backup, hours.
    BackupVerifiedAgeHours,
    /// Failed backup runs started in the last 30 days.
    #[serde(rename = "backups_failed_30d")]
    BackupsFailed30d,
}

/// Keys of the platform's health `metrics` whose meaning k12ctl does not
/// measure: `db_connection_pool` is one app process's ActiveRecord pool
/// (busy / size), `memory_usage_percent` the app host's memory, and
/// `sidekiq_latency` the `default` queue alone. A full report carries them as
/// `null`, so readers of the platform's shape find every key and no number
/// that means something else.
pub const PLATFORM_ONLY_KEYS: [&str; 3] = [
    "db_connection_pool",
    "memory_usage_percent",
    "sidekiq_latency",
];

/// `health.thresholds` keys of earlier k12ctl builds, which named these
/// metrics after the platform's keys of other meanings. Still accepted, with
/// a warning.
const DEPRECATED_KEYS: [(&str, Metric); 3] = [
    ("db_connection_pool", Metric::DbConnectionsPercent),
    ("memory_usage_percent", Metric::RedisMemoryPercent),
    ("sidekiq_latency", Metric::SidekiqMaxLatency),
];

impl Metric {
    pub const ALL: [Metric; 11] = [
        Metric::DbConnectionsPercent,
        Metric::DbResponseTime,
        Metric::RedisResponseTime,
        Metric::RedisMemoryPercent,
        Metric::SidekiqQueueDepth,
        Metric::SidekiqMaxLatency,
        Metric::SidekiqRetrySize,
        Metric::SidekiqDeadSize,
        Metric::BackupAgeHours,
        Metric::BackupVerifiedAgeHours,
        Metric::BackupsFailed30d,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::DbConnectionsPercent => "db_connections_percent",
            Self::DbResponseTime => "db_response_time",
            Self::RedisResponseTime => "redis_response_time",
            Self::RedisMemoryPercent => "redis_memory_percent",
            Self::SidekiqQueueDepth => "sidekiq_queue_depth",
            Self::SidekiqMaxLatency => "sidekiq_max_latency",
            Self::SidekiqRetrySize => "sidekiq_retry_size",
            Self::SidekiqDeadSize => "sidekiq_dead_size",
            Self::BackupAgeHours => "backup_age_hours",
            Self::BackupVerifiedAgeHours => "backup_verified_age_hours",
            Self::BackupsFailed30d => "backups_failed_30d",
        }
    }

    /// The metric of a name, as in the report and `health.thresholds`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The unit of the value, as shown next to it.
    pub fn unit(self) -> &'static str {
        match self {
            Self::DbConnectionsPercent | Self::RedisMemoryPercent => "%",
            Self::DbResponseTime | Self::RedisResponseTime => "ms",
            Self::SidekiqMaxLatency => "s",
            Self::BackupAgeHours | Self::BackupVerifiedAgeHours => "h",
            Self::SidekiqQueueDepth | Self::SidekiqRetrySize | Self::SidekiqDeadSize => "jobs",
            Self::BackupsFailed30d => "runs",
        }
    }

    /// Whether the value is a number of things (shown as an integer).
    pub fn is_count(self) -> bool {
        matches!(
            self,
            Self::SidekiqQueueDepth
                | Self::SidekiqRetrySize
                | Self::SidekiqDeadSize
                | Self::BackupsFailed30d
        )
    }

    /// The check that measures it.
    pub fn check(self) -> CheckName {
        match self {
            Self::DbConnectionsPercent | Self::DbResponseTime => CheckName::Database,
            Self::RedisResponseTime | Self::RedisMemoryPercent => CheckName::Redis,
            Self::SidekiqQueueDepth
            | Self::SidekiqMaxLatency
            | Self::SidekiqRetrySize
            | Self::SidekiqDeadSize => CheckName::Sidekiq,
            Self::BackupAgeHours | Self::BackupVerifiedAgeHours | Self::BackupsFailed30d => {
                CheckName::Backups
            }
        }
    }

    /// The built-in levels (README, "Thresholds", says why each).
    pub fn default_threshold(self) -> Threshold {
        let (warning, critical) = match self {
            Self::DbConnectionsPercent => (75.0, 90.0),
            Self::DbResponseTime => (100.0, 1000.0),
            Self::RedisResponseTime => (100.0, 1000.0),
            Self::RedisMemoryPercent => (80.0, 90.0),
            Self::SidekiqQueueDepth => (1_000.0, 10_000.0),
            // UptimeMonitorJob runs every 2 minutes, AlertEvaluationJob every 5.
            Self::SidekiqMaxLatency => (120.0, 600.0),
            Self::SidekiqRetrySize => (100.0, 1_000.0),
            // Sidekiq trims the dead set at 10,000 jobs: near it, evidence is lost.
            Self::SidekiqDeadSize => (1_000.0, 9_000.0),
            // Nightly backup at 02:00: one missed night is a warning, two critical.
            Self::BackupAgeHours => (26.0, 48.0),
            // The platform verifies every backup right after it completes.
            Self::BackupVerifiedAgeHours => (48.0, 168.0),
            Self::BackupsFailed30d => (3.0, 7.0),
        };
        Threshold {
            warning: Some(warning),
            critical: Some(critical),
        }
    }
}

/// The two levels of one metric; `None` switches a level off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
}

impl Threshold {
    /// The verdict for a value. Infinity (nothing found: no backup at all)
    /// reaches every level that is on.
    pub fn evaluate(&self, value: f64) -> Status {
        if self.critical.is_some_and(|c| value >= c) {
            Status::Critical
        } else if self.warning.is_some_and(|w| value >= w) {
            Status::Warning
        } else {
            Status::Healthy
        }
    }

    /// The level a status was reached at, for messages.
    pub fn level(&self, status: Status) -> Option<f64> {
        match status {
            Status::Critical => self.critical,
            Status::Warning => self.warning,
            _ => None,
        }
    }
}

/// Levels for every metric: the defaults with the file's overrides applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    levels: BTreeMap<Metric, Threshold>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            levels: Metric::ALL
                .iter()
                .map(|m| (*m, m.default_threshold()))
                .collect(),
        }
    }
}

/// One metric's levels in the YAML file. A missing key keeps the default;
/// `null` switches the level off.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdFile {
    #[serde(default, deserialize_with = "present")]
    pub warning: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    pub critical: Option<Option<f64>>,
}

/// Tells "key absent" (outer `None`, via `default`) from "key: null".
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

/// The `health.thresholds` section by metric, and a warning for each
/// deprecated key. Unknown keys, and a metric set under both its names, are
/// errors that name the key.
pub fn threshold_keys(
    file: &BTreeMap<String, ThresholdFile>,
) -> Result<(BTreeMap<Metric, ThresholdFile>, Vec<String>), String> {
    let mut by_metric = BTreeMap::new();
    let mut warnings = Vec::new();
    for (key, levels) in file {
        let metric = match Metric::from_name(key) {
            Some(m) => m,
            None => {
                let (_, m) = DEPRECATED_KEYS
                    .iter()
                    .find(|(old, _)| old == key)
                    .ok_or_else(|| {
                        let known: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
                        format!(
                            "health.thresholds.{key}: unknown metric (known: {})",
                            known.join(", ")
                        )
                    })?;
                warnings.push(format!(
                    "health.thresholds.{key} is deprecated: rename it to {} (the platform's \
                     {key} measures something else)",
                    m.name()
                ));
                *m
            }
        };
        if by_metric.insert(metric, *levels).is_some() {
            return Err(format!(
                "health.thresholds: {} is set twice (under its deprecated name too); keep {}",
                metric.name(),
                metric.name()
            ));
        }
    }
    Ok((by_metric, warnings))
}

impl Thresholds {
    pub fn get(&self, metric: Metric) -> Threshold {
        self.levels
            .get(&metric)
            .copied()
            .unwrap_or_else(|| metric.default_threshold())
    }

    /// The defaults with `overrides` applied, checked: levels are finite and
    /// not negative, and warning never lies above critical.
    pub fn with_overrides(overrides: &BTreeMap<Metric, ThresholdFile>) -> Result<Self, String> {
        let mut t = Self::default();
        for (metric, file) in overrides {
            let level = t
                .levels
                .entry(*metric)
                .or_insert(metric.default_threshold());
            if let Some(w) = file.warning {
                level.warning = w;
            }
            if let Some(c) = file.critical {
                level.critical = c;
            }
            let name = metric.name();
            for v in [level.warning, level.critical].into_iter().flatten() {
                if !v.is_finite() || v < 0.0 {
                    return Err(format!(
                        "health.thresholds.{name}: levels must be numbers >= 0, not {v}"
                    ));
                }
            }
            if let (Some(w), Some(c)) = (level.warning, level.critical) {
                if w > c {
                    return Err(format!(
                        "health.thresholds.{name}: warning ({w}) is above critical ({c})"
                    ));
                }
            }
        }
        Ok(t)
    }

    /// The metrics whose levels differ from the defaults.
    pub fn overridden(&self) -> Vec<(Metric, Threshold)> {
        self.levels
            .iter()
            .filter(|(m, t)| m.default_threshold() != **t)
            .map(|(m, t)| (*m, *t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_reached_at_or_above() {
        let t = Metric::BackupAgeHours.default_threshold();
        assert_eq!(t.evaluate(2.0), Status::Healthy);
        assert_eq!(t.evaluate(26.0), Status::Warning);
        assert_eq!(t.evaluate(30.0), Status::Warning);
        assert_eq!(t.evaluate(48.0), Status::Critical);
        assert_eq!(t.evaluate(f64::INFINITY), Status::Critical);
    }

    #[test]
    fn overrides_keep_the_other_level_and_can_switch_one_off() {
        let file: BTreeMap<Metric, ThresholdFile> = yaml_serde::from_str(
            "backup_age_hours: {warning: 40}\nbackups_failed_30d: {critical: null}\n",
        )
        .unwrap();
        let t = Thresholds::with_overrides(&file).unwrap();
        let age = t.get(Metric::BackupAgeHours);
        assert_eq!((age.warning, age.critical), (Some(40.0), Some(48.0)));
        let failed = t.get(Metric::BackupsFailed30d);
        assert_eq!(failed.critical, None);
        assert_eq!(failed.evaluate(100.0), Status::Warning);
        assert_eq!(t.overridden().len(), 2);
    }

    #[test]
    fn inverted_or_negative_levels_are_rejected() {
        let file: BTreeMap<Metric, ThresholdFile> =
            yaml_serde::from_str("db_connections_percent: {warning: 95, critical: 90}\n").unwrap();
        let err = Thresholds::with_overrides(&file).unwrap_err();
        assert!(err.contains("above critical"), "{err}");
        let file: BTreeMap<Metric, ThresholdFile> =
            yaml_serde::from_str("sidekiq_max_latency: {warning: -1}\n").unwrap();
        assert!(Thresholds::with_overrides(&file).is_err());
    }

    fn keys(yaml: &str) -> Result<(BTreeMap<Metric, ThresholdFile>, Vec<String>), String> {
        threshold_keys(&yaml_serde::from_str(yaml).unwrap())
    }

    #[test]
    fn unknown_metric_names_are_rejected() {
        let err = keys("backup_age: {warning: 1}\n").unwrap_err();
        assert!(err.contains("health.thresholds.backup_age"), "{err}");
        assert!(err.contains("backup_age_hours"), "the known names: {err}");
    }

    #[test]
    fn the_platforms_names_of_other_meanings_are_deprecated_aliases() {
        let (levels, warnings) = keys(
            "db_connection_pool: {warning: 60}\nmemory_usage_percent: {critical: 95}\n\
             sidekiq_latency: {warning: 30}\nbackup_age_hours: {warning: 30}\n",
        )
        .unwrap();
        assert_eq!(
            levels[&Metric::DbConnectionsPercent].warning,
            Some(Some(60.0))
        );
        assert_eq!(
            levels[&Metric::RedisMemoryPercent].critical,
            Some(Some(95.0))
        );
        assert_eq!(levels[&Metric::SidekiqMaxLatency].warning, Some(Some(30.0)));
        assert_eq!(levels.len(), 4);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("db_connection_pool is deprecated")
                && warnings[0].contains("db_connections_percent"),
            "{warnings:?}"
        );
        let err = keys("sidekiq_latency: {warning: 30}\nsidekiq_max_latency: {warning: 40}\n")
            .unwrap_err();
        assert!(err.contains("sidekiq_max_latency is set twice"), "{err}");
        for key in PLATFORM_ONLY_KEYS {
            assert!(Metric::from_name(key).is_none(), "{key} is not k12ctl's");
        }
    }
}
