//! SIGTERM and SIGINT for programs that do not handle them: every finished
//! span is flushed, then the process ends as the signal's default action
//! would have ended it.
//!
//! - At `init()`, a handler is installed for a signal only if its
//!   disposition is the default one: a program that handles or ignores the
//!   signal keeps it.
//! - The handler only writes the signal's number to a socket (write(2) is
//!   async-signal-safe); a thread of ours reads it and does the work.
//! - That thread flushes, bounded by the shutdown timeout, with tracing still
//!   on; then, if our handler is still the one installed, it stops recording,
//!   drains once more (what ended during the flush) and ends the process. Whoever
//!   installed a handler after us, directly or through
//!   signal-hook-registry (tokio, `signal-hook`, `ctrlc`), owns the signal:
//!   signal-hook-registry still calls ours first, so we flush, and do
//!   nothing else.
//! - A second signal while the first is being handled ends the process at
//!   once, as an impatient Ctrl-C expects.
//! - A forked child inherits the handler, and the socket, whose reading
//!   thread is its parent's: the handler compares getpid(2) with the pid of
//!   the thread's process and, in a child, does what the signal's default
//!   action would (when it is ours). A child that calls `traced::init()`
//!   gets a socket and a thread of its own.
//!
//! signal-hook-registry cannot tell whether a disposition is the default or
//! whether its handler is still the installed one, so this takes two libc
//! calls, sigaction(2) and raise(3), confined to this module.
#![allow(unsafe_code)]

use std::io::Read;
use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;

use libc::c_int;

use crate::global_state::{self, Hook, SIGNAL_HANDLING, SIGNAL_PID, SIGNAL_WAKE};

const SIGNALS: [c_int; 2] = [libc::SIGTERM, libc::SIGINT];

/// Installs the handler for each of SIGTERM and SIGINT whose disposition is
/// the default, once per process (and, in a forked child, the socket and
/// thread it writes to).
pub(crate) fn install_default_handlers() {
    let placed = global_state::hook_once(Hook::SignalHandlers, || {
        let defaults: Vec<c_int> = SIGNALS
            .into_iter()
            .filter(|&signal| is_default(signal))
            .collect();
        if defaults.is_empty() || !listen() {
            return false;
        }
        let installed = defaults.into_iter().filter(|&signal| install(signal));
        installed.count() > 0
    });
    if placed && SIGNAL_PID.load(Ordering::Acquire) != this_process() {
        listen();
    }
}

/// A socket for the handler to write to, and a thread of ours reading it,
/// in this process.
fn listen() -> bool {
    let Ok((mut reader, writer)) = UnixStream::pair() else {
        return false;
    };
    // The handler must never block on a full socket.
    if writer.set_nonblocking(true).is_err() {
        return false;
    }
    let spawned = std::thread::Builder::new()
        .name("traced-signals".to_owned())
        .spawn(move || {
            let mut byte = [0_u8; 1];
            while reader.read_exact(&mut byte).is_ok() {
                handle(c_int::from(byte[0]));
            }
        });
    if spawned.is_err() {
        return false;
    }
    SIGNAL_HANDLING.store(false, Ordering::Release);
    SIGNAL_WAKE.store(writer.into_raw_fd(), Ordering::Release);
    SIGNAL_PID.store(this_process(), Ordering::Release);
    true
}

fn this_process() -> libc::pid_t {
    // SAFETY: getpid(2) has no preconditions and is async-signal-safe.
    unsafe { libc::getpid() }
}

/// On our thread, not in the handler: flush, then end the process if the
/// signal is still ours.
fn handle(signal: c_int) {
    SIGNAL_HANDLING.store(true, Ordering::Release);
    let ours = is_ours(signal);
    if let Some(setup) = global_state::any_setup() {
        setup.on_termination_signal(ours);
    }
    if ours && is_ours(signal) {
        end_as_default(signal);
    }
    SIGNAL_HANDLING.store(false, Ordering::Release);
}

extern "C" fn on_signal(signal: c_int) {
    if SIGNAL_PID.load(Ordering::Acquire) != this_process() {
        // A forked child: the socket's reader is its parent's thread. As if
        // the handler were not there.
        if is_ours(signal) {
            end_as_default(signal);
        }
        return;
    }
    if SIGNAL_HANDLING.load(Ordering::Acquire) {
        if is_ours(signal) {
            end_as_default(signal);
        }
        return;
    }
    let fd = SIGNAL_WAKE.load(Ordering::Acquire);
    if fd < 0 {
        return;
    }
    let saved = errno::get();
    let byte = signal as u8;
    // SAFETY: write(2) is async-signal-safe; `byte` lives across the call
    // and `fd` is the socket this module opened and never closes. A full
    // socket (EAGAIN) means a wake-up is already pending.
    unsafe {
        libc::write(fd, std::ptr::from_ref(&byte).cast(), 1);
    }
    errno::set(saved);
}

/// Whether `signal` has its default disposition.
fn is_default(signal: c_int) -> bool {
    current_handler(signal) == Some(libc::SIG_DFL)
}

/// Whether our handler is the one installed for `signal`.
fn is_ours(signal: c_int) -> bool {
    current_handler(signal) == Some(on_signal as extern "C" fn(c_int) as libc::sighandler_t)
}

fn current_handler(signal: c_int) -> Option<libc::sighandler_t> {
    // SAFETY: a zeroed `sigaction` is a valid value to be overwritten;
    // passing a null new action only reads the current one. sigaction(2) is
    // async-signal-safe, so this may run in the handler.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        (libc::sigaction(signal, std::ptr::null(), &mut current) == 0)
            .then_some(current.sa_sigaction)
    }
}

fn install(signal: c_int) -> bool {
    // SAFETY: `on_signal` is an `extern "C" fn(c_int)` that only makes
    // async-signal-safe calls; the mask is initialised by sigemptyset before
    // use. SA_RESTART keeps the program's system calls from failing with
    // EINTR because of us.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut()) == 0
    }
}

fn reset_to_default(signal: c_int) {
    // SAFETY: as in `install`, with the default disposition.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}

/// Ends the process the way `signal` would have without our handler: its
/// parent sees it killed by that signal.
fn end_as_default(signal: c_int) {
    reset_to_default(signal);
    // SAFETY: sigemptyset, sigaddset, pthread_sigmask and raise are
    // async-signal-safe; the set is initialised before use. Unblocking makes
    // sure the raised signal is delivered to this thread now.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
    // Not reached: the default action of SIGTERM and SIGINT ends the process.
    std::process::exit(128 + signal);
}

/// errno, kept across the handler so the interrupted code sees its own.
mod errno {
    use libc::c_int;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn location() -> *mut c_int {
        // SAFETY: returns the calling thread's errno; async-signal-safe.
        unsafe { libc::__errno_location() }
    }

    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    fn location() -> *mut c_int {
        // SAFETY: returns the calling thread's errno; async-signal-safe.
        unsafe { libc::__error() }
    }

    /// Elsewhere errno is left as the handler leaves it.
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))]
    fn location() -> *mut c_int {
        std::ptr::null_mut()
    }

    pub(super) fn get() -> c_int {
        let location = location();
        if location.is_null() {
            return 0;
        }
        // SAFETY: a non-null location is the calling thread's errno, valid
        // for the life of the thread.
        unsafe { *location }
    }

    pub(super) fn set(value: c_int) {
        let location = location();
        if !location.is_null() {
            // SAFETY: as in `get`.
            unsafe { *location = value }
        }
    }
}
