//! A customer buys a lamp. The checkout answers `200 OK`, the payment goes
//! through, and the lamp is never delivered. Where did the request die?
//!
//! ```console
//! cargo run --example shop
//! ```
//!
//! One process runs a small shop of real services on loopback ports:
//!
//! ```text
//! customer ──HTTP──▶ gateway ──HTTP──▶ orders ──gRPC──▶ payments
//!                                         │
//!                                         └──"order-placed" queue──▶ shipping
//! ```
//!
//! Every service is instrumented with `#[traced]`, `#[traced_impl]` and the
//! integration layers; no service writes a header. Each service logs what it
//! does with `tracing` macros. The whole purchase prints as one waterfall,
//! with the failing span marked and every log line under the span that wrote
//! it. With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the same spans go to that
//! collector, and the log lines arrive there as logs with the trace's ids.

mod gateway;
mod orders;
mod payments;
mod queue;
mod shipping;

use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let guard = traced::Config::new().service_name("shop").init()?;

    let (queue, deliveries) = queue::channel();
    let (reports, mut shipped) = tokio::sync::mpsc::channel(8);
    tokio::spawn(shipping::consume(deliveries, reports));
    let payments = payments::serve().await?;
    let orders = orders::serve(payments, queue).await?;
    let gateway = gateway::serve(orders).await?;

    let customer = reqwest::Client::new();

    // The load balancer's health check: suppressed, so it leaves no trace.
    let health = customer
        .get(format!("http://{gateway}/health"))
        .send()
        .await?;
    eprintln!("load balancer: GET /health → {}", health.status());

    // The customer buys a lamp.
    let response = customer
        .post(format!("http://{gateway}/checkout"))
        .json(&serde_json::json!({ "item": "lamp", "quantity": 1, "card": "4242424242424242" }))
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    eprintln!("customer: POST /checkout → {status} {body}");

    // Shipping works from the queue, after the customer already has an answer.
    match tokio::time::timeout(Duration::from_secs(10), shipped.recv()).await {
        Ok(Some(report)) => eprintln!("shipping: {report}"),
        Ok(None) | Err(_) => eprintln!("shipping: no report"),
    }

    // Flushes every span: the purchase's waterfall is above (or at the collector).
    guard.shutdown()?;
    eprintln!(
        "\nThe customer was told the order is placed, and the card was charged, yet the lamp\n\
         never ships. The trace shows where the request died: under `order-placed process`,\n\
         `Shipping::reserve` found the warehouse empty, long after the checkout answered;\n\
         `Orders::check_stock` had trusted a stale stock cache."
    );
    Ok(())
}
