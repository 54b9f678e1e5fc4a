//! The report as Prometheus gauges, in the text exposition format, for
//! node_exporter's textfile collector. Values are in base units (seconds,
//! not milliseconds or hours). `output::prometheus::write_atomically`
//! replaces the file, so the collector never reads half a file.

use std::fmt::Write as _;

use super::thresholds::Metric;
use super::{HealthReport, Status};
use crate::output::prometheus::number;

/// The name and scale of a metric's gauge.
fn gauge(metric: Metric) -> (&'static str, f64, &'static str) {
    match metric {
        Metric::DbConnectionsPercent => (
            "k12ctl_db_connections_percent",
            1.0,
            "Client connections to the server, percent of max_connections.",
        ),
        Metric::DbResponseTime => (
            "k12ctl_db_response_time_seconds",
            0.001,
            "Round trip of SELECT 1.",
        ),
        Metric::RedisResponseTime => (
            "k12ctl_redis_response_time_seconds",
            0.001,
            "Round trip of a Redis PING.",
        ),
        Metric::RedisMemoryPercent => (
            "k12ctl_redis_memory_percent",
            1.0,
            "Redis used_memory, percent of maxmemory (of the host's memory when unset).",
        ),
        Metric::SidekiqQueueDepth => (
            "k12ctl_sidekiq_queue_depth",
            1.0,
            "Jobs waiting in all Sidekiq queues.",
        ),
        Metric::SidekiqMaxLatency => (
            "k12ctl_sidekiq_max_latency_seconds",
            1.0,
            "How long the oldest job waiting in any Sidekiq queue has waited.",
        ),
        Metric::SidekiqRetrySize => (
            "k12ctl_sidekiq_retry_size",
            1.0,
            "Jobs in Sidekiq's retry set.",
        ),
        Metric::SidekiqDeadSize => (
            "k12ctl_sidekiq_dead_size",
            1.0,
            "Jobs in Sidekiq's dead set.",
        ),
        Metric::BackupAgeHours => (
            "k12ctl_backup_age_seconds",
            3600.0,
            "Age of the newest completed or verified backup (+Inf: none).",
        ),
        Metric::BackupVerifiedAgeHours => (
            "k12ctl_backup_verified_age_seconds",
            3600.0,
            "Age of the newest verified backup (+Inf: none).",
        ),
        Metric::BackupsFailed30d => (
            "k12ctl_backups_failed_30d",
            1.0,
            "Failed backup runs started in the last 30 days.",
        ),
    }
}

/// 0 healthy, 1 warning, 2 critical: the exit-code convention.
fn status_value(s: Status) -> Option<u8> {
    match s {
        Status::Skipped => None,
        Status::Healthy => Some(0),
        Status::Warning => Some(1),
        Status::Critical => Some(2),
    }
}

fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// The exposition text. Skipped checks and metrics that were not measured
/// are left out rather than reported as zero.
pub fn render(report: &HealthReport) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "k12ctl_health_status",
        "Overall health: 0 healthy, 1 warning, 2 critical.",
    );
    let overall = status_value(report.overall).unwrap_or(0);
    let _ = writeln!(out, "k12ctl_health_status {overall}");
    header(
        &mut out,
        "k12ctl_health_check_status",
        "Status of one check: 0 healthy, 1 warning, 2 critical (skipped checks are absent).",
    );
    for (name, check) in &report.checks {
        if let Some(v) = status_value(check.status) {
            let _ = writeln!(out, "k12ctl_health_check_status{{check=\"{name}\"}} {v}");
        }
    }
    header(
        &mut out,
        "k12ctl_health_check_latency_seconds",
        "How long the probe of one check took.",
    );
    for (name, check) in &report.checks {
        if let (Some(ms), Some(_)) = (check.latency_ms, status_value(check.status)) {
            let v = number(ms / 1000.0);
            let _ = writeln!(
                out,
                "k12ctl_health_check_latency_seconds{{check=\"{name}\"}} {v}"
            );
        }
    }
    for (metric, value) in &report.metrics {
        let Some(value) = value else { continue };
        let (name, scale, help) = gauge(*metric);
        header(&mut out, name, help);
        let _ = writeln!(out, "{name} {}", number(value * scale));
    }
    header(
        &mut out,
        "k12ctl_health_last_run_timestamp_seconds",
        "When these values were measured (Unix time).",
    );
    let _ = writeln!(
        out,
        "k12ctl_health_last_run_timestamp_seconds {}",
        report.timestamp.timestamp()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::thresholds::PLATFORM_ONLY_KEYS;

    #[test]
    fn no_gauge_carries_a_platform_name_of_another_meaning() {
        for metric in Metric::ALL {
            let (name, _, _) = gauge(metric);
            assert!(name.starts_with("k12ctl_"), "{name}");
            for key in PLATFORM_ONLY_KEYS {
                assert!(
                    !name.contains(key),
                    "{name} looks like the platform's {key}"
                );
            }
        }
    }
}
