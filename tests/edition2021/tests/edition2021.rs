//! What works in an edition 2021 crate; see the crate docs for what does not.

use std::future::Future;

use traced::testing::{capture, capture_async};
use traced::{traced, traced_impl};

#[traced]
fn sync_borrowing(text: &str) -> &str {
    text.trim()
}

#[traced]
async fn async_owned(text: String, #[attr] times: usize) -> String {
    tokio::task::yield_now().await;
    text.repeat(times)
}

#[traced]
fn impl_future_borrowing(text: &str) -> impl Future<Output = usize> + '_ {
    async move { text.len() }
}

#[derive(Debug)]
struct Repo {
    rows: Vec<String>,
}

#[traced_impl(kind = client)]
impl Repo {
    fn first(&self) -> Option<&str> {
        self.rows.first().map(String::as_str)
    }

    fn push(&mut self, row: &str) {
        self.rows.push(row.to_owned());
    }

    async fn into_len(self) -> usize {
        self.rows.len()
    }
}

trait Store {
    async fn get(&self, key: &str) -> Option<String>;
}

#[traced_impl]
impl Store for Repo {
    async fn get(&self, key: &str) -> Option<String> {
        self.rows.iter().find(|row| row.as_str() == key).cloned()
    }
}

#[async_trait::async_trait]
trait Queue {
    async fn put(&self, item: &str) -> usize;
}

#[traced_impl]
#[async_trait::async_trait]
impl Queue for Repo {
    async fn put(&self, item: &str) -> usize {
        item.len() + self.rows.len()
    }
}

#[test]
fn sync_functions_and_methods() {
    let (trimmed, trace) = capture(|| sync_borrowing(" a "));
    assert_eq!(trimmed, "a");
    assert_eq!(trace.names(), ["sync_borrowing"]);

    let mut repo = Repo { rows: Vec::new() };
    let (first, trace) = capture(|| {
        repo.push("x");
        repo.first().map(str::to_owned)
    });
    assert_eq!(first.as_deref(), Some("x"));
    assert_eq!(trace.names(), ["Repo::push", "Repo::first"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_functions_and_methods() {
    let repo = Repo {
        rows: vec!["a".to_owned()],
    };
    let ((), trace) = capture_async(|| async {
        assert_eq!(async_owned("ab".to_owned(), 2).await, "abab");
        assert_eq!(impl_future_borrowing("abc").await, 3);
        assert_eq!(repo.get("a").await.as_deref(), Some("a"));
        assert_eq!(repo.put("bc").await, 3);
    })
    .await;
    assert_eq!(
        trace.names(),
        [
            "async_owned",
            "impl_future_borrowing",
            "Repo::get",
            "Repo::put"
        ]
    );
    let (len, trace) = capture_async(|| repo.into_len()).await;
    assert_eq!(len, 1);
    assert_eq!(trace.names(), ["Repo::into_len"]);
}
