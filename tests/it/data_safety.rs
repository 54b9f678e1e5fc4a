//! Data safety: concurrent runs never share a backup, prune and verify never
//! act on a backup another run is changing, and `file://` backups are
//! private to their owner.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::restore::TestDbRef;

/// `cmd` run under `umask <mask>`: the shell sets it and execs k12ctl with
/// the same arguments, environment and directory.
fn with_umask(cmd: &Command, mask: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.env_clear()
        .arg("-c")
        .arg(r#"umask "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(mask)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        if let Some(value) = value {
            sh.env(name, value);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    sh
}

/// Every directory and file under `dir`, `dir` included.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn file_backups_are_private_whatever_the_umask() {
    let env = env();
    let db = TestDb::seeded(&env, "private_files");
    let parent = tempfile::tempdir().unwrap();
    // The store's root does not exist yet: k12ctl creates it.
    let root = parent.path().join("k12-backups");
    let storage = format!("file://{}", root.display());
    let source = db.table_checksums();

    let mut backup = k12ctl(&env);
    backup.env("DATABASE_URL", &db.url).args([
        "--storage",
        &storage,
        "--output",
        "json",
        "backup",
        "run",
    ]);
    let out = run(&mut with_umask(&backup, "022"));
    assert_code(&out, 0);
    let id = json(&out)["id"].as_str().unwrap().to_owned();
    // The verdict rewrites the manifest: that write is private too.
    let mut verify = k12ctl(&env);
    verify
        .env("DATABASE_URL", &db.url)
        .args(["--storage", &storage, "backup", "verify", &id]);
    assert_code(&run(&mut with_umask(&verify, "022")), 0);

    let written = tree(&root);
    assert!(
        written.len() >= 6,
        "root, backups/YYYY/MM, data, manifest: {written:?}"
    );
    for path in &written {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(
            mode(path),
            expected,
            "{} is {:o}",
            path.display(),
            mode(path)
        );
    }
    // Private, and still a good backup of the same content.
    assert_eq!(restore_into_new(&env, &db, &storage, &id), source);
}

/// Restore backup `id` into a new database on `source`'s server; its content.
fn restore_into_new(
    env: &Env,
    source: &TestDb,
    storage: &str,
    id: &str,
) -> std::collections::BTreeMap<String, String> {
    let target = unique("k12t_restored");
    let out = run(k12ctl(env).env("DATABASE_URL", &source.url).args([
        "--storage",
        storage,
        "restore",
        "--backup",
        id,
        "--target",
        &target,
        "--create",
        "--yes",
    ]));
    let restored = TestDbRef::new(env, &target);
    assert_code(&out, 0);
    table_checksums(&restored.url)
}

/// A small database of its own whose content names it, so that a restore
/// shows whose backup it was.
fn distinct_db(env: &Env, n: usize) -> TestDb {
    let db = TestDb::new(env, &format!("concurrent_{n}"));
    db.sql(&format!(
        "CREATE TABLE pupils (id int PRIMARY KEY, school text NOT NULL); \
         INSERT INTO pupils SELECT i, '{}' FROM generate_series(1, {}) i",
        db.name,
        10 + n
    ));
    db
}

/// The seconds of `started_at`, as the id's `YYYYMMDD_HHMMSS` has them.
fn started_second(manifest: &serde_json::Value) -> String {
    let started = manifest["started_at"].as_str().unwrap();
    started[..19].to_owned()
}

/// Start `backup run` for every database at once into one storage, wait for
/// all, and check that every run made its own backup: distinct ids, all
/// listed, each verified and restored to its own database's content.
/// Returns whether two runs started in the same second (the case at issue).
fn concurrent_runs(env: &Env, dbs: &[TestDb], storage: &str) -> bool {
    let children: Vec<_> = dbs
        .iter()
        .map(|db| {
            k12ctl(env)
                .env("DATABASE_URL", &db.url)
                .args(["--storage", storage, "--output", "json", "backup", "run"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let manifests: Vec<serde_json::Value> = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert_code(&out, 0);
            json(&out)
        })
        .collect();
    let ids: std::collections::BTreeSet<&str> = manifests
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), dbs.len(), "every run has its own id: {ids:?}");
    let seconds: std::collections::BTreeSet<String> =
        manifests.iter().map(started_second).collect();

    let list = run(k12ctl(env).args(["--storage", storage, "--output", "json", "backup", "list"]));
    assert_code(&list, 0);
    let listed: std::collections::BTreeSet<String> = json(&list)["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &ids {
        assert!(listed.contains(*id), "{id} is listed: {listed:?}");
    }
    for (db, manifest) in dbs.iter().zip(&manifests) {
        let id = manifest["id"].as_str().unwrap();
        assert!(id.starts_with("k12_full_"), "{id}");
        let verify = run(k12ctl(env).env("DATABASE_URL", &db.url).args([
            "--storage",
            storage,
            "backup",
            "verify",
            id,
        ]));
        assert_code(&verify, 0);
        assert_eq!(
            restore_into_new(env, db, storage, id),
            db.table_checksums(),
            "{id} restores to the content of {}",
            db.name
        );
    }
    seconds.len() < dbs.len()
}

/// Rounds of four concurrent runs until two of a round start in the same
/// second, which on an idle machine the first round does (four starts
/// within one second fill at most two seconds).
fn concurrent_runs_until_they_share_a_second(env: &Env, storage: &str) {
    let dbs: Vec<TestDb> = (0..4).map(|n| distinct_db(env, n)).collect();
    let shared = (0..3).any(|_| concurrent_runs(env, &dbs, storage));
    assert!(
        shared,
        "no two of four concurrent runs started in the same second in three rounds; \
         the machine is too loaded for this test to show anything"
    );
}

#[test]
fn concurrent_backups_into_one_s3_prefix_each_keep_their_backup() {
    let env = env();
    let prefix = S3Prefix::new("concurrent");
    concurrent_runs_until_they_share_a_second(&env, &prefix.storage_url(&env));
}

#[test]
fn concurrent_backups_into_one_directory_each_keep_their_backup() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("file://{}", dir.path().display());
    concurrent_runs_until_they_share_a_second(&env, &storage);
    // Every run removed its running marker.
    let markers: Vec<_> = tree(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".running.json"))
        .collect();
    assert!(markers.is_empty(), "{markers:?}");
}

/// A psql session holding `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE`
/// until dropped (or `release`d): pg_dump waits for it, so a backup stays
/// running, its upload started and unfinished, for as long as the test wants.
struct TableLock {
    child: std::process::Child,
}

impl TableLock {
    fn take(db: &TestDb, table: &str) -> Self {
        use std::io::Write as _;
        let mut child = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;").unwrap();
        stdin.flush().unwrap();
        let granted = format!(
            "SELECT count(*) FROM pg_locks WHERE relation = '{table}'::regclass \
             AND mode = 'AccessExclusiveLock' AND granted"
        );
        wait_for("the table lock", || db.sql(&granted) == "1");
        Self { child }
    }

    fn release(mut self) {
        use std::io::Write as _;
        let mut stdin = self.child.stdin.take().unwrap();
        writeln!(stdin, "COMMIT;").unwrap();
        drop(stdin);
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for TableLock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `ready` until it holds, for at most a minute.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn prune_never_aborts_the_upload_of_a_running_backup() {
    let env = env();
    let db = TestDb::seeded(&env, "prune_running");
    let prefix = S3Prefix::new("prune_running");
    let storage = prefix.storage_url(&env);
    let source = db.table_checksums();
    // pg_dump blocks on the lock after the upload has started.
    let lock = TableLock::take(&db, "users");
    let backup = k12ctl_for(&env, &db, &prefix)
        .args(["--output", "json", "backup", "run"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the backup's multipart upload", || {
        !s3_pending_uploads(&env, &prefix.prefix).is_empty()
    });

    // Even told to abort every unfinished upload, whatever its age.
    let prune = run(k12ctl(&env).args([
        "--storage",
        &storage,
        "--output",
        "json",
        "backup",
        "prune",
        "--keep-last",
        "1",
        "--abort-uploads-older-than",
        "0s",
    ]));
    assert_code(&prune, 0);
    assert_eq!(json(&prune)["aborted_uploads"], serde_json::json!([]));
    assert_eq!(s3_pending_uploads(&env, &prefix.prefix).len(), 1);

    lock.release();
    let out = backup.wait_with_output().unwrap();
    assert_code(&out, 0);
    let id = json(&out)["id"].as_str().unwrap().to_owned();
    let verify = run(k12ctl_for(&env, &db, &prefix).args(["backup", "verify", &id]));
    assert_code(&verify, 0);
    assert_eq!(restore_into_new(&env, &db, &storage, &id), source);
    // Finished: no upload and no marker left.
    assert!(s3_pending_uploads(&env, &prefix.prefix).is_empty());
    let keys = s3_keys(&env, &prefix.prefix);
    assert!(
        !keys.iter().any(|k| k.ends_with(".running.json")),
        "{keys:?}"
    );
}

#[test]
fn verify_refuses_to_record_on_a_backup_pruned_under_it() {
    use std::io::Write as _;
    let env = env();
    let db = TestDb::seeded(&env, "verify_pruned");
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("file://{}", dir.path().display());
    let out = run(k12ctl(&env).env("DATABASE_URL", &db.url).args([
        "--storage",
        &storage,
        "--output",
        "json",
        "backup",
        "run",
    ]));
    assert_code(&out, 0);
    let manifest = json(&out);
    let id = manifest["id"].as_str().unwrap().to_owned();
    let data = dir.path().join(manifest["object_key"].as_str().unwrap());
    let manifest_path = dir
        .path()
        .join(data.to_string_lossy().replace(".dump.gz", ".manifest.json"));
    let bytes = std::fs::read(&data).unwrap();
    // The data object becomes a FIFO fed by the test: verify reads half of
    // the backup, prune removes it (data first, then manifest, as it does),
    // then verify reads the rest and comes to a verdict.
    std::fs::remove_file(&data).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&data)
        .status()
        .unwrap()
        .success());
    let verify = k12ctl(&env)
        .env("DATABASE_URL", &db.url)
        .args(["--storage", &storage, "backup", "verify", &id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the FIFO for writing waits for verify to open it for reading.
    let (opened, feed) = std::sync::mpsc::channel();
    let fifo = data.clone();
    std::thread::spawn(move || {
        let _ = opened.send(std::fs::OpenOptions::new().write(true).open(fifo));
    });
    let Ok(feed) = feed.recv_timeout(std::time::Duration::from_secs(120)) else {
        let mut verify = verify;
        let _ = verify.kill();
        let out = verify.wait_with_output().unwrap();
        panic!("verify never opened the data object: {}", stderr(&out));
    };
    let mut feed = feed.unwrap();
    let half = bytes.len() / 2;
    feed.write_all(&bytes[..half]).unwrap();
    std::fs::remove_file(&data).unwrap();
    std::fs::remove_file(&manifest_path).unwrap();
    feed.write_all(&bytes[half..]).unwrap();
    drop(feed);

    let out = verify.wait_with_output().unwrap();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("backup {id} was removed"))
            && err.contains("verdict is not recorded"),
        "{err}"
    );
    assert!(!manifest_path.exists(), "no manifest re-created");
    let list =
        run(k12ctl(&env).args(["--storage", &storage, "--output", "json", "backup", "list"]));
    assert_code(&list, 0);
    assert_eq!(json(&list)["backups"], serde_json::json!([]));
}
