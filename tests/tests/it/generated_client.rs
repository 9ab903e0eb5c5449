//! The generated client and its error mapping against a local server that answers
//! each kind of response the service (or its gateway) can send.

use crate::support::client;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clouddc::{Client, Error, StatusKind};

const PROJECT: &str = "p-0001";

/// A response with the given status, content type, body and a request id.
fn reply(
    status: u16,
    content_type: &str,
    body: &str,
    extra: &[(&'static str, &'static str)],
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_str(content_type).unwrap());
    headers.insert("x-request-id", HeaderValue::from_static("req-42"));
    for (k, v) in extra {
        headers.insert(*k, HeaderValue::from_static(v));
    }
    (
        StatusCode::from_u16(status).unwrap(),
        headers,
        body.to_string(),
    )
        .into_response()
}

const TASK: &str = r#"{"export_id":"e1","status":"Running","percentage":"30%","created_at":"2024-07-01T11:32:49Z"}"#;

async fn status_route(Path((_p, _s, export)): Path<(String, String, String)>) -> Response {
    let json = "application/json";
    match export.as_str() {
        "ok" => reply(200, json, TASK, &[]),
        "unknown-status" => reply(
            200,
            json,
            r#"{"export_id":"e1","status":"Defragmenting","percentage":7}"#,
            &[],
        ),
        "e401" => reply(
            401,
            json,
            r#"{"error_code":"APIGW.0301","error_msg":"bad token"}"#,
            &[],
        ),
        "e429" => reply(
            429,
            "text/plain",
            "Too Many Requests",
            &[("retry-after", "7")],
        ),
        "e500html" => reply(
            500,
            "text/html",
            "<html><body>Bad Gateway</body></html>",
            &[],
        ),
        "e418" => reply(418, "text/plain", "teapot", &[]),
        "bad-json" => reply(200, json, "{not json", &[]),
        _ => reply(
            404,
            json,
            r#"{"error_code":"APIGW.0404","error_msg":"not found"}"#,
            &[],
        ),
    }
}

async fn export_route(headers: HeaderMap) -> Response {
    // Record what the client sent by echoing the token check into the status.
    match headers.get("x-auth-token").and_then(|v| v.to_str().ok()) {
        Some("tok") if headers.get("api-version").is_none() => {
            reply(202, "application/json", TASK, &[])
        }
        _ => reply(
            401,
            "application/json",
            r#"{"error_code":"APIGW.0301","error_msg":"no token"}"#,
            &[],
        ),
    }
}

async fn server() -> SocketAddr {
    let app = Router::new()
        .route(
            "/v1/{project}/physicalservers/{server}/logs/exports",
            post(export_route),
        )
        .route(
            "/v1/{project}/physicalservers/{server}/logs/exports/{export}",
            get(status_route),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn without_retries(addr: SocketAddr) -> Client {
    client::without_retries(&format!("http://{addr}/"), PROJECT, "tok")
}

#[tokio::test]
async fn accepted_202_decodes_the_example_dialect_and_sends_the_token_only() {
    let client = without_retries(server().await);
    let task = client.export("srv-1").await.unwrap();
    assert_eq!(task.export_id, "e1");
    assert_eq!(task.status.kind(), StatusKind::InProgress);
    assert_eq!(task.percentage.unwrap().value(), Some(30.0));
}

#[tokio::test]
async fn ok_200_and_unknown_status_string_decode() {
    let client = without_retries(server().await);
    let task = client.status("srv-1", "ok").await.unwrap();
    assert_eq!(
        task.created_at.unwrap().parse().unwrap().to_rfc3339(),
        "2024-07-01T11:32:49+00:00"
    );
    let task = client.status("srv-1", "unknown-status").await.unwrap();
    assert_eq!(task.status.as_str(), "Defragmenting");
    assert_eq!(task.status.kind(), StatusKind::Unknown);
    assert_eq!(task.percentage.unwrap().value(), Some(7.0));
}

#[tokio::test]
async fn typed_401_keeps_code_message_status_and_request_id() {
    let client = without_retries(server().await);
    let error = client.status("srv-1", "e401").await.unwrap_err();
    match &error {
        Error::Api(api) => {
            assert_eq!(api.status, 401);
            assert_eq!(api.error_code.as_deref(), Some("APIGW.0301"));
            assert_eq!(api.error_msg.as_deref(), Some("bad token"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.request_id(), Some("req-42"));
    assert_eq!(
        error.to_string(),
        "HTTP 401 APIGW.0301: bad token [request id req-42]"
    );
}

#[tokio::test]
async fn text_429_keeps_retry_after() {
    let client = without_retries(server().await);
    let error = client.status("srv-1", "e429").await.unwrap_err();
    match &error {
        Error::Throttled {
            retry_after,
            request_id,
        } => {
            assert_eq!(*retry_after, Some(std::time::Duration::from_secs(7)));
            assert_eq!(request_id.as_deref(), Some("req-42"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.status(), Some(429));
}

#[tokio::test]
async fn html_500_is_kept_as_text() {
    let client = without_retries(server().await);
    let error = client.status("srv-1", "e500html").await.unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert_eq!(error.request_id(), Some("req-42"));
    match error {
        Error::Api(api) => assert_eq!(
            api.body.as_deref(),
            Some("<html><body>Bad Gateway</body></html>")
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn undocumented_status_is_an_api_error_with_status() {
    let client = without_retries(server().await);
    let error = client.status("srv-1", "e418").await.unwrap_err();
    assert_eq!(error.status(), Some(418));
    assert_eq!(error.request_id(), Some("req-42"));
}

#[tokio::test]
async fn undecodable_200_keeps_status_and_request_id() {
    let client = without_retries(server().await);
    let error = client.status("srv-1", "bad-json").await.unwrap_err();
    assert!(
        matches!(error, Error::UnexpectedResponse { .. }),
        "{error:?}"
    );
    assert_eq!(error.status(), Some(200));
    assert_eq!(error.request_id(), Some("req-42"));
}

#[tokio::test]
async fn the_raw_generated_client_is_reachable_and_authenticated() {
    let client = without_retries(server().await);
    let project = clouddc::ResourceId::try_from(PROJECT).unwrap();
    let server_id = clouddc::ResourceId::try_from("srv-1").unwrap();
    let response = client
        .generated()
        .export_server_logs(
            &project,
            &server_id,
            None,
            &clouddc::types::ExportRequest {},
        )
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
}
