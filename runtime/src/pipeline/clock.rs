//! Span start and end times: the CPU's time-stamp counter (through
//! `fastant`) where the kernel itself keeps time with it, else the monotonic
//! clock. Either way a read is a plain number; it becomes wall-clock time
//! only on the export thread, through an anchor: a tick and the wall-clock
//! time read at it, taken again every second, so that a step of the wall
//! clock, a suspend or the counter's drift against the wall clock moves
//! spans for that second at most.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

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
    /// The time-stamp counter.
    Tsc,
    /// `std::time::Instant`, counted from [`origin`].
    Monotonic,
}

static SOURCE: OnceLock<Source> = OnceLock::new();
static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Where the kernel says which clock it keeps time with.
#[cfg(target_os = "linux")]
const CURRENT_CLOCKSOURCE: &str =
    "/sys/devices/system/clocksource/clocksource0/current_clocksource";

/// The time-stamp counter where it is trusted, else the monotonic clock.
fn best() -> Source {
    #[cfg(target_os = "linux")]
    let clocksource = std::fs::read_to_string(CURRENT_CLOCKSOURCE).ok();
    #[cfg(not(target_os = "linux"))]
    let clocksource: Option<String> = None;
    if tsc_trusted(fastant::is_tsc_available(), clocksource.as_deref()) {
        Source::Tsc
    } else {
        Source::Monotonic
    }
}

/// Whether spans may be timed with the time-stamp counter: `fastant` finds
/// it usable, and the kernel's current clocksource is `tsc`. `fastant` also
/// takes a CPU that calls its counter invariant, but a kernel that found the
/// counters of its CPUs out of step (a virtual machine, a broken firmware)
/// keeps time with another clock, and so do spans then.
fn tsc_trusted(fastant_usable: bool, current_clocksource: Option<&str>) -> bool {
    fastant_usable && current_clocksource.is_some_and(|source| source.trim() == "tsc")
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
        Source::Monotonic => Tick(fastant::Instant::ZERO + origin().elapsed()),
    }
}

/// Where monotonic ticks count from.
fn origin() -> Instant {
    *ORIGIN.get_or_init(Instant::now)
}

/// How long one anchor is used before a new one is taken.
const ANCHOR_LIFETIME: Duration = Duration::from_secs(1);
/// Tries at reading a tick and the wall clock together, of which the
/// closest is kept.
const ANCHOR_TRIES: usize = 5;

/// Turns ticks into wall-clock time; made on the export thread and renewed
/// every [`ANCHOR_LIFETIME`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallClock {
    tick: Tick,
    wall: SystemTime,
    /// `wall` in nanoseconds since the Unix epoch.
    wall_nanos: u64,
    made: Instant,
}

impl WallClock {
    pub(crate) fn new() -> Self {
        let (tick, wall) = anchor(now, SystemTime::now);
        WallClock {
            tick,
            wall,
            wall_nanos: unix_nanos(wall),
            made: Instant::now(),
        }
    }

    /// Takes a new anchor if the current one is old.
    pub(crate) fn refresh(&mut self) {
        if self.made.elapsed() >= ANCHOR_LIFETIME {
            *self = WallClock::new();
        }
    }

    pub(crate) fn wall_time(&self, tick: Tick) -> SystemTime {
        if tick >= self.tick {
            self.wall + tick.0.duration_since(self.tick.0)
        } else {
            self.wall - self.tick.0.duration_since(tick.0)
        }
    }

    /// [`wall_time`](Self::wall_time) in nanoseconds since the Unix epoch,
    /// reckoned in integers.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn unix_nanos(&self, tick: Tick) -> u64 {
        if tick >= self.tick {
            self.wall_nanos.saturating_add(tick.nanos_since(self.tick))
        } else {
            self.wall_nanos.saturating_sub(self.tick.nanos_since(tick))
        }
    }
}

/// Nanoseconds since the Unix epoch; 0 for a time before it.
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// A tick and the wall-clock time at that tick. The wall clock is read
/// between two ticks, and the tick halfway is taken as its moment; a thread
/// preempted between the reads would put every span off by as long as it
/// waited, so of [`ANCHOR_TRIES`] tries the one whose two ticks are closest
/// is kept.
fn anchor(tick: impl Fn() -> Tick, wall: impl Fn() -> SystemTime) -> (Tick, SystemTime) {
    let mut best: Option<(Duration, Tick, SystemTime)> = None;
    for _ in 0..ANCHOR_TRIES {
        let before = tick();
        let read = wall();
        let after = tick();
        let apart = after.0.saturating_duration_since(before.0);
        if best.is_none_or(|(closest, _, _)| apart < closest) {
            best = Some((apart, Tick(before.0 + apart / 2), read));
        }
    }
    let (_, tick, wall) = best.expect("at least one try");
    (tick, wall)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

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

    #[test]
    fn nanoseconds_reckoned_in_integers_are_those_of_the_wall_time() {
        let before = now();
        let clock = WallClock::new();
        let after = now();
        for tick in [before, clock.tick, after, now()] {
            assert_eq!(clock.unix_nanos(tick), unix_nanos(clock.wall_time(tick)));
        }
        assert_eq!(
            unix_nanos(SystemTime::UNIX_EPOCH - Duration::from_secs(1)),
            0
        );
    }

    #[test]
    fn repro_the_counter_times_spans_only_when_the_kernel_keeps_time_with_it() {
        assert!(tsc_trusted(true, Some("tsc\n")));
        // The kernel dropped the counter (marked unstable) although the CPU
        // says it is invariant: fastant would still use it.
        assert!(!tsc_trusted(true, Some("kvm-clock\n")));
        assert!(!tsc_trusted(true, Some("hpet\n")));
        assert!(!tsc_trusted(true, None));
        assert!(!tsc_trusted(false, Some("tsc\n")));
        #[cfg(target_os = "linux")]
        if let Ok(current) = std::fs::read_to_string(CURRENT_CLOCKSOURCE)
            && current.trim() != "tsc"
        {
            assert_eq!(
                best(),
                Source::Monotonic,
                "the kernel keeps time with {current}"
            );
        }
    }

    /// Ticks of a fake counter, one per call, from `reads`.
    fn counter(reads: &'static [u64]) -> impl Fn() -> Tick {
        let next = Cell::new(0);
        move || {
            let at = reads[next.get()];
            next.set(next.get() + 1);
            Tick(fastant::Instant::ZERO + Duration::from_micros(at))
        }
    }

    #[test]
    fn repro_a_preemption_while_anchoring_does_not_offset_the_wall_clock() {
        // The first try waits 40 ms between its reads (the thread was
        // preempted); the third is the closest.
        let tick = counter(&[
            0, 40_000, 50_000, 50_100, 60_000, 60_010, 70_000, 70_050, 80_000, 80_070,
        ]);
        let walls = Cell::new(0_u64);
        let wall = || {
            let n = walls.get();
            walls.set(n + 1);
            SystemTime::UNIX_EPOCH + Duration::from_secs(1000 + n)
        };
        let (anchor_tick, anchor_wall) = anchor(tick, wall);
        assert_eq!(
            anchor_wall,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1002)
        );
        // Halfway between its two ticks (to within the counter's rounding).
        let halfway = fastant::Instant::ZERO + Duration::from_micros(60_005);
        let off = anchor_tick
            .0
            .saturating_duration_since(halfway)
            .max(halfway.saturating_duration_since(anchor_tick.0));
        assert!(off < Duration::from_micros(1), "{off:?}");
    }

    #[test]
    fn repro_the_wall_clock_is_read_again_after_a_step() {
        // An anchor taken before the wall clock was stepped an hour (or the
        // machine slept an hour, which the monotonic clock does not count).
        let (tick, wall) = anchor(now, SystemTime::now);
        let mut clock = WallClock {
            tick,
            wall: wall - Duration::from_secs(3600),
            wall_nanos: unix_nanos(wall - Duration::from_secs(3600)),
            made: Instant::now() - ANCHOR_LIFETIME,
        };
        let stale = clock.wall_time(now());
        assert!(SystemTime::now().duration_since(stale).unwrap() >= Duration::from_secs(3599));
        clock.refresh();
        let before = SystemTime::now();
        let wall = clock.wall_time(now());
        let slack = Duration::from_millis(50);
        assert!(
            wall + slack >= before && wall <= SystemTime::now() + slack,
            "{wall:?}"
        );
    }
}
