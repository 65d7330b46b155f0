//! A lean tracer for the pipeline `traced::init()` installs.
//!
//! It implements the OpenTelemetry API traits ([`TracerProvider`], [`Tracer`],
//! [`Span`]), so `Context`, propagation and any other OpenTelemetry
//! instrumentation work with it as with the SDK, and it hands finished spans to
//! any `opentelemetry_sdk` [`SpanExporter`] (OTLP, console, in-memory). What it
//! leaves out is what makes the SDK's span path slow on the calling thread: a
//! lock per span, boxed processors called on start and end, per-span attribute
//! limit bookkeeping. A finished span is moved into a bounded queue (a dropped
//! span is counted, never blocks the caller) and batched to the exporter on a
//! thread of its own, where attribute values are also truncated.
//!
//! User-installed SDK providers never come here: spans go to whatever
//! provider the global slot holds.
//!
//! [`TracerProvider`]: opentelemetry::trace::TracerProvider
//! [`Tracer`]: opentelemetry::trace::Tracer
//! [`Span`]: opentelemetry::trace::Span
//! [`SpanExporter`]: opentelemetry_sdk::trace::SpanExporter

mod batch;
mod ids;
mod provider;
mod span;

pub(crate) use batch::BatchSettings;
pub(crate) use provider::{LeanSettings, LeanTracer, LeanTracerProvider};

#[cfg(all(test, feature = "testing", feature = "otlp"))]
mod tests;
