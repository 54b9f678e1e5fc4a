//! `restore --key`: objects without a manifest, as the platform's old jobs
//! left them. `DatabaseBackupJob` piped `pg_dump -Fc` through gzip (`.sql.gz`);
//! `scripts/backup.sh` writes plain `pg_dump --format=custom --compress=9`
//! files (`.dump`, not gzipped) and uploads them with `aws s3 cp`, often
//! outside k12ctl's prefix, hence full `s3://bucket/key` URLs.

use std::io::Write;
use std::process::{Command, Output};

use crate::common::*;
use crate::restore::{database_exists, TestDbRef};

/// The pg_dump flags of the platform's `scripts/backup.sh`.
const BACKUP_SH: [&str; 4] = [
    "--format=custom",
    "--compress=9",
    "--no-owner",
    "--no-privileges",
];

/// The archive the test server's own pg_dump makes of `db`.
fn pg_dump(env: &Env, db: &TestDb, args: &[&str]) -> Vec<u8> {
    let out = Command::new(env.pg_bindir.join("pg_dump"))
        .args(args)
        .arg(&db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// `restore --key KEY` into a new database; the database is dropped when
/// the returned guard is.
fn restore_key(cmd: &mut Command, env: &Env, key: &str, hint: &str) -> (Output, TestDbRef) {
    let target = unique(&format!("k12t_{hint}_target"));
    let guard = TestDbRef::new(env, &target);
    let out = run(cmd.args([
        "--output", "json", "restore", "--key", key, "--target", &target, "--create", "--yes",
    ]));
    (out, guard)
}

/// An object at the bucket's root, outside every test prefix; removed at the end.
struct RootObject(String);

impl RootObject {
    fn put(env: &Env, name: &str, bytes: &[u8]) -> Self {
        s3_put(env, name, bytes);
        Self(name.to_owned())
    }
}

impl Drop for RootObject {
    fn drop(&mut self) {
        let env = env();
        let _ = aws(
            &env,
            &["s3", "rm", &format!("s3://{}/{}", env.bucket, self.0)],
        );
    }
}

fn legacy_restore(hint: &str, pg_dump_args: &[&str], expected_format: &str) {
    let env = env();
    let db = TestDb::seeded(&env, hint);
    let source = db.table_checksums();
    let prefix = S3Prefix::new(hint);
    // The platform's old job: pg_dump | gzip, uploaded with the AWS CLI, no manifest.
    let gzipped = gzip(&pg_dump(&env, &db, pg_dump_args));
    let key = "backups/2025/10/k12_full_20251016_020000.sql.gz";
    s3_put(&env, &format!("{}/{key}", prefix.prefix), &gzipped);

    let (out, target) = restore_key(&mut k12ctl_for(&env, &db, &prefix), &env, key, hint);
    assert_code(&out, 0);
    assert_eq!(json(&out)["format"], expected_format);
    assert_eq!(table_checksums(&target.url), source);
}

#[test]
fn a_legacy_custom_format_object_restores_with_key() {
    legacy_restore("legacy_fc", &["-Fc"], "custom");
}

#[test]
fn a_legacy_plain_sql_object_restores_with_psql() {
    legacy_restore("legacy_sql", &["--no-owner"], "plain_sql");
}

#[test]
fn a_plain_dump_of_the_platforms_backup_script_restores_with_a_relative_key() {
    let env = env();
    let db = TestDb::seeded(&env, "plain_dump");
    let source = db.table_checksums();
    let prefix = S3Prefix::new("plain_dump");
    let dump = pg_dump(&env, &db, &BACKUP_SH);
    assert!(
        dump.starts_with(b"PGDMP"),
        "a custom-format archive, not gzip"
    );
    // backup.sh's layout: ${BACKUP_S3_URI}/${env_name}/${db_name}_${timestamp}.dump
    let key = "production/core_production_20261016T020000Z.dump";
    s3_put(&env, &format!("{}/{key}", prefix.prefix), &dump);

    let (out, target) = restore_key(&mut k12ctl_for(&env, &db, &prefix), &env, key, "plain_dump");
    assert_code(&out, 0);
    let report = json(&out);
    assert_eq!(report["format"], "custom");
    assert_eq!(report["key"], key);
    let location = format!("{}/{key}", prefix.storage_url(&env));
    assert_eq!(report["location"], location.as_str());
    assert_eq!(report["stored_bytes"], dump.len() as u64);
    assert_eq!(
        report["row_counts_match"],
        serde_json::Value::Null,
        "no manifest"
    );
    assert_eq!(table_checksums(&target.url), source);
}

#[test]
fn a_full_s3_url_reads_that_exact_object_outside_the_prefix() {
    let env = env();
    let db = TestDb::seeded(&env, "root_dump");
    let source = db.table_checksums();
    let prefix = S3Prefix::new("root_dump");
    let name = format!("{}.dump", unique("core_production"));
    let _object = RootObject::put(&env, &name, &pg_dump(&env, &db, &BACKUP_SH));
    let url = format!("s3://{}/{name}", env.bucket);

    // Relative keys stay under the configured prefix: not found there, and
    // the message says how to name an object elsewhere.
    let (out, target) = restore_key(&mut k12ctl_for(&env, &db, &prefix), &env, &name, "root");
    assert_code(&out, 1);
    let err = stderr(&out);
    let relative = format!("{}/{name}", prefix.storage_url(&env));
    assert!(
        err.contains(&format!("object {relative} does not exist")),
        "{err}"
    );
    assert!(
        err.contains("relative to the storage") && err.contains("s3://bucket/key"),
        "{err}"
    );
    assert!(!database_exists(&env, &target.name), "nothing was created");

    let (out, target) = restore_key(&mut k12ctl_for(&env, &db, &prefix), &env, &url, "root");
    assert_code(&out, 0);
    let report = json(&out);
    assert_eq!(report["format"], "custom");
    assert_eq!(report["location"], url.as_str());
    assert_eq!(report["source"], format!("object {url}"));
    assert_eq!(table_checksums(&target.url), source);
}

#[test]
fn missing_objects_and_malformed_urls_are_clear_errors() {
    let env = env();
    let db = TestDb::new(&env, "key_errors");
    let prefix = S3Prefix::new("key_errors");
    let attempt = |key: &str| restore_key(&mut k12ctl_for(&env, &db, &prefix), &env, key, "kerr");

    // Missing: the operation failed (1), naming the exact object.
    let missing = format!("s3://{}/{}.dump", env.bucket, unique("absent"));
    let (out, target) = attempt(&missing);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains(&format!("object {missing} does not exist")),
        "{}",
        stderr(&out)
    );
    assert!(!database_exists(&env, &target.name));
    let bucket = unique("k12ctl-missing").replace('_', "-");
    let (out, _) = attempt(&format!("s3://{bucket}/x.dump"));
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains(&format!("bucket {bucket} does not exist")),
        "{}",
        stderr(&out)
    );

    // Not an object URL: usage (2), before anything is touched.
    for (key, says) in [
        (format!("s3://{}/", env.bucket), "names no object"),
        (format!("s3://{}", env.bucket), "names no object"),
        ("s3:///x.dump".to_owned(), "has no bucket"),
        ("file://x.dump".to_owned(), "absolute path"),
        ("gs://bucket/x.dump".to_owned(), "is not supported"),
    ] {
        let (out, target) = attempt(&key);
        assert_code(&out, 2);
        assert!(stderr(&out).contains(says), "{key}: {}", stderr(&out));
        assert!(!database_exists(&env, &target.name));
    }
}

#[test]
fn a_file_url_restores_without_configured_storage() {
    let env = env();
    let db = TestDb::seeded(&env, "file_dump");
    let source = db.table_checksums();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core_production_20261016T020000Z.dump");
    std::fs::write(&path, pg_dump(&env, &db, &BACKUP_SH)).unwrap();
    let url = format!("file://{}", path.display());
    let no_storage = || {
        let mut cmd = k12ctl(&env);
        cmd.env("DATABASE_URL", &db.url);
        cmd
    };

    let (out, target) = restore_key(&mut no_storage(), &env, &url, "file");
    assert_code(&out, 0);
    assert_eq!(json(&out)["location"], url.as_str());
    assert_eq!(table_checksums(&target.url), source);

    // An s3:// URL needs the S3 settings of a configured storage.
    let (out, _) = restore_key(&mut no_storage(), &env, "s3://old-bucket/x.dump", "file");
    assert_code(&out, 2);
    assert!(stderr(&out).contains("K12CTL_STORAGE"), "{}", stderr(&out));
}
