//! Nothing hangs, without servers: a database that accepts connections and
//! never answers (a local black hole) fails within the connect timeout from
//! the config file or the URL; `health` exits on time even when a `file://`
//! read never returns.

use std::time::Duration;

use crate::common::*;

#[test]
fn the_connect_timeout_comes_from_the_config_file_and_the_url_wins() {
    let hole = black_hole();
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("k12ctl.yaml");
    std::fs::write(&yaml, "connect_timeout_seconds: 2\n").unwrap();
    let storage = format!("file://{}", dir.path().join("store").display());
    // `backup run` checks pg_dump before connecting: a stand-in that only
    // answers --version, so no PostgreSQL client needs to be installed.
    let tools = Shims::new();
    tools.add(
        "pg_dump",
        "#!/bin/sh\n[ \"$1\" = --version ] && exec echo 'pg_dump (PostgreSQL) 16.2'\nexit 1\n",
    );

    let (out, took) = run_within(
        k12ctl_no_servers()
            .env(
                "DATABASE_URL",
                format!("postgres://k12@127.0.0.1:{hole}/k12"),
            )
            .env("K12CTL_STORAGE", &storage)
            .env("K12CTL_PG_BINDIR", tools.dir.path())
            .arg("--config")
            .arg(&yaml)
            .args(["backup", "run"]),
        WATCHDOG,
    );
    assert_no_answer_within(&out, took, "connect_timeout_seconds: 2");

    // libpq's rule: the URL's own connect_timeout is the more specific one.
    let (out, took) = run_within(
        k12ctl_no_servers()
            .env(
                "DATABASE_URL",
                format!("postgres://k12@127.0.0.1:{hole}/k12?connect_timeout=2"),
            )
            .env("K12CTL_STORAGE", &storage)
            .env("K12CTL_PG_BINDIR", tools.dir.path())
            .env("K12CTL_CONNECT_TIMEOUT", "600")
            .args(["backup", "run"]),
        WATCHDOG,
    );
    assert_no_answer_within(&out, took, "connect_timeout=2 in the URL");

    let shown = run(k12ctl_no_servers()
        .env("K12CTL_CONNECT_TIMEOUT", "45")
        .args(["--output", "json", "config", "show"]));
    assert_code(&shown, 0);
    let setting = json(&shown)["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "connect_timeout")
        .cloned()
        .expect("config show lists connect_timeout");
    assert_eq!(setting["value"], "45s");
    assert_eq!(setting["source"], "env");

    let bad = run(k12ctl_no_servers()
        .env("K12CTL_CONNECT_TIMEOUT", "0")
        .args(["config", "show"]));
    assert_code(&bad, 2);
    assert!(
        stderr(&bad).contains("K12CTL_CONNECT_TIMEOUT"),
        "{}",
        stderr(&bad)
    );
}

/// A `file://` store whose newest manifest is a FIFO nobody writes: opening
/// it blocks in the kernel, as a read on a hung NFS mount does.
#[test]
fn health_exits_on_time_when_a_file_store_read_never_returns() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("backups/2026/11");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("k12_full_20261101_000000.manifest.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let yaml = root.path().join("health.yaml");
    std::fs::write(&yaml, "health:\n  timeout_seconds: 1\n").unwrap();

    let (out, took) = run_within(
        k12ctl_no_servers()
            .env(
                "K12CTL_STORAGE",
                format!("file://{}", root.path().display()),
            )
            .arg("--config")
            .arg(&yaml)
            .args(["--output", "json", "health", "--check", "backups"]),
        WATCHDOG,
    );
    assert_code(&out, 2);
    let report = json(&out);
    assert_eq!(report["checks"]["backups"]["status"], "critical");
    assert!(
        report["checks"]["backups"]["detail"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{report}"
    );
    // The 1 s limit plus health's one-second bound, and the process start:
    // the process no longer waits at exit for the read that never returns.
    assert!(took < Duration::from_secs(4), "health took {took:?}");
}
