//! The checks themselves: database, redis, storage and the AI gateway here;
//! Sidekiq and the backup catalog in their own files. Each measures, says
//! what it saw in one line, and returns errors for the runner to report as
//! critical. None of them writes anything anywhere.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::thresholds::Metric;
use super::{backups, sidekiq, CheckName, Finding, HealthPlan};
use crate::db;
use crate::secret::{redact_http_url, redact_url};
use crate::storage;

/// Run one check.
pub(super) async fn run(name: CheckName, plan: &HealthPlan) -> Result<Finding> {
    match name {
        CheckName::Database => match &plan.database {
            Some(info) => database(info).await,
            None => Ok(Finding::skipped("not configured (DATABASE_URL)")),
        },
        CheckName::Redis => match &plan.redis_url {
            Some(url) => redis(url.expose(), plan.settings.timeout_for(name)).await,
            None => Ok(Finding::skipped("not configured (REDIS_URL)")),
        },
        CheckName::Sidekiq => match &plan.redis_url {
            Some(url) => {
                let mut conn =
                    redis_connection(url.expose(), plan.settings.timeout_for(name)).await?;
                sidekiq::check(&mut conn, plan.settings.sidekiq_namespace.as_deref()).await
            }
            None => Ok(Finding::skipped("not configured (REDIS_URL)")),
        },
        CheckName::Storage => match &plan.storage {
            Some(settings) => storage_access(settings).await,
            None => Ok(Finding::skipped("not configured (K12CTL_STORAGE)")),
        },
        CheckName::AiGateway => match &plan.ai_gateway_url {
            Some(url) => ai_gateway(url, plan.settings.timeout_for(name)).await,
            None => Ok(Finding::skipped("not configured (AI_GATEWAY_URL)")),
        },
        CheckName::Backups => match &plan.storage {
            Some(settings) => backups::check(settings).await,
            None => Ok(Finding::skipped("not configured (K12CTL_STORAGE)")),
        },
    }
}

/// Connect, time `SELECT 1`, and compare client connections with
/// `max_connections`.
async fn database(info: &db::ConnInfo) -> Result<Finding> {
    let client = db::connect(info, "k12ctl health").await?;
    let started = Instant::now();
    client
        .simple_query("SELECT 1")
        .await
        .map_err(|e| anyhow::anyhow!("SELECT 1 failed: {}", db::describe_error(&e)))?;
    let latency = started.elapsed();
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_stat_activity \
                     WHERE backend_type = 'client backend')::bigint, \
                    current_setting('max_connections')::bigint",
            &[],
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot count connections: {}", db::describe_error(&e)))?;
    let (in_use, max): (i64, i64) = (row.get(0), row.get(1));
    let pool = in_use as f64 * 100.0 / max.max(1) as f64;
    Ok(Finding {
        latency: Some(latency),
        metrics: vec![
            (Metric::DbResponseTime, ms(latency)),
            (Metric::DbConnectionsPercent, (pool * 10.0).round() / 10.0),
        ],
        ..Finding::healthy(format!(
            "{}: SELECT 1 in {:.1} ms, {in_use} of {max} connections in use",
            info.describe(),
            ms(latency)
        ))
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// A connection whose own limits match the check's, so an error names the
/// step that was slow rather than a bare outer timeout.
pub(super) async fn redis_connection(
    url: &str,
    limit: Duration,
) -> Result<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url)
        .map_err(|_| anyhow::anyhow!("REDIS_URL is not a valid redis:// or rediss:// URL"))?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(limit))
        .set_response_timeout(Some(limit));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .with_context(|| format!("cannot connect to Redis at {}", redact_url(url)))
}

/// PING latency, and memory in use against `maxmemory`.
async fn redis(url: &str, limit: Duration) -> Result<Finding> {
    let mut conn = redis_connection(url, limit).await?;
    let started = Instant::now();
    let pong: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .context("PING failed")?;
    let latency = started.elapsed();
    anyhow::ensure!(pong == "PONG", "PING answered {pong:?}");
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await
        .context("INFO memory failed")?;
    let field = |name: &str| -> Option<f64> {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
    };
    let used = field("used_memory").unwrap_or(0.0);
    let (limit_bytes, against) = match (field("maxmemory"), field("total_system_memory")) {
        (Some(max), _) if max > 0.0 => (Some(max), "maxmemory"),
        (_, Some(total)) if total > 0.0 => (Some(total), "the host's memory (no maxmemory)"),
        _ => (None, "nothing (no maxmemory)"),
    };
    let mut finding = Finding {
        latency: Some(latency),
        metrics: vec![(Metric::RedisResponseTime, ms(latency))],
        ..Finding::healthy(format!(
            "{}: PING in {:.1} ms, {} used of {against}",
            redact_url(url),
            ms(latency),
            crate::output::tables::bytes(used as u64)
        ))
    };
    if let Some(max) = limit_bytes {
        let percent = (used * 100.0 / max * 10.0).round() / 10.0;
        finding.metrics.push((Metric::RedisMemoryPercent, percent));
    }
    Ok(finding)
}

/// The backup bucket and prefix can be listed (nothing is written).
async fn storage_access(settings: &crate::config::StorageSettings) -> Result<Finding> {
    let store = storage::open(settings).await?;
    let started = Instant::now();
    store.check_access().await?;
    Ok(Finding {
        latency: Some(started.elapsed()),
        ..Finding::healthy(format!("{} is reachable and readable", store.describe()))
    })
}

/// `GET {AI_GATEWAY_URL}/v1/health`: 2xx with `{"status": "ok"}` is healthy,
/// `degraded` a warning, anything else critical. The URL may carry a
/// credential (user name, password, a token in the query): messages show
/// it redacted, and reqwest's errors, which quote the URL, lose it.
async fn ai_gateway(base: &url::Url, limit: Duration) -> Result<Finding> {
    let mut health_url = base.clone();
    if let Ok(mut path) = health_url.path_segments_mut() {
        path.pop_if_empty().extend(["v1", "health"]);
    }
    let url = redact_http_url(health_url.as_str());
    let client = reqwest::Client::builder()
        .timeout(limit)
        .connect_timeout(limit)
        .user_agent(concat!("k12ctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot set up the HTTP client")?;
    let started = Instant::now();
    let response = client
        .get(health_url)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GET {url} failed: {}", chain(&e.without_url())))?;
    let code = response.status();
    let body = response.bytes().await.map_err(|e| {
        anyhow::anyhow!(
            "GET {url}: reading the body failed: {}",
            chain(&e.without_url())
        )
    })?;
    let latency = started.elapsed();
    let reported = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_owned));
    let seen = format!("GET {url}: HTTP {}", code.as_u16());
    let mut finding = match (code.is_success(), reported.as_deref()) {
        (false, _) => Finding::critical(format!("{seen} ({})", snippet(&body))),
        (true, Some("ok")) => Finding::healthy(format!("{seen}, status ok")),
        (true, Some("degraded")) => Finding {
            status: Some(super::Status::Warning),
            ..Finding::healthy(format!("{seen}, status degraded ({})", snippet(&body)))
        },
        (true, Some(other)) => Finding::critical(format!("{seen}, status {other:?}")),
        (true, None) => Finding::critical(format!(
            "{seen}, but the body has no status ({})",
            snippet(&body)
        )),
    };
    finding.latency = Some(latency);
    Ok(finding)
}

/// An error with its causes (reqwest hides "connection refused" in a source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

/// The start of a body, on one line, for messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(120) {
        Some((i, _)) => format!("{}...", &one_line[..i]),
        None if one_line.is_empty() => "empty body".to_owned(),
        None => one_line,
    }
}
