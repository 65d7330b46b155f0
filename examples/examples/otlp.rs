//! Sends spans over OTLP to the collector the environment names.
//!
//! ```console
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=checkout \
//!     cargo run --example otlp
//! ```
//!
//! Any OTLP receiver works:
//! - OpenTelemetry Collector: an `otlp` receiver listens on 4317 (gRPC) and 4318 (HTTP).
//! - Jaeger (1.35+): `jaeger` accepts OTLP on the same ports; open its UI on 16686.
//! - Grafana Tempo: enable the `otlp` receiver in `distributor.receivers`, then explore
//!   the trace in Grafana.
//!
//! OTLP over HTTP/protobuf (port 4318) is the default protocol; for OTLP over gRPC set
//! `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` and port 4317.
//! Without an endpoint, the example explains this and prints the trace instead.

use std::time::Duration;

use traced::traced;

#[traced(kind = server, name = "POST /checkout")]
async fn checkout(#[attr("cart.items")] items: u32) -> Result<u64, String> {
    let total = price(items).await;
    charge(total)?;
    Ok(total)
}

#[traced(ret)]
async fn price(items: u32) -> u64 {
    tokio::time::sleep(Duration::from_millis(2)).await;
    u64::from(items) * 1_250
}

#[traced(kind = client, attrs(payment.amount = amount))]
fn charge(amount: u64) -> Result<(), String> {
    if amount > 10_000 {
        return Err(format!("amount {amount} over the card limit"));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        .ok();
    match &endpoint {
        Some(endpoint) => eprintln!("sending spans over OTLP to {endpoint}"),
        None => eprintln!(
            "OTEL_EXPORTER_OTLP_ENDPOINT is not set, so the trace is printed here instead.\n\
             Point it at an OpenTelemetry Collector, Jaeger or Tempo, for example:\n  \
             OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run --example otlp\n"
        ),
    }
    let guard = traced::Config::new().service_name("checkout").init()?;
    let paid = checkout(3).await;
    let declined = checkout(12).await;
    eprintln!("paid: {paid:?}, declined: {declined:?}");
    // Flush explicitly to see export errors (an unreachable collector, say).
    guard.shutdown()?;
    Ok(())
}
