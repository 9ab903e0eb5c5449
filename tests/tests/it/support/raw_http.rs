//! A raw HTTP/1.1 server on 127.0.0.1, not axum: hyper refuses to send a lying
//! `Content-Length`, a non-UTF-8 header, a body that ends early or one that
//! trickles a byte at a time, which are exactly the answers the hostile tests
//! need. Each connection gets one response and is closed; every connection
//! task ends within [`CONNECTION_LIMIT`]. The server records every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every connection of the server ends within this.
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(30);

/// A request as the server read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request line, then each header line.
    pub head: Vec<String>,
    /// The request target of the request line.
    pub path: String,
    /// How many requests for this path came before this one.
    pub hit: usize,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.head, name)
    }

    /// Whether the method is POST.
    pub fn is_post(&self) -> bool {
        self.head[0].starts_with("POST")
    }
}

/// What the server answers to one request.
pub enum Reply {
    /// These bytes, then the connection closes.
    Raw(Vec<u8>),
    /// A head, then `prefix`, then `fill` repeated up to `total` body bytes (or
    /// until the client goes away), counting into `sent`.
    Flood {
        head: Vec<u8>,
        prefix: Vec<u8>,
        fill: u8,
        total: u64,
        sent: Arc<AtomicU64>,
    },
    /// These bytes, then silence for this long, then the connection closes.
    Stall(Vec<u8>, Duration),
    /// A head, then the body one byte every so often, until the client goes
    /// away or [`CONNECTION_LIMIT`] passes.
    Trickle {
        head: Vec<u8>,
        body: Vec<u8>,
        every: Duration,
    },
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// The server: answers each request with its handler's reply.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Listens on a free port of 127.0.0.1 and serves until the test's
    /// runtime ends.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, recorded) = (handler.clone(), recorded.clone());
                tokio::spawn(tokio::time::timeout(
                    CONNECTION_LIMIT,
                    serve_one(stream, handler, recorded),
                ));
            }
        });
        Self { base_url, requests }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// How many requests came for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// Every path requested so far, once each.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.path.clone())
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

async fn serve_one(mut stream: TcpStream, handler: Handler, recorded: Arc<Mutex<Vec<Request>>>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let request = {
        let mut recorded = recorded.lock().unwrap();
        let path = head[0].split_whitespace().nth(1).unwrap_or("").to_owned();
        let hit = recorded.iter().filter(|r| r.path == path).count();
        let request = Request { head, path, hit };
        recorded.push(request.clone());
        request
    };
    match handler(&request) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Reply::Flood {
            head,
            prefix,
            fill,
            total,
            sent,
        } => {
            if stream.write_all(&head).await.is_err() || stream.write_all(&prefix).await.is_err() {
                return;
            }
            let block = vec![fill; 64 * 1024];
            let mut left = total.saturating_sub(prefix.len() as u64);
            sent.fetch_add(prefix.len() as u64, Ordering::Relaxed);
            // Bounded by `total`, and by the client going away.
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                if stream.write_all(&block[..n]).await.is_err() {
                    return;
                }
                sent.fetch_add(n as u64, Ordering::Relaxed);
                left -= n as u64;
            }
        }
        Reply::Stall(bytes, silence) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            tokio::time::sleep(silence).await;
        }
        Reply::Trickle { head, body, every } => {
            if stream.write_all(&head).await.is_err() {
                return;
            }
            for byte in body {
                tokio::time::sleep(every).await;
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = stream.shutdown().await;
}

/// Reads a request head (at most 64 KiB) as lines, and drains a
/// `Content-Length` body: closing with unread bytes would reset the connection
/// before the client reads the answer.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<String>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head: Vec<String> = String::from_utf8_lossy(&buf[..end])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if head.is_empty() {
        return None;
    }
    let body_len: usize = header_in(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - end;
    while have < body_len.min(1 << 20) {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some(head)
}

/// A header's value in a request head.
fn header_in<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A whole HTTP/1.1 response: status line, `Connection: close`, the request
/// id, the headers given, and the body; no `Content-Length` unless the headers
/// carry one.
pub fn response(request_id: &str, status: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out =
        format!("HTTP/1.1 {status}\r\nconnection: close\r\nx-request-id: {request_id}\r\n");
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}
