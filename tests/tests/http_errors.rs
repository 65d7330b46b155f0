//! Errors shaped as HTTP responses, as axum handlers return them
//! (`StatusCode`, `(StatusCode, String)`, `(StatusCode, &str)`,
//! `(StatusCode, Json<..>)`, a `Response`): on real spans, the status code is
//! `error.type` and the message is the status description; other tuples keep
//! their `Debug` form.

use std::borrow::Cow;
use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use reqwest_middleware::ClientBuilder;
use traced::integrations::{HttpServerLayer, TracingMiddleware};
use traced::opentelemetry::trace::{SpanKind, TraceContextExt};
use traced::opentelemetry::{Context, Value};
use traced::testing::{FinishedSpan, capture, capture_async};
use traced::traced;
use traced_tests::{attribute, error_message, events, find, span_named, spans_of};

/// `error.type`, the status description, and the `exception` event's type
/// and message of `span`.
fn recorded(span: &FinishedSpan) -> (&Value, &str, &Value, &Value) {
    let exception = events(span, "exception");
    let [exception] = exception.as_slice() else {
        panic!("{:?} has {} exception events", span.name, exception.len());
    };
    (
        attribute(span, "error.type").expect("error.type"),
        error_message(span),
        find(&exception.attributes, "exception.type").expect("exception.type"),
        find(&exception.attributes, "exception.message").expect("exception.message"),
    )
}

/// `span` failed with status code `code` as its type and `message`, in the
/// status and in the `exception` event.
#[track_caller]
fn assert_status_error(span: &FinishedSpan, code: &str, message: &str) {
    let (code, message) = (Value::from(code.to_owned()), message);
    assert_eq!(
        recorded(span),
        (&code, message, &code, &Value::from(message.to_owned())),
        "{:?}",
        span.name
    );
}

#[traced]
fn status_and_string() -> Result<(), (StatusCode, String)> {
    Err((
        StatusCode::SERVICE_UNAVAILABLE,
        "stock db unavailable".to_owned(),
    ))
}

#[traced]
fn status_and_str() -> Result<u32, (StatusCode, &'static str)> {
    Err((StatusCode::NOT_FOUND, "no such item"))
}

#[traced]
fn status_and_cow(sku: &str) -> Result<(), (StatusCode, Cow<'static, str>)> {
    Err((StatusCode::CONFLICT, format!("{sku} is reserved").into()))
}

#[traced]
fn status_and_error() -> Result<(), (StatusCode, std::io::Error)> {
    Err((
        StatusCode::BAD_GATEWAY,
        std::io::Error::other("payments did not answer"),
    ))
}

#[test]
fn a_status_with_a_message_records_the_code_and_the_message() {
    let ((), trace) = capture(|| {
        let _ = status_and_string();
        let _ = status_and_str();
        let _ = status_and_cow("lamp");
        let _ = status_and_error();
    });
    for (name, code, message) in [
        ("status_and_string", "503", "stock db unavailable"),
        ("status_and_str", "404", "no such item"),
        ("status_and_cow", "409", "lamp is reserved"),
        ("status_and_error", "502", "payments did not answer"),
    ] {
        assert_status_error(trace.span(name), code, message);
    }
}

#[traced]
fn status_alone() -> Result<String, StatusCode> {
    Err(StatusCode::TOO_MANY_REQUESTS)
}

#[traced]
fn unnamed_status() -> Result<(), StatusCode> {
    Err(StatusCode::from_u16(599).unwrap())
}

#[traced]
fn status_and_empty_message() -> Result<(), (StatusCode, String)> {
    Err((StatusCode::INTERNAL_SERVER_ERROR, String::new()))
}

// As an axum handler returning a `Response` error would allow it.
#[allow(clippy::result_large_err)]
#[traced]
fn a_response() -> Result<(), Response> {
    Err((StatusCode::GATEWAY_TIMEOUT, "upstream too slow").into_response())
}

#[test]
fn a_status_without_a_message_records_its_reason_phrase() {
    let ((), trace) = capture(|| {
        let _ = status_alone();
        let _ = unnamed_status();
        let _ = status_and_empty_message();
        let _ = a_response();
    });
    for (name, code, message) in [
        ("status_alone", "429", "Too Many Requests"),
        ("unnamed_status", "599", "599"),
        ("status_and_empty_message", "500", "Internal Server Error"),
        ("a_response", "504", "Gateway Timeout"),
    ] {
        assert_status_error(trace.span(name), code, message);
    }
}

#[derive(serde::Serialize)]
struct Problem {
    detail: &'static str,
}

#[traced]
fn status_and_json_value() -> Result<(), (StatusCode, Json<serde_json::Value>)> {
    Err((
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(serde_json::json!({ "error": "unknown sku" })),
    ))
}

#[traced]
fn status_and_json_struct() -> Result<(), (StatusCode, Json<Problem>)> {
    Err((
        StatusCode::BAD_REQUEST,
        Json(Problem {
            detail: "quantity must be positive",
        }),
    ))
}

#[test]
fn a_json_body_is_the_message_when_it_prints_itself() {
    let ((), trace) = capture(|| {
        let _ = status_and_json_value();
        let _ = status_and_json_struct();
    });
    assert_status_error(
        trace.span("status_and_json_value"),
        "422",
        r#"{"error":"unknown sku"}"#,
    );
    // A body type without `Display`: the reason phrase.
    assert_status_error(trace.span("status_and_json_struct"), "400", "Bad Request");
}

#[traced]
fn other_tuple() -> Result<(), (u16, String)> {
    Err((500, "not a status".to_owned()))
}

#[test]
fn other_tuples_keep_their_debug_form() {
    let ((), trace) = capture(|| {
        let _ = other_tuple();
    });
    let (error_type, description, _, _) = recorded(trace.span("other_tuple"));
    assert_eq!(
        error_type,
        &Value::from("(u16, alloc::string::String)".to_owned())
    );
    assert_eq!(description, r#"(500, "not a status")"#);
}

#[derive(serde::Deserialize)]
struct Checkout {
    item: String,
}

#[traced(attrs(item = checkout.item.as_str()))]
async fn place(Json(checkout): Json<Checkout>) -> Result<String, (StatusCode, String)> {
    tokio::task::yield_now().await;
    Err((
        StatusCode::SERVICE_UNAVAILABLE,
        format!("no stock database for {}", checkout.item),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_axum_handler_error_marks_its_span_with_the_status_and_message() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/orders", post(place))
        .layer(HttpServerLayer::new());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::new())
        .build();

    let ((status, trace_id), _) = capture_async(|| async {
        let trace_id = Context::current().span().span_context().trace_id();
        let response = client
            .post(format!("http://{address}/orders"))
            .header("content-type", "application/json")
            .body(r#"{"item":"lamp"}"#)
            .send()
            .await
            .unwrap();
        (response.status(), trace_id)
    })
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let spans = spans_of(trace_id, 3).await;
    let handler = span_named(&spans, "place", SpanKind::Internal);
    assert_status_error(handler, "503", "no stock database for lamp");
    assert_eq!(
        attribute(handler, "item"),
        Some(&Value::from("lamp".to_owned()))
    );
    let server = span_named(&spans, "POST /orders", SpanKind::Server);
    assert_eq!(
        attribute(server, "http.response.status_code"),
        Some(&Value::I64(503))
    );
    assert_eq!(handler.parent_span_id, server.span_context.span_id());
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
