//! Running with nobody watching, on `file://` storage and stand-in HTTP
//! servers: stale partial files are pruned, a health warning reaches Slack.

use std::process::Command;

use crate::common::*;

#[test]
fn stale_partial_files_of_file_storage_are_removed_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let month = dir.path().join("backups/2026/11");
    std::fs::create_dir_all(&month).unwrap();
    let stale = month.join("k12_full_20261101_000000.dump.gz.partial-00000000000000aa");
    let fresh = month.join("k12_full_20261123_000000.dump.gz.partial-00000000000000bb");
    std::fs::write(&stale, b"x").unwrap();
    std::fs::write(&fresh, b"x").unwrap();
    assert!(Command::new("touch")
        .args(["-d", "3 days ago"])
        .arg(&stale)
        .status()
        .unwrap()
        .success());
    let storage = format!("file://{}", dir.path().display());
    let out = run(k12ctl_no_servers().args([
        "--storage",
        &storage,
        "backup",
        "prune",
        "--keep-last",
        "1",
    ]));
    assert_code(&out, 0);
    assert!(!stale.exists() && fresh.exists());
}

#[test]
fn a_health_warning_reaches_slack_and_a_healthy_verdict_does_not() {
    let webhook = HttpRecorder::start(200, "ok", false);
    let degraded = HttpRecorder::start(200, r#"{"status":"degraded"}"#, false);
    let out = run(k12ctl_no_servers()
        .env("AI_GATEWAY_URL", &degraded.url)
        .env("SLACK_ALERT_WEBHOOK_URL", format!("{}/hook", webhook.url))
        .args(["--notify", "health", "--check", "ai_gateway"]));
    assert_code(&out, 1);
    let sent = webhook.requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = serde_json::from_str::<serde_json::Value>(&sent[0].body).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("health") && text.contains("warning") && text.contains("ai_gateway"),
        "{text}"
    );

    let ok = HttpRecorder::start(200, r#"{"status":"ok"}"#, false);
    let quiet = HttpRecorder::start(200, "ok", false);
    let out = run(k12ctl_no_servers()
        .env("AI_GATEWAY_URL", &ok.url)
        .env("SLACK_ALERT_WEBHOOK_URL", format!("{}/hook", quiet.url))
        .args(["--notify", "health", "--check", "ai_gateway"]));
    assert_code(&out, 0);
    assert!(quiet.requests().is_empty());
}
