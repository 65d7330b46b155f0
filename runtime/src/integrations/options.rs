//! What the integrations are told, written once for every layer that takes
//! it: how far a server layer trusts its callers, which hosts a client sends
//! baggage to. Each layer keeps its options in a field `options` and gets
//! the builder methods from the macros here.
#![cfg_attr(
    not(feature = "tower"),
    allow(dead_code, unused_macros, unused_imports)
)]

use super::baggage_hosts::BaggageHosts;
use crate::propagation::Trust;

/// The options of a server layer.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServerOptions {
    pub(crate) trust: Trust,
}

/// The options of a client layer or middleware.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientOptions {
    pub(crate) baggage: BaggageHosts,
}

/// The builder methods of the server layer `$layer`, over its
/// `options: ServerOptions`.
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
    };
}

pub(crate) use {client_options, server_options};
