//! Restore under hard conditions: the temporary disk of `restore --jobs`
//! fills up, a 100 MB bytea value and a large object go through backup,
//! verify and restore byte for byte within a memory bound, and schema and
//! table names built to break quoting survive the whole round trip.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// A tmpfs of `size` mounted on a fresh directory, unmounted at the end.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs and needs root (CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn backup_id(env: &Env, db: &TestDb, prefix: &S3Prefix) -> String {
    let out = run(k12ctl_for(env, db, prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&out, 0);
    json(&out)["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_full_temporary_disk_fails_restore_jobs_cleanly() {
    let env = env();
    let db = TestDb::new(&env, "diskfull");
    // About 22 MB of pg_dump output: three times the disk.
    db.sql(
        "CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS a \
         FROM generate_series(1, 300000) g",
    );
    let prefix = S3Prefix::new("diskfull");
    let id = backup_id(&env, &db, &prefix);
    let disk = SmallDisk::mount("8M");
    let target = unique("k12t_diskfull_target");
    let out = run(k12ctl_for(&env, &db, &prefix)
        .args([
            "restore", "--backup", &id, "--target", &target, "--create", "--yes",
        ])
        .args(["--jobs", "2", "--temp-dir"])
        .arg(disk.path()));
    let _cleanup = TestDb::adopt(&pg_server(&env, "pg15"), &target);
    assert_code(&out, 1);
    let err = stderr(&out);
    let dir = disk.path().display().to_string();
    assert!(
        err.contains(&format!(
            "the disk of the temporary directory {dir} is full"
        )),
        "{err}"
    );
    assert!(err.contains("--temp-dir"), "{err}");
    assert!(
        err.contains(&format!("database {target} was removed again")),
        "{err}"
    );
    let left: Vec<PathBuf> = std::fs::read_dir(disk.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    assert_eq!(
        psql(
            &env.pg_url,
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{target}'")
        ),
        "0"
    );
}

/// Run `cmd` and sample k12ctl's own peak RSS (`VmHWM` in /proc) while it
/// runs. GNU time's figure would include pg_dump and pg_restore, which hold
/// a whole row (a 100 MB bytea is ~200 MB of hex text to them). Returns the
/// output and the last high-water mark read before exit, in KiB.
fn with_peak_rss(cmd: &mut Command) -> (std::process::Output, u64) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        let hwm = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        });
        peak = peak.max(hwm.unwrap_or(0));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let output = std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert!(peak > 0, "no VmHWM read from {status_file}");
    (output, peak)
}

/// Peak RSS allowed to k12ctl while a 100 MB value streams through it
/// (measured: backup ~74 MiB, verify and restore ~41 MiB, debug build).
const PEAK_RSS_LIMIT_KIB: u64 = 128 * 1024;

#[test]
fn a_100_mb_bytea_and_a_large_object_restore_byte_identical_in_bounded_memory() {
    let env = env();
    let db = TestDb::new(&env, "bytea");
    // 100 MiB of incompressible bytes in one value (6,553,600 md5 digests),
    // and an 8 MiB large object.
    db.sql(
        "CREATE TABLE blobs (id int PRIMARY KEY, data bytea, lo oid); \
         INSERT INTO blobs SELECT 1, string_agg(decode(md5(g::text), 'hex'), ''::bytea ORDER BY g), NULL \
         FROM generate_series(1, 6553600) g; \
         INSERT INTO blobs SELECT 2, NULL, lo_from_bytea(0, string_agg(decode(md5((g * 3)::text), 'hex'), ''::bytea ORDER BY g)) \
         FROM generate_series(1, 524288) g",
    );
    let digests = "SELECT md5(data) || ' ' || length(data) FROM blobs WHERE id = 1 \
                   UNION ALL SELECT md5(lo_get(lo)) || ' ' || length(lo_get(lo)) FROM blobs WHERE id = 2";
    let source = db.sql(digests);
    assert!(source.contains(" 104857600\n"), "{source}");
    let prefix = S3Prefix::new("bytea");

    let (backup, backup_kib) =
        with_peak_rss(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&backup, 0);
    let id = json(&backup)["id"].as_str().unwrap().to_owned();

    let (verify, verify_kib) = with_peak_rss(
        k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "verify", &id]),
    );
    assert_code(&verify, 0);
    assert_eq!(json(&verify)["status"], "verified");

    let target = unique("k12t_bytea_target");
    let (restore, restore_kib) = with_peak_rss(k12ctl_for(&env, &db, &prefix).args([
        "restore", "--backup", &id, "--target", &target, "--create", "--yes",
    ]));
    let restored = TestDb::adopt(&pg_server(&env, "pg15"), &target);
    assert_code(&restore, 0);
    assert_eq!(restored.sql(digests), source);

    eprintln!("peak RSS KiB: backup {backup_kib}, verify {verify_kib}, restore {restore_kib}");
    for (what, kib) in [
        ("backup", backup_kib),
        ("verify", verify_kib),
        ("restore", restore_kib),
    ] {
        assert!(
            kib < PEAK_RSS_LIMIT_KIB,
            "{what} peaked at {kib} KiB, over {PEAK_RSS_LIMIT_KIB} KiB"
        );
    }
}

#[test]
fn hostile_schema_and_table_names_survive_backup_verify_and_restore() {
    let env = env();
    let db = TestDb::new(&env, "hostile");
    db.sql(
        r#"CREATE SCHEMA "we""ird.sch ema";
           CREATE TABLE "we""ird.sch ema"."täble.with ""dots""" (id int PRIMARY KEY, "cöl ""q"".x" text);
           INSERT INTO "we""ird.sch ema"."täble.with ""dots""" SELECT g, 'row ' || g FROM generate_series(1, 3) g;
           CREATE TABLE public."Schüler Liste; DROP TABLE x" (id int);
           INSERT INTO public."Schüler Liste; DROP TABLE x" VALUES (1), (2);
           CREATE TABLE "we""ird.sch ema".plain (id int);"#,
    );
    let source = db.table_checksums();
    let prefix = S3Prefix::new("hostile");
    let id = backup_id(&env, &db, &prefix);
    let keys = [
        (r#""we""ird.sch ema"."täble.with ""dots""""#, 3),
        ("public.Schüler Liste; DROP TABLE x", 2),
        (r#""we""ird.sch ema".plain"#, 0),
    ];

    let verify =
        run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "verify", &id]));
    assert_code(&verify, 0);
    let v = json(&verify);
    for (key, n) in keys {
        assert_eq!(
            v["verification"]["tables"][key],
            serde_json::json!({ "expected": n, "actual": n }),
            "{key}: {v}"
        );
    }
    let show =
        run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "show", &id]));
    let m = json(&show);
    assert_eq!(
        m["table_row_counts"].as_object().unwrap().len(),
        keys.len(),
        "{m}"
    );
    for (key, n) in keys {
        assert_eq!(m["table_row_counts"][key], n, "{key}: {m}");
    }
    let human = run(k12ctl_for(&env, &db, &prefix).args(["backup", "show", &id]));
    assert_code(&human, 0);
    assert!(stdout(&human).contains("täble.with"), "{}", stdout(&human));

    let target = r#"k12t hostile "tärget".x"#.to_owned() + &unique("");
    let restore = run(k12ctl_for(&env, &db, &prefix).args([
        "--output", "json", "restore", "--backup", &id, "--target", &target, "--create", "--yes",
    ]));
    let restored = TestDb::adopt(&pg_server(&env, "pg15"), &target);
    assert_code(&restore, 0);
    assert_eq!(json(&restore)["row_counts_match"], true);
    assert_eq!(restored.table_checksums(), source);
}
