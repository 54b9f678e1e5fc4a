//! The `health:` section of the YAML file and what it resolves to: per-check
//! timeouts, the Sidekiq key namespace and the thresholds. `config.rs` reads
//! the file; this module gives the section its meaning and checks it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::thresholds::{self, ThresholdFile, Thresholds};
use super::CheckName;

/// Each check's time limit unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest time limit accepted for a check.
const MAX_TIMEOUT_SECONDS: f64 = 300.0;

/// `health:` in the YAML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthFile {
    /// Time limit of every check, seconds (default 5).
    pub timeout_seconds: Option<f64>,
    /// Time limit of one check, seconds, over `timeout_seconds`.
    #[serde(default)]
    pub timeouts: BTreeMap<CheckName, f64>,
    /// Key prefix of a namespaced Sidekiq (redis-namespace, Sidekiq < 7).
    pub sidekiq_namespace: Option<String>,
    /// Warning / critical levels per metric name (checked in `from_file`,
    /// which also accepts the deprecated names).
    #[serde(default)]
    pub thresholds: BTreeMap<String, ThresholdFile>,
}

/// Resolved health settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSettings {
    pub timeout: Duration,
    pub timeouts: BTreeMap<CheckName, Duration>,
    pub sidekiq_namespace: Option<String>,
    pub thresholds: Thresholds,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            timeouts: BTreeMap::new(),
            sidekiq_namespace: None,
            thresholds: Thresholds::default(),
        }
    }
}

fn seconds(key: &str, value: f64) -> Result<Duration, String> {
    if !(value > 0.0 && value <= MAX_TIMEOUT_SECONDS) {
        return Err(format!(
            "{key} must be more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds, not {value}"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

impl HealthSettings {
    /// Check the file's section and apply it over the defaults. The error
    /// names the key at fault; deprecated keys are logged as warnings.
    pub fn from_file(file: HealthFile) -> Result<Self, String> {
        let (levels, deprecated) = thresholds::threshold_keys(&file.thresholds)?;
        for warning in deprecated {
            tracing::warn!("{warning}");
        }
        let timeout = match file.timeout_seconds {
            Some(s) => seconds("health.timeout_seconds", s)?,
            None => DEFAULT_TIMEOUT,
        };
        let timeouts = file
            .timeouts
            .iter()
            .map(|(check, s)| Ok((*check, seconds(&format!("health.timeouts.{check}"), *s)?)))
            .collect::<Result<_, String>>()?;
        let sidekiq_namespace = file
            .sidekiq_namespace
            .map(|ns| ns.trim_end_matches(':').to_owned())
            .filter(|ns| !ns.is_empty());
        Ok(Self {
            timeout,
            timeouts,
            sidekiq_namespace,
            thresholds: Thresholds::with_overrides(&levels)?,
        })
    }

    /// One line for `config show`: timeouts, namespace, overridden thresholds.
    pub fn describe(&self) -> String {
        let secs = |d: &Duration| format!("{}s", d.as_secs_f64());
        let mut out = format!("timeout {}", secs(&self.timeout));
        for (check, d) in &self.timeouts {
            out.push_str(&format!(", {check} {}", secs(d)));
        }
        if let Some(ns) = &self.sidekiq_namespace {
            out.push_str(&format!("; sidekiq namespace {ns}"));
        }
        let overridden = self.thresholds.overridden();
        if overridden.is_empty() {
            out.push_str("; default thresholds");
        } else {
            let level = |l: Option<f64>| l.map_or("off".to_owned(), |v| v.to_string());
            let list: Vec<String> = overridden
                .iter()
                .map(|(m, t)| format!("{} {}/{}", m.name(), level(t.warning), level(t.critical)))
                .collect();
            out.push_str(&format!(
                "; thresholds {} (others default)",
                list.join(", ")
            ));
        }
        out
    }

    /// The time limit of one check.
    pub fn timeout_for(&self, check: CheckName) -> Duration {
        self.timeouts.get(&check).copied().unwrap_or(self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::thresholds::Metric;

    #[test]
    fn a_section_resolves_over_the_defaults() {
        let file: HealthFile = yaml_serde::from_str(
            "timeout_seconds: 2\ntimeouts:\n  ai_gateway: 0.5\nsidekiq_namespace: 'k12:'\n\
             thresholds:\n  sidekiq_max_latency: {warning: 30}\n  \
             memory_usage_percent: {warning: 70}\n",
        )
        .unwrap();
        let s = HealthSettings::from_file(file).unwrap();
        assert_eq!(s.timeout_for(CheckName::Database), Duration::from_secs(2));
        assert_eq!(
            s.timeout_for(CheckName::AiGateway),
            Duration::from_millis(500)
        );
        assert_eq!(s.sidekiq_namespace.as_deref(), Some("k12"));
        assert_eq!(
            s.thresholds.get(Metric::SidekiqMaxLatency).warning,
            Some(30.0)
        );
        assert_eq!(
            s.thresholds.get(Metric::RedisMemoryPercent).warning,
            Some(70.0),
            "a deprecated key still applies"
        );
    }

    #[test]
    fn bad_timeouts_and_unknown_keys_are_rejected() {
        let file: HealthFile = yaml_serde::from_str("timeouts:\n  redis: 0\n").unwrap();
        let err = HealthSettings::from_file(file).unwrap_err();
        assert!(err.contains("health.timeouts.redis"), "{err}");
        assert!(yaml_serde::from_str::<HealthFile>("timeout: 5\n").is_err());
        assert!(yaml_serde::from_str::<HealthFile>("timeouts:\n  memcached: 5\n").is_err());
        let file: HealthFile = yaml_serde::from_str("thresholds:\n  pool: {warning: 5}\n").unwrap();
        let err = HealthSettings::from_file(file).unwrap_err();
        assert!(err.contains("health.thresholds.pool"), "{err}");
    }
}
