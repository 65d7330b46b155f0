//! A panic as an exception: its message, and its stack for
//! `exception.stacktrace`. By the time a traced call sees its panic the stack
//! has unwound, so a panic hook (chained in front of the one already set)
//! takes the backtrace where the panic happened, when backtraces are enabled
//! (`RUST_BACKTRACE` / `RUST_LIB_BACKTRACE`).

use super::exception::Exception;
use crate::global_state::{self, Hook};
use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::RefCell;

/// The exception of a panic that is unwinding through a span.
#[derive(Debug)]
pub(crate) struct PanicException {
    pub(crate) message: String,
    stacktrace: Option<String>,
}

impl PanicException {
    pub(crate) fn of(payload: &(dyn Any + Send)) -> PanicException {
        let message = message(payload);
        let stacktrace = take(&message);
        PanicException {
            message,
            stacktrace,
        }
    }

    /// As an exception of type `panic`.
    pub(crate) fn exception(&self) -> Exception<'_> {
        Exception {
            type_name: "panic",
            message: &self.message,
            stacktrace: self.stacktrace.as_deref(),
        }
    }
}

/// The text a panic was raised with.
fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

thread_local! {
    /// The last panic of this thread: its message and backtrace.
    static LAST_PANIC: RefCell<Option<(String, Backtrace)>> = const { RefCell::new(None) };
}

/// Installs the hook, once per process.
pub(crate) fn install_hook() {
    global_state::hook_once(Hook::PanicBacktraces, || {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let backtrace = Backtrace::capture();
            if backtrace.status() == BacktraceStatus::Captured {
                let message = message(info.payload());
                let _ = LAST_PANIC.try_with(|last| {
                    if let Ok(mut last) = last.try_borrow_mut() {
                        *last = Some((message, backtrace));
                    }
                });
            }
            previous(info);
        }));
        true
    });
}

/// The backtrace of the panic with `message` that is unwinding on this
/// thread, if the hook took one.
fn take(message: &str) -> Option<String> {
    LAST_PANIC
        .try_with(|last| {
            let (taken_message, backtrace) = last.try_borrow_mut().ok()?.take()?;
            (taken_message == message).then(|| backtrace.to_string())
        })
        .ok()
        .flatten()
}
