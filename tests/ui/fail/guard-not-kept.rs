// The guard is the whole set-up: dropping it at once turns tracing off, so
// the lint says how to keep it.
#![deny(unused_must_use)]

fn main() {
    traced::init().unwrap();
}
