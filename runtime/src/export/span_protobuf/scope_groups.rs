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
                let default;
                let wanted = match scope {
                    Some(scope) => scope,
                    None => {
                        default = InstrumentationScope::default();
                        &default
                    }
                };
                let found = match live.get(self.last) {
                    Some(last) if same_scope(&last.scope, wanted) => Some(self.last),
                    _ => live
                        .iter()
                        .position(|group| same_scope(&group.scope, wanted)),
                };
                let index = match found {
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

/// Whether two scopes are equal, most often told without reading their
/// text: a scope made from the same static strings as another.
fn same_scope(a: &InstrumentationScope, b: &InstrumentationScope) -> bool {
    fn same_text(a: Option<&str>, b: Option<&str>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
    let same_strings = same_text(Some(a.name()), Some(b.name()))
        && same_text(a.version(), b.version())
        && same_text(a.schema_url(), b.schema_url())
        && a.attributes().next().is_none()
        && b.attributes().next().is_none();
    same_strings || a == b
}

#[cfg(test)]
mod tests {
    use opentelemetry::{InstrumentationScope, KeyValue};

    use super::same_scope;

    #[test]
    fn scopes_are_told_apart_by_their_contents_not_where_their_text_lives() {
        let scope = |name: &str, version: &str| {
            InstrumentationScope::builder(name.to_owned())
                .with_version(version.to_owned())
                .build()
        };
        let static_scope = InstrumentationScope::builder("shop")
            .with_version("1.0")
            .build();
        assert!(same_scope(&static_scope, &static_scope.clone()));
        assert!(same_scope(&static_scope, &scope("shop", "1.0")));
        assert!(!same_scope(&static_scope, &scope("shop", "1.1")));
        assert!(!same_scope(&static_scope, &scope("shoe", "1.0")));
        let with_attributes = InstrumentationScope::builder("shop")
            .with_version("1.0")
            .with_attributes([KeyValue::new("tier", "gold")])
            .build();
        assert!(!same_scope(&static_scope, &with_attributes));
        assert!(same_scope(&with_attributes, &with_attributes.clone()));
    }
}
