//! `#[cfg_attr(predicate, traced(..))]` (or `untraced`) on a method of a
//! `#[traced_impl]` block. The block expands before `cfg_attr` is evaluated
//! and cannot evaluate the predicate itself, so the method is written twice:
//! under `#[cfg(predicate)]` with the attributes of the `cfg_attr` applied,
//! and under `#[cfg(not(predicate))]` without them. Each copy is then traced
//! (or not) as written, and never twice.

use syn::punctuated::Punctuated;
use syn::{Attribute, ImplItemFn, Meta, Token};

/// `method` as the copies its `cfg_attr`s around `#[traced]` or
/// `#[untraced]` make; the method alone when it has none.
pub(crate) fn split(method: ImplItemFn) -> Vec<ImplItemFn> {
    let found = method.attrs.iter().enumerate().find_map(|(at, attr)| {
        marker_cfg_attr(attr).map(|(predicate, applied)| (at, predicate, applied))
    });
    let Some((at, predicate, applied)) = found else {
        return vec![method];
    };
    let mut when = method.clone();
    when.attrs.splice(at..=at, applied);
    when.attrs.insert(0, syn::parse_quote!(#[cfg(#predicate)]));
    let mut otherwise = method;
    otherwise.attrs.remove(at);
    otherwise
        .attrs
        .insert(0, syn::parse_quote!(#[cfg(not(#predicate))]));
    let mut copies = split(when);
    copies.extend(split(otherwise));
    copies
}

/// The predicate and the attributes of a `cfg_attr` that applies `traced`
/// or `untraced`, directly or through a nested `cfg_attr`.
fn marker_cfg_attr(attr: &Attribute) -> Option<(Meta, Vec<Attribute>)> {
    let (predicate, metas) = cfg_attr_parts(&attr.meta)?;
    if !metas.iter().any(applies_marker) {
        return None;
    }
    let applied = metas
        .into_iter()
        .map(|meta| Attribute {
            pound_token: attr.pound_token,
            style: attr.style,
            bracket_token: attr.bracket_token,
            meta,
        })
        .collect();
    Some((predicate, applied))
}

fn applies_marker(meta: &Meta) -> bool {
    let last = meta.path().segments.last();
    if last.is_some_and(|segment| segment.ident == "traced" || segment.ident == "untraced") {
        return true;
    }
    cfg_attr_parts(meta).is_some_and(|(_, metas)| metas.iter().any(applies_marker))
}

/// `cfg_attr(predicate, attributes..)` taken apart.
fn cfg_attr_parts(meta: &Meta) -> Option<(Meta, Vec<Meta>)> {
    let Meta::List(list) = meta else { return None };
    if !list.path.is_ident("cfg_attr") {
        return None;
    }
    let metas = list
        .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        .ok()?;
    let mut metas = metas.into_iter();
    let predicate = metas.next()?;
    Some((predicate, metas.collect()))
}
