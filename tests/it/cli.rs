//! The JSON shapes of backups and onboarding as a contract: snapshots in
//! `tests/snapshots` (the `--help` texts, man pages, completions and
//! settings are checked without servers, in `tests/cli`).

use std::path::Path;

use crate::common::*;
// Other files use them as `crate::cli::...`; they live in common.rs.
pub use crate::common::{assert_snapshot, shape};

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
