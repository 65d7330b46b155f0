//! Exemplars of one histogram series: at most one per bucket, chosen
//! uniformly among the spans offered to that bucket since the previous
//! collection (the specification's aligned-histogram-bucket reservoir).
//! Only spans of traces that are exported are offered, so every exemplar
//! opens a trace the backend has.

use std::time::SystemTime;

use opentelemetry::trace::{SpanId, TraceId};

use super::snapshot::Exemplar;

/// A small, fast generator for the reservoir's choices (wyrand).
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// A number below `bound` (1 or more).
    #[inline]
    fn below(&mut self, bound: u32) -> u32 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        let random = ((t >> 64) as u64 ^ t as u64) as u32;
        ((u64::from(random) * u64::from(bound)) >> 32) as u32
    }
}

/// A span that may become an exemplar; its end time is read only if it
/// does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    pub(crate) nanos: u64,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
}

#[derive(Debug, Default)]
struct Slot {
    offered: u32,
    chosen: Option<Exemplar>,
}

/// The reservoir of one series; nothing is allocated until a span is
/// offered.
#[derive(Debug, Default)]
pub(crate) struct Exemplars {
    slots: Option<Box<[Slot]>>,
}

impl Exemplars {
    /// Offers `candidate`, which fell in `bucket` of `buckets`.
    #[inline]
    pub(crate) fn offer(
        &mut self,
        bucket: usize,
        buckets: usize,
        candidate: Candidate,
        rng: &mut Rng,
        end: impl FnOnce() -> SystemTime,
    ) {
        let slots = self
            .slots
            .get_or_insert_with(|| (0..buckets).map(|_| Slot::default()).collect());
        let slot = &mut slots[bucket];
        slot.offered = slot.offered.saturating_add(1);
        if slot.offered == 1 || rng.below(slot.offered) == 0 {
            slot.chosen = Some(Exemplar {
                time: end(),
                value: candidate.nanos as f64 / 1e9,
                trace_id: candidate.trace_id,
                span_id: candidate.span_id,
            });
        }
    }

    /// The exemplars chosen since the previous collection, by bucket; the
    /// reservoir starts over.
    pub(crate) fn take(&mut self) -> Vec<Exemplar> {
        let Some(slots) = &mut self.slots else {
            return Vec::new();
        };
        slots
            .iter_mut()
            .filter_map(|slot| {
                slot.offered = 0;
                slot.chosen.take()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(n: u64) -> Candidate {
        Candidate {
            nanos: n,
            trace_id: TraceId::from(u128::from(n)),
            span_id: SpanId::from(n),
        }
    }

    #[test]
    fn one_per_bucket_chosen_uniformly_and_cleared_by_a_collection() {
        let mut rng = Rng::new(7);
        let mut chosen = [0_u32; 10];
        for _ in 0..10_000 {
            let mut exemplars = Exemplars::default();
            for n in 0..10 {
                exemplars.offer(0, 2, candidate(n), &mut rng, || SystemTime::UNIX_EPOCH);
            }
            let taken = exemplars.take();
            assert_eq!(taken.len(), 1);
            chosen[taken[0].span_id.to_bytes()[7] as usize] += 1;
            assert!(exemplars.take().is_empty());
        }
        // Each of the ten is chosen about a thousand times.
        assert!(chosen.iter().all(|n| (800..1200).contains(n)), "{chosen:?}");
    }

    #[test]
    fn each_bucket_has_its_own() {
        let mut rng = Rng::new(1);
        let mut exemplars = Exemplars::default();
        exemplars.offer(0, 3, candidate(1), &mut rng, || SystemTime::UNIX_EPOCH);
        exemplars.offer(2, 3, candidate(2_000_000_000), &mut rng, || {
            SystemTime::UNIX_EPOCH
        });
        let taken = exemplars.take();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[1].value, 2.0);
    }
}
