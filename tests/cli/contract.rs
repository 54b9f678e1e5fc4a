//! The command line as a contract: the `--help` texts are snapshots
//! (`tests/snapshots`, rewritten with `K12CTL_UPDATE_SNAPSHOTS=1`), the man
//! pages and completions match the committed copies, and a reader that goes
//! away is not an error.

use std::path::Path;

use crate::common::*;

fn help(args: &[&str]) -> String {
    let out = run(k12ctl_no_servers().env("COLUMNS", "100").args(args));
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
    let man = tempfile::tempdir().unwrap();
    assert_code(
        &run(k12ctl_no_servers().args(["man", "--dir"]).arg(man.path())),
        0,
    );
    assert_same_files(&repo_path("man"), man.path());
    let comp = tempfile::tempdir().unwrap();
    assert_code(
        &run(k12ctl_no_servers()
            .args(["completions", "--dir"])
            .arg(comp.path())),
        0,
    );
    assert_same_files(&repo_path("completions"), comp.path());
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let mut child = k12ctl_no_servers()
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
