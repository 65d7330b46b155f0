//! An impl block with its traced methods replaced by their expansions.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{ImplItem, ItemImpl};

/// A method of the block and what replaces it.
pub(crate) struct ImplMethod {
    pub(crate) index: usize,
    pub(crate) expansion: TokenStream,
}

/// `item` with each `methods[i].index`-th item replaced by its expansion.
pub(crate) fn impl_block(mut item: ItemImpl, methods: Vec<ImplMethod>) -> TokenStream {
    for method in methods {
        item.items[method.index] = ImplItem::Verbatim(method.expansion);
    }
    item.to_token_stream()
}

/// `#[traced_impl]` written above `#[async_trait]`: apply async-trait first
/// and trace what it produces, by emitting the attributes in that order.
pub(crate) fn after_async_trait(
    mut item: ItemImpl,
    async_trait_at: usize,
    reinvoke: TokenStream,
) -> TokenStream {
    let rest = item.attrs.split_off(async_trait_at + 1);
    let before = std::mem::take(&mut item.attrs);
    item.attrs = rest;
    quote! {
        #(#before)*
        #reinvoke
        #item
    }
}
