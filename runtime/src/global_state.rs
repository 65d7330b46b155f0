//! Process-wide state, all of it here: what `traced::init()` installed, where
//! traced calls' spans go, what `inject`/`extract` and the log bridges use
//! while it is installed, the library-span filter and the call sites of
//! `tracing` callsites, and the hooks traced puts into the process once
//! (signal handlers, panic hook, log bridges). No other module keeps state
//! for the whole process; per-thread caches compare their copy against
//! [`generation`], which moves whenever where spans go may have changed.
//!
//! The pipeline below keeps only the clock it reads, which is a fact of the
//! machine rather than of what is installed.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use opentelemetry::global::GlobalTracerProvider;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::logs::SdkLoggerProvider;

#[cfg(feature = "tracing")]
use crate::pipeline::CallSite;
use crate::pipeline::PipelineCore;
use crate::sync::{MutexExt, RwLockExt};

// ---------------------------------------------------------------------------
// What `traced::init()` set up.

/// A running set-up of `traced::init()`, as the parts of the process that
/// do not know its type (the signal thread) may ask of it.
pub(crate) trait Installation: Any + Send + Sync {
    /// SIGTERM or SIGINT arrived; `ending`: nobody else handles it, and the
    /// process ends next.
    fn on_termination_signal(&self, ending: bool);

    /// Whether it was set up by the parent of this forked process: its
    /// threads are not in this process.
    fn inherited(&self) -> bool;
}

static SETUP: Mutex<Option<Arc<dyn Installation>>> = Mutex::new(None);

/// The running set-up, as its own type.
pub(crate) fn setup<T: Installation>() -> Option<Arc<T>> {
    let setup: Arc<dyn Any + Send + Sync> = SETUP.locked().clone()?;
    setup.downcast().ok()
}

/// The running set-up, whatever its type.
pub(crate) fn any_setup() -> Option<Arc<dyn Installation>> {
    SETUP.locked().clone()
}

/// Makes what `make` builds the running set-up, unless one runs already
/// (then `already`); `make` runs under the slot's lock, so two `init()`s
/// never both build. A set-up inherited from the parent of a forked child
/// does not run here: it gives way.
pub(crate) fn install_setup<T: Installation, E>(
    already: E,
    make: impl FnOnce() -> Result<Arc<T>, E>,
) -> Result<Arc<T>, E> {
    let mut slot = SETUP.locked();
    if let Some(current) = slot.as_ref() {
        if !current.inherited() {
            return Err(already);
        }
        forget_inherited(slot.take());
    }
    let setup = make()?;
    *slot = Some(Arc::clone(&setup) as Arc<dyn Installation>);
    Ok(setup)
}

/// Frees the slot for the next `init()` if it still holds `setup`.
pub(crate) fn remove_setup<T: Installation>(setup: &T) {
    let mut slot = SETUP.locked();
    if slot
        .as_ref()
        .is_some_and(|current| std::ptr::addr_eq(Arc::as_ptr(current), setup))
    {
        let removed = slot.take();
        if setup.inherited() {
            forget_inherited(removed);
        }
    }
}

/// A forked child's copy of its parent's set-up is never dropped: taking it
/// down would wait for threads that are not in this process.
fn forget_inherited(setup: Option<Arc<dyn Installation>>) {
    std::mem::forget(setup);
}

/// Whether the first span started after the guard was dropped has been
/// reported.
static GUARD_DROPPED_WARNED: AtomicBool = AtomicBool::new(false);

/// Whether the span started after the guard was dropped is the first; marks
/// it reported.
pub(crate) fn first_span_after_guard() -> bool {
    !GUARD_DROPPED_WARNED.swap(true, Ordering::AcqRel)
}

/// Reports again from the next guard on (`false`), or never again (`true`:
/// the process is ending).
pub(crate) fn set_guard_dropped_reported(reported: bool) {
    GUARD_DROPPED_WARNED.store(reported, Ordering::Release);
}

// ---------------------------------------------------------------------------
// Where traced calls' spans go. `dispatch` decides; the state it decides on
// lives here.

/// Moves whenever where spans go may have changed.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// The state of where spans go, as of [`generation`].
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Every per-thread copy of where spans go is stale from now on.
pub(crate) fn next_generation() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The two destinations of traced calls besides nothing.
#[derive(Clone, Default)]
pub(crate) struct Destinations {
    /// The native pipeline `traced::init()` (or `traced::testing`) installed.
    pub(crate) native: Option<&'static PipelineCore>,
    /// A tracer provider somebody else put in the global slot, as last seen.
    pub(crate) foreign: Option<GlobalTracerProvider>,
}

static DESTINATIONS: Mutex<Destinations> = Mutex::new(Destinations {
    native: None,
    foreign: None,
});

/// Where spans go; per-thread copies are kept by the generation.
pub(crate) fn destinations() -> Destinations {
    DESTINATIONS.locked().clone()
}

/// Changes where spans go, and moves the generation. What is replaced is
/// dropped after the lock is let go: a provider's drop may run any code.
pub(crate) fn set_destinations(change: impl FnOnce(&mut Destinations)) {
    let replaced = {
        let mut destinations = DESTINATIONS.locked();
        let replaced = destinations.clone();
        change(&mut destinations);
        replaced
    };
    next_generation();
    drop(replaced);
}

thread_local! {
    /// The native pipeline as this thread last saw it, with its generation.
    static NATIVE_SEEN: Cell<(u64, Option<&'static PipelineCore>)> = const { Cell::new((0, None)) };
}

/// The native pipeline, if one is installed: a thread-local read and an
/// atomic load while nothing changes.
#[inline]
pub(crate) fn native() -> Option<&'static PipelineCore> {
    let generation = generation();
    NATIVE_SEEN
        .try_with(|seen| {
            let (seen_generation, shared) = seen.get();
            if seen_generation == generation {
                return shared;
            }
            let shared = native_now();
            seen.set((generation, shared));
            shared
        })
        .unwrap_or_else(|_| native_now())
}

/// The native pipeline; in a forked child, not its parent's, which has no
/// export thread here.
#[cold]
fn native_now() -> Option<&'static PipelineCore> {
    DESTINATIONS
        .locked()
        .native
        .filter(|native| !native.is_inherited())
}

/// How `dispatch` reaches a destination without taking a lock: its settled
/// state, whether the foreign provider samples by parent, and which wrapper
/// of its own it put in OpenTelemetry's global slot.
#[derive(Debug)]
pub(crate) struct Routing {
    pub(crate) state: AtomicU8,
    pub(crate) parent_based: AtomicBool,
    pub(crate) wrapper_id: AtomicU64,
    pub(crate) next_wrapper_id: AtomicU64,
}

pub(crate) static ROUTING: Routing = Routing {
    state: AtomicU8::new(0),
    parent_based: AtomicBool::new(false),
    wrapper_id: AtomicU64::new(0),
    next_wrapper_id: AtomicU64::new(1),
};

/// The next place a call site takes in the per-thread caches of tracers.
static NEXT_SITE_SLOT: AtomicUsize = AtomicUsize::new(0);

/// A place in the per-thread caches of tracers no call site has taken.
pub(crate) fn next_site_slot() -> usize {
    NEXT_SITE_SLOT.fetch_add(1, Ordering::Relaxed)
}

/// Every change of where spans go happens under this lock.
static TRANSITION: Mutex<()> = Mutex::new(());

pub(crate) fn transition() -> MutexGuard<'static, ()> {
    TRANSITION.locked()
}

thread_local! {
    /// The locks a thread forking holds across fork(2).
    static HELD_ACROSS_FORK: RefCell<Option<HeldAcrossFork>> = const { RefCell::new(None) };
}

/// The locks the export thread takes on its own, whenever it looks at the
/// global slot, in the order every thread takes them.
type HeldAcrossFork = (MutexGuard<'static, ()>, MutexGuard<'static, Destinations>);

/// Just before fork(2): takes the locks a thread of ours may hold at any
/// moment, so that the child, which has only the forking thread, does not
/// inherit one locked by a thread it does not have.
pub(crate) fn hold_across_fork() {
    let held = (TRANSITION.locked(), DESTINATIONS.locked());
    let _ = HELD_ACROSS_FORK.try_with(|slot| *slot.borrow_mut() = Some(held));
}

/// Just after fork(2), in the parent and in the child: lets them go.
pub(crate) fn release_after_fork() {
    let held = HELD_ACROSS_FORK
        .try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten();
    drop(held);
}

// ---------------------------------------------------------------------------
// What `inject`/`extract`, exceptions and the log bridges use.

/// A propagator shared by every thread.
pub(crate) type SharedPropagator = Arc<dyn TextMapPropagator + Send + Sync>;

/// The propagator in force, and whether it reads the W3C fields and no
/// others: then a carrier without them has nothing to extract.
#[derive(Clone)]
pub(crate) struct InstalledPropagator {
    pub(crate) propagator: SharedPropagator,
    pub(crate) reads_only_w3c: bool,
}

static PROPAGATOR: RwLock<Option<InstalledPropagator>> = RwLock::new(None);

/// The propagator in force, or `default()` made the one in force.
pub(crate) fn propagator_or(default: impl FnOnce() -> InstalledPropagator) -> InstalledPropagator {
    if let Some(installed) = PROPAGATOR.read_locked().as_ref() {
        return installed.clone();
    }
    PROPAGATOR
        .write_locked()
        .get_or_insert_with(default)
        .clone()
}

/// Replaces the propagator in force (done by `traced::init()`).
pub(crate) fn set_propagator(installed: InstalledPropagator) {
    *PROPAGATOR.write_locked() = Some(installed);
}

/// How exceptions are recorded while a set-up is installed, as the `logs`
/// module encodes it; 0: not set, read from the environment.
static EXCEPTION_SIGNAL: AtomicU8 = AtomicU8::new(0);

pub(crate) fn exception_signal_code() -> u8 {
    EXCEPTION_SIGNAL.load(Ordering::Acquire)
}

pub(crate) fn set_exception_signal_code(code: u8) {
    EXCEPTION_SIGNAL.store(code, Ordering::Release);
}

/// Sets the code unless one is set: a set-up's wins over a lazy read.
pub(crate) fn init_exception_signal_code(code: u8) {
    let _ = EXCEPTION_SIGNAL.compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire);
}

/// Where log records go: the provider of the live `traced::init()` guard,
/// and `traced::testing`'s capture.
#[derive(Default)]
pub(crate) struct LogDestinations {
    pub(crate) installed: Option<SdkLoggerProvider>,
    pub(crate) tap: Option<SdkLoggerProvider>,
}

static LOG_DESTINATIONS: RwLock<LogDestinations> = RwLock::new(LogDestinations {
    installed: None,
    tap: None,
});

pub(crate) fn log_destinations() -> std::sync::RwLockReadGuard<'static, LogDestinations> {
    LOG_DESTINATIONS.read_locked()
}

pub(crate) fn change_log_destinations<R>(change: impl FnOnce(&mut LogDestinations) -> R) -> R {
    change(&mut LOG_DESTINATIONS.write_locked())
}

// ---------------------------------------------------------------------------
// Hooks traced puts into the process once, for the rest of its life.

/// One of the process-wide hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hook {
    /// Handlers for SIGTERM and SIGINT.
    SignalHandlers = 0,
    /// The panic hook that takes a panic's backtrace.
    PanicBacktraces = 1,
    /// The `tracing` subscriber holding traced's layer.
    #[cfg(feature = "tracing")]
    TracingSubscriber = 2,
    /// The `log` crate's logger.
    #[cfg(feature = "log")]
    LogLogger = 3,
    /// What runs in a forked child right after fork(2).
    #[cfg(unix)]
    Fork = 4,
}

/// What became of each hook, by [`Hook`]: not tried yet (`None`), put in
/// place (`Some(true)`), or left to the program's own (`Some(false)`).
static HOOKS: Mutex<[Option<bool>; 5]> = Mutex::new([None; 5]);

/// Runs `install` the first time `hook` is asked for, recording whether it
/// put the hook in place; returns that, then and every later time.
pub(crate) fn hook_once(hook: Hook, install: impl FnOnce() -> bool) -> bool {
    let mut hooks = HOOKS.locked();
    let slot = &mut hooks[hook as usize];
    if let Some(placed) = *slot {
        return placed;
    }
    let placed = install();
    *slot = Some(placed);
    placed
}

/// Whether traced's `tracing` layer was added to a subscriber (by `init()`
/// or by the program).
#[cfg(feature = "tracing")]
static TRACING_LAYER_IN_USE: AtomicBool = AtomicBool::new(false);

#[cfg(feature = "tracing")]
pub(crate) fn tracing_layer_added() {
    TRACING_LAYER_IN_USE.store(true, Ordering::Release);
}

#[cfg(feature = "tracing")]
pub(crate) fn tracing_layer_in_use() -> bool {
    TRACING_LAYER_IN_USE.load(Ordering::Acquire)
}

/// Which `tracing` spans traced's layer records: the filter `init()` set
/// (else the one the first layer read from the environment), and whether it
/// has span directives, whose bookkeeping runs on every span.
#[cfg(feature = "tracing")]
static LIBRARY_SPAN_FILTER: RwLock<Option<Arc<tracing_subscriber::EnvFilter>>> = RwLock::new(None);
#[cfg(feature = "tracing")]
static LIBRARY_SPAN_FILTER_DYNAMIC: AtomicBool = AtomicBool::new(false);

/// The library-span filter in force, if one was set.
#[cfg(feature = "tracing")]
pub(crate) fn library_span_filter() -> Option<Arc<tracing_subscriber::EnvFilter>> {
    LIBRARY_SPAN_FILTER.read_locked().clone()
}

/// Whether the filter in force has span directives.
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn library_span_filter_is_dynamic() -> bool {
    LIBRARY_SPAN_FILTER_DYNAMIC.load(Ordering::Acquire)
}

/// Puts `make()`'s filter in force: always when `replace`, else only when
/// none is set. Returns whether it did.
#[cfg(feature = "tracing")]
pub(crate) fn set_library_span_filter(
    replace: bool,
    make: impl FnOnce() -> (tracing_subscriber::EnvFilter, bool),
) -> bool {
    let mut slot = LIBRARY_SPAN_FILTER.write_locked();
    if slot.is_some() && !replace {
        return false;
    }
    let (filter, dynamic) = make();
    *slot = Some(Arc::new(filter));
    LIBRARY_SPAN_FILTER_DYNAMIC.store(dynamic, Ordering::Release);
    true
}

/// The call site of each `tracing` callsite whose spans were recorded, by
/// the address of its metadata: made once per callsite, for good.
#[cfg(feature = "tracing")]
static LIBRARY_SITES: Mutex<std::collections::BTreeMap<usize, &'static CallSite>> =
    Mutex::new(std::collections::BTreeMap::new());

/// The call site kept for `metadata_address`, made by `make` the first time.
#[cfg(feature = "tracing")]
pub(crate) fn library_site(
    metadata_address: usize,
    make: impl FnOnce() -> CallSite,
) -> &'static CallSite {
    let mut sites = LIBRARY_SITES.locked();
    sites
        .entry(metadata_address)
        .or_insert_with(|| Box::leak(Box::new(make())))
}

/// The socket end the signal handler writes to; -1 until installed. Read in
/// the handler: an atomic, nothing that could block.
pub(crate) static SIGNAL_WAKE: AtomicI32 = AtomicI32::new(-1);
/// The process whose thread reads that socket: a forked child's handler
/// finds another pid, and leaves its parent alone.
pub(crate) static SIGNAL_PID: AtomicI32 = AtomicI32::new(0);
/// A signal is being handled: a second one ends the process at once.
pub(crate) static SIGNAL_HANDLING: AtomicBool = AtomicBool::new(false);

// ---------------------------------------------------------------------------
// What has been said once.

/// Configuration warnings already printed, so each is said once per process.
static WARNED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether `warning` is new (and remembers it).
pub(crate) fn first_time_warned(warning: &str) -> bool {
    let mut warned = WARNED.locked();
    if warned.iter().any(|seen| seen == warning) {
        return false;
    }
    warned.push(warning.to_owned());
    true
}
