//! Ready-made instrumentation for the common transports, one feature each:
//! every hop gets its SERVER or CLIENT span and carries the context, with no
//! header code in the application.
//!
//! | feature | what it gives |
//! |---|---|
#![cfg_attr(
    feature = "tower",
    doc = "| `tower` | [`HttpServerLayer`] and [`HttpClientLayer`], for hyper or any tower stack |"
)]
#![cfg_attr(
    not(feature = "tower"),
    doc = "| `tower` | `HttpServerLayer` and `HttpClientLayer`, for hyper or any tower stack |"
)]
//! | `axum` | the same server layer, naming spans by axum's route template |
#![cfg_attr(
    feature = "reqwest",
    doc = "| `reqwest` | [`TracingMiddleware`] for `reqwest-middleware` clients |"
)]
#![cfg_attr(
    not(feature = "reqwest"),
    doc = "| `reqwest` | `TracingMiddleware` for `reqwest-middleware` clients |"
)]
#![cfg_attr(
    feature = "grpc",
    doc = "| `grpc` | [`GrpcServerLayer`] and [`GrpcClientLayer`] for tonic, and the `MetadataMap` carrier |"
)]
#![cfg_attr(
    not(feature = "grpc"),
    doc = "| `grpc` | `GrpcServerLayer` and `GrpcClientLayer` for tonic, and the `MetadataMap` carrier |"
)]
//!
//! Spans are made through the global tracer provider with the instrumentation
//! scope `traced` and follow the OpenTelemetry semantic conventions for HTTP
//! and RPC, so they sit in the same trace as `#[traced]` functions and any
//! other OpenTelemetry instrumentation.
//!
//! # What a caller sends cannot make a span large
//!
//! Every value a layer takes from a request (path, URL, user agent, method,
//! host, route, RPC service and method) is cut to 2 KiB, at a character
//! boundary, by default: a 64 KiB `User-Agent` or a 60 000-character path
//! costs a span 2 KiB, not the caller's choice. 2 KiB is the URL length
//! browsers, CDNs and the sitemap protocol keep to, so real values stay
//! whole. Each layer's `max_attribute_bytes` sets another length
//! (`usize::MAX` for none). The cap holds whatever
//! [`Config::max_attribute_value_length`](crate::Config::max_attribute_value_length)
//! says; that limit, unlimited by default, applies to every span on top.

#[cfg(any(feature = "tower", feature = "reqwest"))]
mod baggage_hosts;
#[cfg(feature = "tower")]
mod body;
#[cfg(any(feature = "tower", feature = "reqwest"))]
mod client_call;
#[cfg(feature = "tower")]
mod exchange;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "grpc")]
mod grpc_call;
#[cfg(feature = "tower")]
pub mod http_client;
#[cfg(feature = "tower")]
pub mod http_server;
#[cfg(any(feature = "tower", feature = "reqwest"))]
mod in_flight;
#[cfg(any(feature = "tower", feature = "reqwest"))]
mod options;
#[cfg(any(feature = "tower", feature = "reqwest"))]
mod request_span;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "tower")]
mod response_future;
mod semconv;
#[cfg(feature = "tower")]
mod skip;
#[cfg(any(feature = "tower", feature = "reqwest"))]
mod value_cap;

#[cfg(feature = "tower")]
pub use crate::propagation::Trust;
#[cfg(feature = "tower")]
pub use body::TracedBody;
#[cfg(feature = "grpc")]
pub use grpc::{GrpcClientLayer, GrpcServerLayer};
#[cfg(feature = "tower")]
pub use http_client::HttpClientLayer;
#[cfg(feature = "tower")]
pub use http_server::HttpServerLayer;
#[cfg(feature = "reqwest")]
pub use reqwest::TracingMiddleware;
