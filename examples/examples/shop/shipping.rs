//! Ships orders as they come off the queue. It owns the real stock, which the
//! orders service only caches.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use traced::messaging::Message;
use traced::propagation::Trust;
use traced::traced_impl;

use crate::queue::Deliveries;

#[derive(Debug, serde::Deserialize)]
struct Order {
    order: u64,
    item: String,
    quantity: u32,
}

#[derive(Debug, thiserror::Error)]
enum ShippingError {
    #[error("no {item} left in warehouse {warehouse}")]
    OutOfStock {
        item: String,
        warehouse: &'static str,
    },
    #[error("unreadable order: {0}")]
    Unreadable(#[from] serde_json::Error),
}

struct Shipping {
    warehouse: &'static str,
    stock: HashMap<&'static str, u32>,
}

#[traced_impl(kind = internal)]
impl Shipping {
    async fn ship(&mut self, body: &str) -> Result<String, ShippingError> {
        let order: Order = serde_json::from_str(body)?;
        tracing::info!(order.id = order.order, "order received");
        self.reserve(&order.item, order.quantity)?;
        let label = self.print_label(order.order).await;
        Ok(label)
    }

    #[traced(attrs(item, quantity, warehouse = self.warehouse))]
    fn reserve(&mut self, item: &str, quantity: u32) -> Result<(), ShippingError> {
        std::thread::sleep(Duration::from_millis(2));
        match self.stock.get_mut(item) {
            Some(left) if *left >= quantity => {
                *left -= quantity;
                Ok(())
            }
            left => {
                let left = left.map_or(0, |left| *left);
                tracing::warn!(
                    left,
                    "warehouse {} cannot reserve {quantity}",
                    self.warehouse
                );
                Err(ShippingError::OutOfStock {
                    item: item.to_owned(),
                    warehouse: self.warehouse,
                })
            }
        }
    }

    async fn print_label(&self, order: u64) -> String {
        tokio::time::sleep(Duration::from_millis(3)).await;
        format!("label for order {order}")
    }
}

/// Takes messages off the queue one by one, each under a CONSUMER span that
/// continues the producer's trace, and reports each outcome.
pub(crate) async fn consume(mut deliveries: Deliveries, reports: mpsc::Sender<String>) {
    let mut shipping = Shipping {
        warehouse: "north",
        stock: HashMap::from([("lamp", 0), ("chair", 40)]),
    };
    while let Some(message) = deliveries.recv().await {
        let process =
            Message::new("memory", "order-placed").process(&message.attributes, Trust::Continue);
        let _ = message.taken.send(());
        let outcome = process
            .run(async {
                let outcome = shipping.ship(&message.body).await;
                if let Err(error) = &outcome {
                    traced::current::record_error(error);
                    tracing::error!("order not shipped, card already charged");
                }
                outcome
            })
            .await;
        let report = match outcome {
            Ok(label) => format!("shipped ({label})"),
            Err(error) => format!("FAILED: {error}"),
        };
        if reports.send(report).await.is_err() {
            return;
        }
    }
}
