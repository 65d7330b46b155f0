use async_trait::async_trait;
use traced::testing::capture_async;
use traced::traced_impl;

#[async_trait]
trait Store: Send + Sync {
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<usize, std::io::Error>;
    fn flush(&self) -> usize;
}

struct Pg;

#[traced_impl(kind = client)]
#[async_trait]
impl Store for Pg {
    async fn put(&self, #[attr] key: &str, value: Vec<u8>) -> Result<usize, std::io::Error> {
        tokio::task::yield_now().await;
        Ok(key.len() + value.len() + self.flush())
    }

    fn flush(&self) -> usize {
        0
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let store: Box<dyn Store> = Box::new(Pg);
    let (value, trace) = capture_async(|| store.put("k", vec![1])).await;
    assert_eq!(value.unwrap(), 2);
    assert_eq!(trace.tree(), "Pg::put\n  Pg::flush\n");
}
