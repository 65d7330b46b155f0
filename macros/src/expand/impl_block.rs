//! An impl block with its traced methods replaced by their expansions.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Attribute, ImplItem, ItemImpl};

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

/// The tokens that go before an item whose attribute at `at` must expand
/// before this one: the attributes up to it, then `reinvoke` (this attribute
/// again); `attrs` keeps the rest. Used for `#[async_trait]` under
/// `#[traced_impl]` and `#[tokio::test]` under `#[traced]`.
pub(crate) fn reinvoked_after(
    attrs: &mut Vec<Attribute>,
    at: usize,
    reinvoke: &TokenStream,
) -> TokenStream {
    let rest = attrs.split_off(at + 1);
    let before = std::mem::replace(attrs, rest);
    quote! {
        #(#before)*
        #reinvoke
    }
}
