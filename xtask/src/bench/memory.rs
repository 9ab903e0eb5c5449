//! `memory`: the peak RSS of `clouddc logs download` (`ru_maxrss` from `wait4`)
//! for archives of 100 MiB, 1 GiB and 4 GiB. A streaming download's memory must
//! not depend on the archive's size.

use super::download::{clouddc_download, sim_with_export};
use super::harness;
use super::{Context, Report, Row, Verdict};

const SIZES: &[(u64, &str)] = &[
    (100 << 20, "100 MiB"),
    (1 << 30, "1 GiB"),
    (4 << 30, "4 GiB"),
];
/// The target: at most this peak RSS for every size.
const LIMIT_MIB: f64 = 32.0;
/// "Flat": the largest archive's peak RSS exceeds the smallest's by at most this.
const FLAT_MIB: f64 = 4.0;

pub fn run(_context: &mut Context) -> Result<Report, String> {
    let dir = harness::bench_dir().join("memory");
    let mut measured = Vec::new();
    for (bytes, label) in SIZES {
        eprintln!("bench memory: {label}");
        let (mut sim, export_id) = sim_with_export("memory-sim", *bytes)?;
        let (rate, run) = clouddc_download(&sim, &export_id, &dir, *bytes)?;
        sim.server.check_alive()?;
        measured.push((*label, run.max_rss_mib(), rate, run.cpu.as_secs_f64()));
        harness::fresh_dir(&dir)?;
    }
    let peaks: Vec<f64> = measured.iter().map(|m| m.1).collect();
    let highest = peaks.iter().copied().fold(f64::MIN, f64::max);
    let spread = peaks.last().copied().unwrap_or(0.0) - peaks.first().copied().unwrap_or(0.0);
    let figure = measured
        .iter()
        .map(|(label, rss, _, _)| format!("{rss:.1} MiB ({label})"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = vec![Row::new(
        "peak RSS of `logs download`, 100 MiB / 1 GiB / 4 GiB",
        figure,
        "—",
        format!("4 GiB − 100 MiB: {spread:+.1} MiB"),
        format!("≤ {LIMIT_MIB:.0} MiB, flat (≤ {FLAT_MIB:.0} MiB growth)"),
        Verdict::from_bool(highest <= LIMIT_MIB && spread <= FLAT_MIB),
    )];
    let mut details = String::from(
        "Each archive from its own `clouddc sim --archive-bytes N`; `clouddc logs download` \
reaped with `wait4`, whose `ru_maxrss` is the peak resident set of the whole process.\n\n\
| archive | peak RSS MiB | MiB/s | CPU s (user+sys) |\n|---|---|---|---|\n",
    );
    for (label, rss, rate, cpu) in &measured {
        details.push_str(&format!("| {label} | {rss:.1} | {rate:.0} | {cpu:.1} |\n"));
    }
    Ok(Report { rows, details })
}
