//! Platform health: the checks of the platform's `SystemHealthService`
//! (database, redis, sidekiq, storage, ai_gateway) plus the backup catalog,
//! run concurrently, each under its own time limit, and a report in the shape
//! of the platform's `GET /api/v1/admin/operations/health`.
//!
//! A check measures and says what it found (`Finding`); the thresholds then
//! turn its metrics into verdicts. Whatever hangs, `run` returns within the
//! largest time limit plus one second, and nothing left behind holds the
//! process at exit (`detached`). No clap, no output code here.

mod backups;
mod checks;
pub mod prometheus;
pub mod settings;
mod sidekiq;
pub mod thresholds;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::StorageSettings;
use crate::db::ConnInfo;
use crate::secret::Secret;
use settings::HealthSettings;
use thresholds::{Metric, Thresholds, PLATFORM_ONLY_KEYS};

/// How long `run` waits past the largest time limit before giving up on a
/// check that ignores its own.
pub const GRACE: Duration = Duration::from_secs(1);

/// A verdict. Ordered from least to most severe; `Skipped` (an optional
/// dependency that is not configured) never makes the whole worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Skipped,
    Healthy,
    Warning,
    Critical,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skipped => "skipped",
            Self::Healthy => "healthy",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// The checks, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    Database,
    Redis,
    Sidekiq,
    Storage,
    AiGateway,
    Backups,
}

impl CheckName {
    pub const ALL: [CheckName; 6] = [
        CheckName::Database,
        CheckName::Redis,
        CheckName::Sidekiq,
        CheckName::Storage,
        CheckName::AiGateway,
        CheckName::Backups,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Redis => "redis",
            Self::Sidekiq => "sidekiq",
            Self::Storage => "storage",
            Self::AiGateway => "ai_gateway",
            Self::Backups => "backups",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to check and where. Unset optional dependencies (`redis_url`,
/// `ai_gateway_url`) make their checks `skipped`.
#[derive(Debug, Clone)]
pub struct HealthPlan {
    pub checks: Vec<CheckName>,
    pub database: Option<ConnInfo>,
    pub storage: Option<StorageSettings>,
    pub redis_url: Option<Secret<String>>,
    pub ai_gateway_url: Option<url::Url>,
    pub settings: HealthSettings,
}

impl HealthPlan {
    /// The bound on a whole run: the largest time limit plus `GRACE`.
    pub fn deadline(&self) -> Duration {
        let largest = self
            .checks
            .iter()
            .map(|c| self.settings.timeout_for(*c))
            .max()
            .unwrap_or_default();
        largest + GRACE
    }
}

/// What one check found, before the thresholds are applied.
#[derive(Debug, Clone, Default)]
pub struct Finding {
    /// The check's own verdict (a degraded gateway is a warning).
    pub status: Option<Status>,
    pub detail: String,
    pub error: Option<String>,
    /// The probe's round trip, when the check has one (PING, SELECT 1).
    pub latency: Option<Duration>,
    /// Sidekiq's total queue depth (the platform's `enqueued`).
    pub enqueued: Option<u64>,
    /// Measured values; infinity means "none found" (no backup at all).
    pub metrics: Vec<(Metric, f64)>,
}

impl Finding {
    pub fn healthy(detail: impl Into<String>) -> Self {
        Self {
            status: Some(Status::Healthy),
            detail: detail.into(),
            ..Self::default()
        }
    }

    pub fn critical(error: impl Into<String>) -> Self {
        let error = error.into();
        Self {
            status: Some(Status::Critical),
            detail: error.clone(),
            error: Some(error),
            ..Self::default()
        }
    }

    pub fn skipped(detail: impl Into<String>) -> Self {
        Self {
            status: Some(Status::Skipped),
            detail: detail.into(),
            ..Self::default()
        }
    }
}

/// One check in the report (the platform's `HealthCheck`, plus `detail`).
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub status: Status,
    pub latency_ms: Option<f64>,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enqueued: Option<u64>,
}

/// The report: `timestamp`, `overall`, `checks`, `metrics`, as the platform's
/// health API. Metrics of checks that did not measure them are `null`.
#[derive(Debug, Clone)]
pub struct HealthReport {
    pub timestamp: DateTime<Utc>,
    pub overall: Status,
    pub checks: BTreeMap<CheckName, CheckResult>,
    pub metrics: BTreeMap<Metric, Option<f64>>,
    pub thresholds: Thresholds,
    /// Every check ran: the JSON also carries the platform's metric keys that
    /// k12ctl does not measure (`PLATFORM_ONLY_KEYS`), as `null`.
    pub platform_keys: bool,
}

impl Serialize for HealthReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut report = s.serialize_struct("HealthReport", 4)?;
        report.serialize_field("timestamp", &self.timestamp)?;
        report.serialize_field("overall", &self.overall)?;
        report.serialize_field("checks", &self.checks)?;
        report.serialize_field("metrics", &MetricValues(self))?;
        report.end()
    }
}

impl HealthReport {
    /// The verdict of one metric; `None` when it was not measured.
    pub fn metric_status(&self, metric: Metric) -> Option<Status> {
        let value = self.metrics.get(&metric).copied().flatten()?;
        Some(self.thresholds.get(metric).evaluate(value))
    }
}

/// A report's `metrics`: counts as JSON integers, the rest as numbers;
/// infinity ("none found") and unmeasured values as `null`; then the
/// platform's keys of other meanings, `null`, in a full report.
struct MetricValues<'a>(&'a HealthReport);

impl Serialize for MetricValues<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let report = self.0;
        let mut map = s.serialize_map(None)?;
        for (metric, value) in &report.metrics {
            match value.filter(|v| v.is_finite()) {
                Some(v) if metric.is_count() => map.serialize_entry(metric, &(v as u64))?,
                Some(v) => map.serialize_entry(metric, &v)?,
                None => map.serialize_entry(metric, &None::<f64>)?,
            }
        }
        if report.platform_keys {
            for key in PLATFORM_ONLY_KEYS {
                map.serialize_entry(key, &None::<f64>)?;
            }
        }
        map.end()
    }
}

/// A configuration error (exit 3 in `health`) when `REDIS_URL` cannot be
/// used; the URL itself is not echoed, it may hold a password.
pub fn check_redis_url(url: &str) -> anyhow::Result<()> {
    redis::Client::open(url).map(drop).map_err(|_| {
        crate::exit::usage("REDIS_URL is not a valid redis://, rediss:// or unix:// URL")
    })
}

/// Run the planned checks concurrently and build the report.
pub async fn run(plan: Arc<HealthPlan>) -> HealthReport {
    let timestamp = Utc::now();
    let deadline = tokio::time::Instant::now() + plan.deadline();
    let tasks: Vec<_> = plan
        .checks
        .iter()
        .map(|&name| (name, detached(name, plan.clone())))
        .collect();
    let mut checks = BTreeMap::new();
    let mut metrics = BTreeMap::new();
    for (name, task) in tasks {
        let (finding, elapsed) = match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(done)) => done,
            Ok(Err(_)) => (
                Finding::critical("the check stopped without a result"),
                None,
            ),
            Err(_) => {
                let limit = plan.settings.timeout_for(name);
                (Finding::critical(timed_out(limit)), Some(limit))
            }
        };
        for m in Metric::ALL.iter().filter(|m| m.check() == name) {
            let value = finding
                .metrics
                .iter()
                .find(|(k, _)| k == m)
                .map(|(_, v)| *v);
            metrics.insert(*m, value);
        }
        checks.insert(name, judge(finding, elapsed, &plan.settings.thresholds));
    }
    let overall = checks
        .values()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Healthy)
        .max(Status::Healthy);
    HealthReport {
        timestamp,
        overall,
        checks,
        metrics,
        thresholds: plan.settings.thresholds.clone(),
        platform_keys: plan.checks.len() == CheckName::ALL.len(),
    }
}

/// One check on a thread and runtime of its own, which nobody waits for.
///
/// A probe stuck in a system call (a hung NFS mount under `file://`, a DNS
/// lookup that never returns) cannot be cancelled: on the main runtime its
/// blocking thread would hold the process at exit, after the report was
/// printed, until the call returned. Here the check is abandoned with its
/// thread, and the process exits on time.
fn detached(
    name: CheckName,
    plan: Arc<HealthPlan>,
) -> tokio::sync::oneshot::Receiver<(Finding, Option<Duration>)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("health-{name}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let finding = Finding::critical(format!("cannot start the check: {e}"));
                    let _ = tx.send((finding, None));
                    return;
                }
            };
            let done = runtime.block_on(timed(name, &plan));
            let _ = tx.send(done);
            // Leaves a stuck blocking call behind instead of waiting for it.
            runtime.shutdown_background();
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the {name} check: {e}");
    }
    rx
}

fn timed_out(limit: Duration) -> String {
    format!("timed out after {}", humantime::format_duration(limit))
}

/// One check under its own time limit; returns the finding and how long it took.
async fn timed(name: CheckName, plan: &HealthPlan) -> (Finding, Option<Duration>) {
    let limit = plan.settings.timeout_for(name);
    let started = Instant::now();
    let finding = match tokio::time::timeout(limit, checks::run(name, plan)).await {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => Finding::critical(format!("{e:#}")),
        Err(_) => Finding::critical(timed_out(limit)),
    };
    (finding, Some(started.elapsed()))
}

/// Apply the thresholds: the check is as bad as its worst metric.
fn judge(finding: Finding, elapsed: Option<Duration>, thresholds: &Thresholds) -> CheckResult {
    let own = finding.status.unwrap_or(Status::Healthy);
    let mut status = own;
    let mut notes = Vec::new();
    for (metric, value) in &finding.metrics {
        let t = thresholds.get(*metric);
        let verdict = t.evaluate(*value);
        status = status.max(verdict);
        // A failed check already says why; its missing values add nothing.
        if own == Status::Critical {
            continue;
        }
        if let Some(level) = t.level(verdict) {
            let unit = metric.unit();
            notes.push(format!(
                "{} {}{}: {} at {level} {unit}",
                metric.name(),
                show_value(*value),
                if value.is_finite() {
                    format!(" {unit}")
                } else {
                    String::new()
                },
                verdict.as_str()
            ));
        }
    }
    let mut detail = finding.detail;
    if !notes.is_empty() {
        detail = format!("{detail} ({})", notes.join(", "));
    }
    let latency = match status {
        Status::Skipped => None,
        _ => finding.latency.or(elapsed),
    };
    CheckResult {
        status,
        latency_ms: latency.map(|d| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0),
        detail,
        error: finding.error,
        enqueued: finding.enqueued,
    }
}

/// A value for people: "none" for infinity, at most one decimal.
pub fn show_value(v: f64) -> String {
    if v.is_infinite() {
        "none".to_owned()
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breached_metric_makes_its_check_warn_and_says_why() {
        let f = Finding {
            metrics: vec![(Metric::BackupAgeHours, 30.0)],
            ..Finding::healthy("newest backup 30 h old")
        };
        let r = judge(f, None, &Thresholds::default());
        assert_eq!(r.status, Status::Warning);
        assert!(
            r.detail.contains("backup_age_hours 30 h: warning at 26 h"),
            "{}",
            r.detail
        );
    }

    #[test]
    fn the_check_keeps_its_own_verdict_when_worse() {
        let f = Finding {
            metrics: vec![(Metric::DbResponseTime, 1.0)],
            ..Finding::critical("boom")
        };
        assert_eq!(
            judge(f, None, &Thresholds::default()).status,
            Status::Critical
        );
    }

    #[test]
    fn a_full_report_carries_the_platforms_keys_of_other_meanings_as_null() {
        let report = |platform_keys| HealthReport {
            timestamp: Utc::now(),
            overall: Status::Healthy,
            checks: BTreeMap::new(),
            metrics: BTreeMap::from([
                (Metric::DbConnectionsPercent, Some(6.0)),
                (Metric::SidekiqQueueDepth, Some(5.0)),
            ]),
            thresholds: Thresholds::default(),
            platform_keys,
        };
        let json = serde_json::to_value(report(true)).unwrap();
        let m = json["metrics"].as_object().unwrap();
        assert_eq!(m["db_connections_percent"], 6.0);
        assert_eq!(m["sidekiq_queue_depth"], 5);
        for key in PLATFORM_ONLY_KEYS {
            assert!(m[key].is_null(), "{key}: {m:?}");
        }
        assert_eq!(m.len(), 5);
        let json = serde_json::to_value(report(false)).unwrap();
        assert_eq!(json["metrics"].as_object().unwrap().len(), 2, "--check");
    }

    #[test]
    fn skipped_never_outranks_healthy() {
        assert!(Status::Skipped < Status::Healthy);
        assert!(Status::Warning < Status::Critical);
        assert_eq!(show_value(f64::INFINITY), "none");
        assert_eq!(show_value(30.04), "30.0");
        assert_eq!(show_value(3.0), "3");
    }
}
