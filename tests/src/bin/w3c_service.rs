//! The service the W3C Trace Context test suite calls (`tests/w3c_suite.rs`).
//!
//! `POST /test` takes a JSON list of `{"url": .., "arguments": ..}` actions
//! and, for each, POSTs `arguments` as JSON to `url` inside a span whose
//! parent is extracted from the request's headers, with the context of that
//! span injected into the outgoing headers. Nothing but
//! `traced::propagation::{extract, inject}` and `#[traced]` touches the
//! trace context.
//!
//! Configured by `traced::init()` from the environment; prints its address
//! on the first line of stdout and stops when stdin closes.

use std::io::Write;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use traced::opentelemetry::Context;
use traced::propagation::{extract, inject};
use traced::traced;

fn main() -> anyhow::Result<()> {
    let guard = traced::init().context("configuring tracing from the environment")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let served = runtime.block_on(serve());
    drop(runtime);
    drop(guard);
    served
}

async fn serve() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{address}")?;
    stdout.flush()?;
    drop(stdout);
    let app = Router::new()
        .route("/test", post(test))
        .with_state(reqwest::Client::new());
    axum::serve(listener, app)
        .with_graceful_shutdown(stdin_closed())
        .await?;
    Ok(())
}

/// Resolves when stdin reaches its end: the test's signal to stop.
async fn stdin_closed() {
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

async fn test(State(client): State<reqwest::Client>, headers: HeaderMap, body: Bytes) -> Response {
    let actions = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(actions)) => actions,
        Ok(other) => vec![other],
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let parent = extract(&headers);
    for action in &actions {
        let Some(url) = action.get("url").and_then(Value::as_str) else {
            return (StatusCode::BAD_REQUEST, format!("no url in {action}")).into_response();
        };
        let arguments = action.get("arguments").unwrap_or(&Value::Null);
        if let Err(error) = call_back(&parent, &client, url, arguments).await {
            return (StatusCode::BAD_GATEWAY, error.to_string()).into_response();
        }
    }
    ([(CONTENT_TYPE, "application/json")], "null").into_response()
}

#[traced(kind = client, parent = parent)]
async fn call_back(
    parent: &Context,
    client: &reqwest::Client,
    url: &str,
    arguments: &Value,
) -> Result<(), reqwest::Error> {
    let mut headers = HeaderMap::new();
    inject(&mut headers);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    client
        .post(url)
        .headers(headers)
        .body(arguments.to_string())
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
