//! What `health` hands to people and machines beyond the checks: the
//! Prometheus file and `--watch` (its configuration errors are in
//! `tests/cli/health.rs`).

use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::health::{catalog_backup, healthy_basics, loaded_machine};

fn parse_prometheus(path: &Path) -> prometheus_parse::Scrape {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // The parser skips lines it cannot read: every sample line must be there,
    // each a gauge declared by its TYPE line.
    let sample_lines = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    assert_eq!(scrape.samples.len(), sample_lines, "{text}");
    for s in &scrape.samples {
        assert!(
            matches!(s.value, prometheus_parse::Value::Gauge(_)),
            "{} is not a declared gauge\n{text}",
            s.metric
        );
    }
    scrape
}

fn sample(scrape: &prometheus_parse::Scrape, name: &str, check: Option<&str>) -> f64 {
    let s = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && check.is_none_or(|c| s.labels.get("check") == Some(c)))
        .unwrap_or_else(|| panic!("{name} {check:?} missing"));
    match s.value {
        prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{name} is not a gauge: {other:?}"),
    }
}

#[test]
fn the_prometheus_file_parses_and_is_replaced_atomically() {
    use std::os::unix::fs::MetadataExt;
    let env = env();
    let (db, prefix) = healthy_basics(&env, "health_prom");
    catalog_backup(&env, &prefix, "completed", 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k12ctl.prom");
    let write = || {
        let out = run(loaded_machine(&mut k12ctl_for(&env, &db, &prefix))
            .args(["health", "--prometheus-file"])
            .arg(&file));
        assert_code(&out, 0);
    };
    write();
    let scrape = parse_prometheus(&file);
    assert_eq!(sample(&scrape, "k12ctl_health_status", None), 0.0);
    assert_eq!(
        sample(&scrape, "k12ctl_health_check_status", Some("database")),
        0.0
    );
    let age = sample(&scrape, "k12ctl_backup_age_seconds", None);
    assert!((3600.0..3700.0).contains(&age), "{age}");
    let verified = sample(&scrape, "k12ctl_backup_verified_age_seconds", None);
    assert!((7200.0..7300.0).contains(&verified), "{verified}");
    assert!(sample(&scrape, "k12ctl_db_response_time_seconds", None) < 1.0);
    assert!(
        !scrape
            .samples
            .iter()
            .any(|s| s.labels.get("check") == Some("redis")),
        "skipped checks are absent"
    );
    let first = std::fs::metadata(&file).unwrap().ino();

    write();
    assert_ne!(
        std::fs::metadata(&file).unwrap().ino(),
        first,
        "a new file renamed over the old one, not rewritten in place"
    );
    parse_prometheus(&file);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["k12ctl.prom"], "no temporary file left behind");
    let mode = std::fs::metadata(&file).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o644, "readable by node_exporter");

    // Nothing found is +Inf, which a parser reads as infinity.
    let empty = S3Prefix::new("health_prom_empty");
    let out = run(k12ctl_for(&env, &db, &empty)
        .args(["health", "--check", "backups", "--prometheus-file"])
        .arg(&file));
    assert_code(&out, 2);
    let scrape = parse_prometheus(&file);
    assert_eq!(sample(&scrape, "k12ctl_health_status", None), 2.0);
    assert!(sample(&scrape, "k12ctl_backup_age_seconds", None).is_infinite());
}

#[test]
fn watch_off_a_terminal_prints_one_line_per_run_until_interrupted() {
    use std::io::BufRead;
    let env = env();
    let prefix = S3Prefix::new("health_watch");
    let mut child = k12ctl(&env)
        .env("K12CTL_STORAGE", prefix.storage_url(&env))
        .args(["health", "--check", "storage", "--watch", "1"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        let line = lines.next().unwrap().unwrap();
        assert!(line.contains(" healthy storage=healthy"), "{line}");
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(130));
}
