//! Settings follow flag > env > .env > YAML > default, as `config show`
//! reports them (no server is contacted).

use crate::common::*;

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
            .args(["--output", "json", "config", "show"]));
        assert_code(&out, 0);
        json(&out)
    };
    let v = show(&mut k12ctl_no_servers());
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

    let v = show(k12ctl_no_servers().env("K12CTL_STORAGE", "s3://from-env/p"));
    assert_eq!(
        setting(&v, "storage"),
        ("s3://from-env/p".into(), "env".into())
    );
    let v = show(
        k12ctl_no_servers()
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
    let out = run(k12ctl_no_servers()
        .current_dir(dir.path())
        .args(["config", "show"]));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("storgae"), "{}", stderr(&out));
}
