//! `backup run`, `list`, `show` against real PostgreSQL and Garage.

use std::process::{Command, Stdio};

use crate::common::*;

/// Download an object with the AWS CLI, `gunzip | pg_restore` it into a new
/// database with stock tools only, and return that database.
fn restore_with_stock_tools_from_s3(env: &Env, key: &str) -> TestDb {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), s3_get(env, key)).unwrap();
    restore_with_stock_tools(env, file.path())
}

pub fn restore_with_stock_tools(env: &Env, gz: &std::path::Path) -> TestDb {
    let target = TestDb::new(env, "stock_restore");
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#"gunzip -c "$1" | pg_restore --exit-on-error --no-owner -d "$2""#)
        .arg("sh")
        .arg(gz)
        .arg(&target.url)
        .status()
        .unwrap();
    assert!(status.success(), "gunzip | pg_restore failed");
    target
}

#[test]
fn s3_backup_restores_with_stock_tools_and_identical_content() {
    let env = env();
    let db = TestDb::seeded(&env, "roundtrip_s3");
    let prefix = S3Prefix::new("roundtrip");
    // Taken before the run: the run's own backup_records row comes after its snapshot.
    let source = db.table_checksums();
    let out = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&out, 0);
    let report = json(&out);
    assert_eq!(report["status"], "completed");
    let key = format!(
        "{}/{}",
        prefix.prefix,
        report["object_key"].as_str().unwrap()
    );

    // Stored size and SHA-256 in the manifest describe the stored bytes.
    let file = tempfile::NamedTempFile::new().unwrap();
    let bytes = s3_get(&env, &key);
    std::fs::write(file.path(), &bytes).unwrap();
    assert_eq!(report["compressed_size"].as_u64(), Some(bytes.len() as u64));
    let sha = Command::new("sha256sum").arg(file.path()).output().unwrap();
    assert!(stdout(&sha).starts_with(report["sha256"].as_str().unwrap()));

    let restored = restore_with_stock_tools_from_s3(&env, &key);
    assert!(
        source.len() >= 8,
        "the sample database has the platform tables: {source:?}"
    );
    assert_eq!(restored.table_checksums(), source);
    // Row counts in the manifest equal the source's.
    for (table, sum) in &source {
        let count: i64 = sum.split(':').next().unwrap().parse().unwrap();
        assert_eq!(
            report["table_row_counts"][table].as_i64(),
            Some(count),
            "{table}"
        );
    }
}

#[test]
fn file_storage_backup_restores_with_stock_tools() {
    let env = env();
    let db = TestDb::seeded(&env, "roundtrip_file");
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("file://{}", dir.path().display());
    let source = db.table_checksums();
    let out = run(k12ctl(&env).env("DATABASE_URL", &db.url).args([
        "--storage",
        &storage,
        "--output",
        "json",
        "backup",
        "run",
    ]));
    assert_code(&out, 0);
    let key = json(&out)["object_key"].as_str().unwrap().to_owned();
    let restored = restore_with_stock_tools(&env, &dir.path().join(&key));
    assert_eq!(restored.table_checksums(), source);

    let list =
        run(k12ctl(&env).args(["--storage", &storage, "--output", "json", "backup", "list"]));
    assert_code(&list, 0);
    assert_eq!(json(&list)["backups"][0]["status"], "completed");
    // No partial file is left next to the backup.
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

pub fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn manifest_counts_equal_restored_counts_under_concurrent_writes() {
    let env = env();
    let db = TestDb::new(&env, "pgbench");
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "4"])
        .arg(&db.url)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    // Writers run for the whole backup: pgbench's TPC-B inserts into
    // pgbench_history and updates the other tables.
    let mut writers = Command::new("pgbench")
        .args(["-c", "2", "-T", "600", "-n"])
        .arg(&db.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let history_before: i64 = db
        .sql("SELECT count(*) FROM pgbench_history")
        .parse()
        .unwrap();
    let prefix = S3Prefix::new("pgbench");
    let out = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"]));
    let history_after: i64 = db
        .sql("SELECT count(*) FROM pgbench_history")
        .parse()
        .unwrap();
    let _ = writers.kill();
    let _ = writers.wait();
    assert_code(&out, 0);
    assert!(
        history_after > history_before,
        "pgbench was writing during the backup"
    );

    let report = json(&out);
    let key = format!(
        "{}/{}",
        prefix.prefix,
        report["object_key"].as_str().unwrap()
    );
    let restored = restore_with_stock_tools_from_s3(&env, &key);
    for table in [
        "pgbench_accounts",
        "pgbench_branches",
        "pgbench_tellers",
        "pgbench_history",
    ] {
        let actual: i64 = restored
            .sql(&format!("SELECT count(*) FROM {table}"))
            .parse()
            .unwrap();
        assert_eq!(
            report["table_row_counts"][format!("public.{table}")].as_i64(),
            Some(actual),
            "{table}"
        );
    }
}

/// A pg_dump that answers --version like the real one and otherwise runs `body`.
pub fn pg_dump_shim(env: &Env, body: &str) -> Shims {
    let shims = Shims::new();
    shims.add(
        "pg_dump",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {}/pg_dump --version; fi\n{body}\n",
            env.pg_bindir.display()
        ),
    );
    shims
}

/// After a failed run: exit 1, a `failed` manifest, nothing completed,
/// no unfinished multipart upload.
fn assert_failed_run_left_no_debris(
    env: &Env,
    db: &TestDb,
    prefix: &S3Prefix,
    out: &std::process::Output,
    code: i32,
) {
    assert_code(out, code);
    let list = run(k12ctl_for(env, db, prefix).args(["--output", "json", "backup", "list"]));
    assert_code(&list, 0);
    let backups = json(&list)["backups"].as_array().unwrap().clone();
    assert_eq!(backups.len(), 1, "one failed run recorded: {backups:?}");
    assert_eq!(backups[0]["status"], "failed");
    assert!(backups[0]["error"].as_str().unwrap().len() > 5);
    assert!(
        s3_pending_uploads(env, &prefix.prefix).is_empty(),
        "no unfinished upload remains"
    );
    assert!(
        !s3_keys(env, &prefix.prefix)
            .iter()
            .any(|k| k.ends_with(".dump.gz")),
        "no data object remains"
    );
}

#[test]
fn pg_dump_failing_midstream_fails_the_backup_and_aborts_the_upload() {
    let env = env();
    let db = TestDb::seeded(&env, "dump_fails");
    let prefix = S3Prefix::new("dump_fails");
    let shims = pg_dump_shim(&env, "printf PGDMP; head -c 300000 /dev/urandom; echo 'pg_dump: error: connection lost' >&2; exit 1");
    let out = run(k12ctl_for(&env, &db, &prefix)
        .env("PATH", shims.path_env())
        .args(["backup", "run"]));
    assert!(stderr(&out).contains("pg_dump failed"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("connection lost"),
        "pg_dump's own error is shown: {}",
        stderr(&out)
    );
    assert_failed_run_left_no_debris(&env, &db, &prefix, &out, 1);
}

#[test]
fn pg_dump_exiting_zero_with_empty_output_fails_the_backup() {
    let env = env();
    let db = TestDb::seeded(&env, "dump_empty");
    let prefix = S3Prefix::new("dump_empty");
    let shims = pg_dump_shim(&env, "exit 0");
    let out = run(k12ctl_for(&env, &db, &prefix)
        .env("PATH", shims.path_env())
        .args(["backup", "run"]));
    assert!(stderr(&out).contains("wrote nothing"), "{}", stderr(&out));
    assert_failed_run_left_no_debris(&env, &db, &prefix, &out, 1);
}

#[test]
fn output_without_a_custom_format_header_fails_the_backup() {
    let env = env();
    let db = TestDb::seeded(&env, "dump_plain");
    let prefix = S3Prefix::new("dump_plain");
    let shims = pg_dump_shim(&env, "echo 'CREATE TABLE x ();'; exit 0");
    let out = run(k12ctl_for(&env, &db, &prefix)
        .env("PATH", shims.path_env())
        .args(["backup", "run"]));
    assert!(stderr(&out).contains("PGDMP"), "{}", stderr(&out));
    assert_failed_run_left_no_debris(&env, &db, &prefix, &out, 1);
}

/// A pg_dump that writes some data, tells the test through a FIFO that it is
/// running, then hangs: the backup is mid-upload until the test acts.
struct HangingDump {
    shims: Shims,
    fifo: std::path::PathBuf,
}

impl HangingDump {
    fn new(env: &Env) -> Self {
        let dir = tempfile::tempdir().unwrap().keep();
        let fifo = dir.join("ready");
        assert!(Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let shims = pg_dump_shim(
            env,
            &format!(
                "printf PGDMP; head -c 200000 /dev/urandom; echo \"$PPID\" > '{}'; exec sleep 600",
                fifo.display()
            ),
        );
        Self { shims, fifo }
    }

    /// Blocks until the shim runs; returns the pid of the k12ctl that started it.
    fn wait_running(&self) -> String {
        let fifo = self.fifo.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(std::fs::read_to_string(fifo));
        });
        rx.recv_timeout(std::time::Duration::from_secs(120))
            .expect("pg_dump was never started")
            .unwrap()
            .trim()
            .to_owned()
    }
}

fn interrupted_backup(signal: &str, expected_code: i32) {
    let env = env();
    let db = TestDb::seeded(&env, &format!("sig{signal}"));
    let prefix = S3Prefix::new(&format!("sig{signal}"));
    let dump = HangingDump::new(&env);
    let child = k12ctl_for(&env, &db, &prefix)
        .env("PATH", dump.shims.path_env())
        .args(["backup", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = dump.wait_running();
    assert_eq!(pid, child.id().to_string());
    assert_eq!(
        s3_pending_uploads(&env, &prefix.prefix).len(),
        1,
        "the upload is under way"
    );
    assert!(Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert!(
        stderr(&out).contains(if signal == "INT" { "SIGINT" } else { "SIGTERM" }),
        "{}",
        stderr(&out)
    );
    assert_failed_run_left_no_debris(&env, &db, &prefix, &out, expected_code);
}

#[test]
fn sigint_during_upload_aborts_it_and_records_the_failure() {
    interrupted_backup("INT", 130);
}

#[test]
fn sigterm_during_upload_aborts_it_and_records_the_failure() {
    interrupted_backup("TERM", 143);
}

#[test]
fn sigkill_mid_upload_leaves_no_manifest_and_no_listed_backup() {
    let env = env();
    let db = TestDb::seeded(&env, "sigkill");
    let prefix = S3Prefix::new("sigkill");
    let dump = HangingDump::new(&env);
    let mut child = k12ctl_for(&env, &db, &prefix)
        .env("PATH", dump.shims.path_env())
        .args(["backup", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = dump.wait_running();
    assert!(Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    child.wait().unwrap();
    assert!(!s3_keys(&env, &prefix.prefix)
        .iter()
        .any(|k| k.ends_with(".manifest.json")));
    let list = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "list"]));
    assert_code(&list, 0);
    assert_eq!(json(&list)["backups"].as_array().unwrap().len(), 0);
    // The orphaned pg_dump (our shim) is not our business here; clean it up.
    let _ = Command::new("pkill")
        .args(["-f", &dump.fifo.display().to_string()])
        .status();
}

#[test]
fn a_second_backup_of_the_same_database_is_refused_naming_the_holder() {
    let env = env();
    let db = TestDb::seeded(&env, "lock");
    let prefix = S3Prefix::new("lock");
    let dump = HangingDump::new(&env);
    let first = k12ctl_for(&env, &db, &prefix)
        .env("PATH", dump.shims.path_env())
        .args(["backup", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = dump.wait_running();
    let second = run(k12ctl_for(&env, &db, &prefix).args(["backup", "run"]));
    assert_code(&second, 5);
    let err = stderr(&second);
    assert!(err.contains("another backup of database"), "{err}");
    assert!(
        err.contains(&format!("k12ctl backup run (pid {pid}")),
        "names the holder: {err}"
    );
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = first.wait_with_output().unwrap();
    assert_code(&out, 130);
}

/// Records pg_dump's argv and whether it saw a password, then runs the real one.
#[test]
fn the_password_reaches_pg_dump_only_through_its_environment() {
    let env = env();
    let db = TestDb::seeded(&env, "argv");
    let prefix = S3Prefix::new("argv");
    let log = tempfile::NamedTempFile::new().unwrap();
    let shims = pg_dump_shim(
        &env,
        &format!(
            "printf '%s\\n' \"$0\" \"$@\" >> '{log}'\n[ -n \"$PGPASSWORD\" ] && echo PGPASSWORD-set >> '{log}'\ncat /proc/$$/cmdline | tr '\\0' ' ' >> '{log}'\nexec {bindir}/pg_dump \"$@\"",
            log = log.path().display(),
            bindir = env.pg_bindir.display()
        ),
    );
    let out = run(k12ctl_for(&env, &db, &prefix)
        .env("PATH", shims.path_env())
        .args(["backup", "run"]));
    assert_code(&out, 0);
    let recorded = std::fs::read_to_string(log.path()).unwrap();
    let password = url::Url::parse(&env.pg_url)
        .unwrap()
        .password()
        .unwrap()
        .to_owned();
    assert!(recorded.contains("--snapshot="), "{recorded}");
    assert!(recorded.contains("PGPASSWORD-set"), "{recorded}");
    assert!(
        !recorded.replace("PGPASSWORD-set", "").contains(&password),
        "password in argv: {recorded}"
    );
    assert!(!stderr(&out).contains(&password) && !stdout(&out).contains(&password));
}

#[test]
fn hostile_database_and_prefix_names_never_reach_a_shell() {
    let env = env();
    let marker = tempfile::tempdir().unwrap();
    let pwned = marker.path().join("pwned");
    let name = format!("k12 \"q\" '$(touch {})'; `id`", pwned.display());
    let db = TestDb::named(&env, &name);
    psql_file(&db.url, &repo_path("schema/lms.sql"));
    db.sql("INSERT INTO tenants (name, slug, district, created_at, updated_at) VALUES ('O''Brien; DROP TABLE users', 'hostile', 'x', now(), now())");
    let prefix = S3Prefix {
        prefix: format!(
            "t/{} sp ace;$(touch {})",
            unique("hostile"),
            pwned.display()
        ),
    };
    let out = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&out, 0);
    assert!(!pwned.exists(), "a shell ran a hostile name");
    assert_eq!(json(&out)["database"], name);
    let list = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "list"]));
    assert_eq!(json(&list)["backups"][0]["status"], "completed");
}

#[test]
fn show_latest_and_by_id_and_unknown_id() {
    let env = env();
    let db = TestDb::seeded(&env, "show");
    let prefix = S3Prefix::new("show");
    let first = json(&run(
        k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"])
    ));
    let second = json(&run(
        k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"])
    ));
    assert_ne!(
        first["id"], second["id"],
        "two runs in the same second get distinct ids"
    );

    let latest =
        run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "show", "latest"]));
    assert_code(&latest, 0);
    assert_eq!(json(&latest)["id"], second["id"]);
    let by_id = run(k12ctl_for(&env, &db, &prefix).args([
        "--output",
        "json",
        "backup",
        "show",
        first["id"].as_str().unwrap(),
    ]));
    assert_eq!(json(&by_id)["sha256"], first["sha256"]);

    let list =
        json(&run(k12ctl_for(&env, &db, &prefix).args([
            "--output", "json", "backup", "list", "--limit", "1",
        ])));
    assert_eq!(list["backups"].as_array().unwrap().len(), 1);
    assert_eq!(list["backups"][0]["id"], second["id"], "newest first");
    let failed_only = json(&run(k12ctl_for(&env, &db, &prefix)
        .args(["--output", "json", "backup", "list", "--status", "failed"])));
    assert!(failed_only["backups"].as_array().unwrap().is_empty());

    let missing =
        run(k12ctl_for(&env, &db, &prefix).args(["backup", "show", "k12_full_20200101_000000"]));
    assert_code(&missing, 1);
    assert!(
        stderr(&missing).contains("not found") && stderr(&missing).contains("k12ctl backup list"),
        "{}",
        stderr(&missing)
    );
    let bogus = run(k12ctl_for(&env, &db, &prefix).args(["backup", "show", "../../etc/passwd"]));
    assert!(
        stderr(&bogus).contains("is not a backup id"),
        "{}",
        stderr(&bogus)
    );
}

#[test]
fn backup_records_mirror_the_run_where_the_table_exists() {
    let env = env();
    let db = TestDb::seeded(&env, "records");
    let prefix = S3Prefix::new("records");
    let out = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&out, 0);
    let report = json(&out);
    let row = db.sql(
        "SELECT status, s3_bucket, s3_key, size_bytes, metadata->>'backup_id' FROM backup_records ORDER BY id DESC LIMIT 1",
    );
    let expected = format!(
        "completed|{}|{}/{}|{}|{}",
        env.bucket,
        prefix.prefix,
        report["object_key"].as_str().unwrap(),
        report["compressed_size"],
        report["id"].as_str().unwrap()
    );
    assert_eq!(row, expected);

    let shims = pg_dump_shim(&env, "exit 1");
    let failed = run(k12ctl_for(&env, &db, &prefix)
        .env("PATH", shims.path_env())
        .args(["backup", "run"]));
    assert_code(&failed, 1);
    assert_eq!(
        db.sql("SELECT status FROM backup_records ORDER BY id DESC LIMIT 1"),
        "failed"
    );
}
