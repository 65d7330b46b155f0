//! Span start and end times: the CPU's time-stamp counter where it is
//! invariant and the kernel trusts it (through `fastant`), else the monotonic
//! clock. Either way a read is a plain number; it becomes wall-clock time
//! only on the export thread.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A moment on the span clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Tick(fastant::Instant);

impl Tick {
    /// Nanoseconds from `earlier` to this tick; 0 when `earlier` is later.
    #[inline]
    pub(crate) fn nanos_since(self, earlier: Tick) -> u64 {
        u64::try_from(self.0.saturating_duration_since(earlier.0).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Which clock ticks are read from: chosen once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The time-stamp counter, anchored to the wall clock.
    Tsc,
    /// `std::time::Instant`, counted from [`Fallback::origin`].
    Monotonic,
}

/// Where monotonic ticks count from, and the wall-clock time of that moment.
#[derive(Debug)]
struct Fallback {
    origin: Instant,
    wall: SystemTime,
}

static SOURCE: OnceLock<Source> = OnceLock::new();
static FALLBACK: OnceLock<Fallback> = OnceLock::new();

/// The time-stamp counter where it is usable, else the monotonic clock.
fn best() -> Source {
    if fastant::is_tsc_available() {
        Source::Tsc
    } else {
        Source::Monotonic
    }
}

/// Chooses the clock of this process, unless it is chosen already (the
/// first pipeline's choice holds: ticks in flight must mean one thing).
/// `monotonic` forces the fallback (`TRACED_CLOCK=monotonic`), for machines
/// whose TSC the kernel trusts but which migrate between hosts.
pub(crate) fn choose(monotonic: bool) {
    SOURCE.get_or_init(|| if monotonic { Source::Monotonic } else { best() });
}

/// The clock this process reads.
#[inline]
pub(crate) fn source() -> Source {
    *SOURCE.get_or_init(best)
}

/// Now, on the span clock.
#[inline]
pub(crate) fn now() -> Tick {
    match source() {
        Source::Tsc => Tick(fastant::Instant::now()),
        Source::Monotonic => {
            let fallback = fallback();
            Tick(fastant::Instant::ZERO + fallback.origin.elapsed())
        }
    }
}

fn fallback() -> &'static Fallback {
    FALLBACK.get_or_init(|| Fallback {
        origin: Instant::now(),
        wall: SystemTime::now(),
    })
}

/// Turns ticks into wall-clock time; made on the export thread and renewed
/// now and then, so that the counter's drift against the wall clock stays
/// small.
pub(crate) struct WallClock {
    anchor: fastant::Anchor,
    made: Instant,
}

impl std::fmt::Debug for WallClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WallClock")
            .field("made", &self.made)
            .finish_non_exhaustive()
    }
}

/// How long one anchor is used before a new one is taken.
const ANCHOR_LIFETIME: Duration = Duration::from_secs(60);

impl WallClock {
    pub(crate) fn new() -> Self {
        WallClock {
            anchor: fastant::Anchor::new(),
            made: Instant::now(),
        }
    }

    /// Takes a new anchor if the current one is old.
    pub(crate) fn refresh(&mut self) {
        if self.made.elapsed() > ANCHOR_LIFETIME {
            *self = WallClock::new();
        }
    }

    pub(crate) fn wall_time(&self, tick: Tick) -> SystemTime {
        match source() {
            Source::Tsc => UNIX_EPOCH + Duration::from_nanos(tick.0.as_unix_nanos(&self.anchor)),
            Source::Monotonic => fallback().wall + tick.0.duration_since(fastant::Instant::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_become_wall_time_close_to_the_system_clock() {
        let clock = WallClock::new();
        let before = SystemTime::now();
        let tick = now();
        let after = SystemTime::now();
        let wall = clock.wall_time(tick);
        let slack = Duration::from_millis(5);
        assert!(wall + slack >= before && wall <= after + slack, "{wall:?}");
        let later = now();
        assert!(later >= tick);
        assert!(clock.wall_time(later) >= wall);
    }
}
