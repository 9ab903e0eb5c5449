//! Hostile and broken server responses against the real client: each gets a
//! typed error or a documented tolerant result, never a panic, never a hang past
//! its deadline, and nothing written outside the chosen directory.
//!
//! The server is [`raw_http`]'s: hyper refuses to send a lying
//! `Content-Length`, a non-UTF-8 header or a body that ends early, which are
//! exactly the answers to test. One module a section:
//! - [`answers`]: status and export answers: JSON, content types, error pages;
//! - [`waiter`]: percentages, statuses, exports that never end;
//! - [`downloads`]: lengths, content types, names;
//! - [`output_dir`]: the output directory, a full disk, a read-only directory;
//! - [`bounds`]: download deadlines and size bounds (issue 18, items 4 and 5).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::client;
use crate::support::fs::listing;
use crate::support::raw_http::{self, Reply, Server};

use clouddc::{
    Client, DownloadOptions, Error, LowSpeed, RetryPolicy, StatusKind, TransportOptions,
    WaitOptions,
};
use sha2::{Digest, Sha256};

mod answers;
mod bounds;
mod downloads;
mod output_dir;
mod waiter;

const PROJECT: &str = "p-hostile";

/// The server of these tests, and the clients that talk to it.
type Hostile = Server;

/// A client of a hostile server.
trait HostileClient {
    /// With no retries: every answer reaches the test.
    fn client(&self) -> Client {
        self.client_with(RetryPolicy::none())
    }

    /// With `retry`, and short transport timeouts.
    fn client_with(&self, retry: RetryPolicy) -> Client;
}

impl HostileClient for Hostile {
    fn client_with(&self, retry: RetryPolicy) -> Client {
        client::builder(&self.base_url, PROJECT)
            .token("hostile-token")
            .retry_policy(retry)
            .transport(TransportOptions {
                connect_timeout: Duration::from_secs(5),
                read_timeout: Duration::from_secs(10),
                ..TransportOptions::default()
            })
            .build()
            .expect("the client builds")
    }
}

/// A whole HTTP/1.1 response with this server's request id; no
/// `Content-Length` unless the headers carry one.
fn response(status: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    raw_http::response("hostile-1", status, headers, body)
}

/// A JSON response with an exact `Content-Length`.
fn json(status: &str, body: &str) -> Reply {
    Reply::Raw(response(
        status,
        &[
            "content-type: application/json",
            &format!("content-length: {}", body.len()),
        ],
        body.as_bytes(),
    ))
}

fn task_json(status: &str, percentage: &str) -> String {
    format!(
        r#"{{"export_id":"e1","status":{status},"percentage":{percentage},"created_at":"2026-01-01T00:00:00Z"}}"#
    )
}

fn status_path(export: &str) -> String {
    format!("/v1/{PROJECT}/physicalservers/srv-1/logs/exports/{export}")
}

fn content_path(export: &str) -> String {
    format!("{}/content", status_path(export))
}

/// The export id a request is about (`.../exports/{id}[/content]`).
fn export_of(path: &str) -> &str {
    let rest = path.split("/exports/").nth(1).unwrap_or("");
    rest.split('/').next().unwrap_or("")
}

fn quick_wait(deadline: Duration) -> WaitOptions {
    WaitOptions {
        deadline,
        min_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(50),
        first_interval: Duration::from_millis(10),
    }
}

fn download_options(max_resumes: u32) -> DownloadOptions {
    DownloadOptions {
        max_resumes,
        idle_timeout: Some(Duration::from_millis(500)),
        verify_gzip: true,
        ..DownloadOptions::default()
    }
}

/// A real gzip stream of `len` pseudo-random bytes (incompressible, so the
/// archive is about `len` long).
fn gzip_archive(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&data).unwrap();
    encoder.finish().unwrap()
}

/// A fresh `root/a/b/out` layout: `..` escapes would land in `root/a` or `root`.
struct Nest {
    root: tempfile::TempDir,
}

impl Nest {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("a/b/out")).unwrap();
        Self { root }
    }

    fn out(&self) -> PathBuf {
        self.root.path().join("a/b/out")
    }

    /// Nothing was written anywhere but `out`.
    fn assert_contained(&self) {
        assert_eq!(listing(self.root.path()), ["a"]);
        assert_eq!(listing(&self.root.path().join("a")), ["b"]);
        assert_eq!(listing(&self.root.path().join("a/b")), ["out"]);
    }
}

/// Runs `client.download` of export `export` into `dir`.
async fn download(
    client: &Client,
    export: &str,
    dir: &Path,
    options: &DownloadOptions,
) -> Result<clouddc::Downloaded, Error> {
    client
        .download("srv-1", export, dir, options, &|_| {})
        .await
}

/// The head of an archive answer: its type and exact length, and `extra`.
fn archive_head(archive: &[u8], extra: &[&str]) -> Vec<String> {
    let mut headers = vec![
        "content-type: application/octet-stream".to_string(),
        format!("content-length: {}", archive.len()),
    ];
    headers.extend(extra.iter().map(|s| s.to_string()));
    headers
}

/// A 200 with `archive` as its body.
fn archive_reply(archive: &[u8], headers: &[String]) -> Reply {
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    Reply::Raw(response("200 OK", &headers, archive))
}
