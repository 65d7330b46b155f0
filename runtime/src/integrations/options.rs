//! What the integrations are told, written once for every layer that takes
//! it: how far a server layer trusts its callers and which requests it
//! skips, which hosts a client sends baggage to, how long a value taken from
//! a request may be. Each layer keeps its options in a field `options` and
//! gets the builder methods from the macros here.

use super::baggage_hosts::BaggageHosts;
#[cfg(feature = "tower")]
use super::skip::Skip;
use super::value_cap::ValueCap;
#[cfg(feature = "tower")]
use crate::propagation::Trust;

/// The options of a server layer.
#[cfg(feature = "tower")]
#[derive(Clone, Debug, Default)]
pub(crate) struct ServerOptions {
    pub(crate) trust: Trust,
    pub(crate) cap: ValueCap,
    pub(crate) skip: Skip,
}

/// The options of a client layer or middleware.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientOptions {
    pub(crate) baggage: BaggageHosts,
    pub(crate) cap: ValueCap,
}

/// `max_attribute_bytes`, the same on every layer, over its `options.cap`.
macro_rules! max_attribute_bytes {
    ($layer:ident) => {
        /// The longest value, in bytes, this layer records from a request:
        /// the path, URL, user agent, method, host, route and RPC names, and
        /// span names made of them, are cut to it at a character boundary.
        /// What a caller sends then cannot make a span large, whatever
        /// [`Config::max_attribute_value_length`](crate::Config::max_attribute_value_length)
        /// says (unlimited by default, as the specification asks). The
        /// default, 2048, is the URL length browsers, CDNs and the sitemap
        /// protocol keep to: real values stay whole. `usize::MAX` records
        /// values whole.
        ///
        /// ```
        #[doc = concat!("let layer = traced::integrations::", stringify!($layer), "::new().max_attribute_bytes(512);")]
        /// # let _ = layer;
        /// ```
        pub fn max_attribute_bytes(mut self, bytes: usize) -> Self {
            self.options.cap = $crate::integrations::value_cap::ValueCap::new(bytes);
            self
        }
    };
}

/// The builder methods of the server layer `$layer`, over its
/// `options: ServerOptions`.
#[cfg(feature = "tower")]
macro_rules! server_options {
    ($layer:ident) => {
        /// How far to trust the context requests arrive with: continue it
        /// (the default), or, at a public edge, start a new trace linked to
        /// it. What each choice lets a caller decide is in the [table of the
        /// HTTP server layer](crate::integrations::http_server#trusting-the-callers-context).
        ///
        /// ```
        #[doc = concat!("use traced::integrations::{", stringify!($layer), ", Trust};")]
        ///
        #[doc = concat!("let public_edge = ", stringify!($layer), "::new().trust(Trust::NewRootWithLink);")]
        /// # let _ = public_edge;
        /// ```
        pub fn trust(mut self, trust: $crate::propagation::Trust) -> Self {
            self.options.trust = trust;
            self
        }

        /// Leaves out the requests for which `predicate` holds; it sees the
        /// request's head (method, URI, headers, extensions). A skipped
        /// request gets no span and runs with tracing suppressed, as under
        /// [`traced::suppress`](crate::suppress): nothing it calls is
        /// traced, and the requests it makes tell downstream services not
        /// to sample. Predicates and skipped names add up: a request is
        /// skipped when any of them says so.
        ///
        /// ```
        #[doc = concat!("let layer = traced::integrations::", stringify!($layer), "::new().skip_if(|request| {")]
        ///     let agent = request.headers.get("user-agent");
        ///     agent.is_some_and(|agent| agent.as_bytes().starts_with(b"kube-probe/"))
        /// });
        /// # let _ = layer;
        /// ```
        pub fn skip_if<F>(mut self, predicate: F) -> Self
        where
            F: Fn(&http::request::Parts) -> bool + Send + Sync + 'static,
        {
            self.options.skip = self.options.skip.predicate(predicate);
            self
        }

        $crate::integrations::options::max_attribute_bytes!($layer);
    };
}

/// The builder methods of the client layer or middleware `$client`, over its
/// `options: ClientOptions`.
macro_rules! client_options {
    ($client:ident) => {
        /// Sends baggage only to these hosts: exact names or addresses, or a
        /// domain with a leading dot (`.internal.example.com`) for every host
        /// under it. Other hosts receive the trace context without baggage.
        /// By default every host receives it.
        ///
        /// ```
        #[doc = concat!("let client = traced::integrations::", stringify!($client), "::new()")]
        ///     .baggage_only_to(["orders", ".svc.cluster.local"]);
        /// # let _ = client;
        /// ```
        pub fn baggage_only_to<I, S>(mut self, hosts: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.options.baggage = $crate::integrations::baggage_hosts::BaggageHosts::only(hosts);
            self
        }

        $crate::integrations::options::max_attribute_bytes!($client);
    };
}

#[cfg(feature = "tower")]
pub(crate) use server_options;
pub(crate) use {client_options, max_attribute_bytes};
