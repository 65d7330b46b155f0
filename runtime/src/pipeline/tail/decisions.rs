//! The decisions of recent traces, so that a span ending after its trace was
//! decided follows the decision. A fixed table, two slots per trace id's
//! hash: a new decision takes the older of the two, so the table never
//! grows and a decision is forgotten only once two newer ones share its
//! place.

use std::hash::BuildHasher;

use opentelemetry::trace::TraceId;

use super::hash::TraceIdHash;
use super::policy::KeepReason;

/// Decisions remembered at most (512 KiB, small enough to stay in the
/// export thread's cache): seconds of traces at thousands a second.
pub(super) const REMEMBERED: usize = 16_384;

#[derive(Debug)]
pub(super) struct Decisions {
    slots: Vec<Remembered>,
    hash: TraceIdHash,
    decided: u64,
}

#[derive(Clone, Copy, Debug)]
struct Remembered {
    trace_id: TraceId,
    /// Why it was kept; `None`: dropped.
    kept: Option<KeepReason>,
    /// The decision's number; 0: an empty slot.
    number: u64,
}

impl Decisions {
    /// A table of `capacity` slots, a power of two, 2 or more.
    pub(super) fn new(capacity: usize) -> Self {
        assert!(capacity.is_power_of_two() && capacity >= 2);
        Decisions {
            slots: vec![
                Remembered {
                    trace_id: TraceId::INVALID,
                    kept: None,
                    number: 0,
                };
                capacity
            ],
            hash: TraceIdHash::default(),
            decided: 0,
        }
    }

    /// The decision on `trace_id`, if it is remembered.
    pub(super) fn get(&self, trace_id: TraceId) -> Option<Option<KeepReason>> {
        let pair = self.pair(trace_id);
        self.slots[pair..pair + 2]
            .iter()
            .find(|slot| slot.number != 0 && slot.trace_id == trace_id)
            .map(|slot| slot.kept)
    }

    pub(super) fn remember(&mut self, trace_id: TraceId, kept: Option<KeepReason>) {
        self.decided += 1;
        let pair = self.pair(trace_id);
        let [first, second] = &mut self.slots[pair..pair + 2] else {
            unreachable!("a pair is two slots")
        };
        let slot = if second.number != 0 && second.trace_id == trace_id
            || first.number > second.number && first.trace_id != trace_id
        {
            second
        } else {
            first
        };
        *slot = Remembered {
            trace_id,
            kept,
            number: self.decided,
        };
    }

    /// The first of the two slots `trace_id` may be in.
    fn pair(&self, trace_id: TraceId) -> usize {
        (self.hash.hash_one(trace_id) as usize & (self.slots.len() - 1)) & !1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_older_decision_of_a_pair_is_forgotten_first() {
        let mut decisions = Decisions::new(2);
        let [a, b, c] = [1_u128, 2, 3].map(TraceId::from);
        decisions.remember(a, Some(KeepReason::Error));
        decisions.remember(b, None);
        decisions.remember(a, Some(KeepReason::Error));
        assert_eq!(decisions.get(a), Some(Some(KeepReason::Error)));
        assert_eq!(decisions.get(b), Some(None));
        decisions.remember(c, Some(KeepReason::Slow));
        assert_eq!(decisions.get(b), None, "b was the older of the pair");
        assert_eq!(decisions.get(a), Some(Some(KeepReason::Error)));
        assert_eq!(decisions.get(c), Some(Some(KeepReason::Slow)));
    }

    #[test]
    fn recent_decisions_are_remembered_and_the_table_never_grows() {
        let mut decisions = Decisions::new(REMEMBERED);
        let ids: Vec<TraceId> = (1..=100_000_u128)
            .map(|n| TraceId::from(n.wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15)))
            .collect();
        for (n, trace_id) in ids.iter().enumerate() {
            let kept = (n % 3 == 0).then_some(KeepReason::Ratio);
            decisions.remember(*trace_id, kept);
        }
        let recent = &ids[ids.len() - 1000..];
        let remembered = recent
            .iter()
            .filter(|trace_id| decisions.get(**trace_id).is_some())
            .count();
        // Each of the last thousand shares its pair with fewer than two
        // newer decisions, but for a handful.
        assert!(remembered >= 980, "{remembered} of the last 1000");
        assert_eq!(decisions.slots.len(), REMEMBERED);
        // 99 000 later decisions put about twelve in each pair: one of the
        // first thousand outlives them about once in ten runs.
        let still_there = ids[..1000]
            .iter()
            .filter(|trace_id| decisions.get(**trace_id).is_some())
            .count();
        assert!(still_there <= 5, "{still_there} of the oldest 1000 remain");
    }
}
