//! Usage and configuration errors: exit status 2 and one line saying what to set.

use crate::support::cli;

use cli::clouddc;

/// Runs clouddc and returns (status, stdout, stderr).
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = clouddc(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .timeout(cli::RUN_LIMIT)
        .output()
        .expect("clouddc runs");
    (
        output.status.code().expect("exited normally"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const ENDPOINT: &[&str] = &["--endpoint", "http://127.0.0.1:9"];
const PROJECT: &[&str] = &["--project-id", "p1"];

#[test]
fn missing_endpoint_says_what_to_set() {
    let args = [PROJECT, &["--token", "t", "logs", "export", "srv-1"]].concat();
    let (code, stdout, stderr) = run(&args, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--endpoint"), "{stderr}");
    assert!(stderr.contains("CLOUDDC_ENDPOINT"), "{stderr}");
}

#[test]
fn missing_credentials_says_what_to_set() {
    let args = [ENDPOINT, PROJECT, &["logs", "collect", "srv-1"]].concat();
    let (code, _, stderr) = run(&args, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for name in [
        "--token",
        "CLOUDDC_AUTH_TOKEN",
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
    ] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
}

#[test]
fn missing_project_and_half_a_key_pair() {
    let args = [ENDPOINT, &["--token", "t", "logs", "export", "srv-1"]].concat();
    let (code, _, stderr) = run(&args, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("HUAWEICLOUD_SDK_PROJECT_ID"), "{stderr}");

    let args = [
        ENDPOINT,
        PROJECT,
        &["--ak", "AK1", "logs", "export", "srv-1"],
    ]
    .concat();
    let (code, _, stderr) = run(&args, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("HUAWEICLOUD_SDK_SK"), "{stderr}");
}

#[test]
fn environment_variables_configure_the_client() {
    // Everything from the environment: the configuration is complete, so the
    // failure is the request's (an invalid server id, rejected before sending).
    let env = [
        ("CLOUDDC_ENDPOINT", "http://127.0.0.1:9"),
        ("HUAWEICLOUD_SDK_PROJECT_ID", "p1"),
        ("CLOUDDC_AUTH_TOKEN", "t"),
    ];
    let (code, _, stderr) = run(&["logs", "export", ".."], &env);
    assert_eq!(code, 1, "{stderr}");
    // An empty variable counts as unset.
    let env = [
        ("CLOUDDC_ENDPOINT", ""),
        ("HUAWEICLOUD_SDK_PROJECT_ID", "p1"),
        ("CLOUDDC_AUTH_TOKEN", "t"),
    ];
    let (code, _, stderr) = run(&["logs", "export", "srv-1"], &env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no endpoint"), "{stderr}");
}

#[test]
fn invalid_configuration_values_are_usage_errors() {
    for (flag, value, expected) in [
        ("--endpoint", "ftp://example.com", "endpoint"),
        ("--region", "nowhere-9", "region"),
    ] {
        let args = [
            PROJECT,
            &["--token", "t", flag, value, "logs", "export", "srv-1"],
        ]
        .concat();
        let (code, _, stderr) = run(&args, &[]);
        assert_eq!(code, 2, "{flag}: {stderr}");
        assert!(stderr.contains(expected), "{flag}: {stderr}");
    }
    let args = [
        ENDPOINT,
        &["--project-id", "..", "--token", "t", "logs", "export", "s"],
    ]
    .concat();
    let (code, _, stderr) = run(&args, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("project_id"), "{stderr}");
}

#[test]
fn bad_flags_exit_2() {
    let base = [ENDPOINT, PROJECT, &["--token", "t"]].concat();
    for extra in [
        &["logs", "collect", "--concurrency", "0", "srv-1"][..],
        &["logs", "collect", "--concurrency", "many", "srv-1"],
        &["logs", "collect", "--timeout", "90", "srv-1"],
        &["logs", "collect", "--timeout", "0s", "srv-1"],
        &["logs", "collect"],
        &["logs", "status", "srv-1"],
        &["logs", "frobnicate"],
        &["--format", "yaml", "logs", "export", "srv-1"],
        &["--region", "cn-east-3", "logs", "export", "srv-1"],
        &["-q", "-v", "logs", "export", "srv-1"],
        &["completions", "tcsh"],
    ] {
        let mut args = base.clone();
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = run(&args, &[]);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stdout.is_empty(), "{extra:?}: {stdout}");
        assert!(stderr.starts_with("error:"), "{extra:?}: {stderr}");
    }
    let (_, _, stderr) = run(
        &[&base[..], &["logs", "collect", "--concurrency", "0", "s"]].concat(),
        &[],
    );
    assert!(stderr.contains("must be at least 1"), "{stderr}");
}

#[test]
fn an_empty_servers_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("servers.txt");
    std::fs::write(&file, "# nobody yet\n\n").unwrap();
    let mut args = [
        ENDPOINT,
        PROJECT,
        &["--token", "t", "logs", "collect", "--servers-file"],
    ]
    .concat();
    args.push(file.to_str().unwrap());
    let (code, _, stderr) = run(&args, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no servers"), "{stderr}");
    let (code, _, stderr) = run(
        &[
            ENDPOINT,
            PROJECT,
            &[
                "--token",
                "t",
                "logs",
                "collect",
                "--servers-file",
                "/nonexistent/servers.txt",
            ],
        ]
        .concat(),
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("/nonexistent/servers.txt"), "{stderr}");
}

#[test]
fn an_unusable_output_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let target = file.join("logs");
    let target = target.to_str().unwrap();
    for tail in [
        &["logs", "collect", "srv-1", "-o", target][..],
        &["logs", "download", "srv-1", "e1", "-o", target],
    ] {
        let args = [ENDPOINT, PROJECT, &["--token", "t"], tail].concat();
        let (code, stdout, stderr) = run(&args, &[]);
        assert_eq!(code, 2, "{tail:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("output directory"), "{stderr}");
    }
}
