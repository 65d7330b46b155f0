//! Runs every example to completion, as a newcomer would, and checks that it
//! prints what it promises. `cargo test` builds the examples before this runs.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/<name>`, next to this test's own binary.
fn example_binary(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

/// Runs the example with the console exporter (no collector), killing it if
/// it has not finished within `limit`.
fn run(name: &str, limit: Duration) -> Output {
    run_with(name, limit, &[])
}

/// Runs the example with `env` set on top of a clean `OTEL_*` environment.
fn run_with(name: &str, limit: Duration, env: &[(&str, &str)]) -> Output {
    let binary = example_binary(name);
    assert!(binary.exists(), "{} was not built", binary.display());
    let mut command = Command::new(&binary);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let started = Instant::now();
    while child.try_wait().expect("waiting for the example").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collecting output");
            panic!(
                "example {name} did not finish within {limit:?}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("collecting output");
    assert!(
        output.status.success(),
        "example {name} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The trace ids of the waterfall headers (`trace <32 hex> · ...`).
fn trace_ids(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| line.strip_prefix("trace "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

#[test]
fn basic() {
    let text = stderr(&run("basic", Duration::from_secs(60)));
    assert_eq!(trace_ids(&text).len(), 2, "{text}");
    assert!(text.contains("GET /articles/{id}"), "{text}");
    assert!(text.contains("load_title"), "{text}");
    assert!(text.contains("✗ article 42 not found"), "{text}");
}

#[test]
fn impl_block() {
    let text = stderr(&run("impl_block", Duration::from_secs(60)));
    assert_eq!(trace_ids(&text).len(), 1, "{text}");
    for name in [
        "ArticleRepo::list",
        "ArticleRepo::get",
        "ArticleRepo::cache_key",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(
        !text.contains("ArticleRepo::normalise"),
        "untraced method traced:\n{text}"
    );
    assert!(text.contains("✗ article 2 not found"), "{text}");
}

#[test]
fn otlp_without_an_endpoint_explains_and_prints() {
    let text = stderr(&run("otlp", Duration::from_secs(60)));
    assert!(
        text.contains("OTEL_EXPORTER_OTLP_ENDPOINT is not set"),
        "{text}"
    );
    assert_eq!(trace_ids(&text).len(), 2, "{text}");
    assert!(
        text.contains("✗ amount 15000 over the card limit"),
        "{text}"
    );
}

#[test]
fn shop_prints_only_the_failed_purchase_across_every_service_with_the_shipping_error() {
    let text = stderr(&run("shop", Duration::from_secs(120)));
    let ids = trace_ids(&text);
    assert_eq!(
        ids.len(),
        1,
        "one trace for the lamp's purchase, none for the chairs' or /health:\n{text}"
    );
    assert!(
        text.contains("customers: 20 chairs bought, 20 placed, 20 shipped"),
        "{text}"
    );
    let header = text
        .lines()
        .find(|line| line.starts_with("trace "))
        .unwrap_or_default();
    assert!(header.ends_with(" · kept: error · shop"), "{text}");
    assert!(
        text.contains("traced: tail sampling kept 1 of 21 traces (1 error) and dropped 20\n"),
        "{text}"
    );
    for hop in [
        "POST /checkout",
        "POST /orders",
        "Orders::place",
        // cut to the name column's width, one level deeper under tower-http's span
        "shop.payments.v1.Payments/Cha",
        "authorise",
        "order-placed send",
        "order-placed process",
        "Shipping::reserve",
    ] {
        assert!(text.contains(hop), "{hop} missing:\n{text}");
    }
    // tower-http's span in the gateway, between the server span and forward.
    assert!(text.contains("\n└─ request "), "{text}");
    assert!(text.contains("method=POST · uri=/checkout"), "{text}");
    assert!(text.contains("\n   └─ forward "), "{text}");
    assert!(text.contains("order.item=lamp"), "{text}");
    assert!(!text.contains("order.item=chair"), "{text}");
    assert!(
        !text.contains("Orders::price_of"),
        "#[untraced] method traced:\n{text}"
    );
    assert!(text.contains("✗ no lamp left in warehouse north"), "{text}");
    assert!(
        text.contains("POST /checkout → 200 OK order 1061 placed"),
        "{text}"
    );
    // Each service's log lines, under the span that wrote them.
    let lines: Vec<&str> = text.lines().collect();
    let under = |span: &str, log: &str| {
        let at = |needle: &str| {
            lines
                .iter()
                .position(|line| line.contains(needle))
                .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
        };
        let (span_line, log_line) = (at(span), at(log));
        assert!(span_line < log_line, "{log:?} before {span:?}:\n{text}");
        assert!(
            lines[span_line + 1..log_line]
                .iter()
                .all(|line| !line.contains("─ ")),
            "another span between {span:?} and {log:?}:\n{text}"
        );
    };
    under("─ Orders::check_stock", "INFO  stock cache: 3 in stock");
    under("─ authorise", "INFO  card authorised");
    under(
        "─ Shipping::reserve",
        "WARN  warehouse north cannot reserve 1",
    );
    under(
        "─ order-placed process",
        "ERROR order not shipped, card already charged",
    );
}

/// The printed trees: (trace id, the tree's text).
fn sections(text: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("trace ") {
            let id = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            sections.push((id, String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections
}

#[test]
fn pubsub_continues_one_consumer_and_links_the_other() {
    let text = stderr(&run("pubsub", Duration::from_secs(60)));
    let sections = sections(&text);
    let producer = sections
        .iter()
        .find(|(_, body)| body.contains("publish_batch"))
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("no producer trace:\n{text}"));
    // billing continues: every `bill` span is in the producer's trace, however
    // the trace was cut into printed parts as its spans finished.
    let bills: usize = sections
        .iter()
        .map(|(id, body)| {
            let count = body.matches("─ bill ").count();
            assert!(
                count == 0 || *id == producer,
                "bill outside the producer's trace:\n{text}"
            );
            count
        })
        .sum();
    assert_eq!(bills, 3, "{text}");
    // analytics links: one trace per message, each linked to a send.
    let analytics: Vec<_> = sections
        .iter()
        .filter(|(_, body)| body.contains("count_sale"))
        .collect();
    assert_eq!(analytics.len(), 3, "{text}");
    for (id, body) in analytics {
        assert_ne!(*id, producer, "{text}");
        assert!(
            body.contains(&format!("↪ linked to trace {producer}")),
            "{text}"
        );
    }
    assert!(text.contains("✗ order 3: card expired"), "{text}");
}

#[test]
fn articles_and_suggestions_print_their_parts_of_one_trace() {
    let text = stderr(&run("articles", Duration::from_secs(60)));
    let sections = sections(&text);
    let ids: std::collections::HashSet<_> = sections.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), 1, "one trace across both processes:\n{text}");
    assert_eq!(text.matches("· articles").count(), 1, "{text}");
    assert_eq!(
        text.matches("─ suggest ").count(),
        3,
        "one suggestions call per article:\n{text}"
    );
    assert!(text.contains("read next: #33"), "{text}");
}

#[test]
fn articles_and_suggestions_arrive_at_the_collector_as_one_trace() {
    let collector = traced_peers::Collector::start();
    let endpoint = collector.grpc_endpoint();
    run_with(
        "articles",
        Duration::from_secs(60),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 11);
    let names: Vec<_> = spans.iter().map(|s| (&s.service_name, &s.name)).collect();
    assert_eq!(
        spans.len(),
        11,
        "5 articles spans + 3 × 2 suggestions spans: {names:?}"
    );
    let trace = &spans[0].trace_id;
    assert!(spans.iter().all(|s| &s.trace_id == trace), "{names:?}");
    let by_id = |id: &str| spans.iter().find(|s| s.span_id == id);
    for server in spans
        .iter()
        .filter(|s| s.name == "GET /suggestions/{article}")
    {
        assert_eq!(server.service_name, "suggestions");
        let parent = server
            .parent_id
            .as_deref()
            .and_then(by_id)
            .unwrap_or_else(|| panic!("parent of {server:?} not received"));
        assert_eq!(parent.service_name, "articles");
        assert_eq!(parent.kind, "SPAN_KIND_CLIENT");
    }
    let root = spans
        .iter()
        .find(|s| s.parent_id.is_none())
        .expect("a root span");
    assert_eq!(
        (root.service_name.as_str(), root.name.as_str()),
        ("articles", "GET /articles")
    );
}

#[test]
fn shop_sends_the_same_trace_to_a_collector_and_none_of_the_chairs() {
    let collector = traced_peers::Collector::start();
    let endpoint = collector.http_endpoint();
    let text = stderr(&run_with(
        "shop",
        Duration::from_secs(120),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    ));
    assert!(
        trace_ids(&text).is_empty(),
        "printed although a collector is set:\n{text}"
    );
    // The example has exited: everything it sent has arrived.
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 15);
    assert_eq!(
        spans.len(),
        15,
        "the lamp's purchase, and nothing of the chairs': {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert!(
        spans
            .iter()
            .all(|s| s.trace_id == spans[0].trace_id && s.service_name == "shop")
    );
    // tower-http's library span sits between the gateway's server span and
    // the handler's `forward`.
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} in {spans:#?}"))
    };
    let request = named("request");
    assert_eq!(request.scope_name, "tower_http");
    assert_eq!(request.attribute("method"), Some("Str(POST)"));
    assert_eq!(
        request.parent_id.as_deref(),
        Some(named("POST /checkout").span_id.as_str())
    );
    assert_eq!(
        named("forward").parent_id.as_deref(),
        Some(request.span_id.as_str())
    );
    let reserve = spans
        .iter()
        .find(|s| s.name == "Shipping::reserve")
        .expect("reserve");
    assert_eq!(reserve.status_code, "STATUS_CODE_ERROR");
    assert!(
        reserve.status_message == "no lamp left in warehouse north",
        "{reserve:?}"
    );
    // The log lines arrive as logs of the same trace, each with its span. Log
    // records are not tail sampled: the chairs' arrive too, under their own
    // trace ids.
    let lamp = |logs: &[traced_peers::ReceivedLog]| {
        logs.iter()
            .filter(|l| l.trace_id == reserve.trace_id)
            .cloned()
            .collect::<Vec<_>>()
    };
    let logs =
        lamp(&collector.wait_for_logs(Duration::from_secs(20), |logs| lamp(logs).len() >= 8));
    let messages: Vec<_> = logs.iter().map(|l| l.message()).collect();
    assert_eq!(logs.len(), 8, "{messages:?}");
    assert!(logs.iter().all(|l| l.service_name == "shop"), "{logs:#?}");
    let warning = logs
        .iter()
        .find(|l| l.severity_text == "WARN")
        .unwrap_or_else(|| panic!("no warning in {messages:?}"));
    assert_eq!(warning.span_id, reserve.span_id, "{warning:?}");
    assert_eq!(warning.message(), "warehouse north cannot reserve 1");
}

#[test]
fn otlp_sends_to_the_collector_the_environment_names() {
    let collector = traced_peers::Collector::start();
    let endpoint = collector.http_endpoint();
    let text = stderr(&run_with(
        "otlp",
        Duration::from_secs(60),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    ));
    assert!(
        text.contains(&format!("sending spans over OTLP to {endpoint}")),
        "{text}"
    );
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 6);
    let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(spans.len(), 6, "two checkouts of three spans: {names:?}");
    assert!(
        spans.iter().all(|s| s.service_name == "checkout"),
        "{names:?}"
    );
    let declined: Vec<_> = spans
        .iter()
        .filter(|s| s.status_code == "STATUS_CODE_ERROR")
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        declined.len(),
        2,
        "charge and POST /checkout of the declined one: {declined:?}"
    );
}
