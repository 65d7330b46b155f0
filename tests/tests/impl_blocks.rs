//! `#[traced_impl]` on real spans: names, kinds from defaults and overrides,
//! attributes, nesting (also through `#[untraced]`), associated functions
//! (left as written unless marked), errors, panics, async methods on a
//! multi-thread runtime, and `#[async_trait]` in both orders.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;

use traced::opentelemetry::trace::{SpanKind, Status};
use traced::opentelemetry::{Key, Value};
use traced::testing::{FinishedSpan, Trace, capture, capture_async};
use traced::{traced, traced_impl};

fn attr<'a>(span: &'a FinishedSpan, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == Key::from(key.to_owned()))
        .map(|kv| &kv.value)
}

fn parent_name<'a>(trace: &'a Trace, name: &str) -> Option<&'a str> {
    trace
        .parent_of(trace.span(name))
        .map(|parent| parent.name.as_ref())
}

#[derive(Debug, PartialEq)]
struct Row(u64);

#[derive(Debug, thiserror::Error)]
#[error("row {0} not found")]
struct NotFound(u64);

trait Store {
    fn fetch(&self, id: u64) -> Option<Row>;
}

#[derive(Debug)]
struct Memory;

impl Store for Memory {
    fn fetch(&self, id: u64) -> Option<Row> {
        (id < 10).then_some(Row(id))
    }
}

#[derive(Debug)]
struct Repo<T> {
    store: T,
    hits: u32,
}

#[traced_impl(kind = client, attrs(db.system.name = "memory"))]
impl<T: Store> Repo<T>
where
    T: std::fmt::Debug,
{
    const PREFIX: &'static str = "row";

    fn new(store: T) -> Self {
        Repo { store, hits: 0 }
    }

    #[traced]
    fn with_hits(store: T, #[attr] hits: u32) -> Self {
        Repo { store, hits }
    }

    #[traced(kind = internal)]
    async fn warmed(store: T) -> Self {
        tokio::task::yield_now().await;
        Repo { store, hits: 1 }
    }

    fn get(&self, #[attr("row.id")] id: u64) -> Result<Row, NotFound> {
        self.store.fetch(id).ok_or(NotFound(id))
    }

    #[traced(kind = internal, ret, attrs(db.system.name = "cache", prefix = Self::PREFIX))]
    fn cache_key(&self, id: u64) -> String {
        format!("{}:{id}", Self::PREFIX)
    }

    fn get_cached(&self, id: u64) -> Result<Row, NotFound> {
        let _key = self.cache_key(id);
        self.lookup(id)
    }

    #[traced::untraced]
    fn lookup(&self, id: u64) -> Result<Row, NotFound> {
        self.get(id)
    }

    fn touch(&mut self) -> &mut u32 {
        self.hits += 1;
        &mut self.hits
    }

    fn explode(&self) {
        panic!("repo exploded");
    }

    async fn get_later(&self, id: u64) -> Result<Row, NotFound> {
        tokio::task::yield_now().await;
        let row = self.get(id)?;
        tokio::task::yield_now().await;
        Ok(row)
    }

    async fn shared(self: Arc<Self>, id: u64) -> u64 {
        tokio::task::yield_now().await;
        self.store.fetch(id).map_or(0, |row| row.0)
    }

    fn pinned(self: Pin<&mut Self>) -> u32 {
        self.hits
    }

    fn boxed(self: Box<Self>) -> u32 {
        self.hits
    }
}

#[test]
fn span_names_are_type_and_method() {
    let repo = Repo::new(Memory);
    let (row, trace) = capture(|| repo.get(3));
    assert_eq!(row.unwrap(), Row(3));
    let span = trace.span("Repo::get");
    assert_eq!(
        attr(span, "code.function.name"),
        Some(&Value::from("impl_blocks::Repo::get"))
    );
    assert!(attr(span, "code.line.number").is_some());
    assert_eq!(attr(span, "row.id"), Some(&Value::I64(3)));
}

#[test]
fn repro_block_options_do_not_make_a_constructor_a_client_span() {
    let (repo, trace) = capture(|| Repo::new(Memory));
    assert_eq!(repo.hits, 0);
    assert_eq!(trace.names(), Vec::<&str>::new());
    // Under a traced caller, the methods it calls nest directly beneath it.
    let (row, trace) = capture(|| free_function_calling_methods(&Repo::new(Memory)));
    assert_eq!(row, 2);
    assert_eq!(trace.tree(), "free_function_calling_methods\n  Repo::get\n");
}

#[test]
fn an_associated_function_marked_traced_takes_the_block_options() {
    let (repo, trace) = capture(|| Repo::with_hits(Memory, 3));
    assert_eq!(repo.hits, 3);
    let span = trace.span("Repo::with_hits");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(attr(span, "db.system.name"), Some(&Value::from("memory")));
    assert_eq!(attr(span, "hits"), Some(&Value::I64(3)));
    assert_eq!(
        attr(span, "code.function.name"),
        Some(&Value::from("impl_blocks::Repo::with_hits"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_associated_function_marked_traced_keeps_its_own_options() {
    let (repo, trace) = capture_async(|| async {
        let repo = Repo::warmed(Memory).await;
        repo.get_later(1).await.map(|_| repo.hits)
    })
    .await;
    assert_eq!(repo.unwrap(), 1);
    assert_eq!(trace.tree(), "Repo::warmed\nRepo::get_later\n  Repo::get\n");
    let warmed = trace.span("Repo::warmed");
    assert_eq!(warmed.span_kind, SpanKind::Internal);
    assert_eq!(attr(warmed, "db.system.name"), Some(&Value::from("memory")));
}

#[test]
fn block_options_are_defaults_and_method_options_override() {
    let repo = Repo::new(Memory);
    let (key, trace) = capture(|| repo.cache_key(4));
    assert_eq!(key, "row:4");
    let span = trace.span("Repo::cache_key");
    assert_eq!(span.span_kind, SpanKind::Internal);
    assert_eq!(attr(span, "db.system.name"), Some(&Value::from("cache")));
    assert_eq!(attr(span, "prefix"), Some(&Value::from("row")));
    assert_eq!(attr(span, "return"), Some(&Value::from("row:4")));

    let (_, trace) = capture(|| repo.get(4));
    let span = trace.span("Repo::get");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(attr(span, "db.system.name"), Some(&Value::from("memory")));
    assert_eq!(attr(span, "return"), None);
}

#[test]
fn callees_nest_through_an_untraced_method() {
    let repo = Repo::new(Memory);
    let (row, trace) = capture(|| repo.get_cached(5));
    assert_eq!(row.unwrap(), Row(5));
    assert_eq!(
        trace.tree(),
        "Repo::get_cached\n  Repo::cache_key\n  Repo::get\n"
    );
    assert_eq!(parent_name(&trace, "Repo::get"), Some("Repo::get_cached"));
    assert!(!trace.names().contains(&"Repo::lookup"));
}

#[test]
fn err_marks_the_method_span() {
    let repo = Repo::new(Memory);
    let (row, trace) = capture(|| repo.get_cached(42));
    assert!(row.is_err());
    let get = trace.span("Repo::get");
    assert_eq!(get.status, Status::error("row 42 not found"));
    let exception = get
        .events
        .iter()
        .find(|event| event.name == "exception")
        .unwrap();
    assert!(
        exception
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "exception.message"
                && kv.value == Value::from("row 42 not found"))
    );
    // The caller returned the same `Err`: it is marked too.
    assert!(matches!(
        trace.span("Repo::get_cached").status,
        Status::Error { .. }
    ));
    assert_eq!(trace.span("Repo::cache_key").status, Status::Unset);
}

#[test]
fn panic_is_recorded_and_keeps_unwinding() {
    let repo = Repo::new(Memory);
    let (outcome, trace) = capture(|| catch_unwind(AssertUnwindSafe(|| repo.explode())));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"repo exploded"));
    let span = trace.span("Repo::explode");
    assert_eq!(span.status, Status::error("repo exploded"));
    assert_eq!(attr(span, "error.type"), Some(&Value::from("panic")));
}

#[test]
fn every_receiver_form_is_traced() {
    let mut repo = Repo::new(Memory);
    let (hits, trace) = capture(|| *repo.touch());
    assert_eq!(hits, 1);
    assert_eq!(trace.names(), ["Repo::touch"]);

    let (hits, trace) = capture(|| Pin::new(&mut repo).pinned());
    assert_eq!(hits, 1);
    assert_eq!(trace.names(), ["Repo::pinned"]);

    let (hits, trace) = capture(|| Box::new(repo).boxed());
    assert_eq!(hits, 1);
    assert_eq!(trace.names(), ["Repo::boxed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_methods_stay_current_across_await() {
    let repo = Repo::new(Memory);
    let (row, trace) = capture_async(|| repo.get_later(7)).await;
    assert_eq!(row.unwrap(), Row(7));
    assert_eq!(trace.tree(), "Repo::get_later\n  Repo::get\n");

    let shared = Arc::new(Repo::new(Memory));
    let handle = tokio::spawn(capture_async(move || shared.shared(8)));
    let (value, trace) = handle.await.unwrap();
    assert_eq!(value, 8);
    assert_eq!(trace.names(), ["Repo::shared"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_error_marks_the_span() {
    let repo = Repo::new(Memory);
    let (row, trace) = capture_async(|| repo.get_later(70)).await;
    assert!(row.is_err());
    assert_eq!(
        trace.span("Repo::get_later").status,
        Status::error("row 70 not found")
    );
}

// Trait impls, native `async fn` in traits, and `#[async_trait]` both ways.

trait Greeter {
    fn greet(&self, name: &str) -> String;
    async fn greet_later(&self, name: &str) -> String;
}

#[derive(Debug)]
struct English;

#[traced_impl(kind = server)]
impl Greeter for English {
    fn greet(&self, name: &str) -> String {
        format!("hello {name}")
    }

    async fn greet_later(&self, name: &str) -> String {
        tokio::task::yield_now().await;
        self.greet(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trait_impl_methods_are_traced() {
    let (greeting, trace) = capture_async(|| English.greet_later("ada")).await;
    assert_eq!(greeting, "hello ada");
    assert_eq!(trace.tree(), "English::greet_later\n  English::greet\n");
    assert_eq!(trace.span("English::greet").span_kind, SpanKind::Server);
    assert_eq!(
        attr(trace.span("English::greet"), "code.function.name"),
        Some(&Value::from("impl_blocks::English::greet"))
    );
}

#[async_trait::async_trait]
trait Queue {
    async fn push(&self, item: &str) -> Result<usize, NotFound>;
    async fn drain(&self) -> usize;
}

#[derive(Debug)]
struct AboveAsyncTrait;

#[traced_impl(kind = producer)]
#[async_trait::async_trait]
impl Queue for AboveAsyncTrait {
    async fn push(&self, item: &str) -> Result<usize, NotFound> {
        tokio::task::yield_now().await;
        if item.is_empty() {
            return Err(NotFound(0));
        }
        Ok(item.len())
    }

    async fn drain(&self) -> usize {
        self.push("a").await.unwrap_or_default() + self.push("bc").await.unwrap_or_default()
    }
}

#[derive(Debug)]
struct BelowAsyncTrait;

#[async_trait::async_trait]
#[traced_impl(kind = producer)]
impl Queue for BelowAsyncTrait {
    async fn push(&self, item: &str) -> Result<usize, NotFound> {
        tokio::task::yield_now().await;
        if item.is_empty() {
            return Err(NotFound(0));
        }
        Ok(item.len())
    }

    #[traced(kind = consumer)]
    async fn drain(&self) -> usize {
        self.push("a").await.unwrap_or_default() + self.push("bc").await.unwrap_or_default()
    }
}

async fn check_queue(queue: &dyn Queue, type_name: &str, drain_kind: SpanKind) {
    let (drained, trace) = capture_async(|| queue.drain()).await;
    assert_eq!(drained, 3);
    let drain = format!("{type_name}::drain");
    let push = format!("{type_name}::push");
    assert_eq!(trace.tree(), format!("{drain}\n  {push}\n  {push}\n"));
    assert_eq!(trace.span(&drain).span_kind, drain_kind);

    let (pushed, trace) = capture_async(|| queue.push("")).await;
    assert!(pushed.is_err());
    let span = trace.span(&push);
    assert_eq!(span.span_kind, SpanKind::Producer);
    assert_eq!(span.status, Status::error("row 0 not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_trait_with_traced_impl_above() {
    check_queue(&AboveAsyncTrait, "AboveAsyncTrait", SpanKind::Producer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_trait_with_traced_impl_below() {
    check_queue(&BelowAsyncTrait, "BelowAsyncTrait", SpanKind::Consumer).await;
}

#[derive(Debug)]
struct Quiet;

#[traced_impl(suppress)]
impl Quiet {
    fn health(&self) -> u32 {
        Repo::new(Memory).get(1).map_or(0, |row| row.0 as u32)
    }
}

#[test]
fn suppress_on_the_block_silences_methods_and_their_callees() {
    let (value, trace) = capture(|| Quiet.health());
    assert_eq!(value, 1);
    assert_eq!(trace.names(), Vec::<&str>::new());
}

#[derive(Debug)]
struct Service;

#[traced_impl]
impl Service {
    #[traced(name = "handle request", kind = server, root)]
    fn handle(&self, #[attr] path: &str) -> usize {
        path.len()
    }
}

#[test]
fn method_only_options_work_inside_a_block() {
    let (_, trace) = capture(|| Service.handle("/a"));
    // `root` starts a new trace, so the capture (which follows one trace) sees nothing.
    assert!(trace.names().is_empty());
    let spans = traced::testing::finished_spans();
    let span = spans
        .iter()
        .rev()
        .find(|span| span.name == "handle request")
        .unwrap();
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(
        span.parent_span_id,
        traced::opentelemetry::trace::SpanId::INVALID
    );
    assert_eq!(attr(span, "path"), Some(&Value::from("/a")));
    assert_eq!(
        attr(span, "code.function.name"),
        Some(&Value::from("impl_blocks::Service::handle"))
    );
}

#[traced]
fn free_function_calling_methods(repo: &Repo<Memory>) -> u64 {
    repo.get(2).map_or(0, |row| row.0)
}

#[test]
fn methods_nest_under_a_traced_function() {
    let repo = Repo::new(Memory);
    let (value, trace) = capture(|| free_function_calling_methods(&repo));
    assert_eq!(value, 2);
    assert_eq!(trace.tree(), "free_function_calling_methods\n  Repo::get\n");
}

#[derive(Debug)]
struct Worker;

#[async_trait::async_trait]
trait Job {
    async fn run(&self, fail: bool) -> u32;
}

#[async_trait::async_trait]
#[traced_impl]
impl Job for Worker {
    async fn run(&self, fail: bool) -> u32 {
        tokio::task::yield_now().await;
        assert!(!fail, "job failed");
        1
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_trait_method_panic_is_recorded() {
    static WORKER: Worker = Worker;
    // Called under the capture, polled (and panicking) on a worker thread.
    let (outcome, trace) = capture_async(|| tokio::spawn(WORKER.run(true))).await;
    assert!(outcome.unwrap_err().is_panic());
    let span = trace.span("Worker::run");
    assert_eq!(span.status, Status::error("job failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_async_method_ends_its_span_as_cancelled() {
    let repo = Repo::new(Memory);
    let ((), trace) = capture_async(|| async {
        let future = repo.get_later(1);
        drop(future);
    })
    .await;
    let span = trace.span("Repo::get_later");
    assert!(span.events.iter().any(|event| event.name == "cancelled"));
}

struct Shard {
    id: u32,
}

#[traced_impl(attrs(shard.id = self.id, db.system.name = "memory"))]
impl Shard {
    const fn empty() -> Shard {
        Shard { id: 0 }
    }

    #[traced]
    fn open(id: u32) -> Shard {
        Shard { id }
    }

    fn read(&self) -> u32 {
        self.id
    }
}

#[test]
fn block_attrs_reading_self_skip_marked_associated_functions() {
    let (value, trace) = capture(|| Shard::open(4).read() + Shard::empty().id);
    assert_eq!(value, 4);
    assert_eq!(trace.names(), ["Shard::open", "Shard::read"]);
    let open = trace.span("Shard::open");
    assert_eq!(traced_tests::attribute(open, "shard.id"), None);
    assert_eq!(
        traced_tests::attribute(open, "db.system.name"),
        Some(&Value::String("memory".into()))
    );
    assert_eq!(
        traced_tests::attribute(trace.span("Shard::read"), "shard.id"),
        Some(&Value::I64(4))
    );
}

#[derive(Debug)]
struct Switch;

#[traced_impl]
impl Switch {
    #[cfg_attr(all(), traced(name = "switch on"))]
    fn on(&self) {}

    #[cfg_attr(any(), traced(name = "never applied"))]
    fn off(&self) {}

    #[cfg_attr(all(), untraced)]
    fn toggle(&self) {
        self.on();
    }
}

#[test]
fn repro_cfg_attr_traced_on_a_method_wraps_it_once() {
    let ((), trace) = capture(|| {
        Switch.on();
        Switch.off();
        Switch.toggle();
    });
    assert_eq!(trace.tree(), "switch on\nSwitch::off\nswitch on\n");
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
