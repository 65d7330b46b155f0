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

#[doc = include_str!("../docs/traced.md")]
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::traced(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/traced_impl.md")]
#[proc_macro_attribute]
pub fn traced_impl(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::traced_impl(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/untraced.md")]
#[proc_macro_attribute]
pub fn untraced(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::untraced(args.into(), item.into()).into()
}
