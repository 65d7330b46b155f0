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
//! safe in a child of a multithreaded process. Around fork(2) the forking
//! thread also holds the locks the export thread takes on its own (when it
//! looks at the global tracer provider): had the export thread held one at
//! that moment, the child would inherit it locked, by a thread it does not
//! have, and its first traced call would wait for it forever.
#![allow(unsafe_code)]

use crate::global_state::{self, Hook};
use crate::pipeline;

/// Registers the handlers, once per process.
pub(crate) fn watch() {
    global_state::hook_once(Hook::Fork, || {
        // SAFETY: the handlers are `extern "C" fn()`s run by the forking
        // thread: before fork(2) it takes two of traced's locks, after it
        // (in the parent and in the child) it lets them go; the child's
        // handler otherwise only stores to atomics and thread-locals.
        unsafe { libc::pthread_atfork(Some(before_fork), Some(in_parent), Some(in_child)) == 0 }
    });
}

extern "C" fn before_fork() {
    global_state::hold_across_fork();
}

extern "C" fn in_parent() {
    global_state::release_after_fork();
}

extern "C" fn in_child() {
    global_state::release_after_fork();
    pipeline::forked();
    // Per-thread copies of where spans go look again, and find the
    // inherited pipeline closed.
    global_state::next_generation();
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant};

    use super::*;

    /// How long a child that should finish at once may take before it is
    /// taken for hung: far beyond what it needs, short of a stuck test run.
    const HUNG_AFTER: Duration = Duration::from_secs(20);

    /// The export thread looks at the global provider under the transition
    /// lock a few times a second; a fork at that moment used to leave the
    /// child with the lock held by a thread it does not have.
    #[test]
    fn repro_a_fork_while_another_thread_holds_the_transition_lock_leaves_the_child_free() {
        watch();
        let (held, holding) = mpsc::channel();
        let holder = thread::spawn(move || {
            let _transition = global_state::transition();
            held.send(()).expect("send");
            thread::sleep(Duration::from_millis(200));
        });
        holding.recv().expect("the lock is held");
        // SAFETY: the child only takes a lock of ours and leaves through
        // _exit(2).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            drop(global_state::transition());
            // SAFETY: _exit(2) ends the child at once.
            unsafe { libc::_exit(0) }
        }
        holder.join().expect("holder");
        let started = Instant::now();
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child, without blocking.
            let waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if waited == pid {
                break;
            }
            if started.elapsed() > HUNG_AFTER {
                // SAFETY: the child is ours and has not been waited for.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                panic!("the child waits for a lock no thread of it holds");
            }
            thread::sleep(Duration::from_millis(10));
        }
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
