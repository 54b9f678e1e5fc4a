//! Nothing hangs: a database server that accepts connections and never
//! answers fails every command that connects within the connect timeout,
//! with one line naming it; `health` exits on time even when a `file://`
//! read never returns.

use std::time::Duration;

use crate::common::*;

/// What the test bounds a command by before killing it: far above the
/// connect timeout used (2 s), far below "forever".
const WATCHDOG: Duration = Duration::from_secs(30);

#[track_caller]
fn assert_no_answer_within(out: &std::process::Output, took: Duration, what: &str) {
    assert_code(out, 1);
    let err = stderr(out);
    assert!(
        err.contains("no answer within 2s") && err.contains("127.0.0.1"),
        "{what}: one line naming the server and the bound: {err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{what}: {err}"
    );
    // 2 s, plus the process start and, for restore, reading the catalog.
    assert!(took < Duration::from_secs(8), "{what} took {took:?}");
}

#[test]
fn a_server_that_never_answers_fails_backup_import_provision_and_restore_on_time() {
    let env = env();
    let hole = black_hole();
    let hung = format!("postgres://k12:pw@127.0.0.1:{hole}/k12");
    let storage = tempfile::tempdir().unwrap();
    let storage_url = format!("file://{}", storage.path().display());

    // A real backup in the storage, so that restore gets as far as connecting.
    let db = TestDb::seeded(&env, "hang_source");
    let made = run(k12ctl(&env)
        .env("DATABASE_URL", &db.url)
        .env("K12CTL_STORAGE", &storage_url)
        .args(["backup", "run"]));
    assert_code(&made, 0);

    let csv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(csv.path(), "email,first_name,last_name,role\n").unwrap();
    let commands: Vec<(&str, Vec<String>)> = vec![
        ("backup run", vec!["backup".into(), "run".into()]),
        (
            "import csv",
            ["import", "csv", "--tenant", "maple", "--kind", "users"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain([csv.path().display().to_string()])
                .collect(),
        ),
        ("provision school", crate::provision::school_flags("maple")),
        (
            "restore",
            [
                "restore", "--latest", "--target", "k12_copy", "--create", "--yes",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ),
    ];
    // All at once: each must end on its own within the bound.
    let runs: Vec<_> = commands
        .into_iter()
        .map(|(what, args)| {
            let mut cmd = k12ctl(&env);
            cmd.env("DATABASE_URL", &hung)
                .env("K12CTL_STORAGE", &storage_url)
                .env("K12CTL_CONNECT_TIMEOUT", "2")
                .args(&args);
            (
                what,
                std::thread::spawn(move || run_within(&mut cmd, WATCHDOG)),
            )
        })
        .collect();
    for (what, handle) in runs {
        let (out, took) = handle.join().unwrap();
        assert_no_answer_within(&out, took, what);
    }
}

#[test]
fn the_connect_timeout_comes_from_the_config_file_and_the_url_wins() {
    let env = env();
    let hole = black_hole();
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("k12ctl.yaml");
    std::fs::write(&yaml, "connect_timeout_seconds: 2\n").unwrap();
    let storage = format!("file://{}", dir.path().join("store").display());

    let (out, took) = run_within(
        k12ctl(&env)
            .env(
                "DATABASE_URL",
                format!("postgres://k12@127.0.0.1:{hole}/k12"),
            )
            .env("K12CTL_STORAGE", &storage)
            .arg("--config")
            .arg(&yaml)
            .args(["backup", "run"]),
        WATCHDOG,
    );
    assert_no_answer_within(&out, took, "connect_timeout_seconds: 2");

    // libpq's rule: the URL's own connect_timeout is the more specific one.
    let (out, took) = run_within(
        k12ctl(&env)
            .env(
                "DATABASE_URL",
                format!("postgres://k12@127.0.0.1:{hole}/k12?connect_timeout=2"),
            )
            .env("K12CTL_STORAGE", &storage)
            .env("K12CTL_CONNECT_TIMEOUT", "600")
            .args(["backup", "run"]),
        WATCHDOG,
    );
    assert_no_answer_within(&out, took, "connect_timeout=2 in the URL");

    let shown = run(k12ctl(&env)
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

    let bad = run(k12ctl(&env)
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
    let env = env();
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
        k12ctl(&env)
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
