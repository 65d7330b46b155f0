use std::pin::Pin;
use std::sync::Arc;

use traced::testing::capture;
use traced::traced;

struct Counter {
    value: u32,
    label: String,
}

impl Counter {
    #[traced]
    fn new(label: &str) -> Self {
        Counter { value: 0, label: label.to_owned() }
    }

    #[traced(attrs(label = self.label.as_str()))]
    fn get(&self) -> u32 {
        self.value
    }

    #[traced]
    fn value_mut(&mut self) -> &mut u32 {
        &mut self.value
    }

    #[traced]
    fn label(&self) -> &str {
        &self.label
    }

    #[traced]
    fn into_label(self) -> String {
        self.label
    }

    #[traced]
    fn bumped(mut self) -> Self {
        self.value += 1;
        self
    }

    #[traced]
    fn shared(self: Arc<Self>) -> u32 {
        self.value
    }

    #[traced]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        self.get_mut().value
    }

    #[traced]
    fn boxed(self: Box<Self>) -> u32 {
        self.value
    }

    #[traced]
    async fn async_ref(&self, extra: &u32) -> u32 {
        self.value + extra
    }

    #[traced]
    async fn async_mut(&mut self) -> &mut u32 {
        &mut self.value
    }
}

fn main() {
    let (_, trace) = capture(|| {
        let mut counter = Counter::new("c").bumped();
        *counter.value_mut() += 1;
        assert_eq!(counter.get(), 2);
        assert_eq!(counter.label(), "c");
        assert_eq!(Pin::new(&mut counter).pinned(), 2);
        let _ = counter.async_ref(&1);
        let _ = counter.async_mut();
        assert_eq!(Box::new(Counter::new("b")).boxed(), 0);
        assert_eq!(Arc::new(Counter::new("a")).shared(), 0);
        assert_eq!(counter.into_label(), "c");
    });
    assert_eq!(trace.spans().len(), 13);
}
