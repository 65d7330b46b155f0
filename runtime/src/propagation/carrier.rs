//! The [`Carrier`] trait and its implementations for the common carriers.

use std::collections::HashMap;

/// Stands for a value that is present but is not text (a header with bytes
/// outside visible ASCII, a message header that is not UTF-8). It still counts
/// as an occurrence of its key, so a repeated header with one unreadable copy
/// is seen as repeated, and it never parses as a valid value.
const UNREADABLE: &str = "\u{fffd}";

/// A place a context can be written to and read from: headers, metadata,
/// message attributes. Implement it for your own carrier in a few lines.
///
/// Keys are the lowercase field names of the propagators (`traceparent`,
/// `tracestate`, `baggage`, `b3`, ...). A carrier whose keys are
/// case-insensitive (HTTP headers) should look them up that way.
///
/// [`get_all`](Carrier::get_all) sees every occurrence of a repeated key; it
/// lets the W3C rules for repeated fields apply (a repeated `traceparent` is
/// invalid, repeated `tracestate` and `baggage` are combined as one list, as
/// RFC 9110 combines repeated fields). Its default returns the single value
/// of [`get`](Carrier::get), which is right for carriers that cannot repeat a
/// key (maps).
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
///     // A list can repeat a key: show every occurrence.
///     fn get_all(&self, key: &str) -> Vec<&str> {
///         self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str()).collect()
///     }
/// }
///
/// let mut message = Attributes(Vec::new());
/// traced::propagation::inject(&mut message);
/// let _cx = traced::propagation::extract(&message);
/// ```
pub trait Carrier {
    /// The value under `key` (the first one when the key repeats).
    fn get(&self, key: &str) -> Option<&str>;
    /// Sets `key` to `value`, replacing every value that was there.
    fn set(&mut self, key: &str, value: String);
    /// Every key present.
    fn keys(&self) -> Vec<&str>;
    /// Every value under `key`, in order; empty when the key is absent.
    fn get_all(&self, key: &str) -> Vec<&str> {
        self.get(key).into_iter().collect()
    }
}

impl<C: Carrier + ?Sized> Carrier for &mut C {
    fn get(&self, key: &str) -> Option<&str> {
        (**self).get(key)
    }

    fn set(&mut self, key: &str, value: String) {
        (**self).set(key, value);
    }

    fn keys(&self) -> Vec<&str> {
        (**self).keys()
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        (**self).get_all(key)
    }
}

/// The header name of a field the propagators read on every request, known
/// in advance: looking a `&str` up in a `HeaderMap` first parses it.
fn known_header(key: &str) -> Option<http::HeaderName> {
    // Constants: checked when compiled, not on each call.
    const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
    const TRACESTATE: http::HeaderName = http::HeaderName::from_static("tracestate");
    const BAGGAGE: http::HeaderName = http::HeaderName::from_static("baggage");
    match key {
        "traceparent" => Some(TRACEPARENT),
        "tracestate" => Some(TRACESTATE),
        "baggage" => Some(BAGGAGE),
        _ => None,
    }
}

/// HTTP headers: names are case-insensitive, a repeated header shows every
/// value, and a value that is not valid header text is not written.
impl Carrier for http::HeaderMap {
    fn get(&self, key: &str) -> Option<&str> {
        match known_header(key) {
            Some(name) => http::HeaderMap::get(self, name),
            None => http::HeaderMap::get(self, key),
        }
        .map(header_text)
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
        http::HeaderMap::keys(self)
            .map(http::HeaderName::as_str)
            .collect()
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        match known_header(key) {
            Some(name) => http::HeaderMap::get_all(self, name),
            None => http::HeaderMap::get_all(self, key),
        }
        .iter()
        .map(header_text)
        .collect()
    }
}

fn header_text(value: &http::HeaderValue) -> &str {
    value.to_str().unwrap_or(UNREADABLE)
}

/// A string map: exact key first, then a case-insensitive match. Written
/// keys are lowercase, as the propagators give them.
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
        self.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.insert(key.to_owned(), value);
    }

    fn keys(&self) -> Vec<&str> {
        HashMap::keys(self).map(String::as_str).collect()
    }
}

/// Message headers as Kafka and most brokers model them: an ordered list of
/// byte values where a key may repeat. Keys match case-insensitively; a
/// value that is not UTF-8 counts as present but unreadable.
impl Carrier for Vec<(String, Vec<u8>)> {
    fn get(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| bytes_text(v))
    }

    fn set(&mut self, key: &str, value: String) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        self.push((key.to_owned(), value.into_bytes()));
    }

    fn keys(&self) -> Vec<&str> {
        self.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| bytes_text(v))
            .collect()
    }
}

fn bytes_text(value: &[u8]) -> &str {
    std::str::from_utf8(value).unwrap_or(UNREADABLE)
}
