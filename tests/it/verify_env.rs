//! `backup verify` tells the environment's failures from the data's: a
//! least-privilege scratch role verifies a database whose extensions it
//! cannot create (they are skipped and reported), a scratch server or role
//! that cannot restore leaves the backup's status alone (exit 1), and damaged
//! data is still `verification_failed` (exit 4) without quoting row values.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use crate::common::*;

/// A login role with CREATEDB and nothing more, dropped at the end (declare
/// it before the databases it owns, so that they are dropped first).
struct LeastPrivilegeRole {
    name: String,
    admin_url: String,
}

impl LeastPrivilegeRole {
    fn new(env: &Env, extra: &str) -> Self {
        let name = unique("k12r_lp");
        psql(
            &env.pg_url,
            &format!("CREATE ROLE {name} LOGIN CREATEDB PASSWORD 'lp-pw' {extra}"),
        );
        Self {
            name,
            admin_url: env.pg_url.clone(),
        }
    }

    /// The server's URL as this role, on database `dbname`.
    fn url(&self, env: &Env, dbname: &str) -> String {
        let mut url = url::Url::parse(&db_url(env, dbname)).unwrap();
        url.set_username(&self.name).unwrap();
        url.set_password(Some("lp-pw")).unwrap();
        url.to_string()
    }
}

impl Drop for LeastPrivilegeRole {
    fn drop(&mut self) {
        let _ = try_psql(
            &self.admin_url,
            &format!("DROP ROLE IF EXISTS {}", self.name),
        );
    }
}

fn backed_up(env: &Env, db: &TestDb, prefix: &S3Prefix) -> serde_json::Value {
    let out = run(k12ctl_for(env, db, prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&out, 0);
    json(&out)
}

fn manifest(env: &Env, db: &TestDb, prefix: &S3Prefix, id: &str) -> serde_json::Value {
    let out = run(k12ctl_for(env, db, prefix).args(["--output", "json", "backup", "show", id]));
    assert_code(&out, 0);
    json(&out)
}

#[test]
fn a_least_privilege_role_verifies_and_restores_skipping_extensions_it_cannot_create() {
    let env = env();
    let role = LeastPrivilegeRole::new(&env, "");
    let db = TestDb::new(&env, "lp_ext");
    // pg_stat_statements needs a superuser; pgcrypto is trusted, so the
    // role creates it and the column computed with it restores.
    db.sql(
        "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pgcrypto; \
         CREATE TABLE notes (id int PRIMARY KEY, body text, digest bytea); \
         INSERT INTO notes SELECT g, 'note ' || g, digest('note ' || g, 'sha256') \
         FROM generate_series(1, 50) g",
    );
    let source = db.table_checksums();
    let prefix = S3Prefix::new("lp_ext");
    let id = backed_up(&env, &db, &prefix)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scratch = role.url(&env, "postgres");

    let human = run(k12ctl_for(&env, &db, &prefix).args([
        "backup",
        "verify",
        &id,
        "--scratch-url",
        &scratch,
    ]));
    assert_code(&human, 0);
    let text = stdout(&human);
    assert!(
        text.contains("skipped extension pg_stat_statements: needs a superuser"),
        "{text}"
    );
    assert!(!text.contains("pgcrypto"), "{text}");

    let out = run(k12ctl_for(&env, &db, &prefix).args([
        "--output",
        "json",
        "backup",
        "verify",
        &id,
        "--scratch-url",
        &scratch,
    ]));
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["status"], "verified");
    let skipped = &v["verification"]["skipped_extensions"];
    assert_eq!(skipped.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(skipped[0]["name"], "pg_stat_statements");
    assert!(skipped[0]["reason"].as_str().unwrap().contains(&role.name));
    assert_eq!(
        v["verification"]["tables"]["public.notes"],
        serde_json::json!({ "expected": 50, "actual": 50 })
    );
    let m = manifest(&env, &db, &prefix, &id);
    assert_eq!(m["status"], "verified");
    assert_eq!(m["verification"]["skipped_extensions"], *skipped);

    // The same role restores into a database it creates.
    let target = unique("k12t_lp_target");
    let restore = run(k12ctl_for(&env, &db, &prefix)
        .env("DATABASE_URL", role.url(&env, "postgres"))
        .args([
            "--output", "json", "restore", "--backup", &id, "--target", &target, "--create",
            "--yes",
        ]));
    let restored = TestDb::adopt(&pg_server(&env, "pg15"), &target);
    assert_code(&restore, 0);
    let r = json(&restore);
    assert_eq!(r["skipped_extensions"][0]["name"], "pg_stat_statements");
    assert_eq!(restored.table_checksums(), source);
    assert_eq!(
        restored.sql("SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension"),
        "pgcrypto,plpgsql"
    );
}

#[test]
fn a_scratch_role_that_cannot_restore_leaves_the_backup_as_it_was() {
    let env = env();
    // One connection: k12ctl's own to the scratch server works, pg_restore's
    // is refused (53300). And an event trigger only a superuser may create
    // (42501).
    let limited = LeastPrivilegeRole::new(&env, "CONNECTION LIMIT 1");
    let plain = LeastPrivilegeRole::new(&env, "");
    let db = TestDb::new(&env, "lp_env");
    db.sql(
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2); \
         CREATE FUNCTION noop() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$; \
         CREATE EVENT TRIGGER k12_et ON ddl_command_start EXECUTE FUNCTION noop()",
    );
    let prefix = S3Prefix::new("lp_env");
    let id = backed_up(&env, &db, &prefix)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (role, sqlstate) in [(&limited, "53300"), (&plain, "42501")] {
        let out = run(k12ctl_for(&env, &db, &prefix).args([
            "backup",
            "verify",
            &id,
            "--scratch-url",
            &role.url(&env, "postgres"),
        ]));
        assert_code(&out, 1);
        let err = stderr(&out);
        assert!(err.contains("could not verify backup"), "{err}");
        assert!(err.contains(&format!("SQLSTATE {sqlstate}")), "{err}");
        assert!(err.contains("status is unchanged (completed)"), "{err}");
        let m = manifest(&env, &db, &prefix, &id);
        assert_eq!(m["status"], "completed", "{sqlstate}");
        assert!(m["verification"].is_null(), "{m}");
        assert_eq!(
            psql(
                &env.pg_url,
                &format!(
                    "SELECT count(*) FROM pg_database WHERE datname LIKE 'k12ctl_verify_%' \
                     AND pg_get_userbyid(datdba) = '{}'",
                    role.name
                )
            ),
            "0",
            "the scratch database is dropped"
        );
    }
}

/// Decode, change and re-encode the stored object, then make the manifest's
/// size and SHA-256 match it: only the content can tell.
fn tamper(env: &Env, prefix: &S3Prefix, report: &serde_json::Value, edit: impl Fn(&mut Vec<u8>)) {
    let key = format!(
        "{}/{}",
        prefix.prefix,
        report["object_key"].as_str().unwrap()
    );
    let mut dump = Vec::new();
    flate2::read::MultiGzDecoder::new(&s3_get(env, &key)[..])
        .read_to_end(&mut dump)
        .unwrap();
    edit(&mut dump);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&dump).unwrap();
    let stored = gz.finish().unwrap();
    s3_put(env, &key, &stored);
    let manifest_key = key.replace(".dump.gz", ".manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&s3_get(env, &manifest_key)).unwrap();
    m["sha256"] = hex::encode(Sha256::digest(&stored)).into();
    m["compressed_size"] = stored.len().into();
    s3_put(env, &manifest_key, &serde_json::to_vec(&m).unwrap());
}

fn replace_once(haystack: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .expect("the value is in the archive");
    haystack[at..at + from.len()].copy_from_slice(to);
}

/// A change to the decoded archive.
type Edit = Box<dyn Fn(&mut Vec<u8>)>;

#[test]
fn damaged_data_with_a_matching_checksum_is_verification_failed_without_row_values() {
    let env = env();
    let cases: [(&str, Edit); 2] = [
        // Two rows with one email: the unique index cannot be built, and
        // the server's DETAIL quotes the email.
        (
            "duplicate",
            Box::new(|d: &mut Vec<u8>| {
                replace_once(d, b"bob@students.example.org", b"ada@students.example.org")
            }),
        ),
        // The archive ends in the middle of the table's data.
        (
            "truncated",
            Box::new(|d: &mut Vec<u8>| {
                let at = d
                    .windows(4)
                    .position(|w| w == b"ada@")
                    .expect("the rows are in the archive");
                d.truncate(at + 10);
            }),
        ),
    ];
    for (hint, edit) in cases {
        let db = TestDb::new(&env, &format!("damaged_{hint}"));
        db.sql(
            "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE); \
             INSERT INTO users VALUES (1, 'ada@students.example.org'), \
             (2, 'bob@students.example.org')",
        );
        let prefix = S3Prefix::new(&format!("damaged_{hint}"));
        let report = backed_up(&env, &db, &prefix);
        let id = report["id"].as_str().unwrap();
        tamper(&env, &prefix, &report, edit);
        let out =
            run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "verify", id]));
        assert_code(&out, 4);
        let m = manifest(&env, &db, &prefix, id);
        assert_eq!(m["status"], "verification_failed", "{hint}");
        assert_eq!(m["verification"]["failed_check"], "restore", "{hint}");
        let everything = format!("{}\n{}\n{m}", stdout(&out), stderr(&out));
        assert!(
            everything.contains("pg_restore failed"),
            "{hint}: {everything}"
        );
        assert!(
            !everything.contains("students.example.org"),
            "{hint}: {everything}"
        );
    }
}
