//! Library spans under `traced::init()`, as a service meets them: the
//! `tracing` layer `init()` installs (or the one the application adds to its
//! own subscriber), the filter from `TRACED_LIBRARY_SPANS` or
//! `Config::library_spans`, and the pipeline's sampling, limits, tail
//! sampling and console. Each test runs in a child process of its own, with
//! its own `init()`, environment and subscriber.

use std::sync::{Arc, Mutex};

use traced::opentelemetry::Value;
use traced::opentelemetry::trace::Status;
use traced::opentelemetry_sdk::error::OTelSdkResult;
use traced::opentelemetry_sdk::trace::{Sampler, SpanData, SpanExporter};
use traced::{Config, TailSampling, TracingGuard, traced};
use traced_tests::child::{command, in_child, rerun};

/// An exporter that keeps every span it is given.
#[derive(Clone, Debug, Default)]
struct Kept(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Kept {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

impl Kept {
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|span| span.name.to_string())
            .collect();
        names.sort();
        names
    }

    fn span(&self, name: &str) -> SpanData {
        let spans = self.0.lock().unwrap();
        let mut found = spans.iter().filter(|span| span.name == name);
        let span = found
            .next()
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.names()))
            .clone();
        assert!(found.next().is_none(), "several {name}");
        span
    }
}

fn init(config: Config) -> (TracingGuard, Kept) {
    let kept = Kept::default();
    let guard = config
        .service_name("library-spans")
        .span_exporter(kept.clone())
        .init()
        .expect("init");
    (guard, kept)
}

#[traced]
fn order() -> u32 {
    stockroom::with_debug_detail(|| stockroom::count("lamp", 4))
}

#[track_caller]
fn assert_child(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} should be a child of {}",
        child.name,
        parent.name
    );
}

#[test]
fn init_installs_the_layer_and_library_spans_reach_the_exporter() {
    if !in_child() {
        rerun(
            "init_installs_the_layer_and_library_spans_reach_the_exporter",
            &[],
        );
        return;
    }
    let (guard, kept) = init(Config::new());
    order();
    guard.flush().expect("flush");
    assert_eq!(kept.names(), ["count", "order"]);
    assert_child(&kept.span("count"), &kept.span("order"));
}

#[test]
fn the_filter_comes_from_traced_library_spans() {
    if !in_child() {
        rerun(
            "the_filter_comes_from_traced_library_spans",
            &[("TRACED_LIBRARY_SPANS", "warn,stockroom=debug")],
        );
        return;
    }
    let (guard, kept) = init(Config::new());
    order();
    // A span of this crate at `info`, below `warn` here.
    tracing::info_span!("local").in_scope(|| {});
    guard.flush().expect("flush");
    assert_eq!(kept.names(), ["count", "order", "with_debug_detail"]);
    assert_child(&kept.span("with_debug_detail"), &kept.span("order"));
    assert_child(&kept.span("count"), &kept.span("with_debug_detail"));
}

#[test]
fn code_sets_the_filter_over_the_environment() {
    if !in_child() {
        rerun(
            "code_sets_the_filter_over_the_environment",
            &[("TRACED_LIBRARY_SPANS", "debug")],
        );
        return;
    }
    let (guard, kept) = init(Config::new().library_spans("stockroom=off,info"));
    order();
    tracing::info_span!("local").in_scope(|| {});
    guard.flush().expect("flush");
    assert_eq!(kept.names(), ["local", "order"]);
}

#[test]
fn a_filter_that_does_not_parse_warns_and_keeps_the_default() {
    const NAME: &str = "a_filter_that_does_not_parse_warns_and_keeps_the_default";
    if in_child() {
        let (guard, kept) = init(Config::new());
        order();
        guard.flush().expect("flush");
        assert_eq!(kept.names(), ["count", "order"]);
        return;
    }
    let output = rerun(NAME, &[("TRACED_LIBRARY_SPANS", "stockroom=loud")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TRACED_LIBRARY_SPANS") && stderr.contains("\"stockroom=loud\""),
        "{stderr}"
    );
    assert!(stderr.contains("using info"), "{stderr}");
    let error = Config::new()
        .strict()
        .library_spans("stockroom=loud")
        .init()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("Config::library_spans: invalid value \"stockroom=loud\""),
        "{error}"
    );
}

#[traced]
fn take_all() -> bool {
    stockroom::take("lamp", 9).is_err()
}

#[traced]
fn take_one() -> bool {
    stockroom::take("lamp", 1).is_ok()
}

#[test]
fn tail_sampling_keeps_a_trace_whose_library_span_failed() {
    if !in_child() {
        rerun("tail_sampling_keeps_a_trace_whose_library_span_failed", &[]);
        return;
    }
    let (guard, kept) = init(Config::new().tail_sampling(TailSampling::new().ratio(0.0)));
    assert!(take_one());
    assert!(take_all());
    guard.flush().expect("flush");
    assert_eq!(kept.names(), ["take", "take_all"]);
    let take = kept.span("take");
    assert_child(&take, &kept.span("take_all"));
    assert_eq!(
        take.status,
        Status::error("only 2 lamp left"),
        "the failed library span decided"
    );
    let report = guard.tail_sampling().expect("tail sampling is on");
    assert_eq!(report.dropped_spans, 2, "{report:?}");
}

#[test]
fn head_sampling_decides_for_library_spans() {
    if !in_child() {
        rerun("head_sampling_decides_for_library_spans", &[]);
        return;
    }
    let (guard, kept) = init(Config::new().sampler(Sampler::TraceIdRatioBased(0.0)));
    order();
    // A library span that starts a trace is decided by the sampler too.
    stockroom::count("cup", 1);
    guard.flush().expect("flush");
    assert!(kept.names().is_empty(), "{:?}", kept.names());
}

#[test]
fn span_limits_apply_to_library_spans() {
    if !in_child() {
        rerun("span_limits_apply_to_library_spans", &[]);
        return;
    }
    let (guard, kept) = init(
        Config::new()
            .max_attributes_per_span(4)
            .max_attribute_value_length(3),
    );
    stockroom::inspect("vase");
    guard.flush().expect("flush");
    let inspect = kept.span("inspect");
    assert_eq!(inspect.attributes.len(), 4, "{:?}", inspect.attributes);
    assert!(inspect.dropped_attributes_count > 0);
    assert!(
        inspect
            .attributes
            .iter()
            .all(|kv| !matches!(&kv.value, Value::String(text) if text.as_str().len() > 3)),
        "{:?}",
        inspect.attributes
    );
}

// ---------------------------------------------------------------------------
// The application's own subscriber, with traced's layer added to it.

/// A layer of the application's that wants every span, as a fmt layer at
/// `debug` would: it keeps the names of the spans it sees.
#[derive(Clone, Default)]
struct SeesEverything(Arc<Mutex<Vec<&'static str>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SeesEverything {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        self.0.lock().unwrap().push(attrs.metadata().name());
    }
}

#[traced]
fn explicit_under_a_filtered_parent() {
    let detail = tracing::debug_span!("detail");
    let child = tracing::info_span!(parent: &detail, "child_of_detail");
    drop(child);
}

#[test]
fn an_application_subscriber_with_the_layer_keeps_its_own_filtering() {
    if !in_child() {
        rerun(
            "an_application_subscriber_with_the_layer_keeps_its_own_filtering",
            &[],
        );
        return;
    }
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let seen = SeesEverything::default();
    tracing_subscriber::registry()
        .with(seen.clone())
        .with(traced::tracing_layer())
        .init();
    let (guard, kept) = init(Config::new());
    order();
    explicit_under_a_filtered_parent();
    guard.flush().expect("flush");
    // The application's layer saw the `debug` spans; traced's filter left
    // them out, and their children nest under the nearest recorded span.
    let seen = seen.0.lock().unwrap().clone();
    assert!(seen.contains(&"with_debug_detail"), "{seen:?}");
    assert!(seen.contains(&"detail"), "{seen:?}");
    assert_eq!(
        kept.names(),
        [
            "child_of_detail",
            "count",
            "explicit_under_a_filtered_parent",
            "order"
        ]
    );
    assert_child(&kept.span("count"), &kept.span("order"));
    assert_child(
        &kept.span("child_of_detail"),
        &kept.span("explicit_under_a_filtered_parent"),
    );
}

#[test]
fn the_console_prints_library_spans_in_the_waterfall() {
    const NAME: &str = "the_console_prints_library_spans_in_the_waterfall";
    if in_child() {
        let _guard = traced::init().expect("init");
        order();
        return;
    }
    let output = command(NAME, &[]).output().expect("running the child");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tree: Vec<&str> = stderr
        .lines()
        .skip_while(|line| !line.starts_with("trace "))
        .collect();
    assert!(tree[0].contains(" · 2 spans · "), "{stderr}");
    assert!(tree[1].starts_with("order "), "{stderr}");
    assert!(tree[2].starts_with("└─ count "), "{stderr}");
    assert!(
        tree.iter().any(|line| line.contains("item=lamp")),
        "{stderr}"
    );
}
