//! Nothing hangs: a database server that accepts connections and never
//! answers fails every command that connects within the connect timeout,
//! with one line naming it (more in `tests/cli/hangs.rs`, without servers).

use crate::common::*;

#[test]
fn a_server_that_never_answers_fails_backup_import_provision_and_restore_on_time() {
    let env = env();
    let hole = black_hole();
    let hung = format!("postgres://k12:pw@127.0.0.1:{hole}/k12");
    let storage = tempfile::tempdir().unwrap();
    let storage_url = format!("file://{}", storage.path().display());

    // A real backup in the storage, so that restore gets as far as connecting.
    let db = TestDb::seeded(&env, "hang_source");
    let made = run(k12ctl(&env)
        .env("DATABASE_URL", &db.url)
        .env("K12CTL_STORAGE", &storage_url)
        .args(["backup", "run"]));
    assert_code(&made, 0);

    let csv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(csv.path(), "email,first_name,last_name,role\n").unwrap();
    let commands: Vec<(&str, Vec<String>)> = vec![
        ("backup run", vec!["backup".into(), "run".into()]),
        (
            "import csv",
            ["import", "csv", "--tenant", "maple", "--kind", "users"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain([csv.path().display().to_string()])
                .collect(),
        ),
        ("provision school", crate::provision::school_flags("maple")),
        (
            "restore",
            [
                "restore", "--latest", "--target", "k12_copy", "--create", "--yes",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ),
    ];
    // All at once: each must end on its own within the bound.
    let runs: Vec<_> = commands
        .into_iter()
        .map(|(what, args)| {
            let mut cmd = k12ctl(&env);
            cmd.env("DATABASE_URL", &hung)
                .env("K12CTL_STORAGE", &storage_url)
                .env("K12CTL_CONNECT_TIMEOUT", "2")
                .args(&args);
            (
                what,
                std::thread::spawn(move || run_within(&mut cmd, WATCHDOG)),
            )
        })
        .collect();
    for (what, handle) in runs {
        let (out, took) = handle.join().unwrap();
        assert_no_answer_within(&out, took, what);
    }
}
