//! Row counts that cannot collide, `backup_records` ids of either integer
//! width, and the rows of killed runs closed by the next run.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

/// `backup_records` as the platform's migration makes it, with the id as an
/// older table has it (`serial`, a 4-byte integer) or as the platform's
/// (`bigserial`).
fn create_backup_records(db: &TestDb, id_type: &str) {
    db.sql(&format!(
        "CREATE TABLE public.backup_records (
            id {id_type} PRIMARY KEY,
            backup_type character varying DEFAULT 'full' NOT NULL,
            created_at timestamp without time zone NOT NULL,
            duration_seconds integer,
            error_message character varying,
            metadata jsonb DEFAULT '{{}}'::jsonb NOT NULL,
            s3_bucket character varying NOT NULL,
            s3_key character varying NOT NULL,
            size_bytes bigint,
            status character varying DEFAULT 'in_progress' NOT NULL,
            updated_at timestamp without time zone NOT NULL,
            verification_result jsonb DEFAULT '{{}}'::jsonb NOT NULL,
            verified_at timestamp without time zone)"
    ));
}

/// A file:// store in a temp dir, and `k12ctl` pointed at it and `db`.
fn file_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    (dir, url)
}

fn k12(env: &Env, db: &TestDb, storage: &str) -> std::process::Command {
    let mut cmd = k12ctl(env);
    cmd.env("DATABASE_URL", &db.url)
        .env("K12CTL_STORAGE", storage);
    cmd
}

fn manifest_path(root: &Path, report: &Value) -> PathBuf {
    let data = report["object_key"].as_str().unwrap();
    root.join(data.replace(".dump.gz", ".manifest.json"))
}

fn backup(env: &Env, db: &TestDb, storage: &str) -> Value {
    let out = run(k12(env, db, storage).args(["--output", "json", "backup", "run"]));
    assert_code(&out, 0);
    json(&out)
}

/// Schema `a.b` with table `c`, and schema `a` with table `b.c`: one name
/// `a.b.c` for two tables before the fix, so one count hid the other.
fn dotted_tables(db: &TestDb) {
    db.sql(
        r#"CREATE SCHEMA "a.b"; CREATE TABLE "a.b".c (x int);
           INSERT INTO "a.b".c SELECT generate_series(1, 3);
           CREATE SCHEMA a; CREATE TABLE a."b.c" (x int);
           INSERT INTO a."b.c" SELECT generate_series(1, 5);
           CREATE TABLE public."we""ird.name" (x int);
           INSERT INTO public."we""ird.name" VALUES (1), (2);
           CREATE TABLE public.users (x int); INSERT INTO public.users VALUES (7);"#,
    );
}

#[test]
fn tables_whose_names_hold_dots_keep_counts_of_their_own_and_verify() {
    let env = env();
    let db = TestDb::new(&env, "dotted");
    dotted_tables(&db);
    let (dir, storage) = file_store();
    let report = backup(&env, &db, &storage);
    let counts = &report["table_row_counts"];
    assert_eq!(counts[r#""a.b".c"#], 3, "{counts}");
    assert_eq!(counts[r#"a."b.c""#], 5, "{counts}");
    assert_eq!(counts[r#"public."we""ird.name""#], 2, "{counts}");
    assert_eq!(counts["public.users"], 1, "plain names keep the plain form");
    assert_eq!(counts.as_object().unwrap().len(), 4, "{counts}");

    let stored: Value =
        serde_json::from_slice(&std::fs::read(manifest_path(dir.path(), &report)).unwrap())
            .unwrap();
    assert_eq!(stored["format_version"], 2, "quoted keys need format 2");

    let id = report["id"].as_str().unwrap();
    let verify = run(k12(&env, &db, &storage).args(["--output", "json", "backup", "verify", id]));
    assert_code(&verify, 0);
    let tables = &json(&verify)["verification"]["tables"];
    assert_eq!(tables[r#"a."b.c""#]["actual"], 5, "{tables}");
    assert_eq!(tables[r#""a.b".c"#]["actual"], 3, "{tables}");
}

#[test]
fn plain_names_still_write_format_1_and_old_manifests_with_dotted_keys_still_verify() {
    let env = env();
    let db = TestDb::new(&env, "legacy_keys");
    db.sql("CREATE TABLE public.users (x int); INSERT INTO public.users VALUES (1), (2);");
    let (dir, storage) = file_store();
    let report = backup(&env, &db, &storage);
    let path = manifest_path(dir.path(), &report);
    let stored: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        stored["format_version"], 1,
        "older k12ctl can still read it"
    );

    // A manifest as k12ctl wrote it before format 2, for a table `b.c` in
    // schema `a`: key `a.b.c`.
    db.sql(r#"CREATE SCHEMA a; CREATE TABLE a."b.c" (x int); INSERT INTO a."b.c" VALUES (1);"#);
    let report = backup(&env, &db, &storage);
    let path = manifest_path(dir.path(), &report);
    let mut old: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    old["format_version"] = 1.into();
    old["table_row_counts"] = serde_json::json!({ "a.b.c": 1, "public.users": 2 });
    std::fs::write(&path, serde_json::to_vec_pretty(&old).unwrap()).unwrap();

    let id = report["id"].as_str().unwrap();
    let verify = run(k12(&env, &db, &storage).args(["--output", "json", "backup", "verify", id]));
    assert_code(&verify, 0);
    let rewritten: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(rewritten["status"], "verified");
    assert_eq!(rewritten["format_version"], 2);
    assert_eq!(rewritten["table_row_counts"][r#"a."b.c""#], 1);
}

#[test]
fn a_backup_records_table_with_a_4_byte_id_is_mirrored() {
    let env = env();
    let db = TestDb::new(&env, "records_int4");
    create_backup_records(&db, "serial");
    dotted_tables(&db);
    let (_dir, storage) = file_store();
    let report = backup(&env, &db, &storage);
    let id = report["id"].as_str().unwrap();
    let row = db.sql(&format!(
        "SELECT status || '|' || (metadata->'table_row_counts')::text \
         FROM backup_records WHERE metadata->>'backup_id' = '{id}'"
    ));
    let (status, counts) = row.split_once('|').unwrap();
    assert_eq!(status, "completed");
    // The platform's names: bare for `public`, quoted where a name has a dot.
    let counts: Value = serde_json::from_str(counts).unwrap();
    assert_eq!(counts["users"], 1, "{counts}");
    assert_eq!(counts[r#""we""ird.name""#], 2, "{counts}");
    assert_eq!(counts[r#"a."b.c""#], 5, "{counts}");
    assert_eq!(counts[r#""a.b".c"#], 3, "{counts}");

    let verify = run(k12(&env, &db, &storage).args(["backup", "verify", id]));
    assert_code(&verify, 0);
    assert_eq!(
        db.sql(&format!(
            "SELECT status FROM backup_records WHERE metadata->>'backup_id' = '{id}'"
        )),
        "verified"
    );
}

#[test]
fn the_next_run_marks_the_rows_of_killed_runs_failed_and_leaves_the_platforms_job_alone() {
    let env = env();
    let db = TestDb::new(&env, "records_stale");
    create_backup_records(&db, "bigserial");
    db.sql("CREATE TABLE public.users (x int)");
    let row = |key: &str| {
        db.sql(&format!(
            "INSERT INTO backup_records (status, s3_key, s3_bucket, created_at, updated_at) \
             VALUES ('in_progress', '{key}', 'k12-backups', now() - interval '2 days', \
                     now() - interval '2 days') RETURNING id"
        ))
    };
    let killed = row("prod/backups/2026/11/k12_full_20261101_020000.dump.gz");
    let platform_job = row("backups/2026/11/k12_full_20261101_020000.sql.gz");
    let (_dir, storage) = file_store();
    let report = backup(&env, &db, &storage);

    let state = |id: &str| {
        db.sql(&format!(
            "SELECT status || '|' || coalesce(error_message, '') FROM backup_records WHERE id = {id}"
        ))
    };
    let killed_state = state(&killed);
    assert!(
        killed_state.starts_with("failed|")
            && killed_state.contains("marked failed by the next run"),
        "{killed_state}"
    );
    assert_eq!(
        state(&platform_job),
        "in_progress|",
        "the platform's own job"
    );
    assert_eq!(
        db.sql(&format!(
            "SELECT status FROM backup_records WHERE metadata->>'backup_id' = '{}'",
            report["id"].as_str().unwrap()
        )),
        "completed"
    );
}
