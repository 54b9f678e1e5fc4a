//! `health` against stand-ins only: the AI gateway's answers, servers that
//! never answer, and configuration errors (the monitoring-plugin "unknown").

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// `k12ctl --output json health` with nothing configured.
fn health() -> Command {
    let mut cmd = k12ctl_no_servers();
    cmd.args(["--output", "json", "health"]);
    cmd
}

#[test]
fn gateway_errors_are_critical_and_degraded_is_a_warning() {
    let run_against = |mode| {
        let gateway = Gateway::start(mode);
        health_json(
            health()
                .env("AI_GATEWAY_URL", &gateway.url)
                .args(["--check", "ai_gateway"]),
        )
    };
    let (out, report) = run_against(GatewayMode::ServerError);
    assert_code(&out, 2);
    assert_status(&report, "ai_gateway", "critical");
    let error = check(&report, "ai_gateway")["error"].as_str().unwrap();
    assert!(error.contains("HTTP 500"), "{error}");

    let (out, report) = run_against(GatewayMode::Degraded);
    assert_code(&out, 1);
    assert_eq!(report["overall"], "warning");
    assert_status(&report, "ai_gateway", "warning");
    let detail = check(&report, "ai_gateway")["detail"].as_str().unwrap();
    assert!(detail.contains("degraded"), "{detail}");
}

#[test]
fn whatever_hangs_the_command_returns_within_the_largest_limit_plus_a_second() {
    let hole = black_hole();
    let yaml = config("health:\n  timeout_seconds: 1\n  timeouts:\n    backups: 1.5\n");
    let started = Instant::now();
    let (out, report) = health_json(
        k12ctl_no_servers()
            .env(
                "DATABASE_URL",
                format!("postgres://k12@127.0.0.1:{hole}/k12"),
            )
            .env("REDIS_URL", format!("redis://127.0.0.1:{hole}/0"))
            .env("AI_GATEWAY_URL", format!("http://127.0.0.1:{hole}"))
            .env("K12CTL_STORAGE", "s3://k12-hung/p")
            .env("K12CTL_S3_ENDPOINT", format!("http://127.0.0.1:{hole}"))
            // Credentials, so that the S3 requests are signed and sent.
            .env("AWS_ACCESS_KEY_ID", "GK0123456789abcdef01234567")
            .env("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
            .arg("--config")
            .arg(yaml.path())
            .args(["--output", "json", "health"]),
    );
    let took = started.elapsed();
    assert_code(&out, 2);
    for name in [
        "database",
        "redis",
        "sidekiq",
        "storage",
        "ai_gateway",
        "backups",
    ] {
        assert_status(&report, name, "critical");
    }
    assert!(
        // The bound is 1.5 s + 1 s; half a second more for starting the process.
        took < Duration::from_secs(3),
        "bound 1.5 s + 1 s: {took:?}"
    );
}

#[test]
fn configuration_errors_are_unknown() {
    // The database is required when its check runs.
    let out = run(health().args(["--check", "database"]));
    assert_code(&out, 3);
    assert!(stderr(&out).contains("DATABASE_URL"), "{}", stderr(&out));
    // An optional dependency named with --check must be configured.
    let out = run(health().args(["--check", "ai_gateway"]));
    assert_code(&out, 3);
    let out = run(health()
        .env("REDIS_URL", "http://not-redis")
        .args(["--check", "redis"]));
    assert_code(&out, 3);
    // Bad command line, bad YAML.
    assert_code(&run(health().args(["--check", "nginx"])), 3);
    let yaml =
        config("health:\n  thresholds:\n    db_connections_percent: {warning: 95, critical: 90}\n");
    let out = run(k12ctl_no_servers()
        .arg("--config")
        .arg(yaml.path())
        .args(["health", "--check", "storage"]));
    assert_code(&out, 3);
    assert!(stderr(&out).contains("above critical"), "{}", stderr(&out));
    // `config show` lists the health settings, the Redis password redacted.
    let out = run(k12ctl_no_servers()
        .env("REDIS_URL", "redis://:s3cret-pw@redis.internal:6379/2")
        .env("AI_GATEWAY_URL", "http://ai-gateway.internal:8000")
        .args(["--output", "json", "config", "show"]));
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(!text.contains("s3cret-pw"), "{text}");
    assert!(text.contains("redis.internal:6379/2"), "{text}");
    assert!(text.contains("http://ai-gateway.internal:8000"), "{text}");
    assert!(text.contains("timeout 5s; default thresholds"), "{text}");
    // Other commands keep their own code for the same file.
    let out = run(k12ctl_no_servers()
        .arg("--config")
        .arg(yaml.path())
        .args(["config", "show"]));
    assert_code(&out, 2);
}
