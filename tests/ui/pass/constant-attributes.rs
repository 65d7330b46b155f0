//! Values known at compile time go into the call site's `static`; where a
//! path may name a generic parameter (of the function, of its impl block,
//! or `Self`), the value is recorded by each call instead. Both compile.

use traced::opentelemetry::Context;
use traced::testing::capture;
use traced::{traced, traced_impl};

const LIMIT: u32 = 10;

mod names {
    pub const SERVICE: &str = "orders";
}

trait Named {
    const NAME: &'static str;
}

struct Orders;

impl Named for Orders {
    const NAME: &'static str = "orders";
}

#[traced(attrs(limit = LIMIT, service = names::SERVICE, table = Orders::NAME, literal = -1))]
fn constants() {}

#[traced(attrs(size = SIZE, name = T::NAME))]
fn own_generics<T: Named, const SIZE: usize>() {}

struct Buffer<const N: usize, T>(T);

#[traced_impl(attrs(capacity = N))]
impl<const N: usize, T: Named> Buffer<N, T> {
    fn len(&self) -> usize {
        N
    }

    #[traced(attrs(name = T::NAME))]
    fn name() -> &'static str {
        T::NAME
    }
}

impl<const N: usize, T: Named> Buffer<N, T> {
    #[traced(attrs(capacity = N, name = T::NAME, me = Self::CAPACITY, service = names::SERVICE))]
    fn capacity(&self) -> usize {
        Self::CAPACITY
    }

    const CAPACITY: usize = N;
}

/// A recorded parameter under `#[cfg]`: its place in the call site's list
/// goes with it.
#[traced]
fn configured(#[cfg(any())] #[attr] gone: u32, #[attr] kept: u32) {}

/// A parent from a temporary, beside links: it lives as long as the start.
#[traced(parent = Context::current(), link = Context::current(), attrs(n = n))]
fn with_parent_and_links(n: u32) {}

fn main() {
    let ((), trace) = capture(|| {
        constants();
        own_generics::<Orders, 4>();
        let buffer = Buffer::<8, Orders>(Orders);
        buffer.len();
        Buffer::<8, Orders>::name();
        buffer.capacity();
        configured(1);
        with_parent_and_links(3);
    });
    assert_eq!(
        trace.names(),
        [
            "constants",
            "own_generics",
            "Buffer::len",
            "Buffer::name",
            "capacity",
            "configured",
            "with_parent_and_links"
        ]
    );
}
