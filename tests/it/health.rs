//! `health` against real PostgreSQL, Redis (a private redis-server per test)
//! and Garage, with a small HTTP server standing in for the AI gateway.

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;

use crate::cli::{assert_snapshot, shape};
use crate::common::*;
// Other files use them as `crate::health::...`; they live in common.rs.
pub use crate::common::{assert_status, check, config, health_json};

/// A manifest in the catalog, written with the AWS CLI: a backup of the
/// given status that started `hours_ago`. Returns its id.
pub fn catalog_backup(env: &Env, prefix: &S3Prefix, status: &str, hours_ago: i64) -> String {
    let started = Utc::now() - chrono::Duration::hours(hours_ago);
    let id = format!("k12_full_{}", started.format("%Y%m%d_%H%M%S"));
    let dir = format!("backups/{}", started.format("%Y/%m"));
    let verification = (status == "verified").then(|| {
        serde_json::json!({
            "verified_at": started + chrono::Duration::minutes(20),
            "passed": true, "duration_seconds": 5.0, "failed_check": null,
            "error": null, "tables": {}
        })
    });
    let manifest = serde_json::json!({
        "format_version": 1, "id": id, "type": "full", "status": status,
        "database": "k12", "server_version": "15", "system_identifier": null,
        "pg_dump_version": "15", "started_at": started,
        "finished_at": started + chrono::Duration::minutes(10),
        "duration_seconds": 600.0, "object_key": format!("{dir}/{id}.dump.gz"),
        "compressed_size": 1, "uncompressed_size": 1, "sha256": "00",
        "compression": "gzip", "compression_level": 2, "table_row_counts": {},
        "database_size": 1, "tool_version": "test",
        "error": if status == "failed" { Value::from("pg_dump failed") } else { Value::Null },
        "verification": verification,
    });
    s3_put(
        env,
        &format!("{}/{dir}/{id}.manifest.json", prefix.prefix),
        &serde_json::to_vec(&manifest).unwrap(),
    );
    id
}

/// `k12ctl health` with only the given dependencies configured.
pub fn health(env: &Env) -> Command {
    let mut cmd = k12ctl(env);
    cmd.args(["--output", "json", "health"]);
    cmd
}

/// Latency levels a busy test machine cannot trip (tests/fixtures).
pub fn loaded_machine(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "K12CTL_CONFIG",
        repo_path("tests/fixtures/health-loaded-machine.yaml"),
    )
}

#[test]
fn all_healthy_exits_0_with_every_metric_filled() {
    let env = env();
    let db = TestDb::seeded(&env, "health_ok");
    let prefix = S3Prefix::new("health_ok");
    let redis = RedisServer::start(&["--maxmemory", "64mb"]);
    let gateway = Gateway::start(GatewayMode::Ok);
    // A real backup, really verified.
    assert_code(
        &run(k12ctl_for(&env, &db, &prefix).args(["backup", "run"])),
        0,
    );
    let verify = run(k12ctl_for(&env, &db, &prefix).args(["backup", "verify", "--latest"]));
    assert_code(&verify, 0);

    let (out, report) = health_json(
        loaded_machine(&mut k12ctl_for(&env, &db, &prefix))
            .env("REDIS_URL", redis.url(0))
            .env("AI_GATEWAY_URL", &gateway.url)
            .args(["--output", "json", "health"]),
    );
    assert_code(&out, 0);
    assert_eq!(report["overall"], "healthy");
    for name in [
        "database",
        "redis",
        "sidekiq",
        "storage",
        "ai_gateway",
        "backups",
    ] {
        assert_status(&report, name, "healthy");
        assert!(check(&report, name)["latency_ms"].is_number(), "{name}");
    }
    // Every metric of k12ctl's measured; the platform's keys of other meanings
    // are there, and null: never a number that means something else.
    let platform_only = [
        "db_connection_pool",
        "memory_usage_percent",
        "sidekiq_latency",
    ];
    for (name, value) in report["metrics"].as_object().unwrap() {
        if platform_only.contains(&name.as_str()) {
            assert!(value.is_null(), "the platform's {name} is {value}");
        } else {
            assert!(value.is_number(), "metric {name} is {value}");
        }
    }
    assert_eq!(report["metrics"].as_object().unwrap().len(), 11 + 3);
    assert!(report["metrics"]["backup_age_hours"].as_f64().unwrap() < 1.0);
    assert!(
        report["metrics"]["db_connections_percent"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(report["metrics"]["redis_memory_percent"].is_number());
    assert!(report["metrics"]["sidekiq_max_latency"].is_number());
    assert_eq!(report["metrics"]["sidekiq_queue_depth"], 0);
    assert_eq!(check(&report, "sidekiq")["enqueued"], 0);
    assert!(
        check(&report, "redis")["detail"]
            .as_str()
            .unwrap()
            .contains("maxmemory"),
        "{report}"
    );
    assert_snapshot(
        "health.json",
        &serde_json::to_string_pretty(&shape(&report)).unwrap(),
    );

    // The human rendering: a banner, the checks and the metrics.
    let out = run(loaded_machine(&mut k12ctl_for(&env, &db, &prefix))
        .env("REDIS_URL", redis.url(0))
        .env("AI_GATEWAY_URL", &gateway.url)
        .arg("health"));
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("HEALTHY  "), "{text}");
    for word in [
        "CHECK",
        "LATENCY",
        "ai_gateway",
        "METRIC",
        "backup_age_hours",
        "26 h",
    ] {
        assert!(text.contains(word), "{word} in\n{text}");
    }
}

/// Database, storage and a fresh verified backup, all healthy.
pub fn healthy_basics(env: &Env, hint: &str) -> (TestDb, S3Prefix) {
    let db = TestDb::new(env, hint);
    let prefix = S3Prefix::new(hint);
    catalog_backup(env, &prefix, "verified", 2);
    (db, prefix)
}

#[test]
fn redis_stopped_is_critical_and_the_rest_is_still_reported() {
    let env = env();
    let (db, prefix) = healthy_basics(&env, "health_redis_down");
    let mut redis = RedisServer::start(&[]);
    let url = redis.url(0);
    redis.stop();
    let gateway = Gateway::start(GatewayMode::Ok);
    let (out, report) = health_json(
        loaded_machine(&mut k12ctl_for(&env, &db, &prefix))
            .env("REDIS_URL", &url)
            .env("AI_GATEWAY_URL", &gateway.url)
            .args(["--output", "json", "health"]),
    );
    assert_code(&out, 2);
    assert_eq!(report["overall"], "critical");
    for name in ["redis", "sidekiq"] {
        assert_status(&report, name, "critical");
        let error = check(&report, name)["error"].as_str().unwrap();
        assert!(error.contains("cannot connect to Redis"), "{error}");
    }
    for name in ["database", "storage", "ai_gateway", "backups"] {
        assert_status(&report, name, "healthy");
    }
    assert!(report["metrics"]["redis_response_time"].is_null());
    assert!(report["metrics"]["db_response_time"].is_number());
}

#[test]
fn postgres_unreachable_is_critical_and_the_rest_is_still_reported() {
    let env = env();
    let (_db, prefix) = healthy_basics(&env, "health_pg_down");
    let redis = RedisServer::start(&[]);
    let (out, report) = health_json(
        loaded_machine(&mut k12ctl(&env))
            .env(
                "DATABASE_URL",
                format!("postgres://k12:pw@127.0.0.1:{}/k12", closed_port()),
            )
            .env("K12CTL_STORAGE", prefix.storage_url(&env))
            .env("REDIS_URL", redis.url(0))
            .args(["--output", "json", "health"]),
    );
    assert_code(&out, 2);
    assert_status(&report, "database", "critical");
    let error = check(&report, "database")["error"].as_str().unwrap();
    assert!(error.contains("cannot connect to database k12"), "{error}");
    assert!(!error.contains("pw@"), "no password in messages: {error}");
    for name in ["redis", "sidekiq", "storage", "backups"] {
        assert_status(&report, name, "healthy");
    }
    assert_status(&report, "ai_gateway", "skipped");
    assert!(check(&report, "ai_gateway")["latency_ms"].is_null());
    assert!(report["metrics"]["db_connections_percent"].is_null());
}

#[test]
fn a_missing_bucket_is_critical_and_the_rest_is_still_reported() {
    let env = env();
    let db = TestDb::new(&env, "health_nobucket");
    let bucket = unique("k12ctl-missing").replace('_', "-");
    let (out, report) = health_json(
        loaded_machine(&mut k12ctl_for(&env, &db, &S3Prefix::new("unused")))
            .env("K12CTL_STORAGE", format!("s3://{bucket}/prod"))
            .args(["--output", "json", "health"]),
    );
    assert_code(&out, 2);
    for name in ["storage", "backups"] {
        assert_status(&report, name, "critical");
        let error = check(&report, name)["error"].as_str().unwrap();
        assert!(error.contains(&bucket), "{name}: {error}");
    }
    assert_status(&report, "database", "healthy");
    for name in ["redis", "sidekiq", "ai_gateway"] {
        assert_status(&report, name, "skipped");
    }
}

#[test]
fn a_hanging_gateway_times_out_within_its_limit() {
    let env = env();
    let db = TestDb::new(&env, "health_hang");
    let gateway = Gateway::start(GatewayMode::Hang);
    let yaml = config(
        "health:\n  timeouts:\n    ai_gateway: 1\n  thresholds:\n    \
         db_response_time: {warning: 900, critical: 1000}\n",
    );
    let started = Instant::now();
    let (out, report) = health_json(
        k12ctl(&env)
            .env("DATABASE_URL", &db.url)
            .env("AI_GATEWAY_URL", &gateway.url)
            .arg("--config")
            .arg(yaml.path())
            .args(["--output", "json", "health", "--check", "ai_gateway"])
            .args(["--check", "database"]),
    );
    let took = started.elapsed();
    assert_code(&out, 2);
    assert_status(&report, "ai_gateway", "critical");
    let error = check(&report, "ai_gateway")["error"].as_str().unwrap();
    assert!(
        error.contains("timed out") || error.contains("timeout"),
        "{error}"
    );
    assert_status(&report, "database", "healthy");
    assert!(took >= Duration::from_secs(1), "waited its limit: {took:?}");
    // Its limit plus the one-second bound; the process start is in `took` too.
    assert!(
        took < Duration::from_millis(2500),
        "returned on time: {took:?}"
    );
}

/// A job as Sidekiq pushes it: JSON with `enqueued_at` in epoch seconds.
fn sidekiq_job(queue: &str, age_seconds: f64) -> String {
    let now = Utc::now().timestamp_micros() as f64 / 1e6;
    serde_json::json!({
        "retry": true, "queue": queue, "class": "DatabaseBackupJob",
        "args": [{"backup_type": "full", "_aj_ruby2_keywords": ["backup_type"]}],
        "jid": unique("jid"), "created_at": now - age_seconds,
        "enqueued_at": now - age_seconds,
    })
    .to_string()
}

/// Sidekiq's layout under an optional namespace: 3 jobs in `default`
/// (oldest 300 s), 2 in `low` (oldest 30 s), 2 to retry, 1 dead.
fn seed_sidekiq(url: &str, ns: &str) {
    let key = |k: &str| format!("{ns}{k}");
    redis_cli(url, &["SADD", &key("queues"), "default", "low"]);
    // LPUSH puts the newest on the left: push oldest first.
    for age in [300.0, 100.0, 5.0] {
        redis_cli(
            url,
            &["LPUSH", &key("queue:default"), &sidekiq_job("default", age)],
        );
    }
    for age in [30.0, 1.0] {
        redis_cli(url, &["LPUSH", &key("queue:low"), &sidekiq_job("low", age)]);
    }
    let retry_at = (Utc::now().timestamp() + 60).to_string();
    for _ in 0..2 {
        redis_cli(
            url,
            &[
                "ZADD",
                &key("retry"),
                &retry_at,
                &sidekiq_job("default", 0.0),
            ],
        );
    }
    redis_cli(
        url,
        &["ZADD", &key("dead"), &retry_at, &sidekiq_job("low", 0.0)],
    );
}

#[test]
fn sidekiq_depth_and_latency_come_from_its_own_layout() {
    let env = env();
    let redis = RedisServer::start(&[]);
    seed_sidekiq(&redis.url(0), "");
    let (out, report) = health_json(
        health(&env)
            .env("REDIS_URL", redis.url(0))
            .args(["--check", "sidekiq"]),
    );
    // 300 s is over the 120 s warning level, under the 600 s critical one.
    assert_code(&out, 1);
    assert_status(&report, "sidekiq", "warning");
    let m = &report["metrics"];
    assert_eq!(m["sidekiq_queue_depth"], 5);
    assert_eq!(check(&report, "sidekiq")["enqueued"], 5);
    let latency = m["sidekiq_max_latency"].as_f64().unwrap();
    assert!((299.0..320.0).contains(&latency), "{latency}");
    assert_eq!(m["sidekiq_retry_size"], 2);
    assert_eq!(m["sidekiq_dead_size"], 1);
    let detail = check(&report, "sidekiq")["detail"].as_str().unwrap();
    assert!(detail.contains("in default"), "{detail}");
    assert!(detail.contains("sidekiq_max_latency 3"), "{detail}");
    assert!(
        m.get("sidekiq_latency").is_none(),
        "only a full run has the platform's keys"
    );

    // Lower levels from the config file: critical. The name of earlier builds
    // (the platform's, which means the `default` queue alone) still works,
    // with a warning.
    for (key, deprecated) in [("sidekiq_max_latency", false), ("sidekiq_latency", true)] {
        let yaml = config(&format!(
            "health:\n  thresholds:\n    {key}: {{warning: 60, critical: 200}}\n"
        ));
        let (out, report) = health_json(
            health(&env)
                .env("REDIS_URL", redis.url(0))
                .arg("--config")
                .arg(yaml.path())
                .args(["--check", "sidekiq"]),
        );
        assert_code(&out, 2);
        assert_status(&report, "sidekiq", "critical");
        let warned = stderr(&out).contains("health.thresholds.sidekiq_latency is deprecated");
        assert_eq!(warned, deprecated, "{key}: {}", stderr(&out));
    }

    // A namespaced layout in another database of the same server.
    seed_sidekiq(&redis.url(3), "k12:");
    let yaml = config("health:\n  sidekiq_namespace: k12\n");
    let (out, report) = health_json(
        health(&env)
            .env("REDIS_URL", redis.url(3))
            .arg("--config")
            .arg(yaml.path())
            .args(["--check", "sidekiq"]),
    );
    assert_code(&out, 1);
    assert_eq!(report["metrics"]["sidekiq_queue_depth"], 5);
}

#[test]
fn no_backup_is_critical_and_a_30_hour_old_one_is_a_warning() {
    let env = env();
    let prefix = S3Prefix::new("health_age");
    let backups = || {
        health_json(
            health(&env)
                .env("K12CTL_STORAGE", prefix.storage_url(&env))
                .args(["--check", "backups"]),
        )
    };
    let (out, report) = backups();
    assert_code(&out, 2);
    assert_status(&report, "backups", "critical");
    assert!(report["metrics"]["backup_age_hours"].is_null());
    let error = check(&report, "backups")["error"].as_str().unwrap();
    assert!(error.contains("no completed or verified backup"), "{error}");

    catalog_backup(&env, &prefix, "failed", 1);
    let id = catalog_backup(&env, &prefix, "verified", 30);
    let (out, report) = backups();
    assert_code(&out, 1);
    assert_status(&report, "backups", "warning");
    let m = &report["metrics"];
    assert!(
        (m["backup_age_hours"].as_f64().unwrap() - 30.0).abs() < 0.2,
        "{m}"
    );
    assert!((m["backup_verified_age_hours"].as_f64().unwrap() - 30.0).abs() < 0.2);
    assert_eq!(m["backups_failed_30d"], 1);
    let detail = check(&report, "backups")["detail"].as_str().unwrap();
    assert!(detail.contains(&id), "{detail}");
}

#[test]
fn thresholds_from_yaml_change_the_verdicts() {
    let env = env();
    let prefix = S3Prefix::new("health_yaml");
    catalog_backup(&env, &prefix, "verified", 30);
    let with = |yaml: &str| {
        let file = config(yaml);
        health_json(
            health(&env)
                .env("K12CTL_STORAGE", prefix.storage_url(&env))
                .arg("--config")
                .arg(file.path())
                .args(["--check", "backups"]),
        )
    };
    let (out, report) = with("health:\n  thresholds:\n    backup_age_hours: {warning: 36}\n");
    assert_code(&out, 0);
    assert_status(&report, "backups", "healthy");
    let (out, _) =
        with("health:\n  thresholds:\n    backup_age_hours: {critical: 24, warning: 12}\n");
    assert_code(&out, 2);
    let (out, _) =
        with("health:\n  thresholds:\n    backup_age_hours: {warning: null, critical: null}\n");
    assert_code(&out, 0);
}

#[test]
fn check_limits_what_runs() {
    let env = env();
    let redis = RedisServer::start(&[]);
    // No database and no storage configured: only Redis is needed.
    let (out, report) = health_json(
        loaded_machine(&mut health(&env))
            .env("REDIS_URL", redis.url(0))
            .args(["--check", "redis"]),
    );
    assert_code(&out, 0);
    let checks: Vec<&String> = report["checks"].as_object().unwrap().keys().collect();
    assert_eq!(checks, ["redis"]);
    let metrics: Vec<&String> = report["metrics"].as_object().unwrap().keys().collect();
    assert_eq!(metrics, ["redis_memory_percent", "redis_response_time"]);

    // The suite's shared Redis, through REDIS_URL, and a repeated name.
    let (out, report) = health_json(
        loaded_machine(&mut health(&env))
            .env("REDIS_URL", &env.redis_url)
            .env("DATABASE_URL", &env.pg_url)
            .args([
                "--check", "redis", "--check", "database", "--check", "redis",
            ]),
    );
    assert_code(&out, 0);
    assert_eq!(report["checks"].as_object().unwrap().len(), 2);
}
