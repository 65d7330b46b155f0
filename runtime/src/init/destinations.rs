//! The one line `init()` prints when telemetry leaves the process over OTLP,
//! saying where each signal goes, so that nobody wonders where the `info!`
//! lines went:
//!
//! ```text
//! traced: spans and logs go to http://127.0.0.1:4318 over OTLP/HTTP
//! traced: spans go to http://tempo:4317 over OTLP/gRPC; logs go to http://loki:4318 over OTLP/HTTP
//! ```
//!
//! Signals that print to the console are left out: they show themselves.

use crate::config::{Protocol, Signal};

/// Where one signal goes over OTLP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Destination {
    pub(super) signal: Signal,
    /// The collector, fit to print.
    pub(super) collector: String,
    pub(super) protocol: Protocol,
}

/// The line for `destinations`, signals that share a collector and a
/// protocol named together; `None` when nothing goes over OTLP.
pub(super) fn announcement(destinations: &[Destination]) -> Option<String> {
    let mut groups: Vec<(&str, Protocol, Vec<Signal>)> = Vec::new();
    for destination in destinations {
        let same = groups.iter_mut().find(|(collector, protocol, _)| {
            *collector == destination.collector && *protocol == destination.protocol
        });
        match same {
            Some((_, _, signals)) => signals.push(destination.signal),
            None => groups.push((
                &destination.collector,
                destination.protocol,
                vec![destination.signal],
            )),
        }
    }
    if groups.is_empty() {
        return None;
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(collector, protocol, signals)| {
            let protocol = match protocol {
                Protocol::Grpc => "OTLP/gRPC",
                Protocol::HttpProtobuf => "OTLP/HTTP",
            };
            format!("{} go to {collector} over {protocol}", listed(signals))
        })
        .collect();
    Some(format!("traced: {}", parts.join("; ")))
}

/// `spans`, `spans and logs`, `spans, logs and metrics`.
fn listed(signals: &[Signal]) -> String {
    let names: Vec<String> = signals.iter().map(ToString::to_string).collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, others)) => format!("{} and {last}", others.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(signal: Signal, collector: &str, protocol: Protocol) -> Destination {
        Destination {
            signal,
            collector: collector.to_owned(),
            protocol,
        }
    }

    #[test]
    fn signals_that_share_a_collector_share_the_line() {
        let http = "http://127.0.0.1:4318";
        assert_eq!(
            announcement(&[
                to(Signal::Traces, http, Protocol::HttpProtobuf),
                to(Signal::Logs, http, Protocol::HttpProtobuf),
            ])
            .as_deref(),
            Some("traced: spans and logs go to http://127.0.0.1:4318 over OTLP/HTTP")
        );
        assert_eq!(
            announcement(&[
                to(Signal::Traces, "http://tempo:4317", Protocol::Grpc),
                to(Signal::Logs, "http://loki:4318", Protocol::HttpProtobuf),
            ])
            .as_deref(),
            Some(
                "traced: spans go to http://tempo:4317 over OTLP/gRPC; logs go to \
                 http://loki:4318 over OTLP/HTTP"
            )
        );
        assert_eq!(announcement(&[]), None);
    }

    #[test]
    fn a_list_of_signals_reads_as_a_sentence() {
        assert_eq!(listed(&[Signal::Logs]), "logs");
        assert_eq!(
            listed(&[Signal::Traces, Signal::Logs, Signal::Traces]),
            "spans, logs and spans"
        );
    }
}
