//! Telling someone when nobody is watching: a Slack incoming webhook on
//! failure, and healthchecks-style dead-man's-switch pings (`/start`, success,
//! `/fail`) so that a job that never ran is noticed too.
//!
//! A notification that cannot be delivered is logged and never changes the
//! command's result or exit code, and never holds it up for longer than the
//! timeout. Messages carry no secrets and no student data: the command, the
//! host, the database and backup names, the exit code and the first clause
//! of the error, never tool output (which can quote row values).

use std::time::Duration;

use serde::Deserialize;

use crate::secret::{redact_path, Secret};

/// `notify:` in the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFile {
    /// Post failures to Slack without `--notify`.
    pub enabled: Option<bool>,
    pub slack_webhook_url: Option<String>,
    /// Base URL of a healthchecks-style check: `<url>/start`, `<url>`, `<url>/fail`.
    pub ping_url: Option<String>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct NotifySettings {
    pub enabled: bool,
    pub slack_webhook_url: Option<Secret<String>>,
    pub ping_url: Option<Secret<String>>,
    pub timeout: Duration,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a notification is about.
#[derive(Debug, Clone)]
pub struct Subject {
    /// "backup run", "backup verify", "restore", "health".
    pub command: &'static str,
    /// Database, backup id or target; names only.
    pub about: String,
}

pub struct Notifier {
    settings: NotifySettings,
    client: Option<reqwest::Client>,
    host: String,
}

impl Notifier {
    pub fn new(settings: NotifySettings) -> Self {
        let wanted = settings.ping_url.is_some()
            || (settings.enabled && settings.slack_webhook_url.is_some());
        let client = wanted
            .then(|| {
                reqwest::Client::builder()
                    .timeout(settings.timeout)
                    .connect_timeout(settings.timeout)
                    .user_agent(concat!("k12ctl/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| tracing::warn!("notifications disabled: {e}"))
                    .ok()
            })
            .flatten();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "unknown host".to_owned());
        Self {
            settings,
            client,
            host,
        }
    }

    /// The job started (dead-man's switch).
    pub async fn started(&self) {
        self.ping("/start", String::new()).await;
    }

    /// The job succeeded.
    pub async fn succeeded(&self) {
        self.ping("", String::new()).await;
    }

    /// The job failed (or, for health, the platform is not healthy).
    pub async fn failed(&self, subject: &Subject, exit_code: i32, error: &str) {
        let text = format!(
            ":rotating_light: k12ctl {} failed on {} ({}): {} [exit {exit_code}]",
            subject.command,
            self.host,
            subject.about,
            first_clause(error)
        );
        self.ping("/fail", text.clone()).await;
        self.slack(text).await;
    }

    /// A health verdict worth a human's attention.
    pub async fn alert(&self, subject: &Subject, verdict: &str) {
        let text = format!(
            ":warning: k12ctl {} on {}: {verdict} ({})",
            subject.command, self.host, subject.about
        );
        self.slack(text).await;
    }

    async fn slack(&self, text: String) {
        let (Some(client), Some(url), true) = (
            &self.client,
            &self.settings.slack_webhook_url,
            self.settings.enabled,
        ) else {
            return;
        };
        let body = serde_json::json!({ "text": text }).to_string();
        let request = client
            .post(url.expose())
            .header("content-type", "application/json")
            .body(body);
        deliver(request, "the Slack webhook").await;
    }

    async fn ping(&self, suffix: &str, body: String) {
        let (Some(client), Some(base)) = (&self.client, &self.settings.ping_url) else {
            return;
        };
        let url = format!("{}{suffix}", base.expose().trim_end_matches('/'));
        // The path is the check's token: anyone who has it can ping.
        let what = format!("the ping {}{suffix}", redact_path(&url));
        deliver(client.post(url).body(body), &what).await;
    }
}

async fn deliver(request: reqwest::RequestBuilder, what: &str) {
    match request.send().await {
        Ok(r) if r.status().is_success() => tracing::debug!("notified {what}"),
        Ok(r) => tracing::warn!("{what} answered {}; notification not delivered", r.status()),
        // reqwest errors carry the URL; the webhook URL is a secret.
        Err(e) if e.is_timeout() => tracing::warn!("{what} timed out; notification not delivered"),
        Err(_) => tracing::warn!("{what} is unreachable; notification not delivered"),
    }
}

/// The error's first clause: what failed, without the detail that may quote
/// data ("pg_restore failed (exit status: 1)" from "...: ERROR: duplicate key
/// (email)=(...)").
pub fn first_clause(error: &str) -> String {
    let line = error.lines().next().unwrap_or_default();
    let clause = line.split(": ").next().unwrap_or(line);
    let mut out: String = clause.chars().take(200).collect();
    if out.len() < line.len() {
        out.push_str(" (details in the job's log)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_clause_leaves_the_machine() {
        let e = "restore of backup k12_full_20261122_020000 failed: pg_restore failed (exit status: 1): ERROR:  duplicate key value violates unique constraint; Key (email)=(ada@students.example.org) already exists.";
        let c = first_clause(e);
        assert_eq!(
            c,
            "restore of backup k12_full_20261122_020000 failed (details in the job's log)"
        );
        assert!(!c.contains("ada@"));
        assert_eq!(first_clause("lock held"), "lock held");
    }
}
