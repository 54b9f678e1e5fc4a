//! Nothing secret leaves in output: the AI gateway's credentials, the ping
//! URL's token, and (for missing AWS credentials) no screen of SDK internals.

use std::process::Output;

use crate::common::*;

/// Every byte the command wrote, stdout and stderr.
fn everything(out: &Output) -> String {
    format!("{}\n{}", stdout(out), stderr(out))
}

#[track_caller]
fn assert_hidden(out: &Output, secrets: &[&str]) {
    let all = everything(out);
    for secret in secrets {
        assert!(!all.contains(secret), "{secret:?} printed:\n{all}");
    }
}

#[test]
fn the_ai_gateways_credentials_never_appear_in_health_output() {
    let secrets = ["tok3nuser", "s3cretpw", "k3yvalue"];
    let yaml = config("health:\n  timeout_seconds: 1\n");
    let ok = Gateway::start(GatewayMode::Ok);
    let hung = Gateway::start(GatewayMode::Hang);
    let with_credentials = |base: &str| {
        base.replacen("http://", "http://tok3nuser:s3cretpw@", 1) + "/?api_key=k3yvalue"
    };
    for base in [ok.url.clone(), hung.url.clone(), closed_port_url()] {
        let url = with_credentials(&base);
        for format in ["human", "json"] {
            let out = run(k12ctl_no_servers()
                .env("AI_GATEWAY_URL", &url)
                .arg("--config")
                .arg(yaml.path())
                .args(["--output", format, "health", "--check", "ai_gateway"]));
            assert!(
                matches!(out.status.code(), Some(0..=2)),
                "a verdict: {}",
                everything(&out)
            );
            assert_hidden(&out, &secrets);
            let all = everything(&out);
            assert!(
                all.contains("127.0.0.1") || all.contains("timed out"),
                "still says which gateway: {all}"
            );
        }
    }
    // Reached with its credentials, which just are not shown.
    let (out, report) = health_json(
        k12ctl_no_servers()
            .env(
                "AI_GATEWAY_URL",
                ok.url.replacen("http://", "http://tok3nuser:s3cretpw@", 1),
            )
            .args(["--output", "json", "health", "--check", "ai_gateway"]),
    );
    assert_code(&out, 0);
    assert_status(&report, "ai_gateway", "healthy");
    assert_hidden(&out, &secrets);

    for bad in [
        "ftp://tok3nuser:s3cretpw@gw.example/?api_key=k3yvalue",
        "ftp://tok3nuser@gw.example/",
    ] {
        let out = run(k12ctl_no_servers().env("AI_GATEWAY_URL", bad).args([
            "health",
            "--check",
            "ai_gateway",
        ]));
        assert_code(&out, 3);
        assert_hidden(&out, &secrets);
    }
    let out = run(k12ctl_no_servers()
        .env("AI_GATEWAY_URL", with_credentials(&ok.url))
        .args(["--output", "json", "config", "show"]));
    assert_code(&out, 0);
    assert_hidden(&out, &secrets);
}

#[test]
fn the_ping_urls_token_is_used_but_never_logged() {
    let token = "5f8a7b2c-0d1e-4f3a-9b8c-7d6e5f4a3b2c";
    let storage = tempfile::tempdir().unwrap();
    let refusing = HttpRecorder::start(500, "", false);
    for base in [refusing.url.clone(), closed_port_url()] {
        let out = run(k12ctl_no_servers()
            .env(
                "K12CTL_STORAGE",
                format!("file://{}", storage.path().display()),
            )
            .env("K12CTL_PING_URL", format!("{base}/ping/{token}"))
            .args(["backup", "prune", "--keep-last", "3"]));
        assert_code(&out, 0);
        let err = stderr(&out);
        assert!(err.contains("notification not delivered"), "{err}");
        assert_hidden(&out, &[token]);
    }
    let paths: Vec<String> = refusing.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&format!("/ping/{token}/start"))
            && paths.contains(&format!("/ping/{token}")),
        "pinged with the token: {paths:?}"
    );
}

#[test]
fn missing_aws_credentials_are_one_line_naming_what_to_set() {
    let home = tempfile::tempdir().unwrap();
    // Nothing listens there: the credentials are missing before any request.
    let endpoint = closed_port_url();
    for (args, json) in [
        (vec!["backup", "list"], false),
        (vec!["--output", "json", "backup", "list"], true),
    ] {
        let out = run(k12ctl_no_servers()
            .env("HOME", home.path())
            .env("K12CTL_S3_ENDPOINT", &endpoint)
            .env("K12CTL_STORAGE", "s3://k12-nocreds/p")
            .args(&args));
        assert_code(&out, 1);
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains("no S3 credentials")
                && err.contains("AWS_ACCESS_KEY_ID")
                && err.contains("AWS_PROFILE"),
            "{err}"
        );
        for internal in [
            "DispatchFailure",
            "ProviderChainError",
            "ConnectorError",
            "Attempted",
        ] {
            assert!(!err.contains(internal), "{internal}: {err}");
        }
        if json {
            let line: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
            assert_eq!(line["exit_code"], 1);
        }
    }
}
