//! `#[traced]` and `#[traced_impl]` in an edition 2021 crate.
//!
//! A traced `async fn` becomes `fn .. -> impl Future`, so that its span starts
//! at the call. In edition 2021 such a return type captures no elided lifetime
//! of the arguments, so an *inherent method or free* `async fn` that borrows an
//! argument (`&self`, `&str`, ..) is rejected with E0700 ("hidden type captures
//! lifetime that does not appear in bounds"). Everything else works, as the
//! tests of this crate show: sync functions and methods of every shape, async
//! functions taking owned arguments, `async fn` in trait impls (a return type
//! in a trait impl captures every lifetime in every edition), `#[async_trait]`,
//! and functions returning `impl Future + '_` with the lifetime written out.
//! Moving the crate to edition 2024 lifts the restriction.
