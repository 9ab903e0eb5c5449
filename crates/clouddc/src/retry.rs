//! Retries with capped exponential backoff and full jitter, under an overall
//! deadline.
//!
//! What may be retried depends on the operation: the status and download GETs
//! are safe to repeat; the export POST is repeated only when no task can have
//! been created (a 429, or a connection that was never established).

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::Error;

/// How hard to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. `1` disables retries.
    pub max_attempts: u32,
    /// The backoff before the first retry; it doubles with every retry.
    pub initial_backoff: Duration,
    /// The cap of one backoff (a server's `Retry-After` may ask for more, up to
    /// the deadline).
    pub max_backoff: Duration,
    /// No attempt starts after this much time since the first.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            deadline: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1-based): full jitter over the capped
    /// exponential, or the server's `Retry-After` when it asked for longer.
    fn backoff(&self, retry: u32, server_hint: Option<Duration>) -> Duration {
        let exponential = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max_backoff);
        let jittered = exponential.mul_f64(rand::rng().random_range(0.5..=1.0));
        match server_hint {
            Some(hint) => hint.max(jittered),
            None => jittered,
        }
    }
}

/// Whether repeating an operation can create something twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// A read: repeat on any transient failure.
    Safe,
    /// A create: repeat only when the service cannot have acted.
    Create,
    /// A create whose duplicate is harmless (a second export answers with the
    /// running task, or starts another): repeat on a server error too, where
    /// the service may have acted. Throttling and refused connections are left
    /// to the [`Idempotency::Create`] retries of each call inside.
    DuplicateTolerated,
}

/// Whether `error` is worth another attempt, and how long the server asked to wait.
pub fn should_retry(error: &Error, idempotency: Idempotency) -> Option<Option<Duration>> {
    // A nested loop's error (the export re-attempts wrap each export call's
    // own retries) is judged by its last attempt.
    match (error.last_attempt(), idempotency) {
        (Error::Api(api), Idempotency::DuplicateTolerated) => (api.status >= 500).then_some(None),
        (_, Idempotency::DuplicateTolerated) => None,
        (Error::Throttled { retry_after, .. }, _) => Some(*retry_after),
        (Error::Transport { source, .. }, Idempotency::Create) => {
            source.is_connect().then_some(None)
        }
        (Error::Transport { .. } | Error::Timeout { .. }, Idempotency::Safe) => Some(None),
        (Error::Api(api), Idempotency::Safe) => {
            matches!(api.status, 500 | 502 | 503 | 504).then_some(None)
        }
        _ => None,
    }
}

/// Runs `attempt` until it succeeds, fails in a way not worth repeating, runs out
/// of attempts or would start after the deadline. Each attempt is a fresh call,
/// so requests are re-signed with a fresh date.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    idempotency: Idempotency,
    operation: &'static str,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut retry = 0u32;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        retry += 1;
        let Some(hint) = should_retry(&error, idempotency) else {
            return Err(gave_up(error, retry));
        };
        if retry >= policy.max_attempts.max(1) {
            return Err(gave_up(error, retry));
        }
        let wait = policy.backoff(retry, hint);
        if started.elapsed() + wait > policy.deadline {
            return Err(gave_up(error, retry));
        }
        // A warning, so it shows without -v: a dead endpoint would otherwise
        // look like a hang for the whole backoff. The error text holds no
        // secret (see `Error`).
        tracing::warn!(
            operation,
            attempt = retry,
            of = policy.max_attempts,
            wait_ms = wait.as_millis() as u64,
            error = %error,
            "retrying"
        );
        tokio::time::sleep(wait).await;
    }
}

/// The error of the last of `attempts`, saying how many were made when there
/// was more than one.
fn gave_up(error: Error, attempts: u32) -> Error {
    match error {
        // A nested loop counted the last attempt's own calls; each earlier
        // attempt made at least one.
        Error::Retried {
            attempts: inner,
            last,
        } => Error::Retried {
            attempts: attempts - 1 + inner,
            last,
        },
        error if attempts > 1 => Error::Retried {
            attempts,
            last: Box::new(error),
        },
        error => error,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn api(status: u16) -> Error {
        Error::Api(crate::ApiError::parse(status, &Default::default(), b""))
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            deadline: Duration::from_secs(5),
        }
    }

    #[test]
    fn classification() {
        let throttled = Error::Throttled {
            retry_after: Some(Duration::from_secs(2)),
            request_id: None,
        };
        assert_eq!(
            should_retry(&throttled, Idempotency::Create),
            Some(Some(Duration::from_secs(2)))
        );
        assert_eq!(should_retry(&api(503), Idempotency::Safe), Some(None));
        assert_eq!(should_retry(&api(500), Idempotency::Create), None);
        assert_eq!(should_retry(&api(404), Idempotency::Safe), None);
        let tolerated = Idempotency::DuplicateTolerated;
        assert_eq!(should_retry(&api(500), tolerated), Some(None));
        assert_eq!(should_retry(&api(501), tolerated), Some(None));
        assert_eq!(should_retry(&api(409), tolerated), None);
        assert_eq!(should_retry(&throttled, tolerated), None);
        assert_eq!(
            should_retry(&Error::invalid("server", "empty"), Idempotency::Safe),
            None
        );
    }

    #[test]
    fn backoff_is_capped_jittered_and_honours_retry_after() {
        let policy = RetryPolicy::default();
        for retry in 1..20 {
            let wait = policy.backoff(retry, None);
            assert!(wait <= policy.max_backoff, "{wait:?}");
        }
        assert!(policy.backoff(1, None) >= policy.initial_backoff / 2);
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
    }

    #[tokio::test]
    async fn retries_until_success_then_stops() {
        let calls = AtomicU32::new(0);
        let result = with_retries(&fast(), Idempotency::Safe, "test", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(api(500)),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts_and_never_retries_a_create_on_500() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(&fast(), Idempotency::Safe, "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(api(502))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        calls.store(0, Ordering::SeqCst);
        let result: Result<(), _> = with_retries(&fast(), Idempotency::Create, "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(api(500))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_error_says_how_many_attempts_were_made() {
        let result: Result<(), _> = with_retries(&fast(), Idempotency::Safe, "test", || async {
            Err(api(503))
        })
        .await;
        let error = result.unwrap_err();
        assert_eq!(error.attempts(), 4);
        assert!(
            error.to_string().ends_with("(gave up after 4 attempts)"),
            "{error}"
        );
        assert_eq!(error.status(), Some(503));
        assert!(matches!(error.last_attempt(), Error::Api(api) if api.status == 503));
        // One attempt: the error as it was.
        let once: Result<(), _> = with_retries(&fast(), Idempotency::Safe, "test", || async {
            Err(api(404))
        })
        .await;
        assert!(matches!(once.unwrap_err(), Error::Api(_)));
    }
}
