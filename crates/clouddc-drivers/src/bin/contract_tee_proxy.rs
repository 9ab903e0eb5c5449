//! Contract helper: a reverse proxy that sends every request through
//! `prism proxy --errors` and, for archive downloads only, also to the
//! simulator directly, answering with the simulator's bytes.
//!
//! Why: prism validates requests and responses in both directions, but it
//! re-encodes binary response bodies as UTF-8 text (stoplightio/prism#2349,
//! open), so an archive that passed through it arrives corrupted. The download
//! request still goes through prism, so its request, status and headers are
//! validated like every other; only the body the client keeps comes straight
//! from the simulator. Run by `cargo xtask contract` (suite 3).
//!
//! Usage: `contract-tee-proxy PRISM_URL SIM_URL`; prints `listening on http://ADDR`.

use std::io::Write;
use std::process::ExitCode;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Clone)]
struct Upstreams {
    prism: String,
    sim: String,
    http: reqwest::Client,
}

/// Headers that describe one hop's connection, not the request.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "host",
    "content-length",
];

fn forwardable(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    for name in HOP_BY_HOP {
        out.remove(*name);
    }
    out
}

async fn send(
    upstreams: &Upstreams,
    base: &str,
    method: &reqwest::Method,
    target: &str,
    headers: &HeaderMap,
    body: &bytes::Bytes,
) -> Result<reqwest::Response, String> {
    upstreams
        .http
        .request(method.clone(), format!("{base}{target}"))
        .headers(forwardable(headers))
        .body(body.clone())
        .send()
        .await
        .map_err(|e| format!("{base}: {e}"))
}

async fn forward(State(upstreams): State<Upstreams>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return (StatusCode::BAD_GATEWAY, "request body too large").into_response();
    };
    let through_prism = send(
        &upstreams,
        &upstreams.prism,
        &parts.method,
        &target,
        &parts.headers,
        &body,
    )
    .await;
    let response = if parts.uri.path().ends_with("/content") {
        // Let prism see the whole exchange, then serve the intact bytes.
        if let Ok(checked) = through_prism {
            let _ = checked.bytes().await;
        }
        send(
            &upstreams,
            &upstreams.sim,
            &parts.method,
            &target,
            &parts.headers,
            &body,
        )
        .await
    } else {
        through_prism
    };
    match response {
        Ok(upstream) => {
            let mut out = Response::builder().status(upstream.status().as_u16());
            for (name, value) in upstream.headers() {
                if !HOP_BY_HOP.contains(&name.as_str()) || name == "content-length" {
                    out = out.header(name, value);
                }
            }
            out.body(Body::from_stream(upstream.bytes_stream()))
                .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [prism, sim] = args.as_slice() else {
        eprintln!("usage: contract-tee-proxy PRISM_URL SIM_URL");
        return ExitCode::from(2);
    };
    clouddc::transport::install_crypto_provider();
    let http = match reqwest::Client::builder().build() {
        Ok(http) => http,
        Err(e) => {
            eprintln!("contract-tee-proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    let upstreams = Upstreams {
        prism: prism.trim_end_matches('/').to_owned(),
        sim: sim.trim_end_matches('/').to_owned(),
        http,
    };
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("contract-tee-proxy: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(addr) = listener.local_addr() else {
        return ExitCode::FAILURE;
    };
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    let app = axum::Router::new().fallback(forward).with_state(upstreams);
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("contract-tee-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}
