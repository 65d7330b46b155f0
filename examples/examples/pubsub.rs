//! A producer publishes orders to a queue; two consumers take them. The
//! `billing` consumer continues the producer's trace (its spans are children
//! of the send), the `analytics` consumer starts a trace of its own per
//! message, linked to the send: the choice between the two is
//! `traced::propagation::Trust`.
//!
//! ```console
//! cargo run --example pubsub
//! ```

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use traced::messaging::Message;
use traced::propagation::Trust;
use traced::traced;

/// A message: attributes (where the trace context travels) and a body.
#[derive(Debug, Clone)]
struct Envelope {
    attributes: HashMap<String, String>,
    order: u64,
}

#[traced(attrs(orders = orders.len()))]
async fn publish_batch(orders: &[u64], subscribers: &[mpsc::Sender<Envelope>]) {
    for &order in orders {
        let mut attributes = HashMap::new();
        let _send = Message::new("memory", "orders")
            .id(order.to_string())
            .send(&mut attributes);
        for subscriber in subscribers {
            let envelope = Envelope {
                attributes: attributes.clone(),
                order,
            };
            if subscriber.send(envelope).await.is_err() {
                eprintln!("a subscriber is gone");
            }
        }
    }
}

#[traced(kind = internal)]
async fn bill(#[attr("order.id")] order: u64) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    if order == 3 {
        return Err(format!("order {order}: card expired"));
    }
    Ok(())
}

#[traced]
async fn count_sale(#[attr("order.id")] order: u64) {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// Consumes until the queue closes, handling each message under a CONSUMER
/// span that `trust` places in the producer's trace or beside it.
async fn consume(
    mut queue: mpsc::Receiver<Envelope>,
    destination: &'static str,
    trust: Trust,
    billing: bool,
) {
    while let Some(envelope) = queue.recv().await {
        let process = Message::new("memory", destination)
            .id(envelope.order.to_string())
            .process(&envelope.attributes, trust);
        process
            .run(async {
                if billing {
                    if let Err(error) = bill(envelope.order).await {
                        traced::current::record_error(&std::io::Error::other(error));
                    }
                } else {
                    count_sale(envelope.order).await;
                }
            })
            .await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let guard = traced::Config::new().service_name("pubsub").init()?;
    let (billing_tx, billing_rx) = mpsc::channel(16);
    let (analytics_tx, analytics_rx) = mpsc::channel(16);
    let billing = tokio::spawn(consume(billing_rx, "orders", Trust::Continue, true));
    let analytics = tokio::spawn(consume(
        analytics_rx,
        "orders",
        Trust::NewRootWithLink,
        false,
    ));

    publish_batch(&[1, 2, 3], &[billing_tx, analytics_tx]).await;
    // Dropping the senders (moved into the call) closes the queues.
    billing.await?;
    analytics.await?;
    guard.shutdown()?;
    eprintln!(
        "\nbilling continued the producer's trace: its `orders process` spans sit under\n\
         `orders send`. analytics started one trace per message, each linked (↪) to the send."
    );
    Ok(())
}
