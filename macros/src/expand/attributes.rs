//! A function's attributes: which values are known at compile time
//! (literals, constants), which each call records, and the code for both. The
//! keys and the known values go into the call site's `static`; a call records
//! only the other values, in order, when its span records.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Lit, Path, UnOp};

use crate::args::Options;
use crate::model::{Binding, Body, TracedFn, by_reference, unraw};

/// One attribute of a call site, in the order it is declared: `attrs(..)`
/// entries first, then the parameters marked `#[attr]`.
pub(crate) struct SiteAttr {
    key: String,
    /// `#[cfg(..)]` of the parameter it records.
    cfgs: Vec<Attribute>,
    value: Source,
}

enum Source {
    /// A literal: a `StaticValue` constructor call.
    Literal(TokenStream),
    /// A path to a constant, read where the span is exported.
    Constant(Path),
    /// Recorded by each call: a `&T` expression, and where a type error goes.
    Recorded(TokenStream, Span),
}

/// The attributes of `function` under `options`.
pub(crate) fn site_attributes(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
) -> Vec<SiteAttr> {
    let mut attributes = Vec::new();
    for entry in options.attrs.iter().flat_map(|(_, entries)| entries) {
        let value = &entry.value;
        let source = if let Some(literal) = literal(krate, value) {
            Source::Literal(literal)
        } else if let Some(path) = constant(value, function) {
            Source::Constant(path.clone())
        } else {
            Source::Recorded(quote!(&(#value)), value.span())
        };
        attributes.push(SiteAttr {
            key: entry.key.clone(),
            cfgs: Vec::new(),
            value: source,
        });
    }
    let rebound = matches!(function.body, Body::Rebound);
    for param in &function.params {
        let Some(attr) = &param.attr else { continue };
        let recorded: Vec<(String, TokenStream)> = match &param.binding {
            Binding::Receiver(_) => continue,
            Binding::Ident { ident, .. } => {
                let key = attr
                    .key
                    .as_ref()
                    .map_or_else(|| unraw(ident), |k| k.value());
                vec![(key, quote!(&#ident))]
            }
            Binding::Pattern { renamed, names, .. } => match (names.as_slice(), &attr.key) {
                ([], Some(key)) => vec![(key.value(), quote!(&#renamed))],
                ([name], Some(key)) => vec![(key.value(), name_ref(name, rebound))],
                (names, _) => names
                    .iter()
                    .map(|name| (unraw(name), name_ref(name, rebound)))
                    .collect(),
            },
        };
        for (key, value_ref) in recorded {
            attributes.push(SiteAttr {
                key,
                cfgs: param.cfgs.clone(),
                value: Source::Recorded(value_ref, attr.span),
            });
        }
    }
    attributes
}

/// Whether a call records any of `attributes`.
pub(crate) fn any_recorded(attributes: &[SiteAttr]) -> bool {
    attributes
        .iter()
        .any(|attribute| matches!(attribute.value, Source::Recorded(..)))
}

/// The call site's attribute list: `&[SiteAttribute, ..]`.
pub(crate) fn static_list(krate: &TokenStream, attributes: &[SiteAttr]) -> TokenStream {
    let entries = attributes.iter().map(|attribute| {
        let SiteAttr { key, cfgs, value } = attribute;
        let entry = match value {
            Source::Literal(value) => {
                quote!(#krate::__private::SiteAttribute::literal(#key, #value))
            }
            Source::Constant(path) => {
                let read = value_of(krate, &quote!(&#path), path.span());
                quote! {
                    #krate::__private::SiteAttribute::constant(#key, || {
                        #[allow(unused_imports)]
                        use #krate::__private::probe::{
                            ViaDebug as _, ViaDisplay as _, ViaNative as _, ViaNeither as _,
                            ViaNeitherBehindRef as _, ViaOptionDebug as _, ViaOptionDisplay as _,
                        };
                        #read.into_value()
                    })
                }
            }
            Source::Recorded(..) => quote!(#krate::__private::SiteAttribute::recorded(#key)),
        };
        quote!(#(#cfgs)* #entry)
    });
    quote!(&[#(#entries),*])
}

/// One `record` call into `sink` per recorded attribute, in order.
pub(crate) fn records(
    krate: &TokenStream,
    attributes: &[SiteAttr],
    sink: &Ident,
) -> Vec<TokenStream> {
    attributes
        .iter()
        .filter_map(|attribute| {
            let Source::Recorded(value_ref, at) = &attribute.value else {
                return None;
            };
            let cfgs = &attribute.cfgs;
            let value = value_of(krate, value_ref, *at);
            Some(quote!(#(#cfgs)* #sink.record(#value);))
        })
        .collect()
}

/// The `AttrValue` of `value_ref` (a `&T` expression), chosen by type; a
/// type error is reported at `at`.
fn value_of(krate: &TokenStream, value_ref: &TokenStream, at: Span) -> TokenStream {
    quote_spanned! {at=>
        (&&&&&&&#krate::__private::AttrProbe(#value_ref)).__traced_attr_value()
    }
}

/// A name a pattern parameter binds, as a reference: already one in the
/// views of rebound parameters, a binding of the signature otherwise.
fn name_ref(name: &Ident, rebound: bool) -> TokenStream {
    if rebound {
        name.to_token_stream()
    } else {
        quote!(&#name)
    }
}

/// `value` as a `StaticValue`, when it is a literal the value of which
/// is the same as recording it at run time would give: a string, a number
/// (negated or not), a `bool` or a `char`. The literal keeps its type, so
/// an out-of-range literal is the same error as before.
fn literal(krate: &TokenStream, value: &Expr) -> Option<TokenStream> {
    let (negated, lit) = match value {
        Expr::Paren(inner) if inner.attrs.is_empty() => return literal(krate, &inner.expr),
        Expr::Group(inner) if inner.attrs.is_empty() => return literal(krate, &inner.expr),
        Expr::Lit(lit) if lit.attrs.is_empty() => (false, &lit.lit),
        Expr::Unary(unary) if unary.attrs.is_empty() && matches!(unary.op, UnOp::Neg(_)) => {
            match &*unary.expr {
                Expr::Lit(lit) if lit.attrs.is_empty() => (true, &lit.lit),
                _ => return None,
            }
        }
        _ => return None,
    };
    let constructor = match lit {
        Lit::Str(text) if !negated && text.suffix().is_empty() => "str",
        Lit::Bool(_) if !negated => "bool",
        Lit::Char(c) if !negated && c.suffix().is_empty() => "char",
        Lit::Int(int) => match int.suffix() {
            "" => "i32",
            suffix @ ("i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32"
            | "u64" | "u128" | "usize") => suffix,
            _ => return None,
        },
        Lit::Float(float) => match float.suffix() {
            "" | "f64" => "f64",
            "f32" => "f32",
            _ => return None,
        },
        _ => return None,
    };
    let constructor = Ident::new(constructor, Span::call_site());
    let minus = negated.then(|| quote!(-));
    Some(quote_spanned! {value.span()=>
        #krate::__private::StaticValue::#constructor(#minus #lit)
    })
}

/// `value` as the path of a constant (`SQL`, `queries::SELECT`,
/// `Limits::MAX`): a path in SCREAMING_CASE, which can be read from the call
/// site's `static` (no generic parameter of the function, or of an impl
/// block it may be in, nor `Self`). Read where the span is exported.
fn constant<'a>(value: &'a Expr, function: &TracedFn) -> Option<&'a Path> {
    let Expr::Path(expr) = value else {
        return None;
    };
    if !expr.attrs.is_empty() || expr.qself.is_some() {
        return None;
    }
    let path = &expr.path;
    let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
    let (first, last) = (segments.first()?, segments.last()?);
    for (index, segment) in segments.iter().enumerate() {
        let module_self = segment.ident == "self" && index == 0 && segments.len() > 1;
        if !segment.arguments.is_none()
            || segment.ident == "Self"
            || segment.ident == "self" && !module_self
        {
            return None;
        }
    }
    if !screaming(&unraw(&last.ident)) {
        return None;
    }
    let first_name = unraw(&first.ident);
    let generics = &function.sig.generics;
    let own_generic = generics.params.iter().any(|param| match param {
        syn::GenericParam::Type(ty) => ty.ident == first.ident,
        syn::GenericParam::Const(c) => c.ident == first.ident,
        syn::GenericParam::Lifetime(_) => false,
    });
    let a_parameter = function.params.iter().any(|param| match &param.binding {
        Binding::Ident { ident, .. } => *ident == first.ident,
        Binding::Pattern { names, .. } => names.contains(&first.ident),
        Binding::Receiver(_) => false,
    });
    if own_generic || a_parameter && segments.len() == 1 {
        return None;
    }
    // A module path names an item, never a generic parameter.
    let module_path = path.leading_colon.is_some()
        || segments.len() > 1
            && (matches!(first_name.as_str(), "crate" | "super" | "self")
                || first_name.starts_with(|c: char| c.is_ascii_lowercase()));
    if module_path {
        return Some(path);
    }
    match &function.impl_generics {
        // Inside `#[traced_impl]`: the block's generic parameters are known.
        Some(outer) => (!outer.contains(&first.ident)).then_some(path),
        // A method (or a function naming `Self`) may sit in an impl block
        // whose generic parameters this attribute cannot see.
        None => (!in_impl_block(function)).then_some(path),
    }
}

/// SCREAMING_CASE: an uppercase letter, no lowercase one.
fn screaming(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase()) && !name.chars().any(char::is_lowercase)
}

/// Whether `function` is plainly a method or an associated function: it
/// takes `self`, or names `Self`.
fn in_impl_block(function: &TracedFn) -> bool {
    fn names_self(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => ident == "Self" || ident == "self",
            proc_macro2::TokenTree::Group(group) => names_self(group.stream()),
            _ => false,
        })
    }
    names_self(function.sig.to_token_stream())
}

/// Where the body rebinds the parameters, the signature holds pattern
/// parameters whole: attribute expressions see the names they bind through
/// a reference to each, for the patterns they read.
pub(crate) fn pattern_views(options: &Options, function: &TracedFn) -> TokenStream {
    if !matches!(function.body, Body::Rebound) {
        return TokenStream::new();
    }
    let read = read_by_options(options);
    let views = function
        .params
        .iter()
        .filter_map(|param| match &param.binding {
            Binding::Pattern {
                pat,
                renamed,
                names,
            } if param.attr.is_some() && !names.is_empty()
                || names.iter().any(|name| read.contains(name)) =>
            {
                let cfgs = &param.cfgs;
                let view = by_reference(pat);
                Some(quote! {
                    #(#cfgs)*
                    #[allow(unused_variables)]
                    let #view = &#renamed;
                })
            }
            _ => None,
        });
    quote!(#(#views)*)
}

/// The identifiers the options' expressions read: parameters they name are
/// used even when the body does not use them.
pub(crate) fn read_by_options(options: &Options) -> Vec<Ident> {
    let mut read = Vec::new();
    let attrs = options.attrs.iter().flat_map(|(_, entries)| entries);
    for expr in attrs
        .map(|entry| &entry.value)
        .chain(options.parent.iter().map(|(_, expr)| expr))
        .chain(options.links.iter().map(|(_, expr)| expr))
    {
        idents(expr.to_token_stream(), &mut read);
    }
    read
}

/// Every identifier in `tokens`.
fn idents(tokens: TokenStream, found: &mut Vec<Ident>) {
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Ident(ident) => found.push(ident),
            proc_macro2::TokenTree::Group(group) => idents(group.stream(), found),
            _ => {}
        }
    }
}
