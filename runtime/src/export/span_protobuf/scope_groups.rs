//! The spans of a batch by instrumentation scope, each scope's spans
//! encoded into a buffer of its own, scopes in the order their first span
//! came; the buffers serve batch after batch.

use opentelemetry::InstrumentationScope;

/// The largest buffer a group keeps for the next batch.
const LARGEST_KEPT: usize = 1 << 20;

/// The batch's spans by instrumentation scope, scopes in the order their
/// first span came.
#[derive(Debug, Default)]
pub(super) struct ScopeGroups {
    /// Those past `used` are buffers kept from earlier batches.
    groups: Vec<ScopeGroup>,
    used: usize,
    /// The group the last span went to.
    last: usize,
}

/// The encoded spans of one instrumentation scope.
#[derive(Debug, Default)]
pub(super) struct ScopeGroup {
    pub(super) scope: InstrumentationScope,
    /// The addresses of the call sites' scopes its spans had: most spans
    /// are placed without comparing scopes.
    seen_at: Vec<usize>,
    /// Each span as a `ScopeSpans.spans` field: tag, length, message.
    pub(super) spans: Vec<u8>,
}

impl ScopeGroups {
    pub(super) fn live(&self) -> &[ScopeGroup] {
        &self.groups[..self.used]
    }

    /// The buffer of `scope`'s spans (`None`: the default scope), a new
    /// group when the batch has none yet; `address` (unless 0) names the
    /// scope for good.
    pub(super) fn group_of(
        &mut self,
        scope: Option<&InstrumentationScope>,
        address: usize,
    ) -> &mut Vec<u8> {
        let live = &self.groups[..self.used];
        let known = |group: &ScopeGroup| group.seen_at.contains(&address);
        let found = if address == 0 {
            None
        } else if live.get(self.last).is_some_and(known) {
            Some(self.last)
        } else {
            live.iter().position(known)
        };
        let index = match found {
            Some(index) => index,
            None => {
                let default = InstrumentationScope::default();
                let wanted = scope.unwrap_or(&default);
                let index = match live.iter().position(|group| group.scope == *wanted) {
                    Some(index) => index,
                    None => {
                        if self.used == self.groups.len() {
                            self.groups.push(ScopeGroup::default());
                        }
                        let group = &mut self.groups[self.used];
                        group.scope = wanted.clone();
                        self.used += 1;
                        self.used - 1
                    }
                };
                if address != 0 {
                    self.groups[index].seen_at.push(address);
                }
                index
            }
        };
        self.last = index;
        &mut self.groups[index].spans
    }

    /// Empties every group, keeping the buffers (not one that a batch of
    /// huge spans made large).
    pub(super) fn clear(&mut self) {
        for group in &mut self.groups[..self.used] {
            if group.spans.capacity() > LARGEST_KEPT {
                group.spans = Vec::new();
            }
            group.spans.clear();
            group.seen_at.clear();
        }
        self.used = 0;
        self.last = 0;
    }
}
