//! `object`: the same fleet collected to disk and to object storage in one run
//! (time and peak RSS), at two archive sizes, to show the object path's memory
//! stays flat as archives grow: one 8 MiB part a download, never the archive.
//! The store is moto's S3 server from `.tools/venv` (`cargo xtask tools`) on
//! 127.0.0.1; it runs on the same cores, so the object times include its work.
//!
//! `CLOUDDC_BENCH_OBJECT_MIB=8,32` sets the two sizes (default 100,1024) for a
//! small trial run.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{self, Measured};
use super::{Context, Report, Row, Verdict};
use crate::{shell, tools};

const SERVERS: usize = 2;
const BUCKET: &str = "clouddc-bench";
const ACCESS_KEY: &str = "bench-access-key";
const SECRET_KEY: &str = "bench-secret-key";
/// How much the object path's peak RSS may grow from the smaller archives to
/// the larger ones and still count as flat.
const FLAT_LIMIT: f64 = 1.25;

/// moto's S3 server, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Result<Self, String> {
        tools::install_all()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(tools::venv_bin("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start moto_server: {e}"))?;
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                return Err("moto_server did not listen within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let created = Command::new(tools::venv_bin("python"))
            .arg(shell::workspace_root().join("tools/python/s3_peer.py"))
            .args([&moto.endpoint, "create", BUCKET])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .status()
            .map_err(|e| e.to_string())?;
        if !created.success() {
            return Err("s3_peer.py could not create the bucket".into());
        }
        Ok(moto)
    }
}

/// The two archive sizes, in MiB.
fn sizes() -> Result<[u64; 2], String> {
    let text = std::env::var("CLOUDDC_BENCH_OBJECT_MIB").unwrap_or_else(|_| "100,1024".into());
    let sizes: Vec<u64> = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<u64>()
                .map_err(|e| format!("CLOUDDC_BENCH_OBJECT_MIB: {e}"))
        })
        .collect::<Result<_, _>>()?;
    match sizes[..] {
        [small, large] if 0 < small && small < large => Ok([small, large]),
        _ => Err("CLOUDDC_BENCH_OBJECT_MIB must be two sizes in MiB, the smaller first".into()),
    }
}

/// One collect of the fleet to `output` (a directory or an `s3://` URL).
fn collect(sim: &harness::Sim, output: &str, moto: &Moto) -> Result<Measured, String> {
    let servers: Vec<String> = (1..=SERVERS).map(|i| format!("srv-{i:04}")).collect();
    harness::sync();
    let measured = harness::run_measured(
        sim.client()
            .args(["--format", "json", "-q", "logs", "collect", "-o", output])
            .args(["--s3-path-style", "--timeout", "300s"])
            .args(&servers)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_REGION", "us-east-1"),
        Duration::from_secs(1800),
    )?
    .check("clouddc logs collect")?;
    harness::check_all_collected(&measured.stdout, SERVERS)
        .map_err(|e| format!("to {output}: {e}"))?;
    Ok(measured)
}

pub fn run(_context: &mut Context) -> Result<Report, String> {
    let moto = Moto::start()?;
    let mut rows = Vec::new();
    let mut object_rss = Vec::new();
    let mut details = String::new();
    for mib in sizes()? {
        let bytes = mib << 20;
        let sim = harness::Sim::start(
            &format!("object-sim-{mib}"),
            &[
                "--archive-bytes",
                &bytes.to_string(),
                "--export-seconds",
                "1",
            ],
        )?;
        let dir = harness::bench_dir().join("object-disk");
        harness::fresh_dir(&dir)?;
        let disk = collect(&sim, &dir.display().to_string(), &moto)?;
        harness::fresh_dir(&dir)?;
        let object = collect(&sim, &format!("s3://{BUCKET}/{mib}/"), &moto)?;
        for (what, measured) in [("disk", &disk), ("object storage", &object)] {
            rows.push(Row::new(
                format!("{SERVERS} × {mib} MiB to {what}"),
                format!(
                    "{:.1} s, {:.1} MiB RSS",
                    measured.wall.as_secs_f64(),
                    measured.max_rss_mib()
                ),
                "—",
                "—",
                "—",
                Verdict::Report,
            ));
        }
        object_rss.push(object.max_rss_mib());
        details.push_str(&format!(
            "{mib} MiB archives: to disk {:.1} s ({:.1} s CPU), to moto {:.1} s ({:.1} s CPU).\n",
            disk.wall.as_secs_f64(),
            disk.cpu.as_secs_f64(),
            object.wall.as_secs_f64(),
            object.cpu.as_secs_f64(),
        ));
    }
    let growth = object_rss[1] / object_rss[0];
    rows.push(Row::new(
        "object path's peak RSS, larger archives over smaller",
        format!("{growth:.2}×"),
        "—",
        "—",
        format!("≤ {FLAT_LIMIT}× (flat)"),
        Verdict::from_bool(growth <= FLAT_LIMIT),
    ));
    details.insert_str(
        0,
        &format!(
            "`clouddc logs collect` of {SERVERS} servers from `clouddc sim` (1 s exports), once into a \
directory and once into `s3://{BUCKET}/` on moto's S3 server (`moto_server`, pinned in \
`cargo xtask tools`, on 127.0.0.1 and the same cores). Wall time from spawning to reaping; peak \
RSS is the collector's (`ru_maxrss`).\n\n"
        ),
    );
    Ok(Report { rows, details })
}
