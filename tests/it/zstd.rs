//! `--compression zstd[:LEVEL]` against real PostgreSQL and Garage: the
//! backup, its catalog entry, verify, every kind of restore (streamed,
//! `--jobs`, `--key`, encrypted), the stock-tools recipe `zstd -dc x.dump.zst
//! | pg_restore`, damage, bad values and where the setting comes from.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

use crate::common::*;
use crate::restore::{database_exists, TestDbRef};

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// `backup run` with extra arguments; returns the run's JSON report.
fn backup(env: &Env, db: &TestDb, prefix: &S3Prefix, extra: &[&str]) -> serde_json::Value {
    let out = run(k12ctl_for(env, db, prefix)
        .args(["--output", "json", "backup", "run"])
        .args(extra));
    assert_code(&out, 0);
    json(&out)
}

fn object_key(prefix: &S3Prefix, report: &serde_json::Value) -> String {
    format!(
        "{}/{}",
        prefix.prefix,
        report["object_key"].as_str().unwrap()
    )
}

/// The manifest as stored in the bucket (not as the run reported it).
fn stored_manifest(env: &Env, prefix: &S3Prefix, report: &serde_json::Value) -> serde_json::Value {
    let data = report["object_key"].as_str().unwrap();
    let manifest = data.strip_suffix(".dump.zst").unwrap();
    let bytes = s3_get(env, &format!("{}/{manifest}.manifest.json", prefix.prefix));
    serde_json::from_slice(&bytes).unwrap()
}

/// `restore --target NAME --create --yes` plus `extra`; the target is
/// dropped with the returned guard.
fn restore(cmd: &mut Command, env: &Env, hint: &str, extra: &[&str]) -> (Output, TestDbRef) {
    let target = unique(&format!("k12t_{hint}"));
    let guard = TestDbRef::new(env, &target);
    let out = run(cmd
        .args([
            "--output", "json", "restore", "--target", &target, "--create", "--yes",
        ])
        .args(extra));
    (out, guard)
}

/// `zstd -dc FILE | pg_restore` into a new database, with the Debian `zstd`
/// program when it is installed, else with the zstd crate feeding
/// pg_restore's standard input.
fn restore_with_stock_tools(env: &Env, zst: &std::path::Path) -> TestDb {
    let target = TestDb::new(env, "zstd_stock");
    let have_zstd = Command::new("zstd")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let ok = if have_zstd {
        Command::new("sh")
            .arg("-c")
            .arg(r#"zstd -dc "$1" | pg_restore --exit-on-error --no-owner -d "$2""#)
            .arg("sh")
            .arg(zst)
            .arg(&target.url)
            .status()
            .unwrap()
            .success()
    } else {
        let mut child = Command::new("pg_restore")
            .args(["--exit-on-error", "--no-owner", "-d", &target.url])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut decoder =
            ::zstd::stream::read::Decoder::new(std::fs::File::open(zst).unwrap()).unwrap();
        std::io::copy(&mut decoder, child.stdin.as_mut().unwrap()).unwrap();
        drop(child.stdin.take());
        child.wait().unwrap().success()
    };
    assert!(ok, "zstd -dc | pg_restore failed");
    target
}

#[test]
fn a_zstd_backup_is_listed_verified_and_restores_with_identical_content() {
    let env = env();
    let db = TestDb::seeded(&env, "zstd_rt");
    let source = db.table_checksums();
    let prefix = S3Prefix::new("zstd_rt");
    let report = backup(&env, &db, &prefix, &["--compression", "zstd:5"]);
    let id = report["id"].as_str().unwrap();
    assert_eq!(report["compression"], "zstd");
    assert_eq!(report["compression_level"], 5);
    let key = object_key(&prefix, &report);
    assert!(key.ends_with(".dump.zst"), "{key}");
    let bytes = s3_get(&env, &key);
    assert!(bytes.starts_with(&ZSTD_MAGIC), "a zstd frame");
    assert_eq!(report["compressed_size"].as_u64(), Some(bytes.len() as u64));
    // An older k12ctl would take the object for damaged gzip: format 3 makes
    // it say "upgrade k12ctl" instead.
    assert_eq!(stored_manifest(&env, &prefix, &report)["format_version"], 3);

    let list = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "list"]));
    assert_code(&list, 0);
    assert_eq!(json(&list)["backups"][0]["compression"], "zstd");
    let human = run(k12ctl_for(&env, &db, &prefix).args(["backup", "list"]));
    assert!(stdout(&human).contains("zstd"), "{}", stdout(&human));
    let show = run(k12ctl_for(&env, &db, &prefix).args(["backup", "show", id]));
    assert_code(&show, 0);
    assert!(stdout(&show).contains("zstd level 5"), "{}", stdout(&show));

    let verify =
        run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "verify", id]));
    assert_code(&verify, 0);
    assert_eq!(json(&verify)["status"], "verified");

    let (out, target) = restore(
        &mut k12ctl_for(&env, &db, &prefix),
        &env,
        "zrt",
        &["--latest"],
    );
    assert_code(&out, 0);
    assert_eq!(table_checksums(&target.url), source);
    let (out, target) = restore(
        &mut k12ctl_for(&env, &db, &prefix),
        &env,
        "zrt_jobs",
        &["--backup", id, "--jobs", "2"],
    );
    assert_code(&out, 0);
    assert_eq!(table_checksums(&target.url), source);

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    let stock = restore_with_stock_tools(&env, file.path());
    assert_eq!(stock.table_checksums(), source);
}

fn age_key() -> (tempfile::TempDir, std::path::PathBuf, age::x25519::Identity) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup-key.txt");
    std::fs::write(&path, format!("{}\n", id.to_string().expose_secret())).unwrap();
    (dir, path, id)
}

#[test]
fn an_encrypted_zstd_backup_is_age_around_zstd_and_restores_with_the_identity() {
    let env = env();
    let db = TestDb::seeded(&env, "zstd_age");
    let source = db.table_checksums();
    let prefix = S3Prefix::new("zstd_age");
    let (_dir, key_file, identity) = age_key();
    let recipient = identity.to_public().to_string();
    let report = backup(
        &env,
        &db,
        &prefix,
        &["--compression", "zstd", "--encrypt-to", &recipient],
    );
    assert_eq!(report["compression"], "zstd");
    assert_eq!(report["compression_level"], 1, "zstd's default level");
    let stored = s3_get(&env, &object_key(&prefix, &report));
    assert!(!stored.starts_with(&ZSTD_MAGIC), "encrypted, not bare zstd");
    let decryptor = age::Decryptor::new(&stored[..]).unwrap();
    let mut plain = Vec::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut plain)
        .unwrap();
    assert!(plain.starts_with(&ZSTD_MAGIC), "age around zstd");
    assert!(::zstd::decode_all(&plain[..])
        .unwrap()
        .starts_with(b"PGDMP"));

    let id = report["id"].as_str().unwrap();
    let verify = run(k12ctl_for(&env, &db, &prefix)
        .args(["--output", "json", "backup", "verify", id, "--identity"])
        .arg(&key_file));
    assert_code(&verify, 0);
    let key_arg = key_file.to_str().unwrap();
    let (out, target) = restore(
        &mut k12ctl_for(&env, &db, &prefix),
        &env,
        "zage",
        &["--latest", "--identity", key_arg],
    );
    assert_code(&out, 0);
    assert_eq!(table_checksums(&target.url), source);
}

/// `pg_dump -Fc -Z0 | zstd` of `db`, as an operator's script might store it.
fn zstd_dump(env: &Env, db: &TestDb) -> Vec<u8> {
    let out = Command::new(env.pg_bindir.join("pg_dump"))
        .args(["-Fc", "-Z0", "--no-owner"])
        .arg(&db.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut e = ::zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    e.write_all(&out.stdout).unwrap();
    e.finish().unwrap()
}

#[test]
fn restore_key_recognises_a_zstd_object_by_its_magic_bytes() {
    let env = env();
    let db = TestDb::seeded(&env, "zstd_key");
    let source = db.table_checksums();
    let prefix = S3Prefix::new("zstd_key");
    let key = "manual/core_20261016T020000Z.dump.zst";
    s3_put(
        &env,
        &format!("{}/{key}", prefix.prefix),
        &zstd_dump(&env, &db),
    );
    let (out, target) = restore(
        &mut k12ctl_for(&env, &db, &prefix),
        &env,
        "zkey",
        &["--key", key],
    );
    assert_code(&out, 0);
    assert_eq!(json(&out)["format"], "custom");
    assert_eq!(table_checksums(&target.url), source);
}

#[test]
fn a_truncated_zstd_object_is_caught_before_anything_commits() {
    let env = env();
    let db = TestDb::seeded(&env, "zstd_trunc");
    let prefix = S3Prefix::new("zstd_trunc");

    // Without a manifest only the frame can tell: it ends early. Cutting the
    // 4-byte content checksum leaves every byte of the archive decodable.
    let whole = zstd_dump(&env, &db);
    for cut in [4, whole.len() / 3] {
        let key = format!("manual/cut_{cut}.dump.zst");
        s3_put(
            &env,
            &format!("{}/{key}", prefix.prefix),
            &whole[..whole.len() - cut],
        );
        let (out, target) = restore(
            &mut k12ctl_for(&env, &db, &prefix),
            &env,
            "ztrunc_key",
            &["--key", &key],
        );
        assert_code(&out, 4);
        assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
        assert!(!database_exists(&env, &target.name), "cut {cut}");
    }

    // A catalogued backup: the target keeps what it had, and verify fails.
    let report = backup(&env, &db, &prefix, &["--compression", "zstd"]);
    let key = object_key(&prefix, &report);
    let bytes = s3_get(&env, &key);
    s3_put(&env, &key, &bytes[..bytes.len() - 4]);
    let target = TestDb::new(&env, "ztrunc_target");
    target.sql("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)");
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "restore",
        "--latest",
        "--target",
        &target.name,
        "--clean",
        "--yes",
    ]));
    assert_code(&out, 4);
    assert_eq!(target.sql("SELECT count(*) FROM kept"), "1");
    assert_eq!(
        target.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "1",
        "nothing restored"
    );
    let id = report["id"].as_str().unwrap();
    let verify =
        run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "verify", id]));
    assert_code(&verify, 4);
    assert_eq!(json(&verify)["verification"]["failed_check"], "size");
}

#[test]
fn a_bad_compression_value_is_refused_before_anything_is_written() {
    let env = env();
    let db = TestDb::seeded(&env, "zstd_bad");
    let prefix = S3Prefix::new("zstd_bad");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("k12ctl.yaml");
    std::fs::write(&config, "backup:\n  compression: zstd:99\n").unwrap();
    let cases: Vec<(Command, &str)> = vec![
        (
            {
                let mut c = k12ctl_for(&env, &db, &prefix);
                c.args(["backup", "run", "--compression", "lz4"]);
                c
            },
            "unknown compression \"lz4\": use gzip or zstd[:LEVEL]",
        ),
        (
            {
                let mut c = k12ctl_for(&env, &db, &prefix);
                c.args(["backup", "run", "--compression", "zstd:0"]);
                c
            },
            "zstd level must be 1-19, not \"0\"",
        ),
        (
            {
                let mut c = k12ctl_for(&env, &db, &prefix);
                c.env("K12CTL_COMPRESSION", "brotli")
                    .args(["backup", "run"]);
                c
            },
            "K12CTL_COMPRESSION: unknown compression \"brotli\"",
        ),
        (
            {
                let mut c = k12ctl_for(&env, &db, &prefix);
                c.arg("--config").arg(&config).args(["backup", "run"]);
                c
            },
            "backup.compression: zstd level must be 1-19, not \"99\"",
        ),
    ];
    for (mut cmd, message) in cases {
        let out = run(&mut cmd);
        assert_code(&out, 2);
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
    }
    assert!(s3_keys(&env, &prefix.prefix).is_empty(), "nothing written");
}

fn setting(v: &serde_json::Value, name: &str) -> (String, String) {
    let s = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no setting {name} in {v}"));
    (
        s["value"].as_str().unwrap_or_default().to_owned(),
        s["source"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn compression_comes_from_the_flag_then_the_environment_then_the_config_file() {
    let env = env();
    let db = TestDb::seeded(&env, "zstd_prec");
    let prefix = S3Prefix::new("zstd_prec");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("k12ctl.yaml");
    std::fs::write(&config, "backup:\n  compression: zstd:4\n").unwrap();
    let with_file = || {
        let mut c = k12ctl_for(&env, &db, &prefix);
        c.arg("--config").arg(&config);
        c
    };
    let show = |cmd: &mut Command| {
        let out = run(cmd.args(["--output", "json", "config", "show"]));
        assert_code(&out, 0);
        setting(&json(&out), "compression")
    };
    assert_eq!(show(&mut k12ctl(&env)), ("gzip".into(), "default".into()));
    assert_eq!(
        show(&mut with_file()),
        ("zstd:4".into(), "config_file".into())
    );
    assert_eq!(
        show(with_file().env("K12CTL_COMPRESSION", "gzip")),
        ("gzip".into(), "env".into())
    );

    let from_file = backup(&env, &db, &prefix, &["--config", config.to_str().unwrap()]);
    assert_eq!(from_file["compression"], "zstd");
    assert_eq!(from_file["compression_level"], 4);
    let mut cmd = with_file();
    let from_env = run(cmd
        .env("K12CTL_COMPRESSION", "gzip")
        .args(["--output", "json", "backup", "run"]));
    assert_code(&from_env, 0);
    assert_eq!(json(&from_env)["compression"], "gzip");
    assert!(json(&from_env)["object_key"]
        .as_str()
        .unwrap()
        .ends_with(".dump.gz"));
    let mut cmd = with_file();
    let from_flag = run(cmd.env("K12CTL_COMPRESSION", "gzip").args([
        "--output",
        "json",
        "backup",
        "run",
        "--compression",
        "zstd:2",
    ]));
    assert_code(&from_flag, 0);
    assert_eq!(json(&from_flag)["compression"], "zstd");
    assert_eq!(json(&from_flag)["compression_level"], 2);
}

#[test]
fn prune_removes_zstd_backups_object_and_manifest() {
    let env = env();
    let db = TestDb::seeded(&env, "zstd_prune");
    let prefix = S3Prefix::new("zstd_prune");
    let old = backup(&env, &db, &prefix, &["--compression", "zstd"]);
    let new = backup(&env, &db, &prefix, &[]);
    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "--output",
        "json",
        "backup",
        "prune",
        "--keep-last",
        "1",
    ]));
    assert_code(&out, 0);
    let keys = s3_keys(&env, &prefix.prefix);
    let old_id = old["id"].as_str().unwrap();
    assert!(
        !keys.iter().any(|k| k.contains(old_id)),
        "the zstd backup is gone whole: {keys:?}"
    );
    assert!(keys.contains(&object_key(&prefix, &new)), "{keys:?}");
}

#[test]
fn a_tenant_extract_reads_a_zstd_backup() {
    let f = crate::tenant_restore::two_schools("pg15", "zstd_tenant", PLATFORM_DATES[1]);
    f.backup(&["--compression", "zstd:3"]);
    let target = unique("k12t_zstd_tenant_out");
    let out = f.restore("maple", &target, &["--create", "--yes"]);
    let extract = TestDb::adopt(&f.server, &target);
    assert_code(&out, 0);
    assert_eq!(json(&out)["committed"], true);
    assert_eq!(
        extract.sql("SELECT string_agg(slug, ',') FROM tenants"),
        "maple"
    );
    assert_eq!(
        extract.sql("SELECT count(*) FROM users"),
        f.db.sql(
            "SELECT count(*) FROM users WHERE tenant_id = \
             (SELECT id FROM tenants WHERE slug = 'maple')"
        )
    );
}
