//! Where a traced call's span goes: the native pipeline `traced::init()`
//! installed, a tracer provider somebody else installed, or nowhere. Decided
//! without a lock on the hot path.
//!
//! OpenTelemetry's global provider starts as a no-op, and asking it for a span
//! costs a lock, a boxed tracer and a boxed span even when nothing listens. So
//! the first traced call probes the global slot once, under [`transition`]:
//!
//! - the no-op: a [`MarkedNoop`] takes its place, behaving exactly like the
//!   no-op; a traced call then costs one atomic load.
//! - a provider somebody else installed: it is wrapped in a [`MarkedProvider`]
//!   provider that forwards everything to it, and each thread keeps one
//!   tracer per call site for it.
//! - `traced::init()` installs the native pipeline's provider itself
//!   ([`install_native`]), watched the same way; traced calls then go
//!   straight to the pipeline.
//!
//! Two things notice that somebody replaced what is in the global slot:
//! the wrapper's `Drop` (immediately, when the slot held its last reference),
//! and, because a `global::tracer_provider()` clone kept elsewhere keeps the
//! wrapper alive, a look at the slot every [`CALLS_PER_CHECK`] traced calls
//! of each thread: every wrapper of ours answers a marker scope with its
//! identity.
//!
//! A look holds a clone of what is in the slot for its moment, so a provider
//! installed during it cannot drop our wrapper until the look ends: while it
//! lasts, [`LOOKING`] is set in the state, and traced calls wait for the look
//! instead of going where the slot no longer points. Not with nothing
//! installed: there a call costs a few nanoseconds and each thread looks every
//! [`CALLS_PER_CHECK`] calls, so with many threads some look would nearly
//! always be under way and every call would wait; a provider installed during
//! a look there is noticed when the look ends, a moment later. (A clone other
//! code holds for a moment, say inside `global::tracer(..)` on another thread,
//! delays the notice the same way until it is dropped.)
//!
//! A provider installed by another thread in the instant between the probe's
//! look at the slot and its placeholder going in would be replaced: install
//! providers before starting threads that make traced calls (as `init()`
//! does); every other transition is made under one lock.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;

use opentelemetry::global::{BoxedTracer, GlobalTracerProvider};
use opentelemetry::trace::noop::NoopTracer;
use opentelemetry::trace::{
    SpanBuilder, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, global};

use crate::global_state::{self, ROUTING, transition};
use crate::pipeline::{self, CallSite, NativeTracerProvider, PipelineCore};

const UNPROBED: u8 = 0;
const NOTHING_INSTALLED: u8 = 1;
const FOREIGN: u8 = 2;
const NATIVE: u8 = 3;
/// Set beside the state while dispatch looks at the global slot; see the
/// module docs.
const LOOKING: u8 = 0x80;

/// The state in `ROUTING.state`; see the module docs. The rest of what
/// dispatch decides on (the generation, the destinations, its wrapper's
/// identity) lives in [`global_state`] too.
/// Traced calls of one thread between two looks at the global slot.
const CALLS_PER_CHECK: u32 = 1024;
/// The scope name wrappers of ours answer with their identity.
const MARKER_SCOPE: &str = "traced.dispatch.marker";

thread_local! {
    static CALLS_TO_CHECK: Cell<u32> = const { Cell::new(CALLS_PER_CHECK) };
    /// The identity of the last wrapper of ours asked for the marker scope.
    static MARKER_SEEN: Cell<u64> = const { Cell::new(0) };
}

/// Where a traced call's span goes.
pub(crate) enum Target {
    /// Nothing records spans.
    Off,
    /// The native pipeline.
    Native(&'static PipelineCore),
    /// A provider somebody else installed; [`foreign_tracer`] has this call
    /// site's tracer for it.
    Foreign,
}

/// Where traced calls go; one atomic load when nothing is installed.
#[inline(always)]
pub(crate) fn target() -> Target {
    match ROUTING.state.load(Ordering::Acquire) {
        NOTHING_INSTALLED => {
            // The placeholder's tracer takes no memory: looking at the slot
            // from here allocates nothing.
            if check_due() {
                return checked_target();
            }
            Target::Off
        }
        NATIVE => match global_state::native() {
            Some(shared) => Target::Native(shared),
            None => Target::Off,
        },
        FOREIGN => Target::Foreign,
        // Unprobed, or a look is under way: both wait for the transition
        // lock.
        _ => probed_target(),
    }
}

/// The span an integration builds (a request's, a message's), scope
/// `traced`, under `parent`; the context that holds it. Into the native
/// pipeline directly, without a boxed tracer or span, when that is where
/// traced calls go; otherwise through the global provider, looked up now so
/// a provider installed later is used.
pub(crate) fn start_built_span(builder: SpanBuilder, parent: &Context) -> Context {
    let scope = InstrumentationScope::builder("traced")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    match target() {
        Target::Native(shared) => {
            let span = NativeTracerProvider::new(shared)
                .tracer_with_scope(scope)
                .build_with_context(builder, parent);
            parent.with_span(span)
        }
        Target::Off | Target::Foreign => {
            let span = global::tracer_provider()
                .tracer_with_scope(scope)
                .build_with_context(builder, parent);
            parent.with_span(span)
        }
    }
}

/// The periodic look at the slot with nothing installed.
#[cold]
#[inline(never)]
fn checked_target() -> Target {
    check_slot();
    if settled_state() == UNPROBED {
        return probed_target();
    }
    Target::Off
}

#[cold]
#[inline(never)]
fn probed_target() -> Target {
    probe();
    match settled_state() {
        NATIVE => global_state::native().map_or(Target::Off, Target::Native),
        FOREIGN => Target::Foreign,
        _ => Target::Off,
    }
}

/// Counts a traced call of this thread; true every [`CALLS_PER_CHECK`]th.
#[inline]
fn check_due() -> bool {
    CALLS_TO_CHECK
        .try_with(|calls| {
            let left = calls.get().wrapping_sub(1);
            calls.set(if left == 0 { CALLS_PER_CHECK } else { left });
            left == 0
        })
        .unwrap_or(false)
}

/// Whether the foreign provider drops an unsampled parent's children without
/// being asked: true for providers whose sampler `traced` knows to be
/// parent-based.
#[inline]
pub(crate) fn foreign_drops_unsampled() -> bool {
    ROUTING.parent_based.load(Ordering::Relaxed)
}

/// `site`'s tracer for the foreign provider, when one is installed. The
/// global slot is looked at every [`CALLS_PER_CHECK`] calls here, where a
/// span is about to be made (and allocated) anyway. A clone of the one this
/// thread keeps: a traced call made while the tracer is used (by a sampler,
/// say) finds the cache free.
#[inline]
pub(crate) fn foreign_tracer(site: &'static CallSite) -> Option<Rc<BoxedTracer>> {
    if check_due() {
        check_slot();
    }
    if settled_state() != FOREIGN {
        return None;
    }
    let generation = global_state::generation();
    let cached = site.cache_slot().and_then(|slot| {
        CACHE
            .try_with(|cache| {
                let cache = cache.try_borrow().ok()?;
                match cache.tracers.get(slot) {
                    Some(Some(tracer)) if cache.generation == generation => Some(Rc::clone(tracer)),
                    _ => None,
                }
            })
            .ok()
            .flatten()
    });
    cached.or_else(|| uncached_tracer(site, generation))
}

/// The state, after the look at the slot under way (if any) has ended.
#[inline]
fn settled_state() -> u8 {
    match ROUTING.state.load(Ordering::Acquire) {
        state if state & LOOKING == 0 => state,
        _ => state_after_look(),
    }
}

#[cold]
#[inline(never)]
fn state_after_look() -> u8 {
    // Looks happen under the lock and end before it is let go.
    let _transition = transition();
    ROUTING.state.load(Ordering::Acquire)
}

/// The export thread's look at the global slot, a few times a second: a
/// provider installed over the native pipeline's, while somebody kept a clone
/// of ours, sends traced calls to the probe again.
pub(crate) fn check_native_slot() {
    if ROUTING.state.load(Ordering::Acquire) == NATIVE {
        check_slot();
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache {
            generation: u64::MAX,
            foreign: None,
            tracers: Vec::new(),
        })
    };
}

/// This thread's copy of the foreign provider, with a tracer per call site,
/// at the call site's place ([`CallSite::cache_slot`]).
struct Cache {
    generation: u64,
    foreign: Option<GlobalTracerProvider>,
    tracers: Vec<Option<Rc<BoxedTracer>>>,
}

/// `site`'s tracer on its first call on this thread, or since the provider
/// changed (`generation`): made, and kept in this thread's cache at the call
/// site's place.
#[cold]
#[inline(never)]
fn uncached_tracer(site: &'static CallSite, generation: u64) -> Option<Rc<BoxedTracer>> {
    let slot = site
        .cache_slot()
        .unwrap_or_else(|| site.claim_cache_slot(global_state::next_site_slot()));
    let mut stale = None;
    let tracer = CACHE
        .try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                // A traced call made while this thread refreshes its cache.
                return tracer_of(global_state::destinations().foreign.as_ref()?, site);
            };
            if cache.generation != generation {
                let foreign = global_state::destinations().foreign;
                // What the cache held is dropped below, after the borrow
                // ends: a provider's drop may run code that traces.
                stale = Some((
                    std::mem::replace(&mut cache.foreign, foreign),
                    std::mem::take(&mut cache.tracers),
                ));
                cache.generation = generation;
            }
            let tracer = tracer_of(cache.foreign.as_ref()?, site)?;
            if cache.tracers.len() <= slot {
                cache.tracers.resize(slot + 1, None);
            }
            cache.tracers[slot] = Some(Rc::clone(&tracer));
            Some(tracer)
        })
        // This thread's locals are being torn down.
        .unwrap_or_else(|_| tracer_of(global_state::destinations().foreign.as_ref()?, site));
    drop(stale);
    tracer
}

fn tracer_of(provider: &GlobalTracerProvider, site: &'static CallSite) -> Option<Rc<BoxedTracer>> {
    Some(Rc::new(provider.tracer_with_scope(site.scope().clone())))
}

#[cold]
#[inline(never)]
fn probe() -> bool {
    let _transition = transition();
    match ROUTING.state.load(Ordering::Acquire) {
        UNPROBED => {}
        state => return state != NOTHING_INSTALLED,
    }
    let state = if global_provider_is_noop() {
        let id = next_wrapper_id();
        global::set_tracer_provider(MarkedNoop { id });
        ROUTING.wrapper_id.store(id, Ordering::Release);
        NOTHING_INSTALLED
    } else {
        watch_foreign(global::tracer_provider(), false);
        FOREIGN
    };
    global_state::next_generation();
    ROUTING.state.store(state, Ordering::Release);
    state != NOTHING_INSTALLED
}

fn next_wrapper_id() -> u64 {
    ROUTING.next_wrapper_id.fetch_add(1, Ordering::Relaxed)
}

/// Puts `provider` in the global slot behind a watched wrapper; under
/// [`transition`].
fn watch_foreign(provider: GlobalTracerProvider, parent_based: bool) {
    let id = next_wrapper_id();
    global::set_tracer_provider(MarkedProvider {
        provider: provider.clone(),
        id,
    });
    ROUTING.wrapper_id.store(id, Ordering::Release);
    ROUTING.parent_based.store(parent_based, Ordering::Relaxed);
    global_state::set_destinations(|destinations| destinations.foreign = Some(provider));
}

/// Makes the native pipeline `shared` the target of traced calls and its
/// provider the global one.
pub(crate) fn install_native(shared: &'static PipelineCore) {
    let _transition = transition();
    let id = next_wrapper_id();
    global::set_tracer_provider(MarkedProvider {
        provider: NativeTracerProvider::new(shared),
        id,
    });
    ROUTING.wrapper_id.store(id, Ordering::Release);
    ROUTING.parent_based.store(false, Ordering::Relaxed);
    global_state::set_destinations(|destinations| {
        destinations.foreign = None;
        destinations.native = Some(shared);
    });
    ROUTING.state.store(NATIVE, Ordering::Release);
}

/// Whether traced calls and the global slot go to the native pipeline
/// `shared`.
#[cfg(feature = "testing")]
pub(crate) fn native_installed(shared: &'static PipelineCore) -> bool {
    let _transition = transition();
    ROUTING.state.load(Ordering::Acquire) == NATIVE
        && global_state::native().is_some_and(|native| std::ptr::eq(native, shared))
        && slot_holds(ROUTING.wrapper_id.load(Ordering::Acquire))
}

/// Takes the native pipeline `shared` away from traced calls and, if it is
/// still there, out of the global slot, putting `replacement` (a provider
/// that records nothing) in its place: a provider the application installed
/// after `init()` stays.
pub(crate) fn uninstall_native<P>(shared: &'static PipelineCore, replacement: P)
where
    P: TracerProvider<Tracer = NoopTracer> + Send + Sync + 'static,
{
    let _transition = transition();
    if ROUTING.state.load(Ordering::Acquire) == NATIVE
        && slot_holds(ROUTING.wrapper_id.load(Ordering::Acquire))
    {
        global::set_tracer_provider(replacement);
    }
    global_state::set_destinations(|destinations| {
        if destinations
            .native
            .is_some_and(|native| std::ptr::eq(native, shared))
        {
            destinations.native = None;
        }
    });
    forget();
}

/// Forget what the probe found, so the next traced call looks again.
pub(crate) fn reprobe() {
    let _transition = transition();
    forget();
}

fn forget() {
    ROUTING.parent_based.store(false, Ordering::Relaxed);
    global_state::next_generation();
    ROUTING.state.store(UNPROBED, Ordering::Release);
}

/// Whether the global slot still holds the wrapper of ours with `id`; under
/// [`transition`].
fn slot_holds(id: u64) -> bool {
    let _looking = Looking::start();
    let _ = MARKER_SEEN.try_with(|seen| seen.set(0));
    let _tracer = global::tracer_provider()
        .tracer_with_scope(InstrumentationScope::builder(MARKER_SCOPE).build());
    MARKER_SEEN.try_with(Cell::get).unwrap_or(0) == id
}

/// [`LOOKING`] set in the state from before the look takes its clone of the
/// slot until after the clone is gone (whatever the provider asked does),
/// unless nothing is installed (see the module docs); under [`transition`].
struct Looking {
    flagged: bool,
}

impl Looking {
    fn start() -> Self {
        let flagged = ROUTING.state.load(Ordering::Acquire) != NOTHING_INSTALLED;
        if flagged {
            ROUTING.state.fetch_or(LOOKING, Ordering::AcqRel);
        }
        Looking { flagged }
    }
}

impl Drop for Looking {
    fn drop(&mut self) {
        // A wrapper of ours dropped during the look has already stored
        // `UNPROBED` (the bit with it): clearing it again changes nothing.
        if self.flagged {
            ROUTING.state.fetch_and(!LOOKING, Ordering::AcqRel);
        }
    }
}

/// The periodic look at the global slot: somebody replaced our wrapper while
/// a clone of it was kept alive elsewhere.
#[cold]
#[inline(never)]
fn check_slot() {
    if ROUTING.state.load(Ordering::Acquire) == UNPROBED {
        return;
    }
    let _transition = transition();
    if ROUTING.state.load(Ordering::Acquire) != UNPROBED
        && !slot_holds(ROUTING.wrapper_id.load(Ordering::Acquire))
    {
        forget();
    }
}

/// Whether `scope` is the one dispatch asks the global slot for when it
/// checks what is installed, not a span about to start.
pub(crate) fn is_marker(scope: &InstrumentationScope) -> bool {
    scope.name() == MARKER_SCOPE
}

/// Answers the marker scope with `id`; see [`slot_holds`].
fn answers_marker(scope: &InstrumentationScope, id: u64) -> bool {
    if scope.name() == MARKER_SCOPE {
        let _ = MARKER_SEEN.try_with(|seen| seen.set(id));
        true
    } else {
        false
    }
}

/// A no-op tracer hands the parent's span context back unchanged; an SDK
/// tracer asked for a span under suppressed telemetry returns an empty one and
/// records nothing. A remote parent tells the two apart without exporting.
fn global_provider_is_noop() -> bool {
    let marker = SpanContext::new(
        TraceId::from(0x7472_6163_6564_u128),
        SpanId::from(0x0070_726f_6265_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let parent = Context::new()
        .with_remote_span_context(marker.clone())
        .with_telemetry_suppressed();
    let tracer = global::tracer_provider()
        .tracer_with_scope(InstrumentationScope::builder("traced.probe").build());
    let span = tracer.build_with_context(SpanBuilder::from_name(Cow::Borrowed("probe")), &parent);
    opentelemetry::trace::Span::span_context(&span) == &marker
}

/// Stands in for the default no-op provider; see the module docs.
#[derive(Debug)]
struct MarkedNoop {
    id: u64,
}

impl TracerProvider for MarkedNoop {
    type Tracer = NoopTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> NoopTracer {
        answers_marker(&scope, self.id);
        NoopTracer::new()
    }
}

impl Drop for MarkedNoop {
    fn drop(&mut self) {
        if ROUTING.wrapper_id.load(Ordering::Acquire) == self.id {
            global_state::next_generation();
            ROUTING.state.store(UNPROBED, Ordering::Release);
        }
    }
}

/// Forwards to a provider while it sits in the global slot; see the module docs.
#[derive(Debug)]
struct MarkedProvider<P> {
    provider: P,
    id: u64,
}

impl TracerProvider for MarkedProvider<GlobalTracerProvider> {
    type Tracer = BoxedTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> BoxedTracer {
        if answers_marker(&scope, self.id) {
            return BoxedTracer::new(Box::new(NoopTracer::new()));
        }
        self.provider.tracer_with_scope(scope)
    }
}

impl TracerProvider for MarkedProvider<NativeTracerProvider> {
    type Tracer = pipeline::NativeTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> pipeline::NativeTracer {
        answers_marker(&scope, self.id);
        self.provider.tracer_with_scope(scope)
    }
}

impl<P> Drop for MarkedProvider<P> {
    fn drop(&mut self) {
        // Only the wrapper traced believes is installed may send traced calls
        // back to the probe; an older one going away changes nothing.
        if ROUTING.wrapper_id.load(Ordering::Acquire) == self.id {
            global_state::set_destinations(|destinations| destinations.foreign = None);
            forget();
        }
    }
}
