//! Retrying an OTLP export as opentelemetry-otlp does: what may succeed
//! later (a failed connection, a collector that is busy or unavailable) is
//! tried again at most three times, backing off from 100 ms to 1.6 s with
//! jitter, or as long as the collector asks, within the export's deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

/// Retries after the first attempt.
const MAX_RETRIES: usize = 3;
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER_MS: u64 = 100;
/// The longest wait a collector may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// A failed attempt, and whether another may succeed.
pub(super) struct Failure {
    pub(super) message: String,
    pub(super) retry: Retry,
}

pub(super) enum Retry {
    No,
    Backoff,
    /// After as long as the collector asked.
    After(Duration),
}

/// Runs `attempt` until it succeeds, fails for good, or the retries or the
/// `deadline` run out; the error is the last attempt's.
pub(super) async fn with_retries<F, A>(deadline: Option<Duration>, mut attempt: A) -> OTelSdkResult
where
    A: FnMut() -> F,
    F: Future<Output = Result<(), Failure>>,
{
    let started = Instant::now();
    let mut delay = FIRST_DELAY;
    let mut cap = MAX_DELAY;
    for tried in 0.. {
        let failure = match attempt().await {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        let wait = match failure.retry {
            Retry::No => None,
            Retry::After(asked) => {
                let asked = asked.min(MAX_RETRY_AFTER);
                cap = cap.max(asked);
                Some(asked)
            }
            Retry::Backoff => Some((delay + jitter()).min(cap)),
        };
        let remaining = deadline.map_or(Duration::MAX, |deadline| {
            deadline.saturating_sub(started.elapsed())
        });
        match wait {
            Some(wait) if tried < MAX_RETRIES && wait < remaining => {
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(cap);
            }
            _ => return Err(OTelSdkError::InternalFailure(failure.message)),
        }
    }
    unreachable!("the loop returns")
}

/// Up to 100 ms, so that exporters that failed together do not retry
/// together.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::from(since.subsec_nanos()));
    Duration::from_millis(nanos % (MAX_JITTER_MS + 1))
}
