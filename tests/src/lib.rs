//! Shared helpers for the behaviour tests of `traced`.
pub mod collector;
