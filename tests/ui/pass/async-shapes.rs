use std::future::Future;
use std::pin::Pin;

use traced::testing::capture_async;
use traced::traced;

#[traced]
async fn count(text: &str, #[attr] needle: char) -> usize {
    tokio::task::yield_now().await;
    text.chars().filter(|c| *c == needle).count()
}

#[traced(ret)]
async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    let value: u32 = text.trim().parse()?;
    tokio::task::yield_now().await;
    Ok(value * 2)
}

#[traced]
async fn anyhow_result(text: &str) -> anyhow::Result<u32> {
    Ok(parse(text).await?)
}

#[traced]
fn later(value: u32) -> impl Future<Output = u32> {
    async move { value + 1 }
}

#[traced]
fn later_borrowed<'a>(text: &'a str) -> impl Future<Output = &'a str> + 'a {
    async move { text.trim() }
}

#[traced]
fn boxed(value: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move { value * 3 })
}

#[traced]
async fn unit() {}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (_, trace) = capture_async(|| async {
        assert_eq!(count("a-b-c", '-').await, 2);
        assert_eq!(parse(" 21 ").await.unwrap(), 42);
        assert!(anyhow_result("x").await.is_err());
        assert_eq!(later(1).await, 2);
        assert_eq!(later_borrowed(" a ").await, "a");
        assert_eq!(boxed(2).await, 6);
        unit().await;
        tokio::spawn(boxed(1)).await.unwrap();
    })
    .await;
    assert_eq!(
        trace.tree(),
        "count\nparse\nanyhow_result\n  parse\nlater\nlater_borrowed\nboxed\nunit\nboxed\n"
    );
}
