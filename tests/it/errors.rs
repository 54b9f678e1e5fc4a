//! Preflight failures: one clear line, the right exit code, pg_dump never
//! started, and no secret in any output.

use crate::common::*;

/// A pg_dump that records every invocation other than --version.
fn recording_pg_dump(env: &Env) -> (Shims, tempfile::NamedTempFile) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let shims = Shims::new();
    shims.add(
        "pg_dump",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {}/pg_dump --version; fi\necho started >> '{}'\nexit 1\n",
            env.pg_bindir.display(),
            log.path().display()
        ),
    );
    (shims, log)
}

#[track_caller]
fn assert_clean_failure(
    out: &std::process::Output,
    code: i32,
    needle: &str,
    secrets: &[&str],
    log: &tempfile::NamedTempFile,
) {
    assert_code(out, code);
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    for secret in secrets {
        assert!(
            !err.contains(secret) && !stdout(out).contains(secret),
            "secret leaked: {err}"
        );
    }
    assert!(
        std::fs::read_to_string(log.path()).unwrap().is_empty(),
        "pg_dump must not start"
    );
}

fn password(env: &Env) -> String {
    url::Url::parse(&env.pg_url)
        .unwrap()
        .password()
        .unwrap()
        .to_owned()
}

#[test]
fn unreachable_s3_endpoint() {
    let env = env();
    let db = TestDb::new(&env, "e_s3down");
    let (shims, log) = recording_pg_dump(&env);
    let out = run(k12ctl_for(&env, &db, &S3Prefix::new("e"))
        .env("PATH", shims.path_env())
        .env("K12CTL_S3_ENDPOINT", "http://127.0.0.1:1")
        .args(["backup", "run"]));
    assert_clean_failure(
        &out,
        1,
        "cannot reach the S3 endpoint http://127.0.0.1:1",
        &[&env.secret_key, &password(&env)],
        &log,
    );
}

#[test]
fn missing_bucket() {
    let env = env();
    let db = TestDb::new(&env, "e_nobucket");
    let (shims, log) = recording_pg_dump(&env);
    let out = run(k12ctl_for(&env, &db, &S3Prefix::new("e"))
        .env("PATH", shims.path_env())
        .env("K12CTL_STORAGE", "s3://k12-no-such-bucket/prod")
        .args(["backup", "run"]));
    assert_clean_failure(&out, 1, "k12-no-such-bucket", &[&env.secret_key], &log);
    assert!(
        stderr(&out).contains("does not exist") || stderr(&out).contains("denied"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_credentials() {
    let env = env();
    let db = TestDb::new(&env, "e_badkey");
    let (shims, log) = recording_pg_dump(&env);
    let wrong = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let out = run(k12ctl_for(&env, &db, &S3Prefix::new("e"))
        .env("PATH", shims.path_env())
        .env("AWS_SECRET_ACCESS_KEY", wrong)
        .args(["backup", "run"]));
    assert_clean_failure(&out, 1, "denied", &[wrong, &env.secret_key], &log);
    assert!(stderr(&out).contains("credentials"), "{}", stderr(&out));
}

#[test]
fn unreachable_database() {
    let env = env();
    let (shims, log) = recording_pg_dump(&env);
    let out = run(k12ctl(&env)
        .env("PATH", shims.path_env())
        .env(
            "DATABASE_URL",
            "postgres://k12:hunter2-secret@127.0.0.1:1/k12",
        )
        .env("K12CTL_STORAGE", S3Prefix::new("e").storage_url(&env))
        .args(["backup", "run"]));
    assert_clean_failure(
        &out,
        1,
        "cannot connect to database k12 on 127.0.0.1:1",
        &["hunter2-secret"],
        &log,
    );
}

#[test]
fn wrong_password() {
    let env = env();
    let db = TestDb::new(&env, "e_badpw");
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some("wrong-pw-Zz9")).unwrap();
    let (shims, log) = recording_pg_dump(&env);
    let out = run(k12ctl(&env)
        .env("PATH", shims.path_env())
        .env("DATABASE_URL", url.as_str())
        .env("K12CTL_STORAGE", S3Prefix::new("e").storage_url(&env))
        .args(["backup", "run"]));
    assert_clean_failure(
        &out,
        1,
        "password authentication failed",
        &["wrong-pw-Zz9", &password(&env)],
        &log,
    );
}
