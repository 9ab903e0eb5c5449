//! Benchmark driver for `cargo xtask bench verify`: what checking a real,
//! compressed archive costs a download.
//!
//! The simulator's archives are stored-deflate, so inflating them is a copy;
//! a real log bundle is text compressed several times over, and verifying it
//! means inflating every byte. This driver makes such a bundle and feeds it,
//! from memory, through `clouddc::testing::download_to_dir` with and without
//! `verify_gzip`, taking turns, so the figures are the pipeline's own rate
//! (SHA-256, the write, and the inflate when on), not the network's.
//!
//! `bench_verify make FILE MIB`: writes a `tar` of `MIB` MiB of syslog-like
//! text (deterministic) and prints `{"file":..,"bytes":..}`. `cargo xtask bench
//! verify` compresses it with the system's `gzip -6`, as `tar -czf` does, so the
//! bundle does not depend on the compressor this workspace links.
//!
//! `bench_verify run FILE DIR RUNS`: prints one line per download,
//! `{"verify":true,"run":1,"bytes":..,"seconds":..,"mib_per_s":..,"cpu_s":..}`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clouddc::DownloadOptions;
use clouddc::testing::download_to_dir;
use progenitor_client::{ByteStream, ResponseValue};

/// The chunk size hyper hands out on a fast connection.
const CHUNK: usize = 64 << 10;
/// The most runs per mode, and the largest bundle made.
const MAX_RUNS: usize = 20;
const MAX_MIB: u64 = 4096;

enum Args {
    Make {
        file: PathBuf,
        mib: u64,
    },
    Run {
        file: PathBuf,
        dir: PathBuf,
        runs: usize,
    },
}

fn parse_args() -> Result<Args, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |text: &str, what: &str| {
        text.parse::<u64>()
            .map_err(|_| format!("{what} must be a whole number, not {text:?}"))
    };
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["make", file, mib] => {
            let mib = number(mib, "MIB")?;
            if !(1..=MAX_MIB).contains(&mib) {
                return Err(format!("MIB must be 1 to {MAX_MIB}"));
            }
            Ok(Args::Make {
                file: file.into(),
                mib,
            })
        }
        ["run", file, dir, runs] => {
            let runs = usize::try_from(number(runs, "RUNS")?).unwrap_or(usize::MAX);
            if !(1..=MAX_RUNS).contains(&runs) {
                return Err(format!("RUNS must be 1 to {MAX_RUNS}"));
            }
            Ok(Args::Run {
                file: file.into(),
                dir: dir.into(),
                runs,
            })
        }
        _ => Err("usage: bench_verify make FILE MIB | run FILE DIR RUNS".into()),
    }
}

fn main() -> ExitCode {
    clouddc_drivers::bench_support::main("bench_verify", parse_args, |args| async move {
        match args {
            Args::Make { file, mib } => make(&file, mib),
            Args::Run { file, dir, runs } => run(&file, &dir, runs).await,
        }
    })
}

/// A small, fast, deterministic generator (xorshift64*): the bundle must be
/// the same in every run, and its text must not compress like a constant.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// About `bytes` of syslog-like lines from BMC and OS daemons.
fn log_text(dice: &mut Dice, bytes: usize) -> Vec<u8> {
    const HOSTS: &[&str] = &["bmc01", "srv-0042", "ibmc", "node7"];
    const PROCESSES: &[&str] = &[
        "kernel", "sshd", "systemd", "ipmievd", "smartd", "CRON", "rsyslogd", "bmc-fw",
    ];
    let mut text = Vec::with_capacity(bytes + 256);
    while text.len() < bytes {
        let (day, hour, minute, second) = (
            1 + dice.below(30),
            dice.below(24),
            dice.below(60),
            dice.below(60),
        );
        let host = dice.pick(HOSTS);
        let process = dice.pick(PROCESSES);
        let pid = 100 + dice.below(99_900);
        let (a, b) = (dice.below(10_000), dice.below(10_000));
        let message = match dice.below(8) {
            0 => format!(
                "Accepted publickey for root from 10.0.{}.{} port {a} ssh2",
                a % 256,
                b % 256
            ),
            1 => format!("Started Session {a} of user root."),
            2 => format!(
                "temperature sensor {} reading {} C within threshold",
                a % 64,
                b % 90
            ),
            3 => format!(
                "eth{}: link up, {} Mbps, full duplex",
                a % 4,
                [1000, 10000, 25000][b as usize % 3]
            ),
            4 => format!("DIMM_{} correctable ECC error count {b}", a % 32),
            5 => format!("fan{} speed {} RPM", a % 8, 3000 + b % 9000),
            6 => format!(
                "Power supply {} status OK, input {} W",
                a % 2,
                200 + b % 600
            ),
            _ => format!("audit: type=1400 apparmor=\"ALLOWED\" pid={a} comm=\"{process}\""),
        };
        let _ = writeln!(
            text,
            "Nov {day:2} {hour:02}:{minute:02}:{second:02} {host} {process}[{pid}]: {message}"
        );
    }
    text
}

fn make(file: &Path, mib: u64) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("writing {}: {e}", file.display());
    let out = std::fs::File::create(file).map_err(failed)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(out));
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let total = usize::try_from(mib << 20).map_err(|e| e.to_string())?;
    // A bundle is a few logs; 64 MiB members keep the text in memory small.
    let member = 64 << 20;
    let mut written = 0;
    let mut index = 0;
    while written < total {
        let text = log_text(&mut dice, member.min(total - written));
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_795_000_000);
        header.set_cksum();
        tar.append_data(&mut header, format!("var/log/messages.{index}"), &text[..])
            .map_err(failed)?;
        written += text.len();
        index += 1;
    }
    let mut out = tar.into_inner().map_err(failed)?;
    out.flush().map_err(failed)?;
    let bytes = std::fs::metadata(file).map_err(failed)?.len();
    println!(
        "{{\"file\":{:?},\"bytes\":{bytes}}}",
        file.display().to_string()
    );
    Ok(())
}

/// The process's CPU time so far (user + system).
fn cpu_time() -> Duration {
    // SAFETY: rusage is plain old data; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let micros = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// A 200 with the whole archive, in `CHUNK`-sized pieces of one buffer.
fn answer(archive: &Bytes) -> ResponseValue<ByteStream> {
    let pieces: Vec<reqwest::Result<Bytes>> = (0..archive.len())
        .step_by(CHUNK)
        .map(|start| Ok(archive.slice(start..(start + CHUNK).min(archive.len()))))
        .collect();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::CONTENT_LENGTH, archive.len().into());
    ResponseValue::new(
        ByteStream::new(Box::pin(futures::stream::iter(pieces))),
        reqwest::StatusCode::OK,
        headers,
    )
}

async fn run(file: &Path, dir: &Path, runs: usize) -> Result<(), String> {
    let archive =
        Bytes::from(std::fs::read(file).map_err(|e| format!("reading {}: {e}", file.display()))?);
    for run in 0..=runs {
        // Taking turns (on off, off on, ...) so drift hits both modes alike;
        // run 0 warms the page cache and allocator and is not printed.
        let modes = if run % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for verify in modes {
            let options = DownloadOptions {
                verify_gzip: verify,
                ..DownloadOptions::default()
            };
            let cpu = cpu_time();
            let started = Instant::now();
            let downloaded = download_to_dir(
                |_| std::future::ready(Ok(answer(&archive))),
                dir,
                "bundle.tar.gz",
                &options,
                &|_| {},
            )
            .await
            .map_err(|e| format!("the download (verify {verify}) failed: {e}"))?;
            let seconds = started.elapsed().as_secs_f64();
            let cpu_s = (cpu_time() - cpu).as_secs_f64();
            std::fs::remove_file(&downloaded.path)
                .map_err(|e| format!("removing {}: {e}", downloaded.path.display()))?;
            if downloaded.bytes != archive.len() as u64 {
                return Err(format!(
                    "{} bytes downloaded of {}",
                    downloaded.bytes,
                    archive.len()
                ));
            }
            if run > 0 {
                let rate = downloaded.bytes as f64 / (1 << 20) as f64 / seconds;
                println!(
                    "{{\"verify\":{verify},\"run\":{run},\"bytes\":{},\"seconds\":{seconds:.4},\"mib_per_s\":{rate:.1},\"cpu_s\":{cpu_s:.3}}}",
                    downloaded.bytes
                );
            }
        }
    }
    Ok(())
}
