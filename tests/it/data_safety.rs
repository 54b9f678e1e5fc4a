//! Data safety: `file://` backups are private to their owner.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::restore::TestDbRef;

/// `cmd` run under `umask <mask>`: the shell sets it and execs k12ctl with
/// the same arguments, environment and directory.
fn with_umask(cmd: &Command, mask: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.env_clear()
        .arg("-c")
        .arg(r#"umask "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(mask)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        if let Some(value) = value {
            sh.env(name, value);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    sh
}

/// Every directory and file under `dir`, `dir` included.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn file_backups_are_private_whatever_the_umask() {
    let env = env();
    let db = TestDb::seeded(&env, "private_files");
    let parent = tempfile::tempdir().unwrap();
    // The store's root does not exist yet: k12ctl creates it.
    let root = parent.path().join("k12-backups");
    let storage = format!("file://{}", root.display());
    let source = db.table_checksums();

    let mut backup = k12ctl(&env);
    backup.env("DATABASE_URL", &db.url).args([
        "--storage",
        &storage,
        "--output",
        "json",
        "backup",
        "run",
    ]);
    let out = run(&mut with_umask(&backup, "022"));
    assert_code(&out, 0);
    let id = json(&out)["id"].as_str().unwrap().to_owned();
    // The verdict rewrites the manifest: that write is private too.
    let mut verify = k12ctl(&env);
    verify
        .env("DATABASE_URL", &db.url)
        .args(["--storage", &storage, "backup", "verify", &id]);
    assert_code(&run(&mut with_umask(&verify, "022")), 0);

    let written = tree(&root);
    assert!(
        written.len() >= 6,
        "root, backups/YYYY/MM, data, manifest: {written:?}"
    );
    for path in &written {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(
            mode(path),
            expected,
            "{} is {:o}",
            path.display(),
            mode(path)
        );
    }
    // Private, and still a good backup of the same content.
    assert_eq!(restore_into_new(&env, &db, &storage, &id), source);
}

/// Restore backup `id` into a new database on `source`'s server; its content.
fn restore_into_new(
    env: &Env,
    source: &TestDb,
    storage: &str,
    id: &str,
) -> std::collections::BTreeMap<String, String> {
    let target = unique("k12t_restored");
    let out = run(k12ctl(env).env("DATABASE_URL", &source.url).args([
        "--storage",
        storage,
        "restore",
        "--backup",
        id,
        "--target",
        &target,
        "--create",
        "--yes",
    ]));
    let restored = TestDbRef::new(env, &target);
    assert_code(&out, 0);
    table_checksums(&restored.url)
}
