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

/// The three digits of every status code from 100 to 999, in order: each
/// code's text as a `&'static str`, which `error.type` needs.
static CODE_DIGITS: [u8; 2700] = {
    let mut digits = [0; 2700];
    let mut code = 100;
    while code < 1000 {
        let at = (code - 100) * 3;
        digits[at] = b'0' + (code / 100) as u8;
        digits[at + 1] = b'0' + (code / 10 % 10) as u8;
        digits[at + 2] = b'0' + (code % 10) as u8;
        code += 1;
    }
    digits
};

static CODES: &str = match std::str::from_utf8(&CODE_DIGITS) {
    Ok(codes) => codes,
    Err(_) => panic!("status code digits are ASCII"),
};

/// `"404"` for `StatusCode::NOT_FOUND`.
pub(super) fn code_text(status: StatusCode) -> &'static str {
    // `StatusCode` holds 100..=999 only.
    let at = (usize::from(status.as_u16()) - 100) * 3;
    &CODES[at..at + 3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_digits() {
        for code in 100..=999_u16 {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(code_text(status), status.as_str());
        }
    }
}
