//! The tests that put the machine under load and measure it (the simulator
//! load test, the fault soak, the collect kill test) were each a binary of
//! their own, run one after another; in one binary they would run together
//! and could slow each other past their time budgets. Each takes this lock.

use std::sync::{Mutex, MutexGuard};

static HEAVY: Mutex<()> = Mutex::new(());

/// Waits until no other heavy test runs. A heavy test that failed (and so
/// poisoned the lock) does not fail the next one.
pub fn lock() -> MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
