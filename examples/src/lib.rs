//! Runnable examples of `traced`: `cargo run --example NAME`.
