//! What a call returned, told apart at compile time by autoref-based dispatch
//! so that any `Result` counts, whatever alias names it (`io::Result<T>`,
//! `anyhow::Result<T>`, a crate's own `Result<T>`).

use std::any::type_name;
use std::fmt::{self, Debug, Display};

use http::StatusCode;

use super::status_code::code_text;

/// Wraps a reference to a call's output; `(&&&&&&&OutcomeProbe(&out)).__traced_error()`
/// gives the error of an `Err`, with the best message the error type offers:
/// an HTTP status and its message first (the `status_error` module), then
/// `Display`, then `Debug`, then the type's name.
#[derive(Debug)]
pub struct OutcomeProbe<'a, T: ?Sized>(pub &'a T);

/// An `Err` to record: its type name and message.
pub struct ErrorRef<'a> {
    type_name: &'static str,
    message: Message<'a>,
}

enum Message<'a> {
    Display(&'a dyn Display),
    Debug(&'a dyn Debug),
    Opaque,
    /// An HTTP status (its code is the type name) and what came with it.
    Status(StatusCode, Option<&'a dyn Display>),
}

impl<'a> ErrorRef<'a> {
    /// An error shaped as an HTTP response: its code (`"503"`) is its type;
    /// its message is `message`, or the status's reason phrase when there is
    /// none or it is empty.
    pub(super) fn status(status: StatusCode, message: Option<&'a dyn Display>) -> Self {
        ErrorRef {
            type_name: code_text(status),
            message: Message::Status(status, message),
        }
    }
}

impl ErrorRef<'_> {
    pub(crate) fn type_name(&self) -> &'static str {
        self.type_name
    }

    pub(crate) fn message(&self) -> String {
        match self.message {
            Message::Display(error) => error.to_string(),
            Message::Debug(error) => format!("{error:?}"),
            Message::Opaque => self.type_name.to_owned(),
            Message::Status(status, message) => {
                let text = message.map(ToString::to_string).unwrap_or_default();
                if text.is_empty() {
                    status
                        .canonical_reason()
                        .unwrap_or(self.type_name)
                        .to_owned()
                } else {
                    text
                }
            }
        }
    }
}

impl Debug for ErrorRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorRef")
            .field("type_name", &self.type_name)
            .field("message", &self.message())
            .finish()
    }
}

pub trait ViaDisplayError<'a> {
    fn __traced_error(&self) -> Option<ErrorRef<'a>>;
}

impl<'a, T, E: Display> ViaDisplayError<'a> for &&&OutcomeProbe<'a, Result<T, E>> {
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        let error = self.0.as_ref().err()?;
        Some(ErrorRef {
            type_name: type_name::<E>(),
            message: Message::Display(error),
        })
    }
}

pub trait ViaDebugError<'a> {
    fn __traced_error(&self) -> Option<ErrorRef<'a>>;
}

impl<'a, T, E: Debug> ViaDebugError<'a> for &&OutcomeProbe<'a, Result<T, E>> {
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        let error = self.0.as_ref().err()?;
        Some(ErrorRef {
            type_name: type_name::<E>(),
            message: Message::Debug(error),
        })
    }
}

pub trait ViaAnyResult<'a> {
    fn __traced_error(&self) -> Option<ErrorRef<'a>>;
}

impl<'a, T, E> ViaAnyResult<'a> for &OutcomeProbe<'a, Result<T, E>> {
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        self.0.as_ref().err()?;
        Some(ErrorRef {
            type_name: type_name::<E>(),
            message: Message::Opaque,
        })
    }
}

pub trait AnyOutput<'a> {
    fn __traced_error(&self) -> Option<ErrorRef<'a>>;
}

impl<'a, T: ?Sized> AnyOutput<'a> for OutcomeProbe<'a, T> {
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        None
    }
}

/// Wraps a reference to a call's output for `ret`:
/// `(&&RetProbe(&out)).__traced_ok()` is the `Ok` value of a `Result`, or the
/// output itself.
#[derive(Debug)]
pub struct RetProbe<'a, T: ?Sized>(pub &'a T);

pub trait ViaOkValue<'a, T> {
    fn __traced_ok(&self) -> Option<&'a T>;
}

impl<'a, T, E> ViaOkValue<'a, T> for &RetProbe<'a, Result<T, E>> {
    #[inline]
    fn __traced_ok(&self) -> Option<&'a T> {
        self.0.as_ref().ok()
    }
}

pub trait ViaOutput<'a, T: ?Sized> {
    fn __traced_ok(&self) -> Option<&'a T>;
}

impl<'a, T: ?Sized> ViaOutput<'a, T> for RetProbe<'a, T> {
    #[inline]
    fn __traced_ok(&self) -> Option<&'a T> {
        Some(self.0)
    }
}
