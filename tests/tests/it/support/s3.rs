//! What the object-storage tests share: an S3 server (moto's server mode, from
//! `.tools/venv`, installed by `cargo xtask tools`) on a free port of
//! 127.0.0.1, and boto3 reading the bucket back (`tools/python/s3_peer.py`).
//! A missing tool fails the test with the command that installs it.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto's test credentials (it accepts any).
pub const ACCESS_KEY: &str = "testing-access-key";
/// The secret key sent with them.
pub const SECRET_KEY: &str = "testing-secret-key-never-printed";

/// How long moto may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(60);

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

fn tool(name: &str) -> PathBuf {
    let path = workspace_root().join(".tools/venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: install the pinned tools with `cargo xtask tools` (moto[server] and boto3 into .tools/venv)",
        path.display()
    );
    path
}

/// moto's S3 server, killed when dropped.
pub struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    /// Starts the server and waits until it listens.
    pub fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let server = S3Server { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < START_LIMIT,
                "moto_server did not listen within {START_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `s3_peer.py COMMAND BUCKET` (boto3) and returns its JSON answer.
    pub fn peer(&self, command: &str, bucket: &str) -> serde_json::Value {
        let output = Command::new(tool("python"))
            .arg(workspace_root().join("tools/python/s3_peer.py"))
            .args([&self.endpoint(), command, bucket])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .output()
            .expect("the boto3 peer runs");
        assert!(
            output.status.success(),
            "s3_peer.py {command} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the peer prints JSON")
    }

    /// Makes `bucket`.
    pub fn create_bucket(&self, bucket: &str) {
        self.peer("create", bucket);
    }

    /// Every object in `bucket`, as the peer read it: key, size, sha256.
    pub fn objects(&self, bucket: &str) -> Vec<serde_json::Value> {
        self.peer("objects", bucket)["objects"]
            .as_array()
            .expect("objects")
            .clone()
    }

    /// The keys in `bucket`, without reading the objects.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.peer("keys", bucket)["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k.as_str().expect("a key").to_owned())
            .collect()
    }

    /// The multipart uploads open in `bucket`.
    pub fn uploads(&self, bucket: &str) -> Vec<serde_json::Value> {
        self.peer("uploads", bucket)["uploads"]
            .as_array()
            .expect("uploads")
            .clone()
    }

    /// The variables that point `clouddc` at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
