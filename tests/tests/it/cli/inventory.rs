//! The inventory from the command line: `servers list/show`, and `logs collect
//! --all` with its filters, checked against the simulator's own inventory.

use crate::support::cli;

use std::time::{SystemTime, UNIX_EPOCH};

use cli::{Sim, SimOptions, files_but_the_journal, json, run};
use clouddc::HealthState;
use clouddc_sim::inventory_wire::PhysicalServer;
use serde_json::Value;

fn fleet(servers: usize) -> Sim {
    Sim::start(SimOptions {
        export_seconds: 0.5,
        archive_bytes: 8 * 1024,
        servers: Some(servers),
        seed: Some(3),
        ..SimOptions::default()
    })
}

fn args(sim: &Sim, rest: &[&str]) -> Vec<String> {
    let mut args = sim.connection_args();
    args.extend(rest.iter().map(|s| (*s).to_owned()));
    args
}

fn rack(server: &PhysicalServer) -> &str {
    server
        .location
        .as_ref()
        .and_then(|l| l.rack.as_deref())
        .unwrap_or_default()
}

#[test]
fn collect_all_by_health_and_rack_collects_exactly_the_matching_servers() {
    let sim = fleet(400);
    let critical = |s: &&PhysicalServer| s.health_state == Some(HealthState::Critical);
    // A rack with at least two critical servers, so the test selects a set.
    let racks: Vec<&str> = sim
        .inventory()
        .servers
        .iter()
        .filter(critical)
        .map(rack)
        .collect();
    let target = racks
        .iter()
        .find(|r| racks.iter().filter(|x| x == r).count() >= 2)
        .expect("a rack with two critical servers")
        .to_string();
    let expected: Vec<String> = sim
        .inventory()
        .servers
        .iter()
        .filter(|s| critical(s) && rack(s) == target)
        .map(|s| s.id.clone())
        .collect();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let result = run(&args(
        &sim,
        &[
            "-q", "--format", "json", "logs", "collect", "--all", "--health", "Critical", "--rack",
            &target, "-o", &dir,
        ],
    ));
    assert_eq!(result.code, 0, "{result}");
    let doc = json(&result.stdout);
    let collected: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "ok", "{r}");
            r["server"].as_str().unwrap()
        })
        .collect();
    assert_eq!(collected, expected);
    assert_eq!(sim.stats().tasks_created, expected.len() as u64);
    assert_eq!(files_but_the_journal(out.path()).len(), expected.len());
}

#[test]
fn dry_run_combines_ids_file_and_selection_without_duplicates_and_exports_nothing() {
    let sim = fleet(60);
    let critical: Vec<String> = sim
        .inventory()
        .servers
        .iter()
        .filter(|s| s.health_state == Some(HealthState::Critical))
        .map(|s| s.id.clone())
        .collect();
    assert!(critical.len() >= 2, "{critical:?}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("srv-0002\n{}\n", critical[1])).unwrap();
    let path = file.path().display().to_string();
    let result = run(&args(
        &sim,
        &[
            "--format",
            "json",
            "logs",
            "collect",
            &critical[0],
            "srv-0002",
            "--servers-file",
            &path,
            "--all",
            "--health",
            "critical",
            "--dry-run",
        ],
    ));
    assert_eq!(result.code, 0, "{result}");
    let mut expected = vec![critical[0].clone(), "srv-0002".to_owned()];
    for id in &critical {
        if !expected.contains(id) {
            expected.push(id.clone());
        }
    }
    assert_eq!(json(&result.stdout)["servers"], serde_json::json!(expected));
    assert_eq!(sim.stats().export_requests, 0, "a dry run starts no export");
}

#[test]
fn servers_list_json_is_the_simulators_inventory_and_filters_apply() {
    let sim = fleet(1500);
    let result = run(&args(&sim, &["--format", "json", "servers", "list"]));
    assert_eq!(result.code, 0, "{result}");
    let listed = json(&result.stdout)["servers"].clone();
    let expected = serde_json::to_value(&sim.inventory().servers).unwrap();
    assert_eq!(
        listed, expected,
        "two pages of 1000, in order, field for field"
    );

    let result = run(&args(
        &sim,
        &[
            "--format",
            "json",
            "servers",
            "list",
            "--manage-state",
            "maintain",
            "--tag",
            "env=prod",
        ],
    ));
    assert_eq!(result.code, 0, "{result}");
    let listed = json(&result.stdout)["servers"].as_array().unwrap().clone();
    let expected: Vec<&PhysicalServer> = sim
        .inventory()
        .servers
        .iter()
        .filter(|s| {
            s.manage_state == Some(clouddc::ManageState::Maintain)
                && s.tags
                    .iter()
                    .any(|t| t.key == "env" && t.value.as_deref() == Some("prod"))
        })
        .collect();
    assert!(!expected.is_empty());
    let ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let want: Vec<&str> = expected.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, want);
}

#[test]
fn servers_list_table_and_show() {
    let sim = fleet(30);
    let result = run(&args(&sim, &["servers", "list", "--rack", "A01"]));
    assert_eq!(result.code, 0, "{result}");
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert!(lines[0].starts_with("ID "), "{}", result.stdout);
    assert_eq!(lines.len(), 1 + 20, "a header and rack A01's 20 servers");
    assert!(lines[1].starts_with("srv-0001 "), "{}", result.stdout);

    let result = run(&args(&sim, &["servers", "show", "srv-0007"]));
    assert_eq!(result.code, 0, "{result}");
    assert!(result.stdout.starts_with("id:"), "{}", result.stdout);
    assert!(result.stdout.contains("srv-0007"));
    let result = run(&args(
        &sim,
        &["--format", "json", "servers", "show", "srv-0007"],
    ));
    let shown: Value = json(&result.stdout);
    assert_eq!(
        shown,
        serde_json::to_value(&sim.inventory().servers[6]).unwrap()
    );

    let result = run(&args(&sim, &["servers", "show", "srv-0031"]));
    assert_eq!(result.code, 1, "{result}");
    assert!(result.stderr.contains("404"), "{result}");
}

#[test]
fn alarmed_selects_the_servers_with_an_alarm_in_the_window() {
    let sim = fleet(300);
    let since_ms = 7 * 24 * 3600 * 1000;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut alarmed: Vec<String> = sim
        .inventory()
        .alarms
        .iter()
        .filter(|a| a.begin_time.is_some_and(|t| t >= now - since_ms))
        .filter(|a| a.alarm_level.as_ref().is_some_and(|l| l.0.get() == 1))
        .flat_map(|a| a.metric.iter().flat_map(|m| m.dimensions.iter()))
        .filter_map(|d| d.value.clone())
        .collect();
    let order = |id: &String| id.trim_start_matches("srv-").parse::<usize>().unwrap();
    alarmed.sort_by_key(order);
    alarmed.dedup();
    assert!(!alarmed.is_empty());
    let result = run(&args(
        &sim,
        &[
            "--format",
            "json",
            "logs",
            "collect",
            "--all",
            "--alarmed",
            "--since",
            "7d",
            "--alarm-level",
            "critical",
            "--dry-run",
        ],
    ));
    assert_eq!(result.code, 0, "{result}");
    assert_eq!(json(&result.stdout)["servers"], serde_json::json!(alarmed));
}

#[test]
fn filters_without_all_and_exports_outside_the_inventory_are_refused() {
    let sim = fleet(5);
    let result = run(&args(
        &sim,
        &["logs", "collect", "srv-0001", "--rack", "A01"],
    ));
    assert_eq!(result.code, 2, "{result}");
    assert!(result.stderr.contains("add --all"), "{result}");
    // With an inventory, an id it does not list is the service's 404.
    let result = run(&args(&sim, &["logs", "export", "srv-0006"]));
    assert_eq!(result.code, 1, "{result}");
    assert!(result.stderr.contains("404"), "{result}");
    let result = run(&args(&sim, &["logs", "export", "srv-0005"]));
    assert_eq!(result.code, 0, "{result}");
}

/// A service whose inventory holds an id with a terminal escape and a bell.
fn hostile_inventory() -> (String, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let app = axum::Router::new().route(
        "/v1/{project}/physicalservers",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({
                "servers": [
                    {"id": "srv-ok", "name": "fine", "health_state": "Critical"},
                    {"id": "srv-\u{1b}[2J\u{7}", "name": "n\u{1b}]0;owned\u{7}", "health_state": "Critical"}
                ],
                "count": 2
            }))
        }),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, runtime)
}

#[test]
fn service_strings_reach_the_terminal_sanitised() {
    let (url, _runtime) = hostile_inventory();
    let connection = ["--endpoint", &url, "--project-id", "p", "--token", "t"];
    let mut list = connection.to_vec();
    list.extend(["servers", "list"]);
    let result = run(&list);
    assert_eq!(result.code, 0, "{result}");
    assert!(
        !result.stdout.contains('\u{1b}') && !result.stdout.contains('\u{7}'),
        "{result}"
    );
    assert!(result.stdout.contains("srv-ok"), "{result}");

    let mut collect = connection.to_vec();
    collect.extend([
        "logs",
        "collect",
        "--all",
        "--health",
        "Critical",
        "--dry-run",
    ]);
    let result = run(&collect);
    assert_eq!(result.code, 0, "{result}");
    assert_eq!(result.stdout, "srv-ok\n", "the unusable id is left out");
    assert!(result.stderr.contains("skipping"), "{result}");
    assert!(
        !result.stderr.contains('\u{1b}') && !result.stderr.contains('\u{7}'),
        "{result}"
    );
}
