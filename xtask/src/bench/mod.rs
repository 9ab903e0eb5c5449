//! `cargo xtask bench [NAME]`: speed and memory next to the alternatives users
//! weigh (curl, the vendor's official Python SDK, a bare reqwest loop, a bare
//! axum handler), measured in one run on one machine and reported as ratios.
//!
//! Every benchmark lives in its own module and returns a [`Report`]; this module
//! prints the table and writes `BENCHMARKS.md`, replacing only the sections of the
//! benchmarks that ran. Nothing here is a test: `cargo xtask ci` never runs it.

mod build;
mod download;
mod fleet;
mod fleet_all;
mod harness;
mod memory;
mod object;
mod rerun;
mod sim;
mod status;
mod syscalls;
mod verify;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::shell;

/// The benchmarks, in the order a full run takes them.
const NAMES: &[&str] = &[
    "download",
    "memory",
    "verify",
    "status",
    "fleet",
    "fleet-all",
    "rerun",
    "object",
    "sim",
    "build",
];

/// How long a benchmark waits for other work on the machine to stop.
const QUIET_LIMIT: Duration = Duration::from_secs(180);

/// Whether a figure meets its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// No target: the figure is reported.
    Report,
}

impl Verdict {
    pub fn from_bool(met: bool) -> Self {
        if met { Self::Met } else { Self::Missed }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::Missed => "**missed**",
            Self::Report => "report",
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What is measured.
    pub what: String,
    /// Our figure.
    pub figure: String,
    /// The baseline's figure, measured in the same run, or "—".
    pub baseline: String,
    /// Ours against the baseline.
    pub ratio: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Row {
    pub fn new(
        what: impl Into<String>,
        figure: impl Into<String>,
        baseline: impl Into<String>,
        ratio: impl Into<String>,
        target: impl Into<String>,
        verdict: Verdict,
    ) -> Self {
        Self {
            what: what.into(),
            figure: figure.into(),
            baseline: baseline.into(),
            ratio: ratio.into(),
            target: target.into(),
            verdict,
        }
    }

    fn cells(&self) -> [&str; 6] {
        [
            &self.what,
            &self.figure,
            &self.baseline,
            &self.ratio,
            &self.target,
            self.verdict.text(),
        ]
    }
}

/// What one benchmark found: its rows and the details behind them (Markdown).
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub details: String,
}

/// What the benchmarks of one run share.
#[derive(Default)]
pub struct Context {
    /// `clouddc logs download`'s rate in MiB/s, once the download benchmark ran.
    pub download_mib_per_s: Option<f64>,
    peer: Option<harness::Peer>,
}

impl Context {
    /// The Python peer, installed on first use.
    pub fn peer(&mut self) -> Result<&harness::Peer, String> {
        if self.peer.is_none() {
            self.peer = Some(harness::Peer::install()?);
        }
        Ok(self.peer.as_ref().expect("just set"))
    }
}

/// Runs the named benchmark, or all of them.
pub fn run(name: Option<&str>) -> Result<(), String> {
    let selected: Vec<&str> = match name {
        Some(name) if NAMES.contains(&name) => vec![name],
        Some(name) => {
            return Err(format!(
                "unknown benchmark {name:?}; choose one of {}",
                NAMES.join(", ")
            ));
        }
        None => NAMES.to_vec(),
    };
    let command = match name {
        Some(name) => format!("cargo xtask bench {name}"),
        None => "cargo xtask bench".to_string(),
    };
    let machine = Machine::describe();
    eprintln!("bench: {}", machine.line());
    if selected.iter().any(|n| *n != "build") {
        eprintln!("\n==> cargo build --release -p clouddc-cli -p clouddc-drivers --bins");
        harness::build_release()?;
    }
    let mut context = Context::default();
    let mut sections = Vec::new();
    let mut failures = Vec::new();
    for name in &selected {
        eprintln!("\n==> bench {name}");
        let busy = harness::wait_for_quiet(QUIET_LIMIT);
        let started = SystemTime::now();
        let result = match *name {
            "download" => download::run(&mut context),
            "memory" => memory::run(&mut context),
            "verify" => verify::run(&mut context),
            "status" => status::run(&mut context),
            "fleet" => fleet::run(&mut context),
            "fleet-all" => fleet_all::run(&mut context),
            "rerun" => rerun::run(&mut context),
            "object" => object::run(&mut context),
            "sim" => sim::run(&mut context),
            "build" => build::run(&mut context),
            _ => unreachable!("names are checked above"),
        };
        let report = result.unwrap_or_else(|error| {
            eprintln!("bench {name}: {error}");
            failures.push(format!("{name}: {error}"));
            Report {
                rows: vec![Row::new(
                    "(not measured)",
                    "—",
                    "—",
                    "—",
                    "—",
                    Verdict::Missed,
                )],
                details: format!(
                    "The benchmark failed in this run, so there are no figures:\n\n```text\n{}\n```\n",
                    error.trim()
                ),
            }
        });
        for row in &report.rows {
            eprintln!(
                "bench {name}: {}: {} (baseline {}, {}, target {}: {})",
                row.what,
                row.figure,
                row.baseline,
                row.ratio,
                row.target,
                row.verdict.text()
            );
        }
        sections.push(Section::new(
            name, &command, &machine, started, busy, &report,
        ));
        // Written after every benchmark: an interrupted full run keeps what it measured.
        write_benchmarks_md(&command, &machine, &sections)?;
    }
    println!("\n{}", text_table(&sections));
    println!("written: {}", benchmarks_md().display());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "some benchmarks could not run:\n{}",
            failures.join("\n")
        ))
    }
}

/// The machine, as the report names it.
struct Machine {
    cpu: String,
    nproc: String,
    parallelism: usize,
    memory: String,
    kernel: String,
    rustc: String,
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

impl Machine {
    fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        Self {
            cpu,
            nproc: command_line("nproc", &[]).unwrap_or_else(|| "?".into()),
            parallelism: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory,
            kernel: command_line("uname", &["-sr"]).unwrap_or_else(|| "unknown".into()),
            rustc: command_line("rustc", &["--version"]).unwrap_or_else(|| "rustc ?".into()),
        }
    }

    fn line(&self) -> String {
        format!(
            "{} cores (nproc {}, available_parallelism {}), {}, {} RAM (MemTotal), {}, {}",
            self.nproc,
            self.nproc,
            self.parallelism,
            self.cpu,
            self.memory,
            self.kernel,
            self.rustc
        )
    }

    fn short(&self) -> String {
        format!("{} cores, {}, {} RAM", self.nproc, self.cpu, self.memory)
    }
}

/// A benchmark's part of `BENCHMARKS.md`, between its markers.
struct Section {
    name: String,
    rows: Vec<Row>,
    text: String,
}

const TABLE_HEAD: &str =
    "| what | ours | baseline (same run) | ratio | target | verdict |\n|---|---|---|---|---|---|\n";

fn markdown_row(cells: &[&str]) -> String {
    let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    format!("| {} |\n", escaped.join(" | "))
}

impl Section {
    fn new(
        name: &str,
        command: &str,
        machine: &Machine,
        started: SystemTime,
        busy: Option<f64>,
        report: &Report,
    ) -> Self {
        let mut text = String::new();
        let _ = writeln!(text, "{}", begin_marker(name));
        let _ = writeln!(text, "## {name}\n");
        let own = format!("cargo xtask bench {name}");
        let how = if own == command {
            format!("`{own}`")
        } else {
            format!("`{own}` (measured by `{command}`)")
        };
        let busy = busy.map_or_else(|| "unknown".to_string(), |b| format!("{:.0}%", b * 100.0));
        let _ = writeln!(
            text,
            "Command: {how}. Measured {} on {}; other load on the CPUs just before: {busy}.\n",
            utc_timestamp(started),
            machine.short()
        );
        text.push_str("<!-- rows -->\n");
        text.push_str(TABLE_HEAD);
        for row in &report.rows {
            text.push_str(&markdown_row(&row.cells()));
        }
        text.push_str("<!-- /rows -->\n\n");
        text.push_str(report.details.trim());
        text.push('\n');
        let _ = writeln!(text, "{}", end_marker(name));
        Self {
            name: name.to_string(),
            rows: report.rows.clone(),
            text,
        }
    }

    /// The rows of a section kept from an earlier run, as Markdown lines.
    fn kept_rows(text: &str) -> Vec<String> {
        let Some(start) = text.find("<!-- rows -->") else {
            return Vec::new();
        };
        let Some(end) = text[start..].find("<!-- /rows -->") else {
            return Vec::new();
        };
        text[start..start + end]
            .lines()
            .skip(3) // the marker, the head and the rule
            .filter(|l| l.starts_with('|'))
            .map(str::to_string)
            .collect()
    }
}

fn begin_marker(name: &str) -> String {
    format!("<!-- bench:{name} begin -->")
}

fn end_marker(name: &str) -> String {
    format!("<!-- bench:{name} end -->")
}

fn benchmarks_md() -> PathBuf {
    shell::workspace_root().join("BENCHMARKS.md")
}

/// Rewrites `BENCHMARKS.md`: the header for this run, the sections of `fresh`,
/// and every other benchmark's section as the file had it.
fn write_benchmarks_md(command: &str, machine: &Machine, fresh: &[Section]) -> Result<(), String> {
    let path = benchmarks_md();
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let mut bodies: Vec<(String, String, Vec<String>)> = Vec::new();
    for name in NAMES {
        if let Some(section) = fresh.iter().find(|s| s.name == *name) {
            let rows = section
                .rows
                .iter()
                .map(|r| markdown_row(&r.cells()).trim_end().to_string())
                .collect();
            bodies.push((name.to_string(), section.text.clone(), rows));
        } else if let Some(text) = old_section(&old, name) {
            let rows = Section::kept_rows(&text);
            bodies.push((name.to_string(), text, rows));
        }
    }
    let mut out = String::new();
    out.push_str("# Benchmarks\n\n");
    out.push_str(
        "Written by `cargo xtask bench [NAME]` (`xtask/src/bench/`); do not edit by hand. \
Each benchmark's section is replaced only when that benchmark runs and says when and \
where it was measured; every baseline in a section was measured in the same run as the \
figure next to it. The programs measured are release builds; everything runs on 127.0.0.1.\n\n",
    );
    let _ = writeln!(
        out,
        "Last run: `{command}` at {}.\n\nMachine of the last run: {}.\n",
        utc_timestamp(SystemTime::now()),
        machine.line()
    );
    out.push_str("## Summary\n\n");
    out.push_str("| benchmark | what | ours | baseline (same run) | ratio | target | verdict |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for (name, _, rows) in &bodies {
        for row in rows {
            let _ = writeln!(out, "| {name} {row}");
        }
    }
    out.push('\n');
    for (_, text, _) in &bodies {
        out.push_str(text.trim_end());
        out.push_str("\n\n");
    }
    let out = format!("{}\n", out.trim_end());
    std::fs::write(&path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The text of `name`'s section in `old`, markers included.
fn old_section(old: &str, name: &str) -> Option<String> {
    let begin = old.find(&begin_marker(name))?;
    let end_mark = end_marker(name);
    let end = old[begin..].find(&end_mark)? + begin + end_mark.len();
    Some(old[begin..end].to_string())
}

/// The table printed at the end of a run.
fn text_table(sections: &[Section]) -> String {
    let head = [
        "benchmark",
        "what",
        "ours",
        "baseline",
        "ratio",
        "target",
        "verdict",
    ];
    let mut lines: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for section in sections {
        for row in &section.rows {
            let mut cells = vec![section.name.clone()];
            cells.extend(row.cells().iter().map(|c| c.replace("**", "")));
            lines.push(cells);
        }
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "{}", rule.join("  "));
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc_timestamp(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(utc_timestamp(t), "2023-11-14 22:13 UTC");
        assert_eq!(
            utc_timestamp(SystemTime::UNIX_EPOCH),
            "1970-01-01 00:00 UTC"
        );
    }

    #[test]
    fn kept_sections_and_rows() {
        let report = Report {
            rows: vec![Row::new("a", "1", "2", "0.5×", "≥ 1×", Verdict::Missed)],
            details: "details".into(),
        };
        let machine = Machine {
            cpu: "cpu".into(),
            nproc: "2".into(),
            parallelism: 2,
            memory: "1 GiB".into(),
            kernel: "k".into(),
            rustc: "r".into(),
        };
        let section = Section::new(
            "sim",
            "cargo xtask bench",
            &machine,
            SystemTime::now(),
            None,
            &report,
        );
        let file = format!("# B\n\n{}\nafter\n", section.text);
        let kept = old_section(&file, "sim").unwrap();
        assert!(kept.starts_with("<!-- bench:sim begin -->"));
        assert!(kept.ends_with("<!-- bench:sim end -->"));
        assert_eq!(
            Section::kept_rows(&kept),
            vec!["| a | 1 | 2 | 0.5× | ≥ 1× | **missed** |".to_string()]
        );
        assert!(old_section(&file, "build").is_none());
    }
}
