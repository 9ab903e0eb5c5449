//! Progress on stderr while servers move through export, wait and download.
//!
//! On a terminal: one indicatif bar per running server and an overall bar.
//! Elsewhere (a log file, CI): one plain line per state change, never per byte,
//! so a fleet's log stays readable; waiting is reported every 10 points.
//! Every server id, export id and status shown is cleaned first
//! ([`crate::text::clean`]): they come from the user and the service.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{BinaryBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::summary::Record;
use crate::text::clean;

/// Where a server is.
#[derive(Debug, Clone, Copy)]
pub enum Phase<'a> {
    /// The export call is being made.
    Exporting,
    /// The export is running on the server.
    Waiting {
        /// The export task.
        export_id: &'a str,
        /// The status as the service spelled it.
        status: &'a str,
        /// The percentage, when it reads as a number.
        percentage: Option<f64>,
    },
    /// The archive is coming in.
    Downloading {
        /// Bytes so far.
        bytes: u64,
        /// The archive's size, when the server said.
        total: Option<u64>,
    },
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Progress bars (stderr is a terminal).
    Bars,
    /// One line per state change.
    Lines,
    /// Nothing (`--quiet`).
    Silent,
}

impl Mode {
    /// Bars on a terminal, lines elsewhere, nothing when quiet.
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Mode::Silent
        } else if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// Shows the progress of one or many servers. Shared between the tasks that
/// report events, hence the interior locking.
pub struct Progress {
    inner: Inner,
}

enum Inner {
    Bars(Mutex<Bars>),
    Lines(Mutex<HashMap<String, LineState>>),
    Silent,
}

/// The last state change printed for a server in line mode.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LineState {
    Exporting,
    /// The last tens of percent printed (`None`: the percentage is not a number).
    Waiting(Option<u8>),
    Downloading,
}

struct Bars {
    multi: MultiProgress,
    overall: Option<ProgressBar>,
    servers: HashMap<String, (ProgressBar, BarKind)>,
    failed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BarKind {
    Exporting,
    Waiting,
    Downloading,
}

/// Locks even when another thread panicked while holding the lock: progress is
/// cosmetic and must not turn one panic into two.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Progress {
    /// Progress in `mode`; `servers` sizes the overall bar (none for one server).
    pub fn new(mode: Mode, servers: Option<u64>) -> Self {
        let inner = match mode {
            Mode::Silent => Inner::Silent,
            Mode::Lines => Inner::Lines(Mutex::new(HashMap::new())),
            Mode::Bars => return Self::bars(servers, ProgressDrawTarget::stderr()),
        };
        Self { inner }
    }

    /// Bars drawn to `target`: stderr in use, an in-memory terminal in tests.
    fn bars(servers: Option<u64>, target: ProgressDrawTarget) -> Self {
        let multi = MultiProgress::with_draw_target(target);
        let overall = servers.map(|n| {
            let bar = multi.add(ProgressBar::new(n));
            bar.set_style(style(
                "{elapsed_precise} [{wide_bar}] {pos}/{len} servers {msg}",
            ));
            // One ticking bar keeps the elapsed time moving while every
            // server is waiting; per-server ticks would be a thread each.
            // Drawn now, not at the first steady tick: a bar appears when it
            // first draws, and `tick` does nothing once a ticker runs.
            bar.tick();
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        crate::logging::route_through(&multi);
        let bars = Bars {
            multi,
            overall,
            servers: HashMap::new(),
            failed: 0,
        };
        Self {
            inner: Inner::Bars(Mutex::new(bars)),
        }
    }

    /// Reports that `server` reached `phase`.
    pub fn update(&self, server: &str, phase: Phase<'_>) {
        match &self.inner {
            Inner::Silent => {}
            Inner::Lines(states) => {
                let mut states = lock(states);
                let previous = states.get(server).copied();
                if let Some((state, line)) = line_for(previous, phase) {
                    states.insert(server.to_owned(), state);
                    eprintln!("{}: {line}", clean(server));
                }
            }
            Inner::Bars(bars) => lock(bars).update(server, phase),
        }
    }

    /// Reports that `server` is finished, with its result.
    pub fn finished(&self, record: &Record) {
        match &self.inner {
            Inner::Silent => {}
            Inner::Lines(states) => {
                lock(states).remove(&record.server);
                let word = if record.is_ok() { "done" } else { "failed" };
                eprintln!("{}: {word} {}", clean(&record.server), record.describe());
            }
            Inner::Bars(bars) => lock(bars).finished(record),
        }
    }

    /// A line that is not about one server (e.g. an interruption), printed
    /// without tearing the bars.
    pub fn note(&self, line: &str) {
        match &self.inner {
            Inner::Silent => {}
            Inner::Lines(_) => eprintln!("{line}"),
            Inner::Bars(bars) => {
                let _ = lock(bars).multi.println(line);
            }
        }
    }

    /// Removes the bars, before the summary is printed.
    pub fn clear(&self) {
        if let Inner::Bars(bars) = &self.inner {
            let mut bars = lock(bars);
            for (_, (bar, _)) in bars.servers.drain() {
                bar.finish_and_clear();
            }
            if let Some(overall) = &bars.overall {
                overall.finish_and_clear();
            }
            let _ = bars.multi.clear();
            crate::logging::route_directly();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The line to print for `phase` after `previous`, if it is a state change
/// worth a line, and the state it leaves.
fn line_for(previous: Option<LineState>, phase: Phase<'_>) -> Option<(LineState, String)> {
    match phase {
        Phase::Exporting => {
            (previous.is_none()).then(|| (LineState::Exporting, "exporting".to_string()))
        }
        Phase::Waiting {
            export_id,
            status,
            percentage,
        } => {
            let tens = percentage.map(|p| (p / 10.0).floor().clamp(0.0, 10.0) as u8);
            let print = match previous {
                Some(LineState::Waiting(last)) => match (last, tens) {
                    (Some(last), Some(tens)) => tens > last,
                    (None, Some(_)) => true,
                    _ => false,
                },
                Some(LineState::Downloading) => false,
                _ => true,
            };
            let (export_id, status) = (clean(export_id), clean(status));
            let line = match percentage {
                Some(p) => format!("waiting {p:.0}% (export {export_id}, {status})"),
                None => format!("waiting (export {export_id}, {status})"),
            };
            print.then_some((LineState::Waiting(tens), line))
        }
        Phase::Downloading { total, .. } => (previous != Some(LineState::Downloading)).then(|| {
            let line = match total {
                Some(total) => format!("downloading {}", BinaryBytes(total)),
                None => "downloading".to_string(),
            };
            (LineState::Downloading, line)
        }),
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Bars {
    fn bar(&mut self, server: &str) -> &mut (ProgressBar, BarKind) {
        let Bars {
            multi,
            overall,
            servers,
            ..
        } = self;
        servers.entry(server.to_owned()).or_insert_with(|| {
            let bar = ProgressBar::new(100);
            let bar = match overall {
                Some(overall) => multi.insert_before(overall, bar),
                None => multi.add(bar),
            };
            bar.set_prefix(clean(server));
            bar.set_style(style("{prefix:20!} {msg}"));
            bar.set_message("exporting");
            (bar, BarKind::Exporting)
        })
    }

    fn update(&mut self, server: &str, phase: Phase<'_>) {
        let (bar, kind) = self.bar(server);
        match phase {
            Phase::Exporting => {}
            Phase::Waiting {
                status, percentage, ..
            } => {
                if *kind != BarKind::Waiting {
                    *kind = BarKind::Waiting;
                    bar.set_style(style("{prefix:20!} [{bar:30}] {pos:>3}% {msg}"));
                    bar.set_length(100);
                }
                bar.set_position(percentage.unwrap_or(0.0).round() as u64);
                bar.set_message(format!("waiting ({})", clean(status)));
            }
            Phase::Downloading { bytes, total } => {
                if *kind != BarKind::Downloading {
                    *kind = BarKind::Downloading;
                    bar.set_style(style(
                        "{prefix:20!} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg}",
                    ));
                    bar.set_message("downloading");
                    bar.reset_elapsed();
                    bar.set_position(0);
                }
                bar.set_length(total.unwrap_or(bytes.max(1)));
                bar.set_position(bytes);
            }
        }
    }

    fn finished(&mut self, record: &Record) {
        if let Some((bar, _)) = self.servers.remove(&record.server) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        if !record.is_ok() {
            self.failed += 1;
            let _ = self.multi.println(format!(
                "{}: failed {}",
                clean(&record.server),
                record.describe()
            ));
        }
        if let Some(overall) = &self.overall {
            overall.inc(1);
            if self.failed > 0 {
                overall.set_message(format!("({} failed)", self.failed));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(p: Option<f64>) -> Phase<'static> {
        Phase::Waiting {
            export_id: "1",
            status: "Running",
            percentage: p,
        }
    }

    /// Feeds phases through the line logic and returns the lines printed.
    fn lines(phases: &[Phase<'_>]) -> Vec<String> {
        let mut state = None;
        let mut out = Vec::new();
        for phase in phases {
            if let Some((next, line)) = line_for(state, *phase) {
                state = Some(next);
                out.push(line);
            }
        }
        out
    }

    #[test]
    fn one_line_per_state_change_and_every_ten_points() {
        let mut phases = vec![Phase::Exporting];
        phases.extend((0..=100).step_by(3).map(|p| waiting(Some(f64::from(p)))));
        phases.push(waiting(Some(100.0)));
        phases.extend((0..5).map(|i| Phase::Downloading {
            bytes: i * 100,
            total: Some(1024),
        }));
        let printed = lines(&phases);
        assert_eq!(printed[0], "exporting");
        assert_eq!(printed[1], "waiting 0% (export 1, Running)");
        assert_eq!(printed[2], "waiting 12% (export 1, Running)");
        assert_eq!(printed.last().unwrap(), "downloading 1.00 KiB");
        // exporting, 0, 12, 21, ..., 90, 100, downloading
        assert_eq!(printed.len(), 1 + 11 + 1, "{printed:#?}");
    }

    fn record(server: &str, error: Option<&str>) -> Record {
        Record {
            server: server.into(),
            export_id: Some("e1".into()),
            status: if error.is_some() {
                crate::summary::Status::Failed
            } else {
                crate::summary::Status::Ok
            },
            path: error.is_none().then(|| format!("logs/{server}.tar.gz")),
            bytes: error.is_none().then_some(2048),
            sha256: None,
            error: error.map(str::to_owned),
            request_id: None,
            resumed: false,
        }
    }

    /// The bars as a terminal shows them, one trimmed line per row.
    fn screen(term: &indicatif::InMemoryTerm) -> Vec<String> {
        term.contents()
            .lines()
            .map(|line| line.trim_end().to_owned())
            .filter(|line| !line.is_empty())
            .collect()
    }

    #[test]
    fn bars_show_each_server_in_its_phase_above_the_fleet() {
        let term = indicatif::InMemoryTerm::new(12, 120);
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let progress = Progress::bars(Some(3), target);

        progress.update("srv-a", Phase::Exporting);
        progress.update("srv-b", waiting(Some(40.0)));
        progress.update(
            "srv-c",
            Phase::Downloading {
                bytes: 512 << 10,
                total: Some(1 << 20),
            },
        );
        let rows = screen(&term);
        assert_eq!(rows.len(), 4, "{rows:#?}");
        assert!(rows[0].starts_with("srv-a") && rows[0].ends_with("exporting"));
        assert!(rows[1].starts_with("srv-b"), "{rows:#?}");
        assert!(rows[1].contains(" 40% waiting (Running)"), "{rows:#?}");
        assert!(rows[2].starts_with("srv-c"), "{rows:#?}");
        assert!(rows[2].contains("512.00 KiB/1.00 MiB"), "{rows:#?}");
        assert!(rows[3].contains("0/3 servers"), "{rows:#?}");

        // A finished server's bar goes; a failure is printed above the bars
        // and counted on the fleet's.
        progress.finished(&record("srv-a", None));
        progress.finished(&record("srv-b", Some("export failed: disk full")));
        let rows = screen(&term);
        assert_eq!(
            rows[0], "srv-b: failed export failed: disk full",
            "{rows:#?}"
        );
        assert!(rows[1].starts_with("srv-c"), "{rows:#?}");
        assert!(rows[2].contains("2/3 servers (1 failed)"), "{rows:#?}");
        assert_eq!(rows.len(), 3, "{rows:#?}");

        progress.clear();
        assert_eq!(screen(&term), ["srv-b: failed export failed: disk full"]);
    }

    #[test]
    fn a_status_without_percentage_prints_once() {
        let printed = lines(&[waiting(None), waiting(None), waiting(Some(50.0))]);
        assert_eq!(
            printed,
            [
                "waiting (export 1, Running)",
                "waiting 50% (export 1, Running)"
            ]
        );
    }

    #[test]
    fn service_strings_cannot_drive_the_terminal() {
        let hostile = "\u{1b}]0;PWNED\u{7}\u{1b}[31mprocessing\rFAKE";
        let printed = lines(&[Phase::Waiting {
            export_id: "e\n1",
            status: hostile,
            percentage: Some(50.0),
        }]);
        assert_eq!(printed.len(), 1);
        assert!(!printed[0].chars().any(char::is_control), "{printed:?}");

        let term = indicatif::InMemoryTerm::new(6, 120);
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let progress = Progress::bars(Some(1), target);
        progress.update(
            "srv\r\u{1b}[2Kx",
            Phase::Waiting {
                export_id: "e1",
                status: hostile,
                percentage: Some(50.0),
            },
        );
        let rows = screen(&term);
        assert!(
            rows.iter().all(|row| !row.contains("PWNED\u{7}")),
            "{rows:#?}"
        );
        assert!(rows[0].starts_with("srv"), "{rows:#?}");
        assert!(rows[0].contains("]0;PWNED"), "{rows:#?}");
    }
}
