//! The command line as a contract: --help and JSON shapes are snapshots,
//! man pages and completions match the committed copies, and settings
//! follow flag > env > .env > YAML > default.

use std::path::Path;

use crate::common::*;

/// Compare with `tests/snapshots/NAME`; `K12CTL_UPDATE_SNAPSHOTS=1` rewrites.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = repo_path("tests/snapshots").join(name);
    if std::env::var_os("K12CTL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "snapshot {} is missing; run with K12CTL_UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "snapshot {name} changed; rerun with K12CTL_UPDATE_SNAPSHOTS=1 if intended"
    );
}

/// The shape of a JSON value: keys kept, scalars replaced by their type.
pub fn shape(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Null => Value::String("null".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::String(_) => Value::String("string".into()),
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
    }
}

fn help(args: &[&str]) -> String {
    let env = env();
    let out = run(k12ctl(&env).env("COLUMNS", "100").args(args));
    assert_code(&out, 0);
    stdout(&out)
}

#[test]
fn help_texts_are_stable() {
    assert_snapshot("help.txt", &help(&["--help"]));
    assert_snapshot("help-backup-run.txt", &help(&["backup", "run", "--help"]));
    assert_snapshot("help-backup-list.txt", &help(&["backup", "list", "--help"]));
    assert_snapshot(
        "help-backup-status.txt",
        &help(&["backup", "status", "--help"]),
    );
    assert_snapshot("help-health.txt", &help(&["health", "--help"]));
    assert_snapshot(
        "help-provision-school.txt",
        &help(&["provision", "school", "--help"]),
    );
    assert_snapshot("help-import-csv.txt", &help(&["import", "csv", "--help"]));
}

#[test]
fn backup_json_shapes_are_stable() {
    let env = env();
    let db = TestDb::seeded(&env, "shapes");
    let prefix = S3Prefix::new("shapes");
    let run_out = run(k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&run_out, 0);
    let mut run_json = json(&run_out);
    // Table names are data, not shape.
    run_json["table_row_counts"] = serde_json::json!({ "public.users": 1 });
    assert_snapshot(
        "backup-run.json",
        &serde_json::to_string_pretty(&shape(&run_json)).unwrap(),
    );
    let list = json(&run(
        k12ctl_for(&env, &db, &prefix).args(["--output", "json", "backup", "list"])
    ));
    assert_snapshot(
        "backup-list.json",
        &serde_json::to_string_pretty(&shape(&list)).unwrap(),
    );
}

#[test]
fn onboarding_json_shapes_are_stable() {
    use crate::provision::{k12, school_flags};
    let env = env();
    let db = TestDb::with_schema(&env, "shapes_onboarding");
    let out = run(k12(&env, &db)
        .args(school_flags("shapes"))
        .args(["--output", "json"]));
    assert_code(&out, 0);
    assert_snapshot(
        "provision-school.json",
        &serde_json::to_string_pretty(&shape(&json(&out))).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        "email,first_name,last_name,role\na@example.org,A,B,teacher\n",
    )
    .unwrap();
    let import = |file: &Path| {
        run(k12(&env, &db)
            .args([
                "import", "csv", "--tenant", "shapes", "--kind", "users", "--output", "json",
            ])
            .arg(file))
    };
    let out = import(&file);
    assert_code(&out, 0);
    assert_snapshot(
        "import-csv.json",
        &serde_json::to_string_pretty(&shape(&json(&out))).unwrap(),
    );
    std::fs::write(&file, "email,first_name,last_name,role\nnope,A,B,teacher\n").unwrap();
    let out = import(&file);
    assert_code(&out, 4);
    assert_snapshot(
        "import-csv-rejected.json",
        &serde_json::to_string_pretty(&shape(&json(&out))).unwrap(),
    );
    let out = run(k12(&env, &db).args(["provision", "status", "shapes", "--output", "json"]));
    assert_snapshot(
        "provision-status.json",
        &serde_json::to_string_pretty(&shape(&json(&out))).unwrap(),
    );
}

fn assert_same_files(committed: &Path, generated: &Path) {
    let mut names: Vec<_> = std::fs::read_dir(generated)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in &names {
        let fresh = std::fs::read(generated.join(name)).unwrap();
        let kept = std::fs::read(committed.join(name)).unwrap_or_default();
        assert!(
            fresh == kept,
            "{} is out of date: regenerate with `cargo run -- man --dir man` and `cargo run -- completions --dir completions`",
            committed.join(name).display()
        );
    }
    let committed_count = std::fs::read_dir(committed).unwrap().count();
    assert_eq!(
        committed_count,
        names.len(),
        "stale files in {}",
        committed.display()
    );
}

#[test]
fn man_pages_and_completions_match_the_committed_copies() {
    let env = env();
    let man = tempfile::tempdir().unwrap();
    assert_code(&run(k12ctl(&env).args(["man", "--dir"]).arg(man.path())), 0);
    assert_same_files(&repo_path("man"), man.path());
    let comp = tempfile::tempdir().unwrap();
    assert_code(
        &run(k12ctl(&env).args(["completions", "--dir"]).arg(comp.path())),
        0,
    );
    assert_same_files(&repo_path("completions"), comp.path());
}

fn setting(view: &serde_json::Value, name: &str) -> (String, String) {
    let s = view["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    (
        s["value"].as_str().unwrap_or("").to_owned(),
        s["source"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn settings_follow_flag_env_dotenv_yaml_default() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("k12ctl.yaml"),
        "storage: s3://from-yaml/p\ndatabase_url: postgres://u:yaml-secret@h/yaml\ns3:\n  region: yaml-region\n  endpoint: http://yaml:3900\nbackup:\n  compression_level: 7\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "K12CTL_STORAGE=s3://from-dotenv/p\nBACKUP_S3_REGION=dotenv-region\n",
    )
    .unwrap();
    let show = |cmd: &mut std::process::Command| {
        let out = run(cmd
            .current_dir(dir.path())
            .env_remove("K12CTL_S3_ENDPOINT")
            .env_remove("BACKUP_S3_REGION")
            .args(["--output", "json", "config", "show"]));
        assert_code(&out, 0);
        json(&out)
    };
    let v = show(&mut k12ctl(&env));
    assert_eq!(
        setting(&v, "storage"),
        ("s3://from-dotenv/p".into(), "dot_env".into())
    );
    assert_eq!(
        setting(&v, "s3.region"),
        ("dotenv-region".into(), "dot_env".into())
    );
    assert_eq!(
        setting(&v, "s3.endpoint"),
        ("http://yaml:3900".into(), "config_file".into())
    );
    assert_eq!(
        setting(&v, "compression_level"),
        ("7".into(), "config_file".into())
    );
    assert_eq!(
        setting(&v, "s3.checksum"),
        ("when_required".into(), "default".into())
    );
    let (url, source) = setting(&v, "database_url");
    assert_eq!(source, "config_file");
    assert!(
        !url.contains("yaml-secret") && url.contains("***"),
        "redacted: {url}"
    );

    let v = show(k12ctl(&env).env("K12CTL_STORAGE", "s3://from-env/p"));
    assert_eq!(
        setting(&v, "storage"),
        ("s3://from-env/p".into(), "env".into())
    );
    let v = show(
        k12ctl(&env)
            .env("K12CTL_STORAGE", "s3://from-env/p")
            .args(["--storage", "s3://from-flag/p"]),
    );
    assert_eq!(
        setting(&v, "storage"),
        ("s3://from-flag/p".into(), "flag".into())
    );

    std::fs::write(
        dir.path().join("k12ctl.yaml"),
        "storage: s3://x\nstorgae: typo\n",
    )
    .unwrap();
    let out = run(k12ctl(&env)
        .current_dir(dir.path())
        .args(["config", "show"]));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("storgae"), "{}", stderr(&out));
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let env = env();
    let mut child = k12ctl(&env)
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
