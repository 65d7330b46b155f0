//! Generated code is lint-clean: every shape and option expanded under the
//! strictest lints a user might set. `cargo clippy --all-targets` checks the
//! clippy ones; `cargo test` the rustc ones. The test at the bottom runs them
//! all once, so the expansions are exercised, not only compiled.

#![deny(warnings, unused_qualifications, rust_2018_idioms, unreachable_pub)]
#![deny(clippy::all, clippy::pedantic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use traced::opentelemetry::Context;
use traced::opentelemetry::trace::SpanContext;
use traced::{traced, traced_impl};

#[derive(Debug)]
struct Row {
    id: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("missing row {0}")]
struct Missing(u64);

#[traced]
fn plain(id: u64) -> u64 {
    id + 1
}

#[traced]
fn unit() {}

#[traced(ret)]
fn fallible(id: u64) -> Result<Row, Missing> {
    if id == 0 {
        return Err(Missing(id));
    }
    Ok(Row { id })
}

#[traced]
fn question_mark(text: &str) -> Result<u32, std::num::ParseIntError> {
    let value: u32 = text.parse()?;
    Ok(value)
}

#[traced]
fn borrowed<'a>(items: &'a [String], fallback: &'a str) -> &'a str {
    items.first().map_or(fallback, String::as_str)
}

#[traced]
fn iterator(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[traced]
#[track_caller]
fn located(value: Option<u8>) -> u8 {
    value.unwrap_or_default()
}

#[traced]
#[track_caller]
fn located_failure(message: &str) -> ! {
    panic!("{message}")
}

#[traced]
fn never(message: &str) -> ! {
    panic!("{message}")
}

#[traced]
fn patterns(#[attr] (width, height): (u32, u32), Row { id }: Row) -> u64 {
    u64::from(width * height) + id
}

#[traced(
    name = "options",
    kind = client,
    attrs(db.system.name = "postgresql", "db.query.text" = "select 1", count = ids.len(), label),
    ret
)]
fn all_options(ids: &[u64], label: &str, #[attr] limit: u32) -> usize {
    ids.len().min(limit as usize) + label.len()
}

#[traced(root)]
fn rooted() {}

#[traced(parent = cx, link = link)]
fn parented(cx: &Context, link: &SpanContext) -> bool {
    cx.has_active_span() && link.is_valid()
}

#[traced(suppress)]
fn suppressed() -> u8 {
    plain(1).try_into().unwrap_or_default()
}

#[traced]
async fn asynchronous(text: &str, #[attr] times: usize) -> Result<String, Missing> {
    tokio::task::yield_now().await;
    if text.is_empty() {
        return Err(Missing(0));
    }
    Ok(text.repeat(times))
}

#[traced]
async fn async_unit() {}

#[traced]
async fn async_patterns((a, b): (u32, u32)) -> u32 {
    a + b
}

struct Wrapped(u64);

#[traced(attrs(doubled = inner * 2))]
async fn pattern_read_by_attrs(
    #[attr] Wrapped(inner): Wrapped,
    (_, ref mut total): (u8, u64),
) -> u64 {
    *total += inner;
    *total
}

#[traced]
async fn rebinding_attributes(
    #[allow(unused_variables)] ignored: u8,
    #[cfg(any())] removed: u8,
    mut counter: u8,
) -> u8 {
    #![allow(unused_mut)]
    counter += 1;
    counter
}

#[traced]
fn coerced_early_return(fail: bool) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    if fail {
        return Err(Box::new(Missing(0)));
    }
    Ok(1)
}

#[traced]
fn unpin_future(value: u32) -> impl Future<Output = u32> + Unpin {
    std::future::ready(value)
}

#[traced]
fn impl_future(value: u32) -> impl Future<Output = u32> {
    async move { value * 2 }
}

#[traced]
fn boxed_future(value: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move { value * 3 })
}

use traced::opentelemetry::trace::TraceContextExt as _;

#[derive(Debug)]
struct Repo<T> {
    rows: Vec<T>,
}

#[traced_impl(kind = client, attrs(db.system.name = "memory"), ret)]
impl<T: Clone + std::fmt::Debug> Repo<T>
where
    T: Send,
{
    const LIMIT: usize = 8;

    #[traced]
    fn new() -> Self {
        Repo { rows: Vec::new() }
    }

    fn push(&mut self, row: T) {
        if self.rows.len() < Self::LIMIT {
            self.rows.push(row);
        }
    }

    fn first(&self) -> Option<&T> {
        self.rows.first()
    }

    fn first_mut(&mut self) -> Option<&mut T> {
        self.rows.first_mut()
    }

    fn shared(self: Arc<Self>) -> usize {
        self.rows.len()
    }

    fn pinned(self: Pin<&mut Self>) -> usize {
        self.rows.len()
    }

    #[traced(kind = internal, attrs(hit = true))]
    fn len(&self) -> usize {
        self.rows.len()
    }

    #[traced::untraced]
    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    async fn get(&self, #[attr] index: usize) -> Result<T, Missing> {
        tokio::task::yield_now().await;
        self.rows.get(index).cloned().ok_or(Missing(index as u64))
    }
}

trait Greeter {
    fn greet(&self, name: &str) -> String;
    async fn greet_later(&self, name: &str) -> String;
}

#[derive(Debug)]
struct English;

#[traced_impl]
impl Greeter for English {
    fn greet(&self, name: &str) -> String {
        format!("hello {name}")
    }

    async fn greet_later(&self, name: &str) -> String {
        self.greet(name)
    }
}

#[async_trait::async_trait]
trait Queue {
    async fn push(&self, item: &str) -> Result<usize, Missing>;
}

#[derive(Debug)]
struct Above;

#[traced_impl(kind = producer)]
#[async_trait::async_trait]
impl Queue for Above {
    async fn push(&self, item: &str) -> Result<usize, Missing> {
        Ok(item.len())
    }
}

#[derive(Debug)]
struct Below;

#[async_trait::async_trait]
#[traced_impl(kind = producer)]
impl Queue for Below {
    async fn push(&self, item: &str) -> Result<usize, Missing> {
        Ok(item.len())
    }
}

#[tokio::test]
async fn every_linted_expansion_runs() {
    let ((), trace) = traced::testing::capture_async(|| async {
        assert_eq!(plain(1), 2);
        unit();
        assert!(fallible(0).is_err());
        assert!(question_mark("x").is_err());
        assert_eq!(borrowed(&[], "f"), "f");
        assert_eq!(iterator(4).count(), 2);
        assert!(std::panic::catch_unwind(|| never("boom")).is_err());
        assert_eq!(located(Some(1)), 1);
        assert!(std::panic::catch_unwind(|| located_failure("boom")).is_err());
        assert_eq!(patterns((2, 3), Row { id: 1 }), 7);
        assert_eq!(all_options(&[1, 2], "ab", 1), 3);
        rooted();
        assert!(!parented(
            &Context::current(),
            &SpanContext::empty_context()
        ));
        assert_eq!(suppressed(), 2);
        assert_eq!(asynchronous("a", 2).await.unwrap(), "aa");
        async_unit().await;
        assert_eq!(async_patterns((1, 2)).await, 3);
        assert_eq!(impl_future(1).await, 2);
        assert_eq!(pattern_read_by_attrs(Wrapped(2), (0, 1)).await, 3);
        assert_eq!(rebinding_attributes(0, 1).await, 2);
        assert!(coerced_early_return(true).is_err());
        assert_eq!(unpin_future(4).await, 4);
        assert_eq!(boxed_future(1).await, 3);

        let mut repo = Repo::new();
        repo.push(Row { id: 1 }.id);
        assert_eq!(repo.first(), Some(&1));
        *repo.first_mut().unwrap() += 1;
        assert_eq!(Pin::new(&mut repo).pinned(), 1);
        assert_eq!(repo.len(), 1);
        assert!(!repo.is_empty());
        assert_eq!(repo.get(0).await.unwrap(), 2);
        assert_eq!(Arc::new(repo).shared(), 1);

        assert_eq!(English.greet_later("a").await, "hello a");
        assert_eq!(Above.push("ab").await.unwrap(), 2);
        assert_eq!(Below.push("abc").await.unwrap(), 3);
    })
    .await;
    let names = trace.names();
    for expected in [
        "plain",
        "fallible",
        "never",
        "located",
        "located_failure",
        "options",
        "asynchronous",
        "boxed_future",
        "Repo::new",
        "Repo::len",
        "Repo::get",
        "English::greet",
        "Above::push",
        "Below::push",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(!names.contains(&"Repo::is_empty"));
}
