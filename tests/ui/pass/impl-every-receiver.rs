use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use traced::testing::capture;
use traced::traced_impl;

struct Cell {
    value: u32,
}

#[traced_impl]
impl Cell {
    fn by_value(self) -> u32 {
        self.value
    }
    fn by_mut_value(mut self) -> u32 {
        self.value += 1;
        self.value
    }
    fn by_ref(&self) -> &u32 {
        &self.value
    }
    fn by_mut(&mut self) -> &mut u32 {
        &mut self.value
    }
    fn by_arc(self: Arc<Self>) -> u32 {
        self.value
    }
    fn by_rc(self: Rc<Self>) -> u32 {
        self.value
    }
    fn by_pin(self: Pin<&mut Self>) -> u32 {
        self.value
    }
    fn by_box(self: Box<Self>) -> u32 {
        self.value
    }
    fn by_explicit_ref(self: &Self) -> u32 {
        self.value
    }
    // No receiver and no marker: left as written.
    fn associated() -> Self {
        Cell { value: 1 }
    }
    #[traced]
    fn marked_associated() -> Self {
        Cell { value: 1 }
    }
    async fn async_by_value(self) -> u32 {
        self.value
    }
    async fn async_by_ref(&self, other: &u32) -> u32 {
        self.value + other
    }
    async fn async_by_mut(&mut self) -> &mut u32 {
        &mut self.value
    }
    async fn async_by_arc(self: Arc<Self>) -> u32 {
        self.value
    }
    async fn async_by_pin(self: Pin<&mut Self>) -> u32 {
        self.value
    }
    async fn async_by_box(self: Box<Self>) -> u32 {
        self.value
    }
    async fn async_associated() -> u32 {
        0
    }
    #[traced]
    async fn marked_async_associated() -> u32 {
        0
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ((), trace) = capture(|| {
        let mut cell = Cell::associated();
        *cell.by_mut() += 1;
        assert_eq!(*cell.by_ref(), 2);
        assert_eq!(Pin::new(&mut cell).by_pin(), 2);
        assert_eq!(cell.by_explicit_ref(), 2);
        assert_eq!(Arc::new(Cell::associated()).by_arc(), 1);
        assert_eq!(Rc::new(Cell::associated()).by_rc(), 1);
        assert_eq!(Box::new(Cell::associated()).by_box(), 1);
        assert_eq!(Cell::marked_associated().by_mut_value(), 2);
        assert_eq!(cell.by_value(), 2);
    });
    // Nine methods and `marked_associated`; `associated` makes no span.
    assert_eq!(trace.spans().len(), 10);
    let mut cell = Cell::associated();
    assert_eq!(cell.async_by_ref(&1).await, 2);
    *cell.async_by_mut().await += 1;
    assert_eq!(Pin::new(&mut cell).async_by_pin().await, 2);
    assert_eq!(Arc::new(Cell::associated()).async_by_arc().await, 1);
    assert_eq!(Box::new(Cell::associated()).async_by_box().await, 1);
    assert_eq!(Cell::async_associated().await, 0);
    assert_eq!(Cell::marked_async_associated().await, 0);
    assert_eq!(cell.async_by_value().await, 2);
}
