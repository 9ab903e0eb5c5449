//! Diagnostics on stderr through `tracing`, at the level `-v`/`-q` ask for.
//!
//! Only our crates get more verbose with `-v`: the HTTP stack stays at `warn`
//! until `-vvv`, and nothing here ever logs a request's headers (they carry the
//! token or the signature). `RUST_LOG`, when set, replaces the defaults.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use indicatif::MultiProgress;
use tracing_subscriber::EnvFilter;

/// The progress bars on screen, if any: log lines are printed above them
/// instead of through them.
static BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Sends log lines through `multi` from now on.
pub fn route_through(multi: &MultiProgress) {
    *BARS.lock().unwrap_or_else(|p| p.into_inner()) = Some(multi.clone());
}

/// Sends log lines straight to stderr again.
pub fn route_directly() {
    *BARS.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// The filter for a verbosity: `-q` errors only, default warnings, then our
/// crates at info, debug and trace.
pub fn directives(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,clouddc=info,clouddc_sim=info",
        (false, 2) => "warn,clouddc=debug,clouddc_sim=debug",
        (false, _) => "info,clouddc=trace,clouddc_sim=trace",
    }
}

/// Installs the subscriber; call once, first thing.
pub fn init(verbose: u8, quiet: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(directives(verbose, quiet)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| BarAwareStderr)
        .with_ansi(io::stderr().is_terminal())
        .with_target(verbose >= 2)
        .try_init();
}

/// Stderr that steps around the progress bars.
struct BarAwareStderr;

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The fmt layer writes each event in one call, so one event is one
        // suspension of the bars.
        let bars = BARS.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match bars {
            Some(multi) => multi.suspend(|| io::stderr().write_all(buf))?,
            None => io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
