//! Code generation. Infallible: everything has been checked before.

mod attributes;
mod function;
mod impl_block;

pub(crate) use function::function;
pub(crate) use impl_block::{ImplMethod, impl_block, reinvoked_after};
