//! Waiting for an export to finish, with as few status calls as the progress
//! allows.
//!
//! The interval adapts to the observed rate: after two readings the waiter knows
//! how fast the percentage moves and sleeps until about when it should reach 100,
//! so a 5-minute export costs a handful of calls and a 2-second one is picked up
//! promptly. Without a usable rate (no percentage, no movement) it backs off
//! geometrically.

use std::time::Duration;
use tokio::sync::Semaphore;

use tokio::time::Instant;

use crate::client::Client;
use crate::tolerant::StatusKind;
use crate::types::ExportTask;
use crate::validate::id_argument;
use crate::{Error, IdArgument, PathId};

/// How long and how often to poll.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Give up after this long.
    pub deadline: Duration,
    /// Never poll more often than this.
    pub min_interval: Duration,
    /// Never wait longer than this between polls.
    pub max_interval: Duration,
    /// The wait before the first status call, when nothing is known yet.
    pub first_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30 * 60),
            min_interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(30),
            first_interval: Duration::from_secs(1),
        }
    }
}

/// One progress report.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WaitProgress {
    /// The task as last reported.
    pub task: ExportTask,
    /// The percentage, when it reads as a number from 0 to 100.
    pub percentage: Option<f64>,
    /// The estimated time until completion, once a rate is known.
    pub eta: Option<Duration>,
    /// Status calls made so far.
    pub polls: u32,
    /// Time since waiting began.
    pub elapsed: Duration,
}

/// Whether a task is done, failed or still running. A status no dialect uses
/// counts as done only at 100 %: some deployments never say `completed`.
fn outcome(task: &ExportTask) -> StatusKind {
    let kind = task.status.kind();
    let at_100 = task.percentage.as_ref().and_then(|p| p.value()) == Some(100.0);
    match kind {
        StatusKind::Unknown if at_100 => StatusKind::Completed,
        other => other,
    }
}

/// Tracks readings and picks the next interval.
struct Pacer {
    options: WaitOptions,
    /// The earliest reading with a percentage (time, value).
    first: Option<(Instant, f64)>,
    /// The interval used when no rate is known.
    fallback: Duration,
}

impl Pacer {
    fn new(options: WaitOptions) -> Self {
        let fallback = options.first_interval;
        Self {
            options,
            first: None,
            fallback,
        }
    }

    /// Records a reading; returns the ETA and the next interval.
    fn observe(&mut self, now: Instant, percentage: Option<f64>) -> (Option<Duration>, Duration) {
        let rate = match (self.first, percentage) {
            (None, Some(p)) => {
                self.first = Some((now, p));
                None
            }
            (Some((t0, p0)), Some(p)) if p > p0 => {
                let seconds = now.duration_since(t0).as_secs_f64();
                (seconds > 0.0).then(|| (p - p0) / seconds)
            }
            _ => None,
        };
        let eta = match (rate, percentage) {
            (Some(rate), Some(p)) => Some(Duration::from_secs_f64(
                ((100.0 - p).max(0.0) / rate).min(86_400.0),
            )),
            _ => None,
        };
        let next = match eta {
            // Aim just past the predicted finish: an integer percentage reaches
            // 100 only when the export is really done.
            Some(eta) => eta + (eta / 20).max(Duration::from_millis(50)),
            None => {
                let current = self.fallback;
                self.fallback = self.fallback.mul_f64(1.5);
                current
            }
        };
        (
            eta,
            next.clamp(self.options.min_interval, self.options.max_interval),
        )
    }
}

impl Client {
    /// Polls the export until it completes, fails or the deadline passes,
    /// reporting each reading to `progress`. `initial` is the task as the export
    /// call returned it, if at hand (it saves a call when already complete).
    pub async fn wait_for_export(
        &self,
        server: impl IdArgument,
        export_id: impl IdArgument,
        initial: Option<ExportTask>,
        options: &WaitOptions,
        progress: &(dyn Fn(&WaitProgress) + Send + Sync),
    ) -> Result<ExportTask, Error> {
        let server = id_argument("server", server)?;
        let export_id = id_argument("export_id", export_id)?;
        self.wait_checked(&server, &export_id, initial, options, progress, None)
            .await
    }

    /// [`Client::wait_for_export`] for ids checked where they entered: no poll
    /// checks them again. Each status call holds one of `calls`, when given,
    /// while it is in flight; the sleeps between them hold none.
    pub(crate) async fn wait_checked(
        &self,
        server: &PathId,
        export_id: &PathId,
        initial: Option<ExportTask>,
        options: &WaitOptions,
        progress: &(dyn Fn(&WaitProgress) + Send + Sync),
        calls: Option<&Semaphore>,
    ) -> Result<ExportTask, Error> {
        let started = Instant::now();
        let mut pacer = Pacer::new(options.clone());
        let mut polls = 0u32;
        let mut task = initial;
        loop {
            if let Some(current) = &task {
                let percentage = current.percentage.as_ref().and_then(|p| p.value());
                let (eta, next) = pacer.observe(Instant::now(), percentage);
                progress(&WaitProgress {
                    task: current.clone(),
                    percentage,
                    eta,
                    polls,
                    elapsed: started.elapsed(),
                });
                match outcome(current) {
                    StatusKind::Completed => return Ok(current.clone()),
                    StatusKind::Failed => {
                        return Err(Error::ExportFailed {
                            server: server.to_string(),
                            export_id: export_id.to_string(),
                            status: current.status.to_string(),
                        });
                    }
                    _ => {}
                }
                let remaining = options.deadline.saturating_sub(started.elapsed());
                if remaining.is_zero() {
                    return Err(Error::Timeout {
                        what: format!("export {export_id} of server {server}"),
                        after: options.deadline,
                    });
                }
                tokio::time::sleep(next.min(remaining)).await;
            }
            polls += 1;
            // The deadline bounds the status call too: a server that never
            // answers would otherwise hold the wait for the transport's read
            // timeout times the retry attempts.
            let remaining = options.deadline.saturating_sub(started.elapsed());
            // The request boxed, once it holds a call slot: its state is about
            // 12 KB, and a fleet's waits spend most of their time asleep between
            // calls or queued for a slot, when there is no box (10,000 waiting
            // servers held 118 MB with the request inline, and 47 MB with the
            // box made before the slot).
            let status = tokio::time::timeout(remaining, async {
                // The semaphore is never closed, so acquiring cannot fail.
                let _call = match calls {
                    Some(calls) => calls.acquire().await.ok(),
                    None => None,
                };
                Box::pin(self.status_checked(server, export_id)).await
            });
            task = Some(match status.await {
                Ok(result) => result?,
                Err(_) => {
                    return Err(Error::Timeout {
                        what: format!("export {export_id} of server {server}"),
                        after: options.deadline,
                    });
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_export_is_picked_up_at_its_predicted_end() {
        let mut pacer = Pacer::new(WaitOptions::default());
        let t0 = Instant::now();
        let (eta, first) = pacer.observe(t0, Some(0.0));
        assert_eq!(eta, None);
        assert_eq!(first, Duration::from_secs(1));
        let (eta, next) = pacer.observe(t0 + Duration::from_secs(1), Some(20.0));
        assert_eq!(eta, Some(Duration::from_secs(4)));
        assert!(
            next >= Duration::from_secs(4) && next < Duration::from_millis(4300),
            "{next:?}"
        );
    }

    #[test]
    fn slow_export_polls_rarely_and_stalls_back_off() {
        let mut pacer = Pacer::new(WaitOptions::default());
        let t0 = Instant::now();
        pacer.observe(t0, Some(0.0));
        let (_, next) = pacer.observe(t0 + Duration::from_secs(10), Some(1.0));
        assert_eq!(next, WaitOptions::default().max_interval);
        let mut stalled = Pacer::new(WaitOptions::default());
        let a = stalled.observe(t0, None).1;
        let b = stalled.observe(t0, None).1;
        assert!(b > a);
    }

    #[test]
    fn unknown_status_at_100_counts_as_done_but_running_does_not() {
        let task = |status: &str, pct: &str| -> ExportTask {
            serde_json::from_value(
                serde_json::json!({"export_id": "1", "status": status, "percentage": pct}),
            )
            .unwrap()
        };
        assert_eq!(outcome(&task("Finalising", "100%")), StatusKind::Completed);
        assert_eq!(outcome(&task("processing", "100")), StatusKind::InProgress);
        assert_eq!(outcome(&task("Finalising", "99")), StatusKind::Unknown);
        assert_eq!(outcome(&task("FAILED", "40")), StatusKind::Failed);
    }
}
