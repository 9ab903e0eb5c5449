//! The help texts of `clouddc`, as snapshots: a change to a flag shows in review.

use crate::support::cli;

use cli::clouddc;

fn help(args: &[&str]) -> String {
    let output = clouddc(args)
        .timeout(cli::RUN_LIMIT)
        .output()
        .expect("clouddc runs");
    assert!(output.status.success(), "{args:?}: {output:?}");
    assert!(output.stderr.is_empty(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(help(&["--help"]));
}

#[test]
fn logs_collect_help() {
    insta::assert_snapshot!(help(&["logs", "collect", "--help"]));
}

#[test]
fn servers_list_help() {
    let text = help(&["servers", "list", "--help"]);
    // Which filter the service applies and which clouddc applies is part of the help.
    assert!(text.contains("[applied by the service]"), "{text}");
    assert!(text.contains("[applied by clouddc after paging]"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn sim_help() {
    insta::assert_snapshot!(help(&["sim", "--help"]));
}

#[test]
fn every_command_has_help() {
    for args in [
        &["logs", "--help"][..],
        &["logs", "export", "--help"],
        &["logs", "status", "--help"],
        &["logs", "download", "--help"],
        &["servers", "--help"],
        &["servers", "show", "--help"],
        &["completions", "--help"],
    ] {
        let text = help(args);
        assert!(text.contains("Usage: clouddc"), "{args:?}: {text}");
    }
}

#[test]
fn help_never_shows_environment_values() {
    let output = clouddc(["--help"])
        .env("CLOUDDC_AUTH_TOKEN", "sentinel-help-token")
        .env("HUAWEICLOUD_SDK_SK", "sentinel-help-sk")
        .env("HUAWEICLOUD_SDK_AK", "sentinel-help-ak")
        .env("CLOUDDC_ENDPOINT", "http://sentinel-help-endpoint")
        .timeout(cli::RUN_LIMIT)
        .output()
        .expect("clouddc runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("CLOUDDC_AUTH_TOKEN"), "{text}");
    assert!(!text.contains("sentinel"), "{text}");
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = clouddc(["completions", shell])
            .timeout(cli::RUN_LIMIT)
            .output()
            .expect("clouddc runs");
        assert!(output.status.success(), "{shell}: {output:?}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains("collect"), "{shell}: {script}");
    }
}
