//! The public edge: takes the customer's checkout and hands it to orders.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde::{Deserialize, Serialize};
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use traced::integrations::{HttpServerLayer, TracingMiddleware};
use traced::traced;
use tracing::Level;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct Checkout {
    pub item: String,
    pub quantity: u32,
    pub card: String,
}

#[derive(Clone)]
struct Gateway {
    orders: SocketAddr,
    client: ClientWithMiddleware,
}

pub(crate) async fn serve(orders: SocketAddr) -> anyhow::Result<SocketAddr> {
    let gateway = Gateway {
        orders,
        client: ClientBuilder::new(reqwest::Client::new())
            .with(TracingMiddleware::new())
            .build(),
    };
    let app = Router::new()
        .route("/checkout", post(checkout))
        // tower-http's own `tracing` span for each request, a library span
        // between the server span and the handler's.
        .layer(TraceLayer::new_for_http().make_span_with(DefaultMakeSpan::new().level(Level::INFO)))
        .layer(HttpServerLayer::new())
        // Added after the layer, so the health check gets no server span.
        .route("/health", get(health))
        .with_state(gateway);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

async fn checkout(
    State(gateway): State<Gateway>,
    Json(order): Json<Checkout>,
) -> Result<String, (StatusCode, String)> {
    forward(&gateway, &order)
        .await
        .map_err(|error| (StatusCode::BAD_GATEWAY, error.to_string()))
}

#[traced(attrs(order.item = &order.item, order.quantity = order.quantity))]
async fn forward(gateway: &Gateway, order: &Checkout) -> anyhow::Result<String> {
    tracing::info!("forwarding the checkout to orders");
    let response = gateway
        .client
        .post(format!("http://{}/orders", gateway.orders))
        .json(order)
        .send()
        .await?
        .error_for_status()?;
    Ok(response.text().await?)
}

/// Called every few seconds by the load balancer: tracing it would drown the
/// real traffic, so nothing beneath it is traced, not even the call to orders,
/// which receives the trace marked not sampled.
#[traced(suppress)]
async fn health(State(gateway): State<Gateway>) -> StatusCode {
    let ping = gateway
        .client
        .get(format!("http://{}/health", gateway.orders))
        .send()
        .await;
    match ping {
        Ok(response) if response.status().is_success() => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}
