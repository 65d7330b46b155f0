//! The decisions of recent traces, so that a span ending after its trace was
//! decided follows the decision. Remembered by time: every decision at least
//! for the retention (the maximum hold, and never less than
//! [`MIN_RETENTION`]), in two generations of a compact table, 8 bytes a
//! decision. A new generation begins when the current one is as old as the
//! retention, and the one before it is forgotten whole; so a decision lives
//! one to two retentions, and a decision that a late span follows moves into
//! the current generation again. A generation also ends early when it holds
//! its share of memory (an eighth of the tail sampler's budget): at rates
//! past that, decisions live shorter, and [`Decisions::horizon`] says since
//! when every decision is still known.

use std::hash::BuildHasher;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::TraceId;

use super::hash::TraceIdHash;
use super::policy::KeepReason;
use crate::pipeline::clock::{self, Tick};

/// The shortest time decisions are remembered for, whatever the maximum
/// hold.
pub(super) const MIN_RETENTION: Duration = Duration::from_secs(10);

/// Slots a generation starts with (512 KiB, when its share of memory
/// allows): thousands of traces a second fill it without its growing.
const FIRST_SLOTS: usize = 65_536;
/// The fewest slots a generation has, whatever its share of memory.
const MIN_SLOTS: usize = 1024;

#[derive(Debug)]
pub(super) struct Decisions {
    current: Table,
    previous: Table,
    /// When the current generation began, on the span clock and the wall
    /// clock.
    current_since: (Tick, SystemTime),
    /// When the current generation ends, unless it fills first.
    ends: Instant,
    /// Since when every decision is remembered: the previous generation's
    /// beginning.
    horizon: (Tick, SystemTime),
    retention: Duration,
    /// Slots a generation may grow to.
    max_slots: usize,
    hash: TraceIdHash,
}

impl Decisions {
    /// Decisions remembered at least `max_hold` (and [`MIN_RETENTION`]),
    /// both generations together in at most `memory` bytes.
    pub(super) fn new(max_hold: Duration, memory: usize, now: Instant) -> Self {
        // The largest power of two that fits half the memory.
        let per_generation = (memory / 2 / size_of::<u64>()).max(MIN_SLOTS);
        let max_slots = 1 << per_generation.ilog2();
        let retention = max_hold.max(MIN_RETENTION);
        let began = (clock::now(), SystemTime::now());
        Decisions {
            current: Table::default(),
            previous: Table::default(),
            current_since: began,
            ends: now + retention,
            horizon: began,
            retention,
            max_slots,
            hash: TraceIdHash::default(),
        }
    }

    /// The decision on `trace_id`, if it is remembered; one found in the
    /// previous generation is remembered again in the current one, so that
    /// a trace whose spans keep coming is not forgotten.
    pub(super) fn follow(&mut self, trace_id: TraceId, now: Instant) -> Option<Option<KeepReason>> {
        let hash = self.hash.hash_one(trace_id);
        if let Some(kept) = self.current.get(hash) {
            return Some(kept);
        }
        if self.previous.len == 0 {
            return None;
        }
        let kept = self.previous.get(hash)?;
        self.remember_hash(hash, kept, now);
        Some(kept)
    }

    pub(super) fn remember(&mut self, trace_id: TraceId, kept: Option<KeepReason>, now: Instant) {
        let hash = self.hash.hash_one(trace_id);
        self.remember_hash(hash, kept, now);
    }

    /// Since when every decision made is still remembered, on the span
    /// clock and the wall clock: a span that started before it may belong to
    /// a trace whose decision is forgotten.
    pub(super) fn horizon(&self) -> (Tick, SystemTime) {
        self.horizon
    }

    fn remember_hash(&mut self, hash: u64, kept: Option<KeepReason>, now: Instant) {
        if now >= self.ends {
            self.next_generation(now);
        }
        if !self.current.insert(hash, kept, self.max_slots) {
            // Its share of memory is full: the generation ends early.
            self.next_generation(now);
            self.current.insert(hash, kept, self.max_slots);
        }
    }

    fn next_generation(&mut self, now: Instant) {
        std::mem::swap(&mut self.current, &mut self.previous);
        self.current.clear();
        self.horizon = self.current_since;
        self.current_since = (clock::now(), SystemTime::now());
        self.ends = now + self.retention;
    }

    /// Bytes the two generations take.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        (self.current.slots.capacity() + self.previous.slots.capacity()) * size_of::<u64>()
    }
}

/// A hash table of decisions by trace id hash, open addressing with linear
/// probing: in each slot the hash's upper 61 bits and the decision in the
/// low 3 (0: an empty slot). Two ids whose hashes agree in 61 bits are
/// taken for one, about once in 2^61 comparisons.
#[derive(Debug, Default)]
struct Table {
    slots: Vec<u64>,
    len: usize,
}

const CODE: u64 = 0b111;

fn code(kept: Option<KeepReason>) -> u64 {
    match kept {
        None => 1,
        Some(KeepReason::Error) => 2,
        Some(KeepReason::Panic) => 3,
        Some(KeepReason::Cancelled) => 4,
        Some(KeepReason::Slow) => 5,
        Some(KeepReason::Ratio) => 6,
    }
}

fn decision(code: u64) -> Option<KeepReason> {
    match code {
        2 => Some(KeepReason::Error),
        3 => Some(KeepReason::Panic),
        4 => Some(KeepReason::Cancelled),
        5 => Some(KeepReason::Slow),
        6 => Some(KeepReason::Ratio),
        _ => None,
    }
}

impl Table {
    fn get(&self, hash: u64) -> Option<Option<KeepReason>> {
        if self.slots.is_empty() {
            return None;
        }
        let key = hash & !CODE;
        let mask = self.slots.len() - 1;
        let mut index = (hash >> 3) as usize & mask;
        loop {
            match self.slots[index] {
                0 => return None,
                slot if slot & !CODE == key => return Some(decision(slot & CODE)),
                _ => index = (index + 1) & mask,
            }
        }
    }

    /// Remembers a decision; `false` when the table is as full as it may be
    /// with `max_slots`.
    fn insert(&mut self, hash: u64, kept: Option<KeepReason>, max_slots: usize) -> bool {
        // At most three quarters full.
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let slots = (self.slots.len() * 2).max(FIRST_SLOTS.min(max_slots));
            if slots > max_slots {
                return false;
            }
            self.grow(slots);
        }
        let entry = (hash & !CODE) | code(kept);
        let mask = self.slots.len() - 1;
        let mut index = (hash >> 3) as usize & mask;
        loop {
            let slot = &mut self.slots[index];
            if *slot == 0 {
                *slot = entry;
                self.len += 1;
                return true;
            }
            if *slot & !CODE == entry & !CODE {
                *slot = entry;
                return true;
            }
            index = (index + 1) & mask;
        }
    }

    fn grow(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![0; slots]);
        let mask = slots - 1;
        for entry in old.into_iter().filter(|&entry| entry != 0) {
            let mut index = (entry >> 3) as usize & mask;
            while self.slots[index] != 0 {
                index = (index + 1) & mask;
            }
            self.slots[index] = entry;
        }
    }

    /// Forgets every decision, keeping its room for the next generation.
    fn clear(&mut self) {
        self.slots.fill(0);
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(count: u128) -> Vec<TraceId> {
        (1..=count)
            .map(|n| TraceId::from(n.wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15)))
            .collect()
    }

    const HOLD: Duration = Duration::from_secs(30);

    #[test]
    fn every_decision_is_remembered_for_the_retention_at_any_count_memory_allows() {
        let start = Instant::now();
        let mut decisions = Decisions::new(HOLD, 64 << 20, start);
        let ids = ids(300_000);
        // 300 000 traces in 29 seconds: 10 000 a second, all remembered.
        for (n, trace_id) in ids.iter().enumerate() {
            let now = start + Duration::from_micros(n as u64 * 97);
            let kept = (n % 3 == 0).then_some(KeepReason::Ratio);
            decisions.remember(*trace_id, kept, now);
        }
        let now = start + HOLD - Duration::from_secs(1);
        for (n, trace_id) in ids.iter().enumerate() {
            let kept = (n % 3 == 0).then_some(KeepReason::Ratio);
            assert_eq!(decisions.follow(*trace_id, now), Some(kept), "decision {n}");
        }
        assert!(decisions.bytes() <= 64 << 20, "{}", decisions.bytes());
    }

    #[test]
    fn a_generation_is_forgotten_two_retentions_on_unless_followed() {
        let start = Instant::now();
        let mut decisions = Decisions::new(HOLD, 1 << 20, start);
        let [followed, left, newer] = [1_u128, 2, 3].map(TraceId::from);
        decisions.remember(followed, Some(KeepReason::Error), start);
        decisions.remember(left, None, start);
        // A generation later: both still known; one is followed by a span.
        let later = start + HOLD;
        decisions.remember(newer, None, later);
        assert_eq!(decisions.previous.len, 2);
        assert_eq!(
            decisions.follow(followed, later + Duration::from_secs(1)),
            Some(Some(KeepReason::Error))
        );
        // Two generations on, only what was followed or decided since stays.
        let much_later = start + 2 * HOLD;
        decisions.remember(TraceId::from(4), None, much_later);
        assert_eq!(
            decisions.follow(followed, much_later),
            Some(Some(KeepReason::Error))
        );
        assert_eq!(decisions.follow(newer, much_later), Some(None));
        assert_eq!(decisions.follow(left, much_later), None, "forgotten");
    }

    #[test]
    fn past_its_memory_a_generation_ends_early_and_the_horizon_moves_up() {
        let start = Instant::now();
        let before = SystemTime::now();
        // Two generations of 1 024 slots: 768 decisions each.
        let mut decisions = Decisions::new(HOLD, 16 * 1024, start);
        assert!(decisions.horizon().1 >= before);
        let ids = ids(10_000);
        for trace_id in &ids {
            decisions.remember(*trace_id, None, start);
        }
        assert!(decisions.bytes() <= 16 * 1024, "{}", decisions.bytes());
        assert_eq!(decisions.follow(ids[0], start), None, "forgotten early");
        assert_eq!(decisions.follow(ids[9_999], start), Some(None));
        let remembered = ids
            .iter()
            .filter(|id| decisions.follow(**id, start).is_some())
            .count();
        assert!((768..=1536).contains(&remembered), "{remembered}");
    }

    #[test]
    fn the_retention_is_the_maximum_hold_and_never_less_than_its_floor() {
        let now = Instant::now();
        assert_eq!(
            Decisions::new(Duration::ZERO, 1 << 20, now).retention,
            MIN_RETENTION
        );
        assert_eq!(
            Decisions::new(Duration::from_secs(120), 1 << 20, now).retention,
            Duration::from_secs(120)
        );
    }
}
