//! A backup's memory does not follow the database's size: a run told the
//! database is 5 TB (`K12CTL_TEST_SIZE_ESTIMATE`, a test-only hook) keeps
//! its peak resident memory within the budget while storing ~100 MiB.

use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use crate::s3_faults::incompressible_db;

const MIB: u64 = 1024 * 1024;
/// The bound for the whole process.
const LIMIT: u64 = 100 * MIB;

/// Peak resident memory (VmHWM) of a running process, read until it exits.
/// VmHWM is the kernel's own high-water mark, so polling loses nothing but
/// the last instants before exit, when memory is being freed.
fn run_measuring_peak(cmd: &mut std::process::Command) -> (std::process::Output, u64) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let watcher = std::thread::spawn(move || {
        let mut peak = 0u64;
        while let Ok(status) = std::fs::read_to_string(&status_path) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            match hwm {
                Some(kb) => peak = peak.max(kb * 1024),
                // A zombie has no memory any more.
                None => break,
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        peak
    });
    let out = child.wait_with_output().unwrap();
    (out, watcher.join().unwrap())
}

#[test]
fn a_backup_of_a_5_tb_database_stays_within_100_mib() {
    let env = env();
    let db = incompressible_db(&env, "memory_5tb", 100);
    let prefix = S3Prefix::new("memory_5tb");
    let mut cmd = k12ctl_for(&env, &db, &prefix);
    cmd.env("K12CTL_TEST_SIZE_ESTIMATE", "5000000000000")
        .args(["--output", "json", "backup", "run"]);
    let (out, peak) = run_measuring_peak(&mut cmd);
    assert_code(&out, 0);
    let report = json(&out);
    assert_eq!(
        report["database_size"], 5_000_000_000_000i64,
        "the hook applied"
    );
    let stored = report["compressed_size"].as_u64().unwrap();
    assert!(
        stored > 100 * MIB,
        "the stream is larger than the budget: {stored}"
    );
    eprintln!(
        "peak resident memory: {} MiB for {} MiB stored",
        peak / MIB,
        stored / MIB
    );
    assert!(peak > 0, "the peak was read");
    assert!(peak <= LIMIT, "peak resident memory {} MiB", peak / MIB);
}
