//! The baseline server of `cargo xtask bench sim`: a bare axum handler that
//! answers the status path with a fixed JSON body (the one the simulator sent
//! for the same request), with no authentication, state or throttling.
//!
//! Prints `listening on http://ADDR` as its first line, like `clouddc sim`, and
//! serves until killed.
//!
//! Usage: `bench_bare_axum [--addr 127.0.0.1:0] --body-file PATH`

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::body::Bytes as Body;
use axum::http::header;
use axum::routing::get;

fn parse_args() -> Result<(SocketAddr, Body), String> {
    let mut addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut body = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let text = value()?;
                addr = text
                    .parse()
                    .map_err(|_| format!("--addr: {text:?} is not an address"))?;
            }
            "--body-file" => {
                let path = value()?;
                let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
                body = Some(Body::from(bytes));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let body = body.ok_or("--body-file is required")?;
    Ok((addr, body))
}

async fn serve(addr: SocketAddr, body: Body) -> Result<(), String> {
    let app = Router::new().route(
        "/v1/{project_id}/physicalservers/{id}/logs/exports/{export_id}",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{local}");
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    clouddc_drivers::bench_support::main("bench_bare_axum", parse_args, |(addr, body)| {
        serve(addr, body)
    })
}
