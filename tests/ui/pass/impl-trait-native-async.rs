use traced::testing::capture_async;
use traced::traced_impl;

trait Fetch {
    async fn fetch(&self, key: &str) -> Result<String, std::io::Error>;
    fn name(&self) -> &'static str;
}

struct Http;

#[traced_impl(kind = client)]
impl Fetch for Http {
    async fn fetch(&self, key: &str) -> Result<String, std::io::Error> {
        tokio::task::yield_now().await;
        if key.is_empty() {
            return Err(std::io::Error::other("empty key"));
        }
        Ok(format!("{}:{key}", self.name()))
    }

    fn name(&self) -> &'static str {
        "http"
    }
}

async fn generic<F: Fetch>(fetcher: &F) -> String {
    fetcher.fetch("k").await.unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (value, trace) = capture_async(|| generic(&Http)).await;
    assert_eq!(value, "http:k");
    assert_eq!(trace.tree(), "Http::fetch\n  Http::name\n");
}
