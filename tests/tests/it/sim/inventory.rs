//! The inventory operations end to end: the library's paging streams against
//! the simulator (markers, offsets, the 400 for a limit out of range), and
//! against a hostile service whose marker never ends.

use crate::support::client;

use std::time::Duration;

use clouddc::{AlarmQuery, Client, Error, EventQuery, ManageState, ServerQuery};
use clouddc_sim::{SimConfig, SimHandle, Simulator};
use futures::TryStreamExt;

const TOKEN: &str = "inventory-token";

async fn start(servers: usize) -> SimHandle {
    let config = SimConfig {
        tokens: vec![TOKEN.into()],
        seed: 11,
        ..SimConfig::default()
    }
    .with_inventory(servers);
    Simulator::start(config)
        .await
        .expect("the simulator starts")
}

fn without_retries(base_url: &str, project: &str) -> Client {
    client::without_retries(base_url, project, TOKEN)
}

#[tokio::test]
async fn servers_follow_the_markers_through_every_page() {
    let sim = start(95).await;
    let client = without_retries(sim.base_url(), sim.project_id());
    let query = ServerQuery {
        page_size: 10,
        ..ServerQuery::default()
    };
    let listed: Vec<_> = client.servers(query).try_collect().await.unwrap();
    assert_eq!(
        wire(&listed),
        wire(&sim.inventory().servers),
        "10 pages, nothing lost or repeated"
    );

    let query = ServerQuery {
        manage_state: Some(ManageState::InUse),
        page_size: 10,
    };
    let in_use: Vec<_> = client.servers(query).try_collect().await.unwrap();
    let expected: Vec<_> = sim
        .inventory()
        .servers
        .iter()
        .filter(|s| s.manage_state == Some(ManageState::InUse))
        .cloned()
        .collect();
    assert!(expected.len() > 10, "{} in use", expected.len());
    assert_eq!(wire(&in_use), wire(&expected));

    let shown = client.server("srv-0042").await.unwrap();
    assert_eq!(wire(&shown), wire(&sim.inventory().servers[41]));
    let missing = client.server("srv-0096").await.unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing}");
}

#[tokio::test]
async fn a_limit_out_of_range_is_refused_by_the_client_and_the_simulator() {
    let sim = start(20).await;
    let client = without_retries(sim.base_url(), sim.project_id());
    for size in [9, 1001] {
        let query = ServerQuery {
            page_size: size,
            ..ServerQuery::default()
        };
        let error = client
            .servers(query)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidInput {
                    argument: "limit",
                    ..
                }
            ),
            "{error}"
        );
    }
    let raw = reqwest::Client::new();
    let url = |query: &str| {
        format!(
            "{}/v1/{}/physicalservers?{query}",
            sim.base_url(),
            sim.project_id()
        )
    };
    let long_marker = format!("marker={}", "x".repeat(129));
    for query in [
        "limit=9",
        "limit=1001",
        "limit=ten",
        "manage_state=gone",
        "marker=",
        &long_marker,
    ] {
        let response = raw
            .get(url(query))
            .header("X-Auth-Token", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error_msg"].is_string(), "{body}");
    }
    // No limit is the service's default page of 10, with a marker to go on.
    let page: serde_json::Value = raw
        .get(url(""))
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["servers"].as_array().unwrap().len(), 10);
    assert_eq!(page["page_info"]["next_marker"], "srv-0010");
    assert_eq!(page["count"], 20);
    // A marker whose server is gone still pages on, from the next id.
    let page: serde_json::Value = raw
        .get(url("marker=srv-0012x&limit=10"))
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["servers"][0]["id"], "srv-0013");
    assert!(page["page_info"].get("next_marker").is_none(), "{page}");
}

#[tokio::test]
async fn alarms_and_events_page_by_offset() {
    let sim = start(200).await;
    let client = without_retries(sim.base_url(), sim.project_id());
    let alarms: Vec<_> = client
        .alarms(AlarmQuery {
            page_size: 7,
            ..AlarmQuery::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert!(alarms.len() > 14, "{} alarms", alarms.len());
    assert_eq!(wire(&alarms), wire(&sim.inventory().alarms));

    let events: Vec<_> = client
        .events(EventQuery {
            page_size: 5,
            ..EventQuery::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert!(events.len() > 10, "{} events", events.len());
    assert_eq!(wire(&events), wire(&sim.inventory().events));

    // More than 30 days between from and to is the service's 400.
    let error = client
        .events(EventQuery {
            from_ms: Some(0),
            to_ms: Some(31 * 24 * 3600 * 1000),
            ..EventQuery::default()
        })
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(400), "{error}");
}

/// A service whose every page says "there is more, from the same marker".
async fn endless_pager() -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/v1/{project}/physicalservers",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({
                "servers": [{"id": "srv-1"}],
                "page_info": {"next_marker": "srv-1"},
                "count": 1
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test]
async fn a_marker_that_repeats_ends_the_listing_with_an_error() {
    let (url, server) = endless_pager().await;
    let client = without_retries(&url, "p");
    let listing = client
        .servers(ServerQuery::default())
        .try_collect::<Vec<_>>();
    let error = tokio::time::timeout(Duration::from_secs(10), listing)
        .await
        .expect("the listing ends")
        .unwrap_err();
    assert!(error.to_string().contains("repeats"), "{error}");
    server.abort();
}

/// What a value looks like on the wire: the client decodes into its generated
/// types and the simulator sends its own, so they are compared as JSON.
fn wire(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("serialises")
}
