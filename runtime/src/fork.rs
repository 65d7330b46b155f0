//! A process that forks after `traced::init()` (a pre-fork server, a
//! daemon): the child starts with a copy of its parent's memory and the one
//! thread that called fork(2). Its copy of the pipeline has no export
//! thread, so in the child tracing is off, honestly and at once, until the
//! child sets it up for itself:
//!
//! - the inherited pipeline records nothing: traced calls make no span, and
//!   spans of the OpenTelemetry API carry ids and a sampling decision only;
//! - ids are reseeded, so that the child's differ from its parent's;
//! - `traced::flush()`, the guard's flush and its drop return at once (the
//!   parent sends what it recorded; the child recorded nothing), and say
//!   once what happened ([`crate::init`]);
//! - SIGTERM and SIGINT end the child as their default action would
//!   ([`crate::signals`]), and never reach the parent;
//! - `traced::init()` in the child sets up tracing of its own.
//!
//! All of this follows from one handler that runs in the child right after
//! fork(2), registered once with pthread_atfork(3). It only stores to
//! atomics and to the calling thread's own thread-locals, which is what is
//! safe in a child of a multithreaded process.
#![allow(unsafe_code)]

use crate::global_state::{self, Hook};
use crate::pipeline;

/// Registers the child's handler, once per process.
pub(crate) fn watch() {
    global_state::hook_once(Hook::Fork, || {
        // SAFETY: `in_child` is an `extern "C" fn()` that only stores to
        // atomics and thread-locals; no handler runs before fork(2) or in
        // the parent.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) == 0 }
    });
}

extern "C" fn in_child() {
    pipeline::forked();
    // Per-thread copies of where spans go look again, and find the
    // inherited pipeline closed.
    global_state::next_generation();
}
