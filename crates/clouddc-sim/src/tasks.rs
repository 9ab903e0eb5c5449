//! Export tasks: creation, progress, expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::archive::{ArchiveDigest, ArchiveLayout};
use crate::dialect::Stage;

/// One export task.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) export_id: String,
    pub(crate) server: String,
    started: Instant,
    pub(crate) created_at: DateTime<Utc>,
    duration: Duration,
    /// The percentage at which an injected failure ends the task.
    fails_at: Option<u8>,
    pub(crate) layout: Arc<ArchiveLayout>,
    /// Made on the first download, then shared by every later one.
    pub(crate) digest: OnceCell<Arc<ArchiveDigest>>,
}

impl Task {
    /// The task's stage and percentage at `now`.
    pub(crate) fn progress(&self, now: Instant) -> (Stage, u8) {
        let elapsed = now.saturating_duration_since(self.started);
        let percent = if self.duration.is_zero() || elapsed >= self.duration {
            100
        } else {
            (elapsed.as_secs_f64() / self.duration.as_secs_f64() * 100.0).floor() as u8
        };
        match self.fails_at {
            Some(at) if percent >= at => (Stage::Failed, at),
            _ if percent >= 100 => (Stage::Completed, 100),
            _ => (Stage::Processing, percent),
        }
    }

    fn finished_at(&self) -> Instant {
        let share = f64::from(self.fails_at.unwrap_or(100)) / 100.0;
        self.started + self.duration.mul_f64(share)
    }

    fn expired(&self, now: Instant, ttl: Duration) -> bool {
        now.saturating_duration_since(self.finished_at()) > ttl
    }
}

/// Why a task could not be created.
#[derive(Debug)]
pub(crate) struct TooManyTasks;

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Arc<Task>>,
    /// The latest task of each server, to answer a repeated export.
    latest_by_server: HashMap<String, String>,
    created_since_sweep: usize,
}

/// Every live task.
#[derive(Debug)]
pub(crate) struct TaskStore {
    inner: Mutex<Inner>,
    ttl: Duration,
    max_tasks: usize,
    duration: Duration,
    archive_bytes: u64,
    seed: u64,
}

/// How many creations between sweeps of expired tasks, so memory follows
/// the live tasks even below `max_tasks`.
const SWEEP_EVERY: usize = 1024;

impl TaskStore {
    pub(crate) fn new(config: &crate::SimConfig) -> Self {
        Self {
            inner: Mutex::default(),
            ttl: config.task_ttl,
            max_tasks: config.max_tasks,
            duration: config.export_duration,
            archive_bytes: config.archive_bytes,
            seed: config.seed,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The running task of `server` if there is one (`false`), else a new
    /// task (`true`). `fails_at` makes the new task fail at that percentage.
    pub(crate) fn export(
        &self,
        server: &str,
        fails_at: Option<u8>,
        now: Instant,
    ) -> Result<(Arc<Task>, bool), TooManyTasks> {
        let mut inner = self.lock();
        if let Some(task) = inner
            .latest_by_server
            .get(server)
            .and_then(|id| inner.by_id.get(id))
            && task.progress(now).0 == Stage::Processing
        {
            return Ok((task.clone(), false));
        }
        if inner.by_id.len() >= self.max_tasks || inner.created_since_sweep >= SWEEP_EVERY {
            self.sweep(&mut inner, now);
        }
        if inner.by_id.len() >= self.max_tasks {
            return Err(TooManyTasks);
        }
        let export_id = new_export_id();
        let task = Arc::new(Task {
            layout: Arc::new(ArchiveLayout::new(
                self.seed,
                server,
                &export_id,
                self.archive_bytes,
            )),
            export_id: export_id.clone(),
            server: server.to_owned(),
            started: now,
            created_at: Utc::now(),
            duration: self.duration,
            fails_at,
            digest: OnceCell::new(),
        });
        inner.by_id.insert(export_id.clone(), task.clone());
        inner.latest_by_server.insert(server.to_owned(), export_id);
        inner.created_since_sweep += 1;
        Ok((task, true))
    }

    /// The task `export_id` of `server`, unless unknown, another server's, or
    /// expired.
    pub(crate) fn get(&self, server: &str, export_id: &str, now: Instant) -> Option<Arc<Task>> {
        let mut inner = self.lock();
        let task = inner.by_id.get(export_id)?.clone();
        if task.expired(now, self.ttl) {
            inner.by_id.remove(export_id);
            if inner.latest_by_server.get(&task.server) == Some(&task.export_id) {
                inner.latest_by_server.remove(&task.server);
            }
            return None;
        }
        (task.server == server).then_some(task)
    }

    pub(crate) fn layout_of(&self, server: &str, export_id: &str) -> Option<ArchiveLayout> {
        self.get(server, export_id, Instant::now())
            .map(|t| ArchiveLayout::clone(&t.layout))
    }

    fn sweep(&self, inner: &mut Inner, now: Instant) {
        inner.by_id.retain(|_, task| !task.expired(now, self.ttl));
        let Inner {
            by_id,
            latest_by_server,
            ..
        } = inner;
        latest_by_server.retain(|_, id| by_id.contains_key(id));
        inner.created_since_sweep = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().by_id.len()
    }
}

/// 128 random bits from the thread's CSPRNG, as hex: ids cannot be guessed
/// from one another.
fn new_export_id() -> String {
    let bits: u128 = rand::random();
    format!("{bits:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_tasks: usize) -> TaskStore {
        TaskStore::new(&crate::SimConfig {
            export_duration: Duration::from_secs(10),
            task_ttl: Duration::from_secs(60),
            max_tasks,
            archive_bytes: 4096,
            ..Default::default()
        })
    }

    #[test]
    fn progresses_then_completes_then_expires() {
        let tasks = store(10);
        let t0 = Instant::now();
        let (task, created) = tasks.export("srv", None, t0).unwrap();
        assert!(created);
        assert_eq!(
            task.progress(t0 + Duration::from_secs(3)),
            (Stage::Processing, 30)
        );
        assert_eq!(
            task.progress(t0 + Duration::from_secs(10)),
            (Stage::Completed, 100)
        );
        assert!(
            tasks
                .get("srv", &task.export_id, t0 + Duration::from_secs(69))
                .is_some()
        );
        assert!(tasks.get("other", &task.export_id, t0).is_none());
        assert!(
            tasks
                .get("srv", &task.export_id, t0 + Duration::from_secs(71))
                .is_none()
        );
    }

    #[test]
    fn a_second_export_while_running_returns_the_running_task() {
        let tasks = store(10);
        let t0 = Instant::now();
        let (first, _) = tasks.export("srv", None, t0).unwrap();
        let (again, created) = tasks
            .export("srv", None, t0 + Duration::from_secs(1))
            .unwrap();
        assert!(!created);
        assert_eq!(first.export_id, again.export_id);
        let (next, created) = tasks
            .export("srv", None, t0 + Duration::from_secs(11))
            .unwrap();
        assert!(created);
        assert_ne!(next.export_id, first.export_id);
    }

    #[test]
    fn failing_tasks_stop_at_their_percentage() {
        let tasks = store(10);
        let t0 = Instant::now();
        let (task, _) = tasks.export("srv", Some(40), t0).unwrap();
        assert_eq!(
            task.progress(t0 + Duration::from_secs(2)),
            (Stage::Processing, 20)
        );
        assert_eq!(
            task.progress(t0 + Duration::from_secs(5)),
            (Stage::Failed, 40)
        );
    }

    #[test]
    fn bounded_by_max_tasks_until_some_expire() {
        let tasks = store(2);
        let t0 = Instant::now();
        tasks.export("a", None, t0).unwrap();
        tasks.export("b", None, t0).unwrap();
        assert!(tasks.export("c", None, t0).is_err());
        assert!(
            tasks
                .export("c", None, t0 + Duration::from_secs(71))
                .is_ok()
        );
        assert_eq!(tasks.len(), 1);
    }
}
