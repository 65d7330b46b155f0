//! The decisions of recent traces, so that a span ending after its trace was
//! decided follows the decision. Bounded: the oldest are forgotten first.

use std::collections::{HashMap, VecDeque};

use opentelemetry::trace::TraceId;

use super::policy::Reason;

/// Decisions remembered at most: about 3 MiB.
pub(super) const REMEMBERED: usize = 65_536;

#[derive(Debug)]
pub(super) struct Decisions {
    /// Why each trace was kept; `None`: dropped.
    kept: HashMap<TraceId, Option<Reason>>,
    order: VecDeque<TraceId>,
    capacity: usize,
}

impl Decisions {
    pub(super) fn new(capacity: usize) -> Self {
        Decisions {
            kept: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// The decision on `trace_id`, if it is remembered.
    pub(super) fn get(&self, trace_id: TraceId) -> Option<Option<Reason>> {
        self.kept.get(&trace_id).copied()
    }

    pub(super) fn remember(&mut self, trace_id: TraceId, kept: Option<Reason>) {
        if self.kept.insert(trace_id, kept).is_some() {
            return;
        }
        self.order.push_back(trace_id);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.kept.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_decisions_are_forgotten_first() {
        let mut decisions = Decisions::new(2);
        let [a, b, c] = [1_u128, 2, 3].map(TraceId::from);
        decisions.remember(a, Some(Reason::Error));
        decisions.remember(b, None);
        decisions.remember(a, Some(Reason::Error));
        assert_eq!(decisions.get(a), Some(Some(Reason::Error)));
        assert_eq!(decisions.get(b), Some(None));
        decisions.remember(c, Some(Reason::Slow));
        assert_eq!(decisions.get(a), None);
        assert_eq!(decisions.get(b), Some(None));
        assert_eq!(decisions.get(c), Some(Some(Reason::Slow)));
        assert_eq!(decisions.kept.len(), 2);
    }
}
