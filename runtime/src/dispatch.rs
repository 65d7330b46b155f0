//! Which tracer provider spans go to, decided without a lock on the hot path.
//!
//! OpenTelemetry's global provider starts as a no-op, and asking it for a span
//! costs a lock, a boxed tracer and a boxed span even when nothing listens. So
//! the first traced call probes the global provider once. If it is the no-op, a
//! [`Placeholder`] provider takes its place; the placeholder behaves exactly
//! like the no-op, and its `Drop` (run when anybody installs a real provider with
//! `opentelemetry::global::set_tracer_provider`) sends the next call back to the
//! probe. While the placeholder is installed a traced call costs one atomic load.
//!
//! The probe and the placeholder's installation are two steps: a provider
//! installed by another thread in the nanoseconds between them would be
//! replaced. Install providers before starting threads that make traced calls
//! (`traced::init()` does this for you).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};

use opentelemetry::trace::noop::NoopTracer;
use opentelemetry::trace::{
    SpanBuilder, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, global};

const UNPROBED: u8 = 0;
const NOTHING_INSTALLED: u8 = 1;
const INSTALLED: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNPROBED);

/// Whether a tracer provider that can record spans is installed.
#[inline]
pub(crate) fn provider_installed() -> bool {
    match STATE.load(Ordering::Acquire) {
        NOTHING_INSTALLED => false,
        INSTALLED => true,
        _ => probe(),
    }
}

#[cold]
#[inline(never)]
fn probe() -> bool {
    static PROBING: Mutex<()> = Mutex::new(());
    let _probing = PROBING.lock().unwrap_or_else(PoisonError::into_inner);
    match STATE.load(Ordering::Acquire) {
        NOTHING_INSTALLED => return false,
        INSTALLED => return true,
        _ => {}
    }
    if global_provider_is_noop() {
        global::set_tracer_provider(Placeholder { _private: () });
        STATE.store(NOTHING_INSTALLED, Ordering::Release);
        false
    } else {
        STATE.store(INSTALLED, Ordering::Release);
        true
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

/// Forget what the probe found, so the next traced call looks again. Called by
/// `traced::init()` after it installs or removes a provider.
pub(crate) fn reprobe() {
    STATE.store(UNPROBED, Ordering::Release);
}
