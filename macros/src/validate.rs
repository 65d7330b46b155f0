//! The checks that need the whole picture: which options fit where, and what
//! the function and its parameters allow.

use std::collections::HashSet;

use syn::ReturnType;

use crate::args::Options;
use crate::model::{Binding, Shape, TracedFn};

/// Where options were written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// `#[traced(..)]` on a function or method.
    Function,
    /// `#[traced_impl(..)]` on an impl block.
    ImplBlock,
}

/// Checks the options alone.
pub(crate) fn options(options: &Options, placement: Placement) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    if placement == Placement::ImplBlock {
        for keyword in options.keywords() {
            let why = match keyword.name {
                "name" => "every method gets its own span name, `Type::method`; \
                           rename one method with `#[traced(name = \"..\")]` on it",
                "root" | "parent" | "link" => "it belongs to a single call; \
                           set it on the method with `#[traced(..)]`",
                _ => continue,
            };
            errors.push(syn::Error::new(
                keyword.span,
                format!("`{}` cannot be set on `#[traced_impl]`: {why}", keyword.name),
            ));
        }
    }
    if let (Some(_), Some((parent, _))) = (&options.root, &options.parent) {
        errors.push(syn::Error::new(
            parent.span,
            "`root` and `parent` cannot be used together: \
             `root` starts a new trace, `parent` continues a given one",
        ));
    }
    if options.suppress.is_some() {
        for keyword in options.keywords() {
            if keyword.name != "suppress" {
                errors.push(syn::Error::new(
                    keyword.span,
                    format!(
                        "`suppress` creates no span, so `{}` would have no effect; remove one of them",
                        keyword.name
                    ),
                ));
            }
        }
    }
    errors
}

/// Checks a function against the options that apply to it.
pub(crate) fn function(options: &Options, function: &TracedFn) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    let sig = &function.sig;
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            "`#[traced]` cannot trace a `const fn`: spans are created at run time; \
             remove `const` or the attribute",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "`#[traced]` cannot trace a variadic function",
        ));
    }
    let mut keys = HashSet::new();
    for entry in options.attrs.iter().flat_map(|(_, entries)| entries) {
        if !keys.insert(entry.key.clone()) {
            errors.push(syn::Error::new_spanned(
                &entry.key_tokens,
                format!("the attribute key `{}` is recorded more than once", entry.key),
            ));
        }
    }
    for param in &function.params {
        let Some(attr) = &param.attr else { continue };
        let key = match (&param.binding, &attr.key) {
            (Binding::Receiver, _) => {
                errors.push(syn::Error::new(
                    attr.span,
                    "`#[attr]` cannot record `self`; record what matters with \
                     `attrs(key = self.field)`",
                ));
                continue;
            }
            (_, Some(key)) => key.value(),
            (Binding::Ident(ident), None) => {
                let text = ident.to_string();
                text.strip_prefix("r#").map_or(text.clone(), str::to_owned)
            }
            (Binding::Pattern { .. }, None) => {
                errors.push(syn::Error::new(
                    attr.span,
                    "`#[attr]` on a pattern parameter needs a key, like `#[attr(\"point\")]`",
                ));
                continue;
            }
        };
        if !keys.insert(key.clone()) {
            errors.push(syn::Error::new(
                attr.span,
                format!("the attribute key `{key}` is recorded more than once"),
            ));
        }
    }
    if let Some(ret) = &options.ret {
        let returns_nothing = match (&function.shape, &sig.output) {
            (Shape::Sync | Shape::Async, ReturnType::Default) => true,
            (Shape::Sync | Shape::Async, ReturnType::Type(_, ty)) => {
                matches!(&**ty, syn::Type::Tuple(tuple) if tuple.elems.is_empty())
            }
            _ => false,
        };
        if returns_nothing {
            errors.push(syn::Error::new(
                ret.span,
                "`ret` records the return value, but this function returns nothing",
            ));
        }
    }
    errors
}
