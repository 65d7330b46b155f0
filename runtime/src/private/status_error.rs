//! Errors shaped as HTTP responses, as axum handlers return them
//! (`StatusCode`, `(StatusCode, String)`, `(StatusCode, &str)`,
//! `(StatusCode, Json<..>)`, a `Response`): the status code is the error's
//! type and the message its description, instead of the tuple's `Debug`.
//! Tried before any other `Err` by the autoref dispatch of
//! [`OutcomeProbe`](super::OutcomeProbe), most specific shape first.

use std::fmt::Display;

use http::StatusCode;

use super::outcome::{ErrorRef, OutcomeProbe};

/// `Err((status, Json(body)))` whose body prints itself (a
/// `serde_json::Value` prints as its JSON text): the body is the message.
pub trait ViaStatusAndJson<'a> {
    fn __traced_error(&self) -> Option<ErrorRef<'a>>;
}

#[cfg(feature = "axum")]
impl<'a, T, B: Display> ViaStatusAndJson<'a>
    for &&&&&&OutcomeProbe<'a, Result<T, (StatusCode, axum::Json<B>)>>
{
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        let (status, axum::Json(body)) = self.0.as_ref().err()?;
        Some(ErrorRef::status(*status, Some(body)))
    }
}

/// `Err((status, message))` with a message that prints itself (`String`,
/// `&str`, `Cow<str>`, an error type): the message, or the status's reason
/// phrase when it is empty.
pub trait ViaStatusAndMessage<'a> {
    fn __traced_error(&self) -> Option<ErrorRef<'a>>;
}

impl<'a, T, M: Display> ViaStatusAndMessage<'a>
    for &&&&&OutcomeProbe<'a, Result<T, (StatusCode, M)>>
{
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        let (status, message) = self.0.as_ref().err()?;
        Some(ErrorRef::status(*status, Some(message)))
    }
}

/// `Err(status)`, `Err((status, body))` with any other body, and
/// `Err(response)`: the status's reason phrase.
pub trait ViaStatus<'a> {
    fn __traced_error(&self) -> Option<ErrorRef<'a>>;
}

impl<'a, T> ViaStatus<'a> for &&&&OutcomeProbe<'a, Result<T, StatusCode>> {
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        let status = self.0.as_ref().err()?;
        Some(ErrorRef::status(*status, None))
    }
}

impl<'a, T, B> ViaStatus<'a> for &&&&OutcomeProbe<'a, Result<T, (StatusCode, B)>> {
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        let (status, _) = self.0.as_ref().err()?;
        Some(ErrorRef::status(*status, None))
    }
}

impl<'a, T, B> ViaStatus<'a> for &&&&OutcomeProbe<'a, Result<T, http::Response<B>>> {
    #[inline]
    fn __traced_error(&self) -> Option<ErrorRef<'a>> {
        let response = self.0.as_ref().err()?;
        Some(ErrorRef::status(response.status(), None))
    }
}
