//! Carrying the trace context across process boundaries: W3C `traceparent`,
//! `tracestate` and `baggage` headers by default, or the propagators chosen
//! with `OTEL_PROPAGATORS` / [`Config::propagators`](crate::Config::propagators).
//!
//! ```
//! use std::collections::HashMap;
//!
//! let mut headers = http::HeaderMap::new();
//! traced::propagation::inject(&mut headers);          // current context → headers
//! let cx = traced::propagation::extract(&headers);    // headers → Context
//!
//! let mut attributes: HashMap<String, String> = HashMap::new();
//! traced::propagation::inject(&mut attributes);
//! ```

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use opentelemetry::Context;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// A place a context can be written to and read from: headers, metadata,
/// message attributes. Implement it for your own carrier in a few lines.
///
/// ```
/// struct Attributes(Vec<(String, String)>);
///
/// impl traced::propagation::Carrier for Attributes {
///     fn get(&self, key: &str) -> Option<&str> {
///         self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
///     }
///     fn set(&mut self, key: &str, value: String) {
///         self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
///         self.0.push((key.to_owned(), value));
///     }
///     fn keys(&self) -> Vec<&str> {
///         self.0.iter().map(|(k, _)| k.as_str()).collect()
///     }
/// }
///
/// let mut message = Attributes(Vec::new());
/// traced::propagation::inject(&mut message);
/// let _cx = traced::propagation::extract(&message);
/// ```
pub trait Carrier {
    /// The value under `key` (case-insensitive where the carrier is).
    fn get(&self, key: &str) -> Option<&str>;
    /// Sets `key` to `value`, replacing what was there.
    fn set(&mut self, key: &str, value: String);
    /// Every key present.
    fn keys(&self) -> Vec<&str>;
}

impl Carrier for http::HeaderMap {
    fn get(&self, key: &str) -> Option<&str> {
        http::HeaderMap::get(self, key).and_then(|value| value.to_str().ok())
    }

    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.insert(name, value);
        }
    }

    fn keys(&self) -> Vec<&str> {
        http::HeaderMap::keys(self).map(http::HeaderName::as_str).collect()
    }
}

impl<S: std::hash::BuildHasher> Carrier for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key)
            .or_else(|| {
                self.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }

    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }

    fn keys(&self) -> Vec<&str> {
        HashMap::keys(self).map(String::as_str).collect()
    }
}

struct AsInjector<'a, C: ?Sized>(&'a mut C);

impl<C: Carrier + ?Sized> Injector for AsInjector<'_, C> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set(key, value);
    }
}

struct AsExtractor<'a, C: ?Sized>(&'a C);

impl<C: Carrier + ?Sized> Extractor for AsExtractor<'_, C> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys()
    }
}

type SharedPropagator = Arc<dyn TextMapPropagator + Send + Sync>;

static PROPAGATOR: RwLock<Option<SharedPropagator>> = RwLock::new(None);

fn propagator() -> SharedPropagator {
    if let Some(propagator) = PROPAGATOR
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
    {
        return propagator.clone();
    }
    let mut slot = PROPAGATOR
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    slot.get_or_insert_with(|| Arc::new(w3c())).clone()
}

/// W3C Trace Context and W3C Baggage: the default.
pub(crate) fn w3c() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

/// Replaces the propagator `inject` and `extract` use (done by `traced::init()`).
pub(crate) fn set_propagator(propagator: SharedPropagator) {
    *PROPAGATOR
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(propagator);
}

/// Writes the current context (span, trace state, baggage) into `carrier`.
pub fn inject<C: Carrier + ?Sized>(carrier: &mut C) {
    inject_context(&Context::current(), carrier);
}

/// Writes `cx` into `carrier`.
pub fn inject_context<C: Carrier + ?Sized>(cx: &Context, carrier: &mut C) {
    propagator().inject_context(cx, &mut AsInjector(carrier));
}

/// Reads a context from `carrier`: a remote parent for the next span plus any
/// baggage, or an empty context when the carrier holds none (or only invalid
/// values).
pub fn extract<C: Carrier + ?Sized>(carrier: &C) -> Context {
    propagator().extract_with_context(&Context::new(), &AsExtractor(carrier))
}
