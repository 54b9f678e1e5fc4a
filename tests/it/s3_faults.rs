//! S3 faults between k12ctl and Garage, injected by `fault_proxy`: cut
//! connections, connections that swallow requests, `503 SlowDown`, and
//! answers lost after the server acted (CompleteMultipartUpload, the
//! manifest's PUT). Each backup either completes and restores identically,
//! or fails with one line, exit 1, a `failed` manifest, nothing listed as
//! good and no upload left after `backup prune`; always within a bound.

use std::time::Duration;

use crate::common::*;
use crate::fault_proxy::{Fault, FaultProxy, RequestKind};
use crate::restore::TestDbRef;

/// Far above what these runs need on a loaded 2-core machine, far below
/// the 2 minutes a request could wait before `K12CTL_S3_TIMEOUT` existed.
const BOUND: Duration = Duration::from_secs(90);
/// The S3 timeout the runs use, so that swallowed requests are retried soon.
const S3_TIMEOUT_SECS: &str = "3";

/// A database with `mib` MiB of incompressible rows: its backup is several
/// 5 MiB parts whatever the compression.
pub fn incompressible_db(env: &Env, hint: &str, mib: u32) -> TestDb {
    let db = TestDb::new(env, hint);
    db.sql(&format!(
        "CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL);
         INSERT INTO blobs
         SELECT g, decode(string_agg(md5(g || ':' || i || ':' || random()), ''), 'hex')
         FROM generate_series(1, {rows}) g, generate_series(1, 64) i GROUP BY g;",
        rows = mib * 1024
    ));
    db
}

fn backup_through(
    env: &Env,
    db: &TestDb,
    prefix: &S3Prefix,
    proxy: &FaultProxy,
) -> (std::process::Output, Duration) {
    let mut cmd = k12ctl_for(env, db, prefix);
    cmd.env("K12CTL_S3_ENDPOINT", proxy.endpoint())
        .env("K12CTL_S3_TIMEOUT", S3_TIMEOUT_SECS)
        .args(["--output", "json", "backup", "run"]);
    let (out, took) = run_within(&mut cmd, BOUND);
    assert!(took < BOUND, "took {took:?}");
    (out, took)
}

/// The backup is complete, listed, and restores to the source's content.
#[track_caller]
fn assert_completed_and_restores(
    env: &Env,
    db: &TestDb,
    prefix: &S3Prefix,
    out: &std::process::Output,
) {
    assert_code(out, 0);
    let report = json(out);
    assert_eq!(report["status"], "completed", "{report}");
    let id = report["id"].as_str().unwrap();
    let key = format!(
        "{}/{}",
        prefix.prefix,
        report["object_key"].as_str().unwrap()
    );
    assert!(
        s3_keys(env, &prefix.prefix).contains(&key),
        "the object is there"
    );
    assert!(s3_pending_uploads(env, &prefix.prefix).is_empty());

    let target = unique("k12t_fault_restore");
    let restored = TestDbRef::new(env, &target);
    let restore = run(k12ctl_for(env, db, prefix).args([
        "--output", "json", "restore", "--backup", id, "--target", &target, "--create", "--yes",
    ]));
    assert_code(&restore, 0);
    assert_eq!(table_checksums(&restored.url), db.table_checksums());
}

/// Exit 1 with one error line, a `failed` manifest, nothing good listed,
/// no data object left once `backup prune` has run, and (when
/// `no_upload_left`) no unfinished upload.
#[track_caller]
fn assert_failed_cleanly_but(
    env: &Env,
    db: &TestDb,
    prefix: &S3Prefix,
    out: &std::process::Output,
    no_upload_left: bool,
) {
    assert_code(out, 1);
    // With --output json the error is one JSON line on stderr.
    let err = stderr(out);
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("{\"error\""))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].len() < 400 && !errors[0].contains("Response {"),
        "one readable line, no SDK dump: {}",
        errors[0]
    );

    let list = run(k12ctl_for(env, db, prefix).args(["--output", "json", "backup", "list"]));
    assert_code(&list, 0);
    let backups = json(&list)["backups"].as_array().unwrap().clone();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups[0]["status"], "failed");
    let prune = run(k12ctl_for(env, db, prefix).args(["backup", "prune", "--keep-last", "3"]));
    assert_code(&prune, 0);
    let pending = s3_pending_uploads(env, &prefix.prefix);
    if no_upload_left {
        assert!(
            pending.is_empty(),
            "uploads left: {pending:?}\n{}",
            stderr(out)
        );
    }
    assert!(
        !s3_keys(env, &prefix.prefix)
            .iter()
            .any(|k| k.ends_with(".dump.gz")),
        "no data object left"
    );
}

#[test]
fn connections_cut_every_7_mib_are_retried_and_the_backup_restores_identically() {
    let env = env();
    let db = incompressible_db(&env, "fault_cut", 20);
    let prefix = S3Prefix::new("fault_cut");
    let proxy = FaultProxy::start(&env.s3_endpoint, Fault::CutEvery(7 << 20));
    let (out, _) = backup_through(&env, &db, &prefix, &proxy);
    assert!(proxy.injected() > 0, "no connection was cut");
    assert_completed_and_restores(&env, &db, &prefix, &out);
}

#[test]
fn connections_cut_every_mib_fail_the_backup_cleanly_and_on_time() {
    let env = env();
    let db = incompressible_db(&env, "fault_cut_hard", 12);
    let prefix = S3Prefix::new("fault_cut_hard");
    // No 5 MiB part can ever pass; manifests and aborts (small) can.
    let proxy = FaultProxy::start(&env.s3_endpoint, Fault::CutEvery(1 << 20));
    let (out, _) = backup_through(&env, &db, &prefix, &proxy);
    assert!(proxy.injected() > 0);
    assert!(stderr(&out).contains("upload of part"), "{}", stderr(&out));
    // Known open point: Garage still lists the upload after k12ctl's abort
    // (no abort error is logged), and prune only aborts uploads older than
    // a day. Everything else about the failure is checked.
    assert_failed_cleanly_but(&env, &db, &prefix, &out, false);
}

/// The first connections read the request and never answer: each attempt
/// on them is abandoned after the S3 timeout and retried.
#[test]
fn swallowed_requests_are_retried_after_the_s3_timeout() {
    let env = env();
    let db = incompressible_db(&env, "fault_stall", 8);
    let prefix = S3Prefix::new("fault_stall");
    let proxy = FaultProxy::start(&env.s3_endpoint, Fault::SwallowFirst(2));
    let (out, took) = backup_through(&env, &db, &prefix, &proxy);
    assert_eq!(proxy.injected(), 2);
    // Two timeouts of 3 s, then a normal run; the SDK's own default would
    // have waited 2 x 120 s.
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert_completed_and_restores(&env, &db, &prefix, &out);
}

#[test]
fn a_few_slow_down_answers_are_retried_and_the_backup_completes() {
    let env = env();
    let db = incompressible_db(&env, "fault_503", 12);
    let prefix = S3Prefix::new("fault_503");
    let proxy = FaultProxy::start(
        &env.s3_endpoint,
        Fault::SlowDown(RequestKind::UploadPart, 3),
    );
    let (out, _) = backup_through(&env, &db, &prefix, &proxy);
    assert_eq!(proxy.injected(), 3);
    assert_completed_and_restores(&env, &db, &prefix, &out);
}

#[test]
fn slow_down_on_every_part_fails_the_backup_cleanly() {
    let env = env();
    let db = incompressible_db(&env, "fault_503_all", 8);
    let prefix = S3Prefix::new("fault_503_all");
    let proxy = FaultProxy::start(
        &env.s3_endpoint,
        Fault::SlowDown(RequestKind::UploadPart, usize::MAX),
    );
    let (out, _) = backup_through(&env, &db, &prefix, &proxy);
    assert!(stderr(&out).contains("503 SlowDown"), "{}", stderr(&out));
    // Same open point as the hard cuts: the upload stays listed by Garage.
    assert_failed_cleanly_but(&env, &db, &prefix, &out, false);
}

/// CompleteMultipartUpload reaches Garage, which completes the object; the
/// answer is lost, the SDK's retry finds no such upload. Reading back
/// shows the object complete: the backup is completed, not deleted.
#[test]
fn a_lost_answer_to_completing_the_upload_is_settled_by_reading_back() {
    let env = env();
    let db = incompressible_db(&env, "fault_complete", 8);
    let prefix = S3Prefix::new("fault_complete");
    let proxy = FaultProxy::start(
        &env.s3_endpoint,
        Fault::DropResponse(RequestKind::CompleteUpload, 1),
    );
    let (out, _) = backup_through(&env, &db, &prefix, &proxy);
    assert_eq!(proxy.injected(), 1);
    assert!(
        stderr(&out).contains("the object is there"),
        "{}",
        stderr(&out)
    );
    assert_completed_and_restores(&env, &db, &prefix, &out);
}

/// Every attempt to write the manifest lands but its answer is lost: the
/// manifest is read back and found, so the object is kept and the backup
/// completed (it used to be deleted under its own manifest).
#[test]
fn lost_answers_to_the_manifest_write_are_settled_by_reading_back() {
    let env = env();
    let db = incompressible_db(&env, "fault_manifest", 1);
    let prefix = S3Prefix::new("fault_manifest");
    let proxy = FaultProxy::start(
        &env.s3_endpoint,
        Fault::DropResponse(RequestKind::PutObject, usize::MAX),
    );
    let (out, _) = backup_through(&env, &db, &prefix, &proxy);
    assert!(proxy.injected() >= 2, "the SDK retried the lost PUT");
    assert!(
        stderr(&out).contains("the manifest is there"),
        "{}",
        stderr(&out)
    );
    assert_completed_and_restores(&env, &db, &prefix, &out);
}
