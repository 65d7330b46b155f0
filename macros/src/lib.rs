//! Procedural macros of [`traced`](https://docs.rs/traced). Depend on `traced`,
//! which re-exports them; the generated code calls into `traced::__private`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod args;
mod conditional;
mod entry;
mod error;
mod expand;
mod model;
mod validate;

#[cfg(test)]
mod snapshot_tests;

use proc_macro::TokenStream;

/// Wraps a function in an OpenTelemetry span. See the `traced` crate docs.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::traced(args.into(), item.into()).into()
}

/// Traces every method of an impl block. See the `traced` crate docs.
#[proc_macro_attribute]
pub fn traced_impl(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::traced_impl(args.into(), item.into()).into()
}

/// Leaves the item exactly as written: opts a method out of `#[traced_impl]`.
#[proc_macro_attribute]
pub fn untraced(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::untraced(args.into(), item.into()).into()
}
