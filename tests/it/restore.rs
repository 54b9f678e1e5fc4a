//! `backup verify` and `restore` against real PostgreSQL and Garage.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::backup::walk;
use crate::common::*;

/// Back up a seeded database into its own prefix; returns the run's JSON.
fn backed_up(env: &Env, hint: &str) -> (TestDb, S3Prefix, serde_json::Value) {
    let db = TestDb::seeded(env, hint);
    let prefix = S3Prefix::new(hint);
    let out = run(k12ctl_for(env, &db, &prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&out, 0);
    let report = json(&out);
    (db, prefix, report)
}

fn object_key(prefix: &S3Prefix, report: &serde_json::Value) -> String {
    format!(
        "{}/{}",
        prefix.prefix,
        report["object_key"].as_str().unwrap()
    )
}

fn show(env: &Env, db: &TestDb, prefix: &S3Prefix, id: &str) -> serde_json::Value {
    let out = run(k12ctl_for(env, db, prefix).args(["--output", "json", "backup", "show", id]));
    assert_code(&out, 0);
    json(&out)
}

/// The scratch database a verify run named in its log.
fn scratch_name(stderr: &str) -> Option<String> {
    stderr
        .split_whitespace()
        .find(|w| w.starts_with("k12ctl_verify_"))
        .map(str::to_owned)
}

pub fn database_exists(env: &Env, name: &str) -> bool {
    psql(
        &env.pg_url,
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    ) == "1"
}

#[test]
fn backup_verify_restore_round_trip_gives_identical_content() {
    let env = env();
    let db = TestDb::seeded(&env, "rt");
    let source = db.table_checksums();
    let prefix = S3Prefix::new("rt");
    let backup = json(&run(
        k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"])
    ));
    let id = backup["id"].as_str().unwrap();

    let verify =
        run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "verify", id]));
    assert_code(&verify, 0);
    let v = json(&verify);
    assert_eq!(v["status"], "verified");
    assert_eq!(v["verification"]["passed"], true);
    let scratch = scratch_name(&stderr(&verify)).expect("the scratch database is named in the log");
    assert!(
        !database_exists(&env, &scratch),
        "scratch database dropped after success"
    );
    assert_eq!(show(&env, &db, &prefix, id)["status"], "verified");
    assert_eq!(
        db.sql(&format!(
            "SELECT status FROM backup_records WHERE metadata->>'backup_id' = '{id}'"
        )),
        "verified"
    );

    let target = unique("k12t_rt_target");
    let restore = run(k12ctl_for(&env, &db, &prefix).args([
        "--output", "json", "restore", "--backup", id, "--target", &target, "--create", "--yes",
    ]));
    assert_code(&restore, 0);
    assert_eq!(json(&restore)["row_counts_match"], true);
    let restored = TestDbRef::new(&env, &target);
    assert_eq!(table_checksums(&restored.url), source);
}

/// Drops a database created by k12ctl when the test ends.
pub struct TestDbRef {
    pub name: String,
    pub url: String,
    admin: String,
}

impl TestDbRef {
    pub fn new(env: &Env, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            url: db_url(env, name),
            admin: env.pg_url.clone(),
        }
    }
}

impl Drop for TestDbRef {
    fn drop(&mut self) {
        let _ = try_psql(
            &self.admin,
            &format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            ),
        );
    }
}

fn verify_damaged(hint: &str, damage: impl Fn(&mut Vec<u8>), expected_check: &str) {
    let env = env();
    let (db, prefix, backup) = backed_up(&env, hint);
    let key = object_key(&prefix, &backup);
    let mut bytes = s3_get(&env, &key);
    damage(&mut bytes);
    s3_put(&env, &key, &bytes);
    let id = backup["id"].as_str().unwrap();
    let out =
        run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "verify", id]));
    assert_code(&out, 4);
    assert_eq!(json(&out)["verification"]["failed_check"], expected_check);
    assert!(
        stderr(&out).contains(&format!("failed verification ({expected_check})")),
        "{}",
        stderr(&out)
    );
    let manifest = show(&env, &db, &prefix, id);
    assert_eq!(manifest["status"], "verification_failed");
    if let Some(scratch) = scratch_name(&stderr(&out)) {
        assert!(
            !database_exists(&env, &scratch),
            "scratch database dropped after failure"
        );
    }
    // And it is no longer restorable without saying so.
    let target = unique("k12t_refuse");
    let restore = run(k12ctl_for(&env, &db, &prefix).args([
        "restore", "--backup", id, "--target", &target, "--create", "--yes",
    ]));
    assert_code(&restore, 3);
    assert!(
        stderr(&restore).contains("--allow-unverified"),
        "{}",
        stderr(&restore)
    );
    assert!(!database_exists(&env, &target));
}

#[test]
fn a_flipped_byte_fails_verification_on_the_checksum() {
    verify_damaged(
        "flip",
        |b| {
            let mid = b.len() / 2;
            b[mid] ^= 0x01;
        },
        "sha256",
    );
}

#[test]
fn a_truncated_object_fails_verification_on_its_size() {
    verify_damaged("trunc", |b| b.truncate(b.len() * 2 / 3), "size");
}

#[test]
fn a_missing_object_cannot_be_verified_and_is_not_marked_bad() {
    let env = env();
    let (db, prefix, backup) = backed_up(&env, "missing");
    let key = object_key(&prefix, &backup);
    assert!(
        aws(&env, &["s3", "rm", &format!("s3://{}/{key}", env.bucket)])
            .status
            .success()
    );
    let id = backup["id"].as_str().unwrap();
    let out = run(k12ctl_for(&env, &db, &prefix).args(["backup", "verify", id]));
    assert_code(&out, 1);
    assert!(stderr(&out).contains("missing"), "{}", stderr(&out));
    assert_eq!(show(&env, &db, &prefix, id)["status"], "completed");
}

#[test]
fn a_changed_row_count_names_the_table_and_both_counts() {
    let env = env();
    let (db, prefix, backup) = backed_up(&env, "counts");
    let manifest_key = object_key(&prefix, &backup).replace(".dump.gz", ".manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&s3_get(&env, &manifest_key)).unwrap();
    let real = manifest["table_row_counts"]["public.users"]
        .as_i64()
        .unwrap();
    manifest["table_row_counts"]["public.users"] = serde_json::json!(real + 7);
    s3_put(&env, &manifest_key, &serde_json::to_vec(&manifest).unwrap());
    let out = run(k12ctl_for(&env, &db, &prefix).args(["backup", "verify", "--latest"]));
    assert_code(&out, 4);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "public.users expected {}, restored {real}",
            real + 7
        )),
        "{err}"
    );
    assert!(stdout(&out).contains("public.users"), "{}", stdout(&out));
}

#[test]
fn quick_checks_only_the_bytes() {
    let env = env();
    let (db, prefix, backup) = backed_up(&env, "quick");
    let id = backup["id"].as_str().unwrap();
    let out = run(k12ctl(&env)
        .env("K12CTL_STORAGE", prefix.storage_url(&env))
        .args(["--output", "json", "backup", "verify", "--quick", id]));
    assert_code(&out, 0);
    assert_eq!(json(&out)["verification"]["passed"], true);
    assert_eq!(
        show(&env, &db, &prefix, id)["status"],
        "completed",
        "a quick check does not make it verified"
    );
}

#[test]
fn sigint_during_verify_drops_the_scratch_database() {
    let env = env();
    let (db, prefix, backup) = backed_up(&env, "vsig");
    let fifo_dir = tempfile::tempdir().unwrap();
    let fifo = fifo_dir.path().join("ready");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let shims = Shims::new();
    shims.add(
        "pg_restore",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ] || [ \"$1\" = -l ]; then exec {}/pg_restore \"$@\"; fi\necho \"$PPID $PGDATABASE\" > '{}'\nexec sleep 600\n",
            env.pg_bindir.display(),
            fifo.display()
        ),
    );
    let child = k12ctl_for(&env, &db, &prefix)
        .env("PATH", shims.path_env())
        .args(["backup", "verify", backup["id"].as_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = std::fs::read_to_string(&fifo).unwrap();
    let mut parts = line.split_whitespace();
    let (pid, scratch) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    );
    assert!(scratch.starts_with("k12ctl_verify_"), "{scratch}");
    assert!(database_exists(&env, &scratch));
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 130);
    assert!(
        !database_exists(&env, &scratch),
        "scratch database dropped after SIGINT"
    );
    assert_eq!(
        show(&env, &db, &prefix, backup["id"].as_str().unwrap())["status"],
        "completed"
    );
}

#[test]
fn stale_scratch_databases_of_earlier_runs_are_swept() {
    let env = env();
    let (db, prefix, backup) = backed_up(&env, "sweep");
    let two_days_ago = chrono_like_now() - 2 * 86_400;
    let stale = format!("k12ctl_verify_{two_days_ago}_{:08x}", rand::random::<u32>());
    let fresh = format!(
        "k12ctl_verify_{}_{:08x}",
        chrono_like_now(),
        rand::random::<u32>()
    );
    psql(&env.pg_url, &format!("CREATE DATABASE {stale}"));
    psql(&env.pg_url, &format!("CREATE DATABASE {fresh}"));
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "backup",
        "verify",
        backup["id"].as_str().unwrap(),
    ]));
    assert_code(&out, 0);
    assert!(
        !database_exists(&env, &stale),
        "a day-old leftover is dropped"
    );
    assert!(
        database_exists(&env, &fresh),
        "a recent one may belong to a running verify"
    );
    psql(&env.pg_url, &format!("DROP DATABASE {fresh}"));
}

fn chrono_like_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn restore_off_a_terminal_without_yes_is_refused_and_touches_nothing() {
    let env = env();
    let (db, prefix, _) = backed_up(&env, "noyes");
    let target = TestDb::new(&env, "noyes_target");
    target.sql("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (42)");
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "restore",
        "--latest",
        "--target",
        &target.name,
        "--clean",
    ]));
    assert_code(&out, 3);
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(target.sql("SELECT x FROM keep_me"), "42");
    assert_eq!(
        target.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "1"
    );
}

/// Run k12ctl on a pseudo-terminal, typing `answer` at the prompt.
fn restore_on_a_terminal(
    env: &Env,
    db: &TestDb,
    prefix: &S3Prefix,
    target: &str,
    answer: &str,
) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("k12ctl");
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)",
        ])
        .arg(bin)
        .args(["restore", "--latest", "--target", target, "--create"])
        .env("DATABASE_URL", &db.url)
        .env("K12CTL_STORAGE", prefix.storage_url(env))
        .env("K12CTL_S3_ENDPOINT", &env.s3_endpoint)
        .env("BACKUP_S3_REGION", &env.region)
        .env("AWS_ACCESS_KEY_ID", &env.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &env.secret_key)
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Answer only once the prompt is on the screen.
    let mut screen = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("to confirm") {
        let n = std::io::Read::read(&mut screen, &mut buf).unwrap();
        assert!(
            n > 0,
            "no prompt appeared: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{answer}\r").as_bytes()).unwrap();
    std::io::Read::read_to_end(&mut screen, &mut seen).unwrap();
    let mut out = child.wait_with_output().unwrap();
    drop(stdin);
    out.stdout = seen;
    out
}

#[test]
fn a_mistyped_confirmation_refuses_and_the_right_name_restores() {
    let env = env();
    let (db, prefix, _) = backed_up(&env, "pty");
    let target = unique("k12t_pty_target");
    let _cleanup = TestDbRef::new(&env, &target);
    let wrong = restore_on_a_terminal(&env, &db, &prefix, &target, "k12_production");
    assert_eq!(wrong.status.code(), Some(3), "{}", stdout(&wrong));
    assert!(
        stdout(&wrong).contains("Type the target database name"),
        "{}",
        stdout(&wrong)
    );
    assert!(!database_exists(&env, &target), "nothing was created");
    let right = restore_on_a_terminal(&env, &db, &prefix, &target, &target);
    assert_eq!(right.status.code(), Some(0), "{}", stdout(&right));
    assert!(database_exists(&env, &target));
}

#[test]
fn restoring_into_the_source_database_is_refused() {
    let env = env();
    let (db, prefix, _) = backed_up(&env, "intosource");
    let before = db.table_checksums();
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "restore", "--latest", "--target", &db.name, "--clean", "--yes",
    ]));
    assert_code(&out, 3);
    assert!(stderr(&out).contains("--force-source"), "{}", stderr(&out));
    assert_eq!(db.table_checksums(), before);
}

#[test]
fn a_non_empty_target_needs_clean_and_a_failing_clean_restore_changes_nothing() {
    let env = env();
    let (db, prefix, _) = backed_up(&env, "clean");
    let target = TestDb::seeded(&env, "clean_target");
    target.sql("UPDATE users SET first_name = 'Changed' WHERE id = 1");
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "restore",
        "--latest",
        "--target",
        &target.name,
        "--yes",
    ]));
    assert_code(&out, 3);
    assert!(stderr(&out).contains("--clean"), "{}", stderr(&out));

    // A view depending on users makes pg_restore's DROP TABLE fail midway.
    target.sql("CREATE VIEW user_names AS SELECT first_name FROM users");
    let before = target.table_checksums();
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "restore",
        "--latest",
        "--target",
        &target.name,
        "--clean",
        "--yes",
    ]));
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("pg_restore failed") && err.contains("is as it was"),
        "{err}"
    );
    assert_eq!(target.table_checksums(), before, "the target is unchanged");
    assert_eq!(
        target.sql("SELECT first_name FROM users WHERE id = 1"),
        "Changed"
    );

    target.sql("DROP VIEW user_names");
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "restore",
        "--latest",
        "--target",
        &target.name,
        "--clean",
        "--yes",
    ]));
    assert_code(&out, 0);
    assert_ne!(
        target.sql("SELECT first_name FROM users WHERE id = 1"),
        "Changed"
    );
}

#[test]
fn parallel_restore_gives_the_same_content_and_leaves_no_temp_file() {
    let env = env();
    let (db, prefix, _) = backed_up(&env, "jobs");
    let temp = tempfile::tempdir().unwrap();
    let streamed = unique("k12t_streamed");
    let parallel = unique("k12t_parallel");
    let _a = TestDbRef::new(&env, &streamed);
    let _b = TestDbRef::new(&env, &parallel);
    assert_code(
        &run(k12ctl_for(&env, &db, &prefix).args([
            "restore", "--latest", "--target", &streamed, "--create", "--yes",
        ])),
        0,
    );
    let out = run(k12ctl_for(&env, &db, &prefix)
        .args([
            "restore",
            "--latest",
            "--target",
            &parallel,
            "--create",
            "--yes",
            "--jobs",
            "2",
            "--temp-dir",
        ])
        .arg(temp.path()));
    assert_code(&out, 0);
    assert_eq!(
        table_checksums(&db_url(&env, &parallel)),
        table_checksums(&db_url(&env, &streamed))
    );
    assert!(walk(temp.path()).is_empty(), "the temporary file is gone");
}

#[test]
fn a_failed_parallel_restore_removes_the_database_it_created_and_its_temp_file() {
    let env = env();
    let (db, prefix, backup) = backed_up(&env, "jobsfail");
    let key = object_key(&prefix, &backup);
    let mut bytes = s3_get(&env, &key);
    let at = bytes.len() - 20;
    bytes[at] ^= 0xff;
    s3_put(&env, &key, &bytes);
    let temp = tempfile::tempdir().unwrap();
    let target = unique("k12t_jobsfail");
    let out = run(k12ctl_for(&env, &db, &prefix)
        .args([
            "restore",
            "--latest",
            "--target",
            &target,
            "--create",
            "--yes",
            "--jobs",
            "2",
            "--temp-dir",
        ])
        .arg(temp.path()));
    assert_code(&out, 4);
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert!(!database_exists(&env, &target));
    assert!(walk(temp.path()).is_empty());
}

#[test]
fn a_damaged_object_never_commits_a_streaming_restore() {
    let env = env();
    let (db, prefix, backup) = backed_up(&env, "nocommit");
    let key = object_key(&prefix, &backup);
    let mut bytes = s3_get(&env, &key);
    // The gzip trailer's CRC: everything decodes, only the end says it is wrong.
    let at = bytes.len() - 6;
    bytes[at] ^= 0xff;
    s3_put(&env, &key, &bytes);
    let target = TestDb::new(&env, "nocommit_target");
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "restore",
        "--latest",
        "--target",
        &target.name,
        "--yes",
    ]));
    assert_code(&out, 4);
    assert_eq!(
        target.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0",
        "nothing committed"
    );
}
