//! Twenty customers buy a chair, then one buys a lamp. The lamp's checkout
//! answers `200 OK`, the payment goes through, and the lamp is never
//! delivered. Where did the request die?
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
//! integration layers; no service writes a header. The gateway also runs
//! tower-http's `TraceLayer`, whose `tracing` span shows in the trace as a
//! library span. Each service logs what it does with `tracing` macros. Tail sampling keeps the traces worth keeping:
//! the chairs' purchases all went well and are dropped, and the lamp's whole
//! purchase prints as one waterfall, with the failing span marked and every
//! log line under the span that wrote it. With `OTEL_EXPORTER_OTLP_ENDPOINT`
//! set, the same trace goes to that collector, and the log lines arrive
//! there as logs with their trace's ids.

mod gateway;
mod orders;
mod payments;
mod queue;
mod shipping;

use std::net::SocketAddr;
use std::time::Duration;

use traced::TailSampling;

/// Purchases that go well before the lamp's.
const CHAIRS: usize = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let guard = traced::Config::new()
        .service_name("shop")
        // Every failed purchase, every one slower than 3 s; none of the rest.
        .tail_sampling(TailSampling::new().slower_than(Duration::from_secs(3)))
        .init()?;

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

    // Customers buy chairs: every one is placed and shipped.
    let mut chairs = (0, 0);
    for _ in 0..CHAIRS {
        let (status, _) = buy(&customer, gateway, "chair").await?;
        chairs.0 += usize::from(status.is_success());
        chairs.1 += usize::from(shipping_report(&mut shipped).await.starts_with("shipped"));
    }
    eprintln!(
        "customers: {CHAIRS} chairs bought, {} placed, {} shipped",
        chairs.0, chairs.1
    );

    // A customer buys a lamp.
    let (status, body) = buy(&customer, gateway, "lamp").await?;
    eprintln!("customer: POST /checkout → {status} {body}");
    // Shipping works from the queue, after the customer already has an answer.
    eprintln!("shipping: {}", shipping_report(&mut shipped).await);

    // Decides and flushes every trace: the lamp's waterfall is above (or at
    // the collector), with what tail sampling kept and dropped.
    guard.shutdown()?;
    eprintln!(
        "\nThe customer was told the order is placed, and the card was charged, yet the lamp\n\
         never ships. The trace shows where the request died: under `order-placed process`,\n\
         `Shipping::reserve` found the warehouse empty, long after the checkout answered;\n\
         `Orders::check_stock` had trusted a stale stock cache. Of {} purchases, tail sampling\n\
         kept this one trace: the chairs' went well.",
        CHAIRS + 1
    );
    Ok(())
}

/// One checkout at the gateway: its status and body.
async fn buy(
    customer: &reqwest::Client,
    gateway: SocketAddr,
    item: &str,
) -> anyhow::Result<(reqwest::StatusCode, String)> {
    let response = customer
        .post(format!("http://{gateway}/checkout"))
        .json(&serde_json::json!({ "item": item, "quantity": 1, "card": "4242424242424242" }))
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.text().await?))
}

/// What shipping reports on the next order it takes.
async fn shipping_report(shipped: &mut tokio::sync::mpsc::Receiver<String>) -> String {
    match tokio::time::timeout(Duration::from_secs(10), shipped.recv()).await {
        Ok(Some(report)) => report,
        Ok(None) | Err(_) => "no report".to_owned(),
    }
}
