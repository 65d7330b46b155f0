//! A `tracing` span's fields as typed attributes (integers, floats,
//! booleans, strings; `?Debug` and `%Display` values as their text), and the
//! fields tracing-opentelemetry gives a meaning, which mean the same here:
//! `otel.name` and `otel.kind` shape the span as it starts,
//! `otel.status_code` and `otel.status_description` set its status, and an
//! `error` field marks it failed, with the error's text as the description.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use tracing::field::{Field, Visit};

const NAME: &str = "otel.name";
const KIND: &str = "otel.kind";
const STATUS_CODE: &str = "otel.status_code";
const STATUS_DESCRIPTION: &str = "otel.status_description";
const ERROR: &str = "error";

/// A status code named by `otel.status_code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    Unset,
    Ok,
    Error,
}

/// What a span's fields say besides their attributes.
#[derive(Debug, Default)]
pub(super) struct Conventions {
    pub(super) name: Option<Cow<'static, str>>,
    pub(super) kind: Option<SpanKind>,
    code: Option<Code>,
    description: Option<String>,
    error: Option<String>,
}

impl Conventions {
    /// The status the fields set: `Ok` when `otel.status_code` says so;
    /// `Error` with a description when it says error, when a description was
    /// given, or when an `error` field was recorded; else `Unset`.
    pub(super) fn status(&mut self) -> Status {
        if self.code == Some(Code::Ok) {
            return Status::Ok;
        }
        let description = self.description.take().or_else(|| self.error.take());
        if self.code == Some(Code::Error) || description.is_some() {
            return Status::error(description.unwrap_or_default());
        }
        Status::Unset
    }

    fn convention(&mut self, field: &Field, text: impl FnOnce() -> String) -> bool {
        match field.name() {
            NAME => self.name = Some(Cow::Owned(text())),
            KIND => self.kind = kind(&text()),
            STATUS_CODE => self.code = code(&text()),
            STATUS_DESCRIPTION => self.description = Some(text()),
            _ => return false,
        }
        true
    }
}

fn kind(text: &str) -> Option<SpanKind> {
    Some(match text.to_ascii_lowercase().as_str() {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => return None,
    })
}

fn code(text: &str) -> Option<Code> {
    Some(match text.to_ascii_lowercase().as_str() {
        "ok" => Code::Ok,
        "error" => Code::Error,
        "unset" => Code::Unset,
        _ => return None,
    })
}

/// Records fields: attributes through `attribute`, the conventions into
/// `conventions`.
pub(super) struct Fields<'a> {
    pub(super) conventions: &'a mut Conventions,
    pub(super) attribute: &'a mut dyn FnMut(&'static str, Value),
}

impl Fields<'_> {
    fn text(&mut self, field: &Field, text: String) {
        let mut text = Some(text);
        let mut take = || text.take().unwrap_or_default();
        if self.conventions.convention(field, &mut take) {
            return;
        }
        let text = take();
        if field.name() == ERROR {
            self.conventions.error = Some(text.clone());
        }
        (self.attribute)(field.name(), Value::from(text));
    }
}

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        (self.attribute)(field.name(), Value::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        (self.attribute)(field.name(), Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.text(field, value.to_string()),
        }
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.text(field, value.to_string()),
        }
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.text(field, value.to_string()),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == ERROR && value {
            self.conventions.error.get_or_insert_default();
        }
        (self.attribute)(field.name(), Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value.to_owned());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, format!("{value:?}"));
    }
}

/// Reads only `otel.name` and `otel.kind`: what must be known before the
/// sampler is asked.
pub(super) struct Shape<'a>(pub(super) &'a mut Conventions);

impl Visit for Shape<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if matches!(field.name(), NAME | KIND) {
            self.0.convention(field, || value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if matches!(field.name(), NAME | KIND) {
            self.0.convention(field, || format!("{value:?}"));
        }
    }
}

/// Reads the `error` field of an event: the text that marks its span failed.
#[derive(Debug, Default)]
pub(super) struct EventError(pub(super) Option<String>);

impl Visit for EventError {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == ERROR {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if field.name() == ERROR {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == ERROR {
            self.0 = Some(format!("{value:?}"));
        }
    }
}
