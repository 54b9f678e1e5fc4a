//! Running with nobody watching: retention, cleanup of killed runs,
//! notifications, client-side encryption.

use std::process::Command;
use std::time::Instant;

use chrono::{Duration, Utc};

use crate::common::*;

/// Put backups into the catalog by hand, as `backup run` would have written
/// them: a small data object and a manifest started `age` ago, each. One
/// recursive upload, since the AWS CLI is slow to start.
fn planted(
    env: &Env,
    prefix: &S3Prefix,
    specs: &[(Duration, &str)],
) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for (age, status) in specs {
        let started = Utc::now() - *age;
        let id = format!("k12_full_{}", started.format("%Y%m%d_%H%M%S"));
        let month = format!("backups/{}/", started.format("%Y/%m"));
        let data = format!("{month}{id}.dump.gz");
        let manifest = format!("{month}{id}.manifest.json");
        let body = serde_json::json!({
            "format_version": 1, "id": id, "type": "full", "status": status, "database": "k12",
            "server_version": "15", "system_identifier": null, "pg_dump_version": "15",
            "started_at": started, "finished_at": started, "duration_seconds": 1.0,
            "object_key": data, "compressed_size": 4, "uncompressed_size": 4, "sha256": null,
            "compression": "gzip", "compression_level": 2, "table_row_counts": {}, "database_size": 1,
            "tool_version": "test", "error": null
        });
        std::fs::create_dir_all(dir.path().join(&month)).unwrap();
        std::fs::write(dir.path().join(&data), b"data").unwrap();
        std::fs::write(
            dir.path().join(&manifest),
            serde_json::to_vec(&body).unwrap(),
        )
        .unwrap();
        out.push((id, data, manifest));
    }
    let put = aws(
        env,
        &[
            "s3",
            "cp",
            "--recursive",
            dir.path().to_str().unwrap(),
            &format!("s3://{}/{}", env.bucket, prefix.prefix),
        ],
    );
    assert!(put.status.success(), "{}", stderr(&put));
    out
}

#[test]
fn prune_applies_the_policy_dry_run_first_and_finishes_a_half_done_prune() {
    let env = env();
    let prefix = S3Prefix::new("prune");
    let mut specs: Vec<(Duration, &str)> = (1..=8)
        .map(|d| (Duration::days(d) + Duration::hours(1), "completed"))
        .collect();
    specs.push((Duration::days(35), "failed"));
    specs.push((Duration::days(2), "failed"));
    let mut all = planted(&env, &prefix, &specs);
    let new_failed = all.pop().unwrap();
    let old_failed = all.pop().unwrap();
    let good = all;
    let storage = prefix.storage_url(&env);
    let prune = |extra: &[&str]| {
        let mut cmd = k12ctl(&env);
        cmd.args([
            "--storage",
            &storage,
            "--output",
            "json",
            "backup",
            "prune",
            "--keep-daily",
            "3",
        ])
        .args(extra);
        run(&mut cmd)
    };
    let keys_before = s3_keys(&env, &prefix.prefix);

    let dry = prune(&["--dry-run"]);
    assert_code(&dry, 0);
    assert_eq!(
        s3_keys(&env, &prefix.prefix),
        keys_before,
        "a dry run removes nothing"
    );
    let verdicts = json(&dry);
    let removed: Vec<String> = verdicts["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["keep"] == false)
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(removed.len(), 6, "{verdicts}");
    assert!(removed.contains(&old_failed.0) && !removed.contains(&new_failed.0));
    for (id, ..) in &good[..3] {
        assert!(!removed.contains(id), "the three newest days are kept");
    }

    // A prune that died between deleting an object and its manifest.
    let (_, half_data, half_manifest) = &good[7];
    assert!(aws(
        &env,
        &[
            "s3",
            "rm",
            &format!("s3://{}/{}/{half_data}", env.bucket, prefix.prefix)
        ]
    )
    .status
    .success());

    let real = prune(&[]);
    assert_code(&real, 0);
    let keys = s3_keys(&env, &prefix.prefix);
    assert!(
        !keys.iter().any(|k| k.ends_with(half_manifest.as_str())),
        "the half-done removal is finished"
    );
    for (id, data, manifest) in good[3..].iter().chain([&old_failed]) {
        assert!(
            !keys
                .iter()
                .any(|k| k.ends_with(data.as_str()) || k.ends_with(manifest.as_str())),
            "{id} removed"
        );
    }
    for (id, data, manifest) in good[..3].iter().chain([&new_failed]) {
        assert!(
            keys.iter().any(|k| k.ends_with(data.as_str()))
                && keys.iter().any(|k| k.ends_with(manifest.as_str())),
            "{id} kept"
        );
    }
}

#[test]
fn prune_refuses_an_empty_policy() {
    let env = env();
    let prefix = S3Prefix::new("prune_empty");
    planted(&env, &prefix, &[(Duration::days(3), "completed")]);
    let out = run(k12ctl(&env).args(["--storage", &prefix.storage_url(&env), "backup", "prune"]));
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("retention policy is empty"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s3_keys(&env, &prefix.prefix).len(), 2);
}

#[test]
fn stale_multipart_uploads_are_aborted_and_fresh_ones_left_alone() {
    let env = env();
    let prefix = S3Prefix::new("uploads");
    planted(&env, &prefix, &[(Duration::days(1), "completed")]);
    let key = format!(
        "{}/backups/2026/11/k12_full_20261101_000000.dump.gz",
        prefix.prefix
    );
    let created = aws(
        &env,
        &[
            "s3api",
            "create-multipart-upload",
            "--bucket",
            &env.bucket,
            "--key",
            &key,
        ],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let storage = prefix.storage_url(&env);

    let fresh =
        run(k12ctl(&env).args(["--storage", &storage, "backup", "prune", "--keep-last", "5"]));
    assert_code(&fresh, 0);
    assert_eq!(
        s3_pending_uploads(&env, &prefix.prefix).len(),
        1,
        "a fresh upload may be a running backup"
    );

    let stale = run(k12ctl(&env).args([
        "--storage",
        &storage,
        "--output",
        "json",
        "backup",
        "prune",
        "--keep-last",
        "5",
        "--abort-uploads-older-than",
        "0s",
    ]));
    assert_code(&stale, 0);
    assert!(s3_pending_uploads(&env, &prefix.prefix).is_empty());
    assert_eq!(
        json(&stale)["aborted_uploads"][0]["key"],
        key.trim_start_matches(&format!("{}/", prefix.prefix))
    );
}

/// A backup that fails (pg_dump exits 1) or succeeds, with notifications on.
fn notified_run(
    env: &Env,
    fail: bool,
    slack: &str,
    ping: &str,
    extra_env: &[(&str, &str)],
) -> (std::process::Output, std::time::Duration, TestDb) {
    let db = TestDb::seeded(env, "notify");
    let prefix = S3Prefix::new("notify");
    let shims = Shims::new();
    let body = if fail {
        "exit 1".to_owned()
    } else {
        format!("exec {}/pg_dump \"$@\"", env.pg_bindir.display())
    };
    shims.add(
        "pg_dump",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {}/pg_dump --version; fi\n{body}\n",
            env.pg_bindir.display()
        ),
    );
    let mut cmd = k12ctl_for(env, &db, &prefix);
    cmd.env("PATH", shims.path_env())
        .env("SLACK_ALERT_WEBHOOK_URL", slack)
        .env("K12CTL_PING_URL", ping)
        .args(["--notify", "backup", "run"]);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let clock = Instant::now();
    let out = run(&mut cmd);
    (out, clock.elapsed(), db)
}

#[test]
fn failures_reach_slack_and_the_pings_mark_start_and_end() {
    let env = env();
    let server = HttpRecorder::start(200, "ok", false);
    let slack = format!("{}/hook/T000/B000/secret-token", server.url);
    let ping = format!("{}/ping/check-uuid", server.url);
    let (out, _, db) = notified_run(&env, true, &slack, &ping, &[]);
    assert_code(&out, 1);
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/ping/check-uuid/start",
            "/ping/check-uuid/fail",
            "/hook/T000/B000/secret-token"
        ]
    );
    let slack_body: serde_json::Value = serde_json::from_str(&requests[2].body).unwrap();
    let text = slack_body["text"].as_str().unwrap();
    assert!(
        text.contains("backup run failed") && text.contains(&db.name),
        "{text}"
    );
    let password = url::Url::parse(&env.pg_url)
        .unwrap()
        .password()
        .unwrap()
        .to_owned();
    for r in &requests {
        assert!(
            !r.body.contains(&password) && !r.body.contains(&env.secret_key),
            "no secret in {r:?}"
        );
    }
    assert!(
        !stderr(&out).contains("secret-token"),
        "the webhook URL is a secret"
    );

    let server = HttpRecorder::start(200, "ok", false);
    let ping = format!("{}/ping/check-uuid", server.url);
    let (out, _, _) = notified_run(&env, false, &format!("{}/hook", server.url), &ping, &[]);
    assert_code(&out, 0);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        vec!["/ping/check-uuid/start", "/ping/check-uuid"],
        "success: no Slack message"
    );
}

#[test]
fn an_unreachable_or_hanging_webhook_changes_nothing_and_delays_little() {
    let env = env();
    let down = closed_port_url();
    let (out, _, _) = notified_run(
        &env,
        true,
        &format!("{down}/hook"),
        &format!("{down}/ping"),
        &[],
    );
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("notification not delivered"),
        "{}",
        stderr(&out)
    );

    let hanging = HttpRecorder::start(200, "ok", true);
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("k12ctl.yaml");
    std::fs::write(&file, "notify:\n  timeout_seconds: 1\n").unwrap();
    let (out, elapsed, _) = notified_run(
        &env,
        false,
        &format!("{}/hook", hanging.url),
        &format!("{}/ping", hanging.url),
        &[("K12CTL_CONFIG", file.to_str().unwrap())],
    );
    assert_code(&out, 0);
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    // Two pings (start, success) of at most a second each, on top of the backup.
    assert!(
        elapsed < std::time::Duration::from_secs(30),
        "took {elapsed:?}"
    );
}

fn age_key() -> (tempfile::TempDir, std::path::PathBuf, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup-key.txt");
    std::fs::write(
        &path,
        format!("# test key\n{}\n", id.to_string().expose_secret()),
    )
    .unwrap();
    (dir, path, id.to_public().to_string())
}

#[test]
fn encrypted_backups_verify_and_restore_only_with_the_identity() {
    let env = env();
    let db = TestDb::seeded(&env, "crypt");
    let marker = "MARKER-7f3a-roster-row";
    db.sql(&format!(
        "UPDATE users SET first_name = '{marker}' WHERE id = 1"
    ));
    let source = db.table_checksums();
    let prefix = S3Prefix::new("crypt");
    let (_keydir, key, recipient) = age_key();
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "--output",
        "json",
        "backup",
        "run",
        "--encrypt-to",
        &recipient,
    ]));
    assert_code(&out, 0);
    let report = json(&out);
    assert_eq!(report["encryption"]["recipients"][0], recipient.as_str());
    let object_key = format!(
        "{}/{}",
        prefix.prefix,
        report["object_key"].as_str().unwrap()
    );
    let stored = s3_get(&env, &object_key);
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), &stored).unwrap();
    assert_ne!(
        &stored[..2],
        &[0x1f, 0x8b],
        "the stored object is not a gzip stream"
    );
    assert!(!stored.windows(marker.len()).any(|w| w == marker.as_bytes()));
    assert!(!Command::new("gunzip")
        .arg("-t")
        .stdin(std::fs::File::open(tmp.path()).unwrap())
        .status()
        .unwrap()
        .success());

    let id = report["id"].as_str().unwrap();
    let missing = run(k12ctl_for(&env, &db, &prefix).args(["backup", "verify", id]));
    assert_code(&missing, 2);
    assert!(
        stderr(&missing).contains("--identity"),
        "{}",
        stderr(&missing)
    );

    let (_other_dir, wrong_key, _) = age_key();
    let target = TestDb::new(&env, "crypt_target");
    let wrong = run(k12ctl_for(&env, &db, &prefix)
        .args([
            "restore",
            "--latest",
            "--target",
            &target.name,
            "--yes",
            "--identity",
        ])
        .arg(&wrong_key));
    assert_code(&wrong, 2);
    assert!(
        stderr(&wrong).contains("no identity in the identity file matches"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(
        target.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0",
        "target untouched"
    );
    let wrong_verify = run(k12ctl_for(&env, &db, &prefix)
        .args(["backup", "verify", id, "--identity"])
        .arg(&wrong_key));
    assert_code(&wrong_verify, 2);

    let verify = run(k12ctl_for(&env, &db, &prefix)
        .args(["--output", "json", "backup", "verify", id, "--identity"])
        .arg(&key));
    assert_code(&verify, 0);
    assert_eq!(json(&verify)["status"], "verified");
    let restore = run(k12ctl_for(&env, &db, &prefix)
        .env("K12CTL_IDENTITY_FILE", &key)
        .args(["restore", "--latest", "--target", &target.name, "--yes"]));
    assert_code(&restore, 0);
    assert_eq!(target.table_checksums(), source);
}

fn scrape(path: &std::path::Path) -> std::collections::HashMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let v = match s.value {
                prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("not a gauge: {other:?}"),
            };
            (s.metric, v)
        })
        .collect()
}

#[test]
fn job_metrics_record_success_and_keep_the_last_success_over_a_failure() {
    let env = env();
    let db = TestDb::seeded(&env, "metrics");
    let prefix = S3Prefix::new("metrics");
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("k12ctl_backup.prom");
    let ok = run(k12ctl_for(&env, &db, &prefix)
        .args(["--output", "json", "backup", "run", "--prometheus-file"])
        .arg(&prom));
    assert_code(&ok, 0);
    let first = scrape(&prom);
    assert_eq!(first["k12ctl_backup_run_success"], 1.0);
    assert_eq!(first["k12ctl_backup_run_exit_code"], 0.0);
    assert_eq!(
        first["k12ctl_backup_run_size_bytes"],
        json(&ok)["compressed_size"].as_f64().unwrap()
    );
    let last_success = first["k12ctl_backup_run_last_success_timestamp_seconds"];
    assert!(last_success > 1.7e9);

    let shims = Shims::new();
    shims.add(
        "pg_dump",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {}/pg_dump --version; fi\nexit 1\n",
            env.pg_bindir.display()
        ),
    );
    let failed = run(k12ctl_for(&env, &db, &prefix)
        .env("PATH", shims.path_env())
        .args(["backup", "run", "--prometheus-file"])
        .arg(&prom));
    assert_code(&failed, 1);
    let second = scrape(&prom);
    assert_eq!(second["k12ctl_backup_run_success"], 0.0);
    assert_eq!(second["k12ctl_backup_run_exit_code"], 1.0);
    assert_eq!(
        second["k12ctl_backup_run_last_success_timestamp_seconds"],
        last_success
    );
    assert!(!second.contains_key("k12ctl_backup_run_size_bytes"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "only the .prom file, no temporary file: {leftovers:?}"
    );

    let verify = run(k12ctl_for(&env, &db, &prefix)
        .args(["backup", "verify", "--latest", "--prometheus-file"])
        .arg(dir.path().join("verify.prom")));
    assert_code(&verify, 0);
    assert_eq!(
        scrape(&dir.path().join("verify.prom"))["k12ctl_backup_verify_success"],
        1.0
    );
    let prune = run(k12ctl_for(&env, &db, &prefix)
        .args(["backup", "prune", "--keep-last", "1", "--prometheus-file"])
        .arg(dir.path().join("prune.prom")));
    assert_code(&prune, 0);
    let p = scrape(&dir.path().join("prune.prom"));
    // The verified backup is the newest good one and today's failure is recent: both stay.
    assert_eq!(
        (
            p["k12ctl_backup_prune_kept"],
            p["k12ctl_backup_prune_removed"]
        ),
        (2.0, 0.0),
        "{p:?}"
    );
}
