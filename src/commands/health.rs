//! `health`: is the platform safe? Plan the checks from the settings (a
//! missing required setting is a configuration error: exit 3), run them
//! concurrently under their time limits, print the report, write the
//! Prometheus file, and exit with the verdict: 0 healthy, 1 warning,
//! 2 critical. `--watch` repeats until interrupted.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::Context;
use crate::cli::{HealthArgs, HealthCheck};
use crate::exit::{self, ExitCode};
use crate::health::thresholds::Metric;
use crate::health::{self, prometheus, show_value, CheckName, HealthPlan, HealthReport, Status};
use crate::notify::{Notifier, Subject};
use crate::output::printer::Style;
use crate::output::prometheus::write_atomically;
use crate::output::{tables, Report};

pub async fn run(ctx: &Context, args: HealthArgs) -> Result<()> {
    let plan = Arc::new(plan(ctx, &args)?);
    match args.watch {
        Some(seconds) => watch(ctx, &args, plan, Duration::from_secs(seconds)).await,
        None => {
            let report = until_signal(ctx, health::run(plan)).await?;
            ctx.printer.print(&report)?;
            publish(&args, &report)?;
            alert(ctx, &report, Status::Healthy).await;
            verdict(&report)
        }
    }
}

/// Which checks run, against what. Database and storage are required when
/// their checks are selected; Redis and the gateway are optional (skipped
/// when unset) unless named with `--check`.
fn plan(ctx: &Context, args: &HealthArgs) -> Result<HealthPlan> {
    let s = &ctx.settings;
    let explicit = !args.checks.is_empty();
    let mut checks: Vec<CheckName> = if explicit {
        args.checks.iter().map(|c| check_name(*c)).collect()
    } else {
        CheckName::ALL.to_vec()
    };
    checks.sort();
    checks.dedup();
    let wants = |c: CheckName| checks.contains(&c);
    let database = wants(CheckName::Database).then(|| ctx.conn()).transpose()?;
    let storage = (wants(CheckName::Storage) || wants(CheckName::Backups))
        .then(|| s.require_storage().cloned())
        .transpose()?;
    let needs_redis = wants(CheckName::Redis) || wants(CheckName::Sidekiq);
    if explicit && needs_redis && s.redis_url.is_none() {
        return Err(exit::usage(
            "--check redis/sidekiq needs Redis: set REDIS_URL or redis_url in the config file",
        ));
    }
    if let Some(url) = s.redis_url.as_ref().filter(|_| needs_redis) {
        health::check_redis_url(url.expose())?;
    }
    if explicit && wants(CheckName::AiGateway) && s.ai_gateway_url.is_none() {
        return Err(exit::usage(
            "--check ai_gateway needs AI_GATEWAY_URL (or ai_gateway_url in the config file)",
        ));
    }
    let ai_gateway_url = match s.ai_gateway_url.as_deref() {
        Some(raw) if wants(CheckName::AiGateway) => Some(gateway_url(raw)?),
        _ => None,
    };
    Ok(HealthPlan {
        checks,
        database,
        storage,
        redis_url: s.redis_url.clone(),
        ai_gateway_url,
        settings: s.health.clone(),
    })
}

fn gateway_url(raw: &str) -> Result<url::Url> {
    url::Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            exit::usage(format!(
                "AI_GATEWAY_URL {:?} is not an http:// or https:// URL",
                crate::secret::redact_http_url(raw)
            ))
        })
}

fn check_name(c: HealthCheck) -> CheckName {
    match c {
        HealthCheck::Database => CheckName::Database,
        HealthCheck::Redis => CheckName::Redis,
        HealthCheck::Sidekiq => CheckName::Sidekiq,
        HealthCheck::Storage => CheckName::Storage,
        HealthCheck::AiGateway => CheckName::AiGateway,
        HealthCheck::Backups => CheckName::Backups,
    }
}

/// Nothing to clean up: a signal simply stops the run (exit 130/143).
async fn until_signal<T>(ctx: &Context, work: impl std::future::Future<Output = T>) -> Result<T> {
    tokio::select! {
        done = work => Ok(done),
        sig = ctx.interrupt.wait() => Err(sig.into()),
    }
}

/// With --notify: a warning or critical verdict goes to Slack. `before` is
/// the previous verdict under --watch, so a lasting problem is posted once,
/// when it starts or gets worse, not every interval.
async fn alert(ctx: &Context, report: &HealthReport, before: Status) {
    if report.overall <= Status::Healthy || report.overall <= before {
        return;
    }
    let problems: Vec<String> = report
        .checks
        .iter()
        .filter(|(_, c)| c.status > Status::Healthy)
        .map(|(name, c)| format!("{name} {}", c.status.as_str()))
        .collect();
    let subject = Subject {
        command: "health",
        about: problems.join(", "),
    };
    Notifier::new(ctx.settings.notify.clone())
        .alert(&subject, report.overall.as_str())
        .await;
}

/// The exit code of a report; the report itself says why.
fn verdict(report: &HealthReport) -> Result<()> {
    match report.overall {
        Status::Skipped | Status::Healthy => Ok(()),
        Status::Warning => Err(exit::verdict(ExitCode::HealthWarning)),
        Status::Critical => Err(exit::verdict(ExitCode::HealthCritical)),
    }
}

fn publish(args: &HealthArgs, report: &HealthReport) -> Result<()> {
    match &args.prometheus_file {
        Some(path) => write_atomically(path, &prometheus::render(report)),
        None => Ok(()),
    }
}

/// Every `every` (start to start) until a signal: redraw the report on a
/// terminal; otherwise one line per run (a JSON document with --output json).
async fn watch(
    ctx: &Context,
    args: &HealthArgs,
    plan: Arc<HealthPlan>,
    every: Duration,
) -> Result<()> {
    let redraw = !ctx.printer.is_json() && std::io::stdout().is_terminal();
    let mut before = Status::Healthy;
    loop {
        let next = tokio::time::Instant::now() + every;
        let report = until_signal(ctx, health::run(plan.clone())).await?;
        if redraw {
            // Clear the screen and go home, then the usual report.
            print!("\x1b[2J\x1b[H");
            ctx.printer.print(&report)?;
            println!("every {}s; Ctrl-C to stop", every.as_secs());
        } else {
            let line = match ctx.printer.is_json() {
                true => serde_json::to_string(&report)?,
                false => summary_line(&report),
            };
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        publish(args, &report)?;
        alert(ctx, &report, before).await;
        before = report.overall;
        until_signal(ctx, tokio::time::sleep_until(next)).await?;
    }
}

/// `2026-11-23T20:41:02Z warning database=healthy ... backups=warning; backups: ...`
fn summary_line(report: &HealthReport) -> String {
    let statuses: Vec<String> = report
        .checks
        .iter()
        .map(|(name, c)| format!("{name}={}", c.status.as_str()))
        .collect();
    let problems: Vec<String> = report
        .checks
        .iter()
        .filter(|(_, c)| c.status > Status::Healthy)
        .map(|(name, c)| format!("{name}: {}", c.detail))
        .collect();
    let mut line = format!(
        "{} {} {}",
        report.timestamp.format("%Y-%m-%dT%H:%M:%SZ"),
        report.overall.as_str(),
        statuses.join(" ")
    );
    if !problems.is_empty() {
        line.push_str("; ");
        line.push_str(&problems.join("; "));
    }
    line
}

impl Report for HealthReport {
    fn human(&self, style: &Style) -> String {
        format!(
            "{}\n{}\n{}",
            banner(self, style),
            checks_table(self, style),
            metrics_table(self, style)
        )
    }
}

/// `CRITICAL  2026-11-23 20:41:02 UTC  1 critical, 4 healthy, 1 skipped`
fn banner(report: &HealthReport, style: &Style) -> String {
    let word = report.overall.as_str().to_uppercase();
    let word = match (style.color, report.overall) {
        (false, _) => word,
        (true, Status::Critical) => format!("\x1b[1;31m{word}\x1b[0m"),
        (true, Status::Warning) => format!("\x1b[1;33m{word}\x1b[0m"),
        (true, _) => format!("\x1b[1;32m{word}\x1b[0m"),
    };
    let counts: Vec<String> = [
        Status::Critical,
        Status::Warning,
        Status::Healthy,
        Status::Skipped,
    ]
    .iter()
    .filter_map(|s| {
        let n = report.checks.values().filter(|c| c.status == *s).count();
        (n > 0).then(|| format!("{n} {}", s.as_str()))
    })
    .collect();
    format!(
        "{word}  {}  {}",
        report.timestamp.format("%Y-%m-%d %H:%M:%S UTC"),
        counts.join(", ")
    )
}

fn checks_table(report: &HealthReport, style: &Style) -> String {
    let mut t = tables::table(["CHECK", "STATUS", "LATENCY", "DETAIL"]);
    for (name, c) in &report.checks {
        let latency = match (c.status, c.latency_ms) {
            (Status::Skipped, _) | (_, None) => "-".to_owned(),
            (_, Some(ms)) if ms >= 1000.0 => format!("{:.1} s", ms / 1000.0),
            (_, Some(ms)) => format!("{ms:.1} ms"),
        };
        t.add_row(vec![
            name.as_str().into(),
            tables::status_cell(c.status.as_str(), style),
            latency.into(),
            c.detail.clone().into(),
        ]);
    }
    t.to_string()
}

fn metrics_table(report: &HealthReport, style: &Style) -> String {
    let mut t = tables::table(["METRIC", "VALUE", "WARNING", "CRITICAL", "STATUS"]);
    for (metric, value) in &report.metrics {
        let threshold = report.thresholds.get(*metric);
        let level = |l: Option<f64>| l.map_or("off".to_owned(), |v| with_unit(*metric, v));
        let status = match report.metric_status(*metric) {
            Some(s) => tables::status_cell(s.as_str(), style),
            None => "-".into(),
        };
        t.add_row(vec![
            metric.name().into(),
            value
                .map(|v| with_unit(*metric, v))
                .unwrap_or_else(|| "-".to_owned())
                .into(),
            level(threshold.warning).into(),
            level(threshold.critical).into(),
            status,
        ]);
    }
    t.to_string()
}

fn with_unit(metric: Metric, v: f64) -> String {
    if v.is_infinite() {
        "none".to_owned()
    } else {
        format!("{} {}", show_value(v), metric.unit())
    }
}
