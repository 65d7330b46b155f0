use traced::{traced, traced_impl};

struct Counter(u8);

macro_rules! counter_methods {
    ($($name:ident),*) => {
        impl Counter {
            $(
                #[traced]
                fn $name(&self) -> u8 {
                    self.0
                }
            )*

            #[traced]
            async fn later(&self) -> u8 {
                self.0
            }

            #[traced]
            fn consume(self) -> u8 {
                self.0
            }
        }
    };
}

counter_methods!(get, peek);

struct Gauge(u8);

macro_rules! gauge_impl {
    () => {
        #[traced_impl]
        impl Gauge {
            fn read(&self) -> u8 {
                self.0
            }

            async fn read_later(&mut self) -> u8 {
                self.0
            }
        }
    };
}

gauge_impl!();

fn main() {
    let counter = Counter(1);
    assert_eq!(counter.get() + counter.peek(), 2);
    drop(counter.later());
    assert_eq!(counter.consume(), 1);
    let mut gauge = Gauge(2);
    assert_eq!(gauge.read(), 2);
    drop(gauge.read_later());
}
