//! Each `tracing` callsite's static data as a [`CallSite`], the way a
//! `#[traced]` function has one: name, `code.*` location and scope are
//! referenced by every record, never copied per span. Made once per callsite
//! for the process (`global_state` keeps them); each thread looks them up in
//! its own cache by the address of the callsite's metadata.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use tracing::Metadata;

use crate::global_state;
use crate::pipeline::{AddressHasher, CallSite};

/// A callsite's data and what its spans need looked at before they start.
#[derive(Clone, Copy, Debug)]
pub(super) struct Site {
    pub(super) site: &'static CallSite,
    /// Its fields include `otel.name` or `otel.kind`, which shape the span
    /// before the sampler sees it.
    pub(super) shaped: bool,
}

thread_local! {
    static SITES: RefCell<HashMap<usize, Site, BuildHasherDefault<AddressHasher>>> =
        RefCell::new(HashMap::default());
}

/// The data of `metadata`'s callsite.
#[inline]
pub(super) fn site_of(metadata: &'static Metadata<'static>) -> Site {
    let address = std::ptr::from_ref(metadata) as usize;
    SITES
        .try_with(|sites| {
            if let Some(site) = sites.borrow().get(&address) {
                return *site;
            }
            let site = make(metadata);
            sites.borrow_mut().insert(address, site);
            site
        })
        .unwrap_or_else(|_| make(metadata))
}

#[cold]
fn make(metadata: &'static Metadata<'static>) -> Site {
    let address = std::ptr::from_ref(metadata) as usize;
    let site = global_state::library_site(address, || {
        let target = metadata.target();
        let crate_name = target.split("::").next().unwrap_or(target);
        CallSite::library(
            metadata.name(),
            metadata.file(),
            metadata.line(),
            metadata.module_path(),
            crate_name,
        )
    });
    let fields = metadata.fields();
    Site {
        site,
        shaped: fields.field("otel.name").is_some() || fields.field("otel.kind").is_some(),
    }
}
