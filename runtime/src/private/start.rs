//! Starting the span of a traced call: [`Span::start`] for a call that
//! records nothing of its own; for one that records links or attributes,
//! three steps: [`Span::begin`] decides (one look at the context), the call
//! records what it has (only when the span records, outside any borrow of
//! the context, as it may call traced functions), [`Start::finish`] starts
//! the span with it.

use super::foreign::{self, Built, Pending};
use super::span::Span;
use crate::dispatch::{self, Target};
use crate::pipeline::{self, Attributes, Begun, CallSite, Links, Parent, PipelineCore, Plan};

/// A span being started: its links and attributes are recorded between
/// [`Span::begin`] and [`Start::finish`], and only when it records.
#[derive(Debug)]
pub struct Start<'a> {
    site: &'static CallSite,
    parent: Parent<'a>,
    state: Starting,
}

#[derive(Debug)]
enum Starting {
    /// Nothing more to record: the span (or its absence) as it will be.
    Settled(Span),
    /// A recording native span.
    Native {
        shared: &'static PipelineCore,
        plan: Plan,
        links: Links,
        attributes: Attributes,
    },
    /// A span of another provider, built once its links are known.
    Pending(Pending),
    /// A span of another provider, built.
    Built(Built),
}

impl Span {
    /// Starts the span of `site`, for a call that records no link and no
    /// attribute of its own. With nothing installed, one atomic load.
    #[inline]
    pub fn start(site: &'static CallSite, parent: Parent<'_>) -> Span {
        match dispatch::target() {
            Target::Off => Span::without_span(parent),
            Target::Native(shared) => Span::start_native(shared, site, parent),
            Target::Foreign => foreign::start(site, parent),
        }
    }

    #[inline(never)]
    fn start_native(
        shared: &'static PipelineCore,
        site: &'static CallSite,
        parent: Parent<'_>,
    ) -> Span {
        Span::native(pipeline::start(shared, site, parent), parent)
    }

    /// Begins the span of `site` for a call that records attributes: what
    /// the parent decides, with one look at the context. The call then
    /// records them, if its span records, and [`Start::finish`] starts it.
    #[inline]
    pub fn begin<'a>(site: &'static CallSite, parent: Parent<'a>) -> Start<'a> {
        Start::new(site, parent, false)
    }

    /// The same for a call that records links (and maybe attributes),
    /// through [`Start::links`] first.
    #[inline]
    pub fn begin_linked<'a>(site: &'static CallSite, parent: Parent<'a>) -> Start<'a> {
        Start::new(site, parent, true)
    }
}

impl<'a> Start<'a> {
    #[inline]
    fn new(site: &'static CallSite, parent: Parent<'a>, linked: bool) -> Start<'a> {
        match dispatch::target() {
            Target::Off => Start {
                site,
                parent,
                state: Starting::Settled(Span::without_span(parent)),
            },
            target => Start::on(target, site, parent, linked),
        }
    }

    /// Where a start of `site` under `parent` stands, once `target` is
    /// known (built where the caller keeps it).
    #[inline(never)]
    fn on(target: Target, site: &'static CallSite, parent: Parent<'a>, linked: bool) -> Start<'a> {
        Start {
            site,
            parent,
            state: Starting::on(target, site, parent, linked),
        }
    }

    /// Where the span's links go, when it has a chance to record.
    #[inline]
    pub fn links(&mut self) -> Option<&mut Links> {
        match &mut self.state {
            Starting::Native { links, .. } => Some(links),
            Starting::Pending(pending) => Some(&mut pending.links),
            Starting::Settled(_) | Starting::Built(_) => None,
        }
    }

    /// Where the call's attributes go, when the span records.
    #[inline]
    pub fn attributes(&mut self) -> Option<&mut Attributes> {
        match self.state {
            Starting::Settled(_) => None,
            Starting::Pending(_) => self.build_pending(),
            Starting::Native { .. } | Starting::Built(_) => self.recorded(),
        }
    }

    #[inline]
    fn recorded(&mut self) -> Option<&mut Attributes> {
        match &mut self.state {
            Starting::Native { attributes, .. } => Some(attributes),
            Starting::Built(built) => built.attributes(),
            Starting::Settled(_) | Starting::Pending(_) => None,
        }
    }

    /// Builds a span of another provider, once its links are known.
    #[inline(never)]
    fn build_pending(&mut self) -> Option<&mut Attributes> {
        if let Starting::Pending(pending) =
            std::mem::replace(&mut self.state, Starting::Settled(Span::off()))
        {
            self.state = Starting::Built(pending.build(self.site, self.parent));
        }
        self.recorded()
    }

    /// Starts the span, with what the call recorded.
    #[inline(never)]
    pub fn finish(self) -> Span {
        match self.state {
            Starting::Settled(span) => span,
            Starting::Native {
                shared,
                plan,
                links,
                attributes,
            } => Span::native(
                pipeline::finish(shared, self.site, self.parent, plan, links, attributes),
                self.parent,
            ),
            Starting::Pending(pending) => pending.build(self.site, self.parent).into_span(),
            Starting::Built(built) => built.into_span(),
        }
    }
}

impl Starting {
    #[inline(always)]
    fn on(target: Target, site: &'static CallSite, parent: Parent<'_>, linked: bool) -> Starting {
        match target {
            Target::Off => Starting::Settled(Span::without_span(parent)),
            Target::Native(shared) => match pipeline::begin(shared, site, parent) {
                Begun::Done(started) => Starting::Settled(Span::native(started, parent)),
                Begun::Recording(plan) => Starting::Native {
                    shared,
                    plan,
                    links: Links::default(),
                    attributes: Attributes::native(shared),
                },
            },
            Target::Foreign => match foreign::begin(site, parent, linked) {
                foreign::Begun::Built(built) => Starting::Built(built),
                foreign::Begun::Pending(pending) => Starting::Pending(pending),
                foreign::Begun::Settled(span) => Starting::Settled(span),
            },
        }
    }
}
