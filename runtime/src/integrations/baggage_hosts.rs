//! Which hosts an outgoing request carries the caller's baggage to.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;

/// Every host (the default), or only those allowed; the trace context goes
/// to every host either way.
#[derive(Clone, Debug, Default)]
pub(crate) struct BaggageHosts(Option<Arc<[String]>>);

impl BaggageHosts {
    /// Only `hosts`: exact host names (`api.internal`, `10.0.0.7`) or, with a
    /// leading dot, every host under a domain (`.svc.cluster.local`).
    pub(crate) fn only<I, S>(hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        BaggageHosts(Some(
            hosts
                .into_iter()
                .map(|host| host.into().to_ascii_lowercase())
                .collect(),
        ))
    }

    /// `cx` as it may be sent to `host`: without baggage unless allowed.
    pub(crate) fn outgoing<'a>(&self, cx: &'a Context, host: Option<&str>) -> Cow<'a, Context> {
        let Some(allowed) = &self.0 else {
            return Cow::Borrowed(cx);
        };
        let host = host.map(|host| host.trim_start_matches('[').trim_end_matches(']'));
        let permitted = host.is_some_and(|host| {
            let host = host.to_ascii_lowercase();
            allowed.iter().any(|entry| match entry.strip_prefix('.') {
                Some(domain) => host == domain || host.ends_with(entry.as_str()),
                None => host == *entry,
            })
        });
        if permitted || cx.baggage().is_empty() {
            Cow::Borrowed(cx)
        } else {
            Cow::Owned(cx.with_cleared_baggage())
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;

    use super::*;

    fn sends_baggage(hosts: &BaggageHosts, host: &str) -> bool {
        let cx = Context::new().with_baggage([KeyValue::new("tenant", "acme")]);
        !hosts.outgoing(&cx, Some(host)).baggage().is_empty()
    }

    #[test]
    fn only_allowed_hosts_receive_baggage() {
        let everyone = BaggageHosts::default();
        assert!(sends_baggage(&everyone, "example.com"));
        let some = BaggageHosts::only(["Orders.Internal", ".svc.cluster.local", "::1"]);
        assert!(sends_baggage(&some, "orders.internal"));
        assert!(sends_baggage(&some, "payments.prod.svc.cluster.local"));
        assert!(sends_baggage(&some, "svc.cluster.local"));
        assert!(sends_baggage(&some, "[::1]"));
        assert!(!sends_baggage(&some, "api.stripe.com"));
        assert!(!sends_baggage(&some, "evilsvc.cluster.local"));
        let cx = Context::new().with_baggage([KeyValue::new("tenant", "acme")]);
        assert!(some.outgoing(&cx, None).baggage().is_empty());
    }
}
