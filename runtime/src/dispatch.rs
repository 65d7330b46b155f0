//! Which tracer provider spans go to, decided without a lock on the hot path.
//!
//! OpenTelemetry's global provider starts as a no-op, and asking it for a span
//! costs a lock, a boxed tracer and a boxed span even when nothing listens. So
//! the first traced call probes the global provider once:
//!
//! - the no-op: a [`Placeholder`] takes its place. It behaves exactly like the
//!   no-op, and a traced call costs one atomic load while it is installed.
//! - a provider somebody else installed: it is wrapped in a [`Watched`]
//!   provider that forwards everything to it, and each thread keeps one tracer
//!   per call site for it instead of asking the global slot on every call.
//! - the SDK provider `traced::init()` installs ([`install_sdk`]): watched
//!   the same way, and when its sampler follows the parent's decision, a
//!   traced call under an unsampled parent makes no span without asking it.
//!
//! The placeholder and the watched wrappers are dropped when anybody installs
//! another provider with `opentelemetry::global::set_tracer_provider`; their
//! `Drop` sends the next traced call back to the probe and invalidates every
//! thread's cached tracers, so spans always reach the provider installed last.
//!
//! The probe and the wrapper's installation are two steps: a provider
//! installed by another thread in the nanoseconds between them would be
//! replaced. Install providers before starting threads that make traced calls
//! (`traced::init()` does this for you).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use opentelemetry::global::{BoxedTracer, GlobalTracerProvider};
use opentelemetry::trace::noop::NoopTracer;
use opentelemetry::trace::{
    SpanBuilder, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, global};
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::__private::CallSite;

const UNPROBED: u8 = 0;
const NOTHING_INSTALLED: u8 = 1;
const FOREIGN: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNPROBED);
/// The provider `traced::init()` installed samples by parent: an unsampled
/// parent's children are dropped without asking it.
static PARENT_BASED: AtomicBool = AtomicBool::new(false);
/// Changes whenever the provider behind the global slot may have changed:
/// every thread's cache is stale once it does.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The provider behind the global slot, as last seen; guarded, read only when
/// a thread's cache is stale.
static INSTALLED: Mutex<Installed> = Mutex::new(Installed::Nothing);

#[derive(Clone)]
enum Installed {
    Nothing,
    Foreign(GlobalTracerProvider),
}

/// Where a traced call's span goes.
pub(crate) enum Target {
    /// Nothing records spans.
    Off,
    /// The installed provider; this call site's tracer for it.
    Foreign(Rc<BoxedTracer>),
}

/// Whether a tracer provider that can record spans is installed.
#[inline]
pub(crate) fn provider_installed() -> bool {
    match STATE.load(Ordering::Acquire) {
        NOTHING_INSTALLED => false,
        FOREIGN => true,
        _ => probe(),
    }
}

/// Whether a span under an unsampled parent is dropped whatever else is
/// known: true for the provider `traced::init()` installed with a
/// parent-based sampler.
#[inline]
pub(crate) fn unsampled_parents_drop() -> bool {
    STATE.load(Ordering::Acquire) == FOREIGN && PARENT_BASED.load(Ordering::Relaxed)
}

/// Where `site`'s span goes; one atomic load when nothing is installed.
#[inline]
pub(crate) fn target(site: &'static CallSite) -> Target {
    if !provider_installed() {
        return Target::Off;
    }
    cached_target(site)
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache {
        generation: u64::MAX,
        installed: Installed::Nothing,
        tracers: HashMap::default(),
    });
}

struct Cache {
    generation: u64,
    installed: Installed,
    tracers: HashMap<usize, Rc<BoxedTracer>, BuildHasherDefault<AddressHasher>>,
}

fn cached_target(site: &'static CallSite) -> Target {
    let generation = GENERATION.load(Ordering::Acquire);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.generation != generation {
            let installed = INSTALLED
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            cache.installed = installed;
            cache.tracers.clear();
            cache.generation = generation;
        }
        let Cache {
            installed, tracers, ..
        } = &mut *cache;
        match installed {
            Installed::Nothing => Target::Off,
            Installed::Foreign(provider) => {
                let address = std::ptr::from_ref(site) as usize;
                let tracer = tracers
                    .entry(address)
                    .or_insert_with(|| Rc::new(provider.tracer_with_scope(site.scope().clone())));
                Target::Foreign(Rc::clone(tracer))
            }
        }
    })
}

/// Hashes a call site's address: unique already, so one multiply spreads it.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8 | u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.0 = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cold]
#[inline(never)]
fn probe() -> bool {
    static PROBING: Mutex<()> = Mutex::new(());
    let _probing = PROBING.lock().unwrap_or_else(PoisonError::into_inner);
    match STATE.load(Ordering::Acquire) {
        NOTHING_INSTALLED => return false,
        FOREIGN => return true,
        _ => {}
    }
    let known = INSTALLED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let state = match known {
        Installed::Foreign(_) => FOREIGN,
        Installed::Nothing if global_provider_is_noop() => {
            global::set_tracer_provider(Placeholder { _private: () });
            NOTHING_INSTALLED
        }
        Installed::Nothing => {
            let foreign = global::tracer_provider();
            global::set_tracer_provider(Watched {
                provider: foreign.clone(),
                _watch: Watch,
            });
            *INSTALLED.lock().unwrap_or_else(PoisonError::into_inner) = Installed::Foreign(foreign);
            FOREIGN
        }
    };
    GENERATION.fetch_add(1, Ordering::AcqRel);
    STATE.store(state, Ordering::Release);
    state != NOTHING_INSTALLED
}

/// Installs `provider` as the global tracer provider, watched from the start;
/// `samples_by_parent` says its sampler follows an unsampled parent's
/// decision. Installing another provider later replaces it as usual.
pub(crate) fn install_sdk(provider: SdkTracerProvider, samples_by_parent: bool) {
    global::set_tracer_provider(provider);
    let installed = global::tracer_provider();
    global::set_tracer_provider(Watched {
        provider: installed.clone(),
        _watch: Watch,
    });
    PARENT_BASED.store(samples_by_parent, Ordering::Relaxed);
    *INSTALLED.lock().unwrap_or_else(PoisonError::into_inner) = Installed::Foreign(installed);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    STATE.store(FOREIGN, Ordering::Release);
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
struct Placeholder {
    _private: (),
}

impl TracerProvider for Placeholder {
    type Tracer = NoopTracer;

    fn tracer_with_scope(&self, _scope: InstrumentationScope) -> NoopTracer {
        NoopTracer::new()
    }
}

impl Drop for Placeholder {
    fn drop(&mut self) {
        STATE.store(UNPROBED, Ordering::Release);
    }
}

/// Forwards to a provider while it sits in the global slot; see the module docs.
#[derive(Debug)]
struct Watched<P> {
    provider: P,
    _watch: Watch,
}

impl TracerProvider for Watched<GlobalTracerProvider> {
    type Tracer = BoxedTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> BoxedTracer {
        self.provider.tracer_with_scope(scope)
    }
}

/// Dropped with the provider it watches, when that leaves the global slot.
#[derive(Debug)]
struct Watch;

impl Drop for Watch {
    fn drop(&mut self) {
        *INSTALLED.lock().unwrap_or_else(PoisonError::into_inner) = Installed::Nothing;
        PARENT_BASED.store(false, Ordering::Relaxed);
        GENERATION.fetch_add(1, Ordering::AcqRel);
        STATE.store(UNPROBED, Ordering::Release);
    }
}

/// Forget what the probe found, so the next traced call looks again. Called by
/// `traced::init()` after it installs or removes a provider.
pub(crate) fn reprobe() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    STATE.store(UNPROBED, Ordering::Release);
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler};

    use super::*;
    use crate::__private::{Kind, Parent, Span};

    static SITE: CallSite = CallSite::new("dispatched", Kind::Internal, "f", "f.rs", 1, None, None);

    fn call() {
        drop(Span::start(&SITE, Parent::Current, |_| {}, |_| {}));
    }

    fn sdk() -> (SdkTracerProvider, InMemorySpanExporter) {
        sdk_sampled_by(Sampler::AlwaysOn)
    }

    fn sdk_sampled_by(sampler: Sampler) -> (SdkTracerProvider, InMemorySpanExporter) {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .with_sampler(sampler)
            .build();
        (provider, exporter)
    }

    /// One test, because every step changes the process-wide provider.
    #[test]
    fn spans_follow_whichever_provider_was_installed_last() {
        call();
        assert_eq!(STATE.load(Ordering::Acquire), NOTHING_INSTALLED);

        let (first, first_spans) = sdk();
        global::set_tracer_provider(first.clone());
        call();
        assert_eq!(first_spans.get_finished_spans().unwrap().len(), 1);

        // Replaced directly, after this thread cached a tracer for the first.
        let (second, second_spans) = sdk();
        global::set_tracer_provider(second.clone());
        call();
        assert_eq!(first_spans.get_finished_spans().unwrap().len(), 1);
        assert_eq!(second_spans.get_finished_spans().unwrap().len(), 1);

        // Another thread sees the same provider.
        std::thread::spawn(call).join().unwrap();
        assert_eq!(second_spans.get_finished_spans().unwrap().len(), 2);

        let (initialized, initialized_spans) =
            sdk_sampled_by(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        install_sdk(initialized.clone(), true);
        assert!(unsampled_parents_drop());
        call();
        // Other instrumentation reaches it through the global slot.
        global::tracer("other").in_span("other", |_| {});
        let names: Vec<_> = initialized_spans
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .map(|span| span.name)
            .collect();
        assert_eq!(names, ["dispatched", "other"]);

        // An unsampled explicit parent: no span, but what runs beneath
        // inherits the parent's trace and decision.
        let unsampled = Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7_u128),
            SpanId::from(9_u64),
            TraceFlags::default(),
            true,
            TraceState::default(),
        ));
        let span = Span::start(&SITE, Parent::Explicit(&unsampled), |_| {}, |_| {});
        assert!(!span.recorder().is_on());
        span.in_scope(|| {
            let current = Context::current();
            assert_eq!(
                current.span().span_context().trace_id(),
                TraceId::from(7_u128)
            );
            call();
        });
        drop(span);
        assert_eq!(initialized_spans.get_finished_spans().unwrap().len(), 2);
        assert_eq!(second_spans.get_finished_spans().unwrap().len(), 2);

        // A provider installed by hand afterwards: its sampler is unknown,
        // so an unsampled parent's child is up to it.
        let (always, always_spans) = sdk_sampled_by(Sampler::AlwaysOn);
        global::set_tracer_provider(always.clone());
        {
            let _parent = unsampled.clone().attach();
            call();
        }
        assert!(!unsampled_parents_drop());
        assert_eq!(always_spans.get_finished_spans().unwrap().len(), 1);
        assert_eq!(initialized_spans.get_finished_spans().unwrap().len(), 2);

        global::set_tracer_provider(opentelemetry::trace::noop::NoopTracerProvider::new());
        call();
        assert_eq!(STATE.load(Ordering::Acquire), NOTHING_INSTALLED);
        drop((first, second, initialized, always));
    }
}
