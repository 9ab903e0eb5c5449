//! Syscall counts of a whole process and its threads, from `strace -f -c`: how
//! many futex wake-ups, writes, reads and `madvise`s a download costs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::harness;

/// One row of `strace -c`'s summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub name: String,
    pub calls: u64,
}

/// Runs `command` under `strace -f -c -o REPORT` and returns its counts, most
/// called first. `strace` slows the process: the counts are the figures, never
/// its time.
pub fn count(command: &Command, report: &Path, limit: Duration) -> Result<Vec<Count>, String> {
    let mut traced = Command::new("strace");
    traced.args(["-f", "-c", "-o"]).arg(report);
    traced.arg(command.get_program()).args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => traced.env(name, value),
            None => traced.env_remove(name),
        };
    }
    harness::run_measured(&mut traced, limit)?.check("strace -f -c")?;
    let text = std::fs::read_to_string(report)
        .map_err(|e| format!("cannot read {}: {e}", report.display()))?;
    let mut counts = parse(&text);
    counts.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.name.cmp(&b.name)));
    Ok(counts)
}

/// Parses `strace -c` output: rows of `% time, seconds, usecs/call, calls,
/// [errors,] syscall`, between the dashed rules, without the total.
pub fn parse(text: &str) -> Vec<Count> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = *fields.last()?;
            if fields.len() < 5 || name == "total" || name.starts_with('-') {
                return None;
            }
            let calls = fields[3].parse().ok()?;
            fields[0].parse::<f64>().ok()?;
            Some(Count {
                name: name.to_string(),
                calls,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_summary_with_and_without_errors() {
        let text = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 45.10    0.612345          42     14307      1203 futex
 20.00    0.200000          45      4355           write
  0.10    0.000100           1       270           madvise
------ ----------- ----------- --------- --------- ----------------
100.00    1.234567          45     18932      1203 total
";
        let counts = parse(text);
        assert_eq!(
            counts,
            [
                Count {
                    name: "futex".into(),
                    calls: 14307
                },
                Count {
                    name: "write".into(),
                    calls: 4355
                },
                Count {
                    name: "madvise".into(),
                    calls: 270
                },
            ]
        );
    }
}
