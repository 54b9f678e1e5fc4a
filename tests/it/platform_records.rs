//! k12ctl's runs as the platform sees them: `backup_records` rows in the
//! shapes of its `DatabaseBackupJob` and `BackupVerificationJob`, in a
//! database with the platform's real schema, and `backup status` in the shape
//! of its `GET /api/v1/admin/backups/status`.

use serde_json::{json, Value};

use crate::backup::pg_dump_shim;
use crate::cli::{assert_snapshot, shape};
use crate::common::*;
use crate::health::catalog_backup;

const SCHEMA_DATE: &str = "2026-03-07";

/// A database with the platform's schema and two tenants, backed up.
fn backed_up_platform(env: &Env, hint: &str) -> (TestDb, S3Prefix, Value) {
    let db = TestDb::platform(env, hint, SCHEMA_DATE);
    db.sql(
        "INSERT INTO tenants (name, slug, created_at, updated_at) \
         VALUES ('North', 'north', now(), now()), ('South', 'south', now(), now())",
    );
    let prefix = S3Prefix::new(hint);
    let out = run(k12ctl_for(env, &db, &prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&out, 0);
    (db, prefix, json(&out))
}

/// An expression over the `backup_records` row of backup `id`.
fn record(db: &TestDb, id: &str, expr: &str) -> String {
    db.sql(&format!(
        "SELECT {expr} FROM backup_records r WHERE r.metadata->>'backup_id' = '{id}'"
    ))
}

/// `key:jsonb_typeof` of every key of a jsonb object of the row, sorted.
fn key_types(db: &TestDb, id: &str, object: &str) -> String {
    record(
        db,
        id,
        &format!(
            "(SELECT string_agg(e.key || ':' || jsonb_typeof(e.value), ',' ORDER BY e.key) \
             FROM jsonb_each({object}) e)"
        ),
    )
}

fn public_tables(db: &TestDb) -> String {
    db.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
}

#[test]
fn backup_and_verify_leave_rows_in_the_platform_shapes() {
    let env = env();
    let (db, prefix, report) = backed_up_platform(&env, "rec_shapes");
    let id = report["id"].as_str().unwrap();

    // The columns, as DatabaseBackupJob fills them.
    assert_eq!(
        record(
            &db,
            id,
            "concat_ws('|', status, backup_type, s3_bucket, s3_key, size_bytes, duration_seconds)"
        ),
        format!(
            "completed|full|{}|{}/{}|{}|{}",
            env.bucket,
            prefix.prefix,
            report["object_key"].as_str().unwrap(),
            report["compressed_size"],
            report["duration_seconds"].as_f64().unwrap() as i64
        )
    );
    assert_eq!(
        record(
            &db,
            id,
            "error_message IS NULL AND verified_at IS NULL AND created_at <= updated_at"
        ),
        "t"
    );

    // metadata: the platform's three keys with its value types, and k12ctl's own.
    assert_eq!(
        key_types(&db, id, "r.metadata"),
        "backup_id:string,database_size:string,pg_dump_version:string,pg_version:string,\
         sha256:string,table_row_counts:object,tool:string"
    );
    assert_eq!(
        record(&db, id, "r.metadata->>'pg_version'"),
        db.sql("SELECT version()"),
        "pg_version is the text of version(), as the platform stores it"
    );
    assert_eq!(
        record(
            &db,
            id,
            "r.metadata->>'database_size' ~ '^[0-9]+ (bytes|kB|MB|GB|TB)$'"
        ),
        "t",
        "database_size is pg_size_pretty text: {}",
        record(&db, id, "r.metadata->>'database_size'")
    );
    // table_row_counts: plain table names, integer counts, every table.
    let counts = "r.metadata->'table_row_counts'";
    assert_eq!(
        record(
            &db,
            id,
            &format!(
                "(SELECT count(*) FILTER (WHERE jsonb_typeof(e.value) <> 'number' \
                   OR e.key LIKE 'public.%') || '/' || count(*) FROM jsonb_each({counts}) e)"
            )
        ),
        format!("0/{}", public_tables(&db))
    );
    assert_eq!(record(&db, id, &format!("{counts}->'tenants'")), "2");

    let out = run(k12ctl_for(&env, &db, &prefix).args(["backup", "verify", id]));
    assert_code(&out, 0);
    assert_eq!(
        record(
            &db,
            id,
            "status || '|' || (verified_at IS NOT NULL) || '|' || (error_message IS NULL)"
        ),
        "verified|true|true"
    );
    // verification_result: passed, tables_checked, mismatches, details{table: {expected, actual, match}}.
    let result = "r.verification_result";
    assert_eq!(
        key_types(&db, id, result),
        "details:object,duration_seconds:number,failed_check:null,mismatches:array,\
         passed:boolean,tables_checked:number"
    );
    assert_eq!(
        record(
            &db,
            id,
            &format!(
                "concat_ws('|', {result}->'passed', {result}->'tables_checked', \
                 {result}->'mismatches')"
            )
        ),
        format!("true|{}|[]", public_tables(&db))
    );
    assert_eq!(
        record(
            &db,
            id,
            &format!(
                "(SELECT count(*) FROM jsonb_each({result}->'details') d WHERE \
                   (SELECT string_agg(k.key || ':' || jsonb_typeof(k.value), ',' ORDER BY k.key) \
                    FROM jsonb_each(d.value) k) <> 'actual:number,expected:number,match:boolean')"
            )
        ),
        "0",
        "every detail is {{expected, actual, match}}"
    );
    assert_eq!(
        record(
            &db,
            id,
            &format!(
                "{result}->'details'->'tenants' = '{{\"expected\": 2, \"actual\": 2, \"match\": true}}'"
            )
        ),
        "t"
    );
}

#[test]
fn a_failed_verify_records_passed_false_and_the_mismatches() {
    let env = env();
    let (db, prefix, report) = backed_up_platform(&env, "rec_mismatch");
    let id = report["id"].as_str().unwrap();
    let manifest_key = format!(
        "{}/{}",
        prefix.prefix,
        report["object_key"]
            .as_str()
            .unwrap()
            .replace(".dump.gz", ".manifest.json")
    );
    let mut manifest: Value = serde_json::from_slice(&s3_get(&env, &manifest_key)).unwrap();
    manifest["table_row_counts"]["public.tenants"] = json!(9);
    s3_put(&env, &manifest_key, &serde_json::to_vec(&manifest).unwrap());

    let out = run(k12ctl_for(&env, &db, &prefix).args(["backup", "verify", id]));
    assert_code(&out, 4);
    let result = "r.verification_result";
    assert_eq!(record(&db, id, "status"), "verification_failed");
    assert_eq!(
        record(
            &db,
            id,
            &format!(
                "concat_ws('|', jsonb_typeof({result}->'passed'), {result}->'passed', \
                 {result}->'tables_checked', {result}->'mismatches', {result}->>'failed_check')"
            )
        ),
        format!(
            "boolean|false|{}|[\"tenants\"]|row_counts",
            public_tables(&db)
        )
    );
    assert_eq!(
        record(
            &db,
            id,
            &format!(
                "{result}->'details'->'tenants' = '{{\"expected\": 9, \"actual\": 2, \"match\": false}}'"
            )
        ),
        "t"
    );
    let error = record(&db, id, "error_message");
    assert!(error.contains("tenants expected 9, restored 2"), "{error}");
    assert_eq!(record(&db, id, &format!("{result}->>'error'")), error);
}

fn status(env: &Env, prefix: &S3Prefix, json_output: bool) -> std::process::Output {
    let mut cmd = k12ctl(env);
    cmd.env("K12CTL_STORAGE", prefix.storage_url(env));
    if json_output {
        cmd.args(["--output", "json"]);
    }
    let out = run(cmd.args(["backup", "status"]));
    assert_code(&out, 0);
    out
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// `2026-11-22T02:00:00.000Z`, as Rails renders times.
fn is_rails_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok() && s.len() == 24
}

#[test]
fn backup_status_gives_the_platform_summary_from_the_catalog() {
    let env = env();
    let prefix = S3Prefix::new("status");
    let empty = json(&status(&env, &prefix, true));
    assert_eq!(
        empty,
        json!({ "latest_backup": null, "latest_verified": null, "total_backups": 0, "failed_count": 0 })
    );
    let text = stdout(&status(&env, &prefix, false));
    assert!(
        text.contains("0 backup(s)") && text.contains("k12ctl backup run"),
        "{text}"
    );

    let db = TestDb::seeded(&env, "status");
    let backup = || {
        let out = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"]));
        assert_code(&out, 0);
        json(&out)
    };
    let verified = backup();
    let verified_id = verified["id"].as_str().unwrap();
    assert_code(
        &run(k12ctl_for(&env, &db, &prefix).args(["backup", "verify", verified_id])),
        0,
    );
    let newest = backup();
    let shims = pg_dump_shim(&env, "exit 1");
    let failed = run(k12ctl_for(&env, &db, &prefix)
        .env("PATH", shims.path_env())
        .args(["backup", "run"]));
    assert_code(&failed, 1);
    // Neither counts as failed in the last 30 days.
    catalog_backup(&env, &prefix, "failed", 24 * 31);
    catalog_backup(&env, &prefix, "verification_failed", 3);

    let out = status(&env, &prefix, true);
    let s = json(&out);
    assert_eq!(
        keys(&s),
        [
            "failed_count",
            "latest_backup",
            "latest_verified",
            "total_backups"
        ]
    );
    assert_eq!(s["total_backups"], 5);
    assert_eq!(s["failed_count"], 1);
    let latest = &s["latest_backup"];
    assert_eq!(
        keys(latest),
        [
            "created_at",
            "duration_seconds",
            "id",
            "size_bytes",
            "status"
        ]
    );
    assert_eq!(latest["id"], newest["id"]);
    assert_eq!(latest["status"], "completed");
    assert_eq!(latest["size_bytes"], newest["compressed_size"]);
    assert_eq!(
        latest["duration_seconds"],
        newest["duration_seconds"].as_f64().unwrap() as i64
    );
    assert!(is_rails_time(&latest["created_at"]), "{latest}");
    assert_eq!(
        latest["created_at"].as_str().unwrap()[..19],
        newest["started_at"].as_str().unwrap()[..19]
    );
    let latest_verified = &s["latest_verified"];
    assert_eq!(keys(latest_verified), ["id", "status", "verified_at"]);
    assert_eq!(latest_verified["id"], verified_id);
    assert_eq!(latest_verified["status"], "verified");
    assert!(
        is_rails_time(&latest_verified["verified_at"]),
        "{latest_verified}"
    );
    assert_snapshot(
        "backup-status.json",
        &serde_json::to_string_pretty(&shape(&s)).unwrap(),
    );

    let text = stdout(&status(&env, &prefix, false));
    assert!(
        text.contains("5 backup(s)") && text.contains("1 failed in the last 30 days"),
        "{text}"
    );
    assert!(
        text.contains(newest["id"].as_str().unwrap()) && text.contains(verified_id),
        "{text}"
    );
}
