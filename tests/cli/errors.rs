//! Usage and configuration errors: exit 2 with a hint, as one `error:` line
//! or, with JSON output, one JSON object on stderr.

use crate::common::*;

#[test]
fn missing_configuration_is_a_usage_error_with_a_hint() {
    let out = run(k12ctl_no_servers().args(["backup", "list"]));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("K12CTL_STORAGE"), "{}", stderr(&out));
    let out = run(k12ctl_no_servers().args(["--storage", "file:///tmp/x", "backup", "run"]));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("DATABASE_URL"), "{}", stderr(&out));
    let out = run(k12ctl_no_servers().args(["--storage", "ftp://x", "backup", "list"]));
    assert_code(&out, 2);
}

#[test]
fn json_errors_are_machine_readable() {
    let out = run(k12ctl_no_servers().args(["--output", "json", "backup", "list"]));
    assert_code(&out, 2);
    let err: serde_json::Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(err["exit_code"], 2);
    assert!(err["error"].as_str().unwrap().contains("storage"));
}

#[test]
fn incremental_is_refused_with_an_explanation() {
    let out = run(k12ctl_no_servers().args([
        "--storage",
        "file:///nonexistent",
        "--database-url",
        "postgres://x@127.0.0.1:1/x",
        "backup",
        "run",
        "--type",
        "incremental",
    ]));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("WAL archiving"), "{}", stderr(&out));
}

/// The one JSON object an error prints on stderr.
#[track_caller]
fn json_error(out: &std::process::Output, code: i32) -> serde_json::Value {
    assert_code(out, code);
    serde_json::from_str(stderr(out).trim())
        .unwrap_or_else(|e| panic!("stderr is not one JSON object ({e}): {}", stderr(out)))
}

#[test]
fn errors_are_json_when_the_config_file_says_output_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let yaml = dir.path().join("k12ctl.yaml");
    std::fs::write(
        &yaml,
        format!("output: json\nstorage: file://{}\n", store.display()),
    )
    .unwrap();
    let k12 = || {
        let mut cmd = k12ctl_no_servers();
        cmd.env("K12CTL_CONFIG", &yaml);
        cmd
    };

    // A usage error found by the command: no database configured.
    let err = json_error(&run(k12().args(["backup", "run"])), 2);
    assert!(
        err["error"].as_str().unwrap().contains("DATABASE_URL"),
        "{err}"
    );
    // A runtime error: no such backup.
    let err = json_error(&run(k12().args(["backup", "show", "k12_full_nope"])), 1);
    assert!(
        err["error"].as_str().unwrap().contains("k12_full_nope"),
        "{err}"
    );
    // An error while resolving the settings themselves.
    let err = json_error(
        &run(k12()
            .env("K12CTL_COMPRESSION_LEVEL", "99")
            .args(["config", "show"])),
        2,
    );
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("K12CTL_COMPRESSION_LEVEL"),
        "{err}"
    );

    // The flag and the environment still rank above the file.
    let mut flag = k12();
    flag.args(["--output", "human", "backup", "run"]);
    let mut env = k12();
    env.env("K12CTL_OUTPUT", "human").args(["backup", "run"]);
    for mut human in [flag, env] {
        let out = run(&mut human);
        assert_code(&out, 2);
        assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    }
}
