//! Takes an order: checks stock, charges the card over gRPC, and tells
//! shipping through the queue.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tonic::transport::Endpoint;
use traced::integrations::HttpServerLayer;
use traced::messaging::Message;
use traced::traced_impl;

use crate::gateway::Checkout;
use crate::payments::PaymentsClient;
use crate::queue::Queue;

#[derive(Debug, thiserror::Error)]
pub(crate) enum OrderError {
    #[error("{0} is not sold here")]
    UnknownItem(String),
    #[error("payment failed: {0}")]
    Payment(#[from] tonic::Status),
    #[error("could not hand the order to shipping: {0}")]
    Queue(#[from] anyhow::Error),
}

struct Orders {
    next_id: AtomicU64,
    /// The stock count as last seen; shipping owns the truth.
    stock_cache: HashMap<&'static str, u32>,
    payments: PaymentsClient,
    queue: Queue,
}

pub(crate) async fn serve(payments: SocketAddr, queue: Queue) -> anyhow::Result<SocketAddr> {
    let endpoint = Endpoint::from_shared(format!("http://{payments}"))?;
    let orders = Arc::new(Orders {
        next_id: AtomicU64::new(1041),
        stock_cache: HashMap::from([("lamp", 3), ("chair", 12)]),
        payments: PaymentsClient::new(&endpoint),
        queue,
    });
    let app = Router::new()
        .route("/orders", post(place))
        .route("/health", get(|| async { "ok" }))
        .layer(HttpServerLayer::new())
        .with_state(orders);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

async fn place(
    State(orders): State<Arc<Orders>>,
    Json(checkout): Json<Checkout>,
) -> Result<String, (StatusCode, String)> {
    match orders.place(&checkout).await {
        Ok(id) => Ok(format!("order {id} placed")),
        Err(error @ OrderError::UnknownItem(_)) => Err((StatusCode::NOT_FOUND, error.to_string())),
        Err(error) => Err((StatusCode::INTERNAL_SERVER_ERROR, error.to_string())),
    }
}

#[traced_impl]
impl Orders {
    async fn place(&self, checkout: &Checkout) -> Result<u64, OrderError> {
        let price = self.check_stock(&checkout.item)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let amount = price * u64::from(checkout.quantity);
        tracing::info!(order.id = id, "charging {amount} cents");
        let payment = self
            .payments
            .charge(amount, &checkout.card)
            .await
            .map_err(OrderError::Payment)?;
        self.notify_shipping(id, checkout, &payment).await?;
        tracing::info!(order.id = id, "order placed");
        Ok(id)
    }

    #[traced(ret, attrs(item))]
    fn check_stock(&self, item: &str) -> Result<u64, OrderError> {
        std::thread::sleep(Duration::from_millis(1));
        match self.stock_cache.get(item) {
            Some(count) if *count > 0 => {
                tracing::info!("stock cache: {count} in stock");
                Ok(self.price_of(item))
            }
            _ => Err(OrderError::UnknownItem(item.to_owned())),
        }
    }

    /// A table lookup: not worth a span of its own.
    #[untraced]
    fn price_of(&self, item: &str) -> u64 {
        match item {
            "lamp" => 4_900,
            _ => 12_900,
        }
    }

    #[traced(attrs(order.id = id))]
    async fn notify_shipping(
        &self,
        id: u64,
        checkout: &Checkout,
        payment: &str,
    ) -> Result<(), OrderError> {
        let mut attributes = HashMap::new();
        let _send = Message::new("memory", "order-placed")
            .id(id.to_string())
            .send(&mut attributes);
        let body = serde_json::json!({
            "order": id, "item": checkout.item, "quantity": checkout.quantity, "payment": payment,
        });
        self.queue.publish(attributes, body.to_string()).await?;
        Ok(())
    }
}
