//! A call site's spans all start alike: their name and kind, their `code.*`
//! and leading literal attributes, encoded once per site and copied into
//! each span.

use super::{kind, put_key_value, put_string, put_varint_field};
use crate::pipeline::{CallSite, Cut, leading_attributes};

/// What every span of a call site starts alike, encoded once per site: its
/// name and kind (`Span` fields 5 and 6) and its leading attributes
/// (`code.*` and the leading literal ones), in a few slots where sites
/// that meet take turns.
#[derive(Debug, Default)]
pub(super) struct SiteCache {
    slots: Vec<SiteBytes>,
}

/// Slots of the site cache, a power of two.
const SITE_SLOTS: usize = 64;

#[derive(Debug, Default)]
pub(super) struct SiteBytes {
    /// The call site's address; 0 for an empty slot.
    site: usize,
    cut: Cut,
    pub(super) name_and_kind: Vec<u8>,
    pub(super) leading: Vec<u8>,
    /// How many attributes `leading` holds.
    pub(super) count: usize,
}

impl SiteCache {
    pub(super) fn get(&mut self, site: &'static CallSite, cut: Cut) -> &SiteBytes {
        if self.slots.is_empty() {
            self.slots.resize_with(SITE_SLOTS, SiteBytes::default);
        }
        let address = std::ptr::from_ref(site) as usize;
        let slot = ((address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
        let bytes = &mut self.slots[slot % SITE_SLOTS];
        if bytes.site != address || bytes.cut != cut {
            bytes.site = address;
            bytes.cut = cut;
            bytes.name_and_kind.clear();
            put_string(&mut bytes.name_and_kind, 5, site.name);
            put_varint_field(&mut bytes.name_and_kind, 6, kind(&site.kind.to_otel()));
            bytes.leading.clear();
            let leading = &mut bytes.leading;
            bytes.count = leading_attributes(site, cut, |key, value| {
                put_key_value(leading, 9, key, value);
            });
        }
        bytes
    }
}
