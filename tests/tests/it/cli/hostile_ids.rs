//! Hostile server ids on the command line: each is refused before anything is
//! sent, that server fails with a reason, the others still arrive, and nothing
//! lands outside the output directory.

use crate::support::cli;

use cli::{Sim, SimOptions, json, run};

#[test]
fn hostile_server_ids_fail_alone_and_write_nothing_outside_the_directory() {
    let sim = Sim::start(SimOptions {
        export_seconds: 1.0,
        archive_bytes: 64 * 1024,
        ..SimOptions::default()
    });
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let long = "x".repeat(129);
    let hostile: [(&str, &str); 4] = [
        ("", "is empty"),
        ("a\nb", "control character U+000A"),
        (&long, "129 characters long; 1 to 128 are allowed"),
        (
            r"a\..\..\..\..\v1\other\physicalservers\victim",
            "backslash",
        ),
    ];
    let mut args = sim.connection_args();
    args.extend(["--format", "json", "logs", "collect", "srv-ok"].map(String::from));
    args.extend(hostile.iter().map(|(id, _)| id.to_string()));
    args.extend(["-o".into(), out.display().to_string()]);
    let result = run(&args);
    assert_eq!(result.code, 1, "{result}");
    let doc = json(&result.stdout);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{doc}");
    assert_eq!(results[0]["status"], "ok", "{doc}");
    for (result, (id, why)) in results[1..].iter().zip(hostile) {
        assert_eq!(result["server"], id, "{doc}");
        assert_eq!(result["status"], "failed", "{doc}");
        let error = result["error"].as_str().unwrap();
        assert!(
            error.contains("invalid server") && error.contains(why),
            "{id:?}: {error}"
        );
        assert!(result["export_id"].is_null(), "nothing was sent for {id:?}");
    }
    // Only srv-ok's export reached the simulator.
    assert_eq!(sim.stats().export_requests, 1);
    let outside: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, ["out"], "nothing beside the output directory");
    let mut inside: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    inside.sort();
    // The archive, and the journal a re-run resumes from.
    assert_eq!(inside, [".clouddc-journal", "srv-ok-dump.tar.gz"]);
}
