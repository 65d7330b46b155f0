//! Errors: combined, and always emitted beside the user's item so one mistake
//! does not turn into a cascade of unrelated ones.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit_mut::VisitMut;

/// All `errors` as `compile_error!` invocations, each under its own tokens.
pub(crate) fn compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    let mut iter = errors.into_iter();
    let Some(mut combined) = iter.next() else {
        return TokenStream::new();
    };
    for error in iter {
        combined.combine(error);
    }
    combined.to_compile_error()
}

/// The item as written, minus the markers only the attributes understand
/// (`#[attr]` on parameters, `#[traced]` and `#[untraced]` on the methods of
/// an impl block), which would only add errors, followed by the errors.
pub(crate) fn with_item(item: TokenStream, errors: Vec<syn::Error>) -> TokenStream {
    let mut output = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(mut parsed) => {
            StripMarkers.visit_item_mut(&mut parsed);
            parsed.to_token_stream()
        }
        Err(_) => item,
    };
    output.extend(compile_errors(errors));
    output
}

/// Removes `#[attr]` from every function parameter, and `#[traced]` and
/// `#[untraced]` from every method.
pub(crate) struct StripMarkers;

impl VisitMut for StripMarkers {
    fn visit_impl_item_fn_mut(&mut self, method: &mut syn::ImplItemFn) {
        method.attrs.retain(|attr| {
            let last = attr.path().segments.last();
            !last.is_some_and(|segment| segment.ident == "traced" || segment.ident == "untraced")
        });
        syn::visit_mut::visit_impl_item_fn_mut(self, method);
    }

    fn visit_fn_arg_mut(&mut self, arg: &mut syn::FnArg) {
        let attrs = match arg {
            syn::FnArg::Receiver(receiver) => &mut receiver.attrs,
            syn::FnArg::Typed(typed) => &mut typed.attrs,
        };
        attrs.retain(|attr| !attr.path().is_ident("attr"));
        syn::visit_mut::visit_fn_arg_mut(self, arg);
    }
}
