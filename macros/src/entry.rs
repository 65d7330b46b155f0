//! The three attributes, on `proc_macro2` tokens so tests can call them:
//! parse, validate, expand.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Attribute, ImplItem, Item, ItemFn, ItemImpl, Type};

use crate::args::Options;
use crate::conditional;
use crate::error::{StripMarkers, compile_errors, with_item};
use crate::expand::{self, ImplMethod};
use crate::model::TracedFn;
use crate::validate::{self, Placement};

pub(crate) fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let options = match syn::parse2::<Options>(args.clone()) {
        Ok(options) => options,
        Err(error) => return with_item(item, vec![error]),
    };
    let mut function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(error) => return with_item(item.clone(), vec![not_a_function(&item, error)]),
    };
    if function.sig.asyncness.is_some()
        && let Some(at) = function.attrs.iter().position(is_runtime_entry)
    {
        // `#[tokio::test]` or `#[tokio::main]` below, which needs an
        // `async fn`: it expands first, then this attribute on what it made.
        let krate = options.runtime_path();
        let before =
            expand::reinvoked_after(&mut function.attrs, at, &quote!(#[#krate::traced(#args)]));
        return quote!(#before #function);
    }
    let mut errors = validate::options(&options, Placement::Function);
    let prefix = prefix(&function.vis, function.modifiers.defaultness.as_ref());
    match TracedFn::new(function.attrs, prefix, function.sig, *function.block, None) {
        Ok(model) => {
            errors.extend(validate::function(&options, &model));
            if errors.is_empty() {
                return expand::function(&options, &model);
            }
            with_item(item, errors)
        }
        Err(model_errors) => {
            errors.extend(model_errors);
            with_item(item, errors)
        }
    }
}

fn prefix(vis: &syn::Visibility, defaultness: Option<&syn::Token![default]>) -> TokenStream {
    quote!(#vis #defaultness)
}

/// The error for `#[traced]` on something other than a function with a body.
fn not_a_function(item: &TokenStream, parse_error: syn::Error) -> syn::Error {
    let message =
        |what: &str| format!("`#[traced]` applies to functions and methods, not to {what}");
    if let Ok(declaration) = syn::parse2::<syn::TraitItemFn>(item.clone())
        && declaration.default.is_none()
    {
        return syn::Error::new(
            declaration.sig.fn_token.span,
            "`#[traced]` needs a function body; on a trait method declaration, \
             put it on the implementations instead",
        );
    }
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Impl(imp)) => syn::Error::new(
            imp.impl_token.span,
            "`#[traced]` applies to functions; to trace every method of an impl block use `#[traced_impl]`",
        ),
        Ok(Item::Struct(s)) => syn::Error::new(s.struct_token.span, message("a struct")),
        Ok(Item::Enum(e)) => syn::Error::new(e.enum_token.span, message("an enum")),
        Ok(Item::Trait(t)) => syn::Error::new(
            t.trait_token.span,
            "`#[traced]` applies to functions with a body, not to a trait; put it on the methods of the impls",
        ),
        Ok(Item::Mod(m)) => syn::Error::new(m.mod_token.span, message("a module")),
        Ok(Item::Const(c)) => syn::Error::new(c.const_token.span, message("a const")),
        Ok(Item::Static(s)) => syn::Error::new(s.static_token.span, message("a static")),
        Ok(other) => syn::Error::new(other.span(), message("this item")),
        Err(_) => parse_error,
    }
}

pub(crate) fn traced_impl(args: TokenStream, item: TokenStream) -> TokenStream {
    let options = match syn::parse2::<Options>(args.clone()) {
        Ok(options) => options,
        Err(error) => return with_item(item, vec![error]),
    };
    let imp = match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(imp) => imp,
        Err(error) => return with_item(item.clone(), vec![not_an_impl(&item, error)]),
    };
    let mut errors = validate::options(&options, Placement::ImplBlock);
    if let Some(again) = imp
        .attrs
        .iter()
        .find(|attr| last_segment_is(attr, "traced_impl"))
    {
        errors.push(syn::Error::new_spanned(
            again,
            "`#[traced_impl]` is written more than once on this impl block",
        ));
    }
    if !errors.is_empty() {
        return with_item(item, errors);
    }
    if let Some(at) = imp.attrs.iter().position(is_async_trait) {
        // `#[async_trait]` below: it expands first, then this block again.
        let krate = options.runtime_path();
        let mut imp = imp;
        let before =
            expand::reinvoked_after(&mut imp.attrs, at, &quote!(#[#krate::traced_impl(#args)]));
        return quote!(#before #imp);
    }
    let type_name = type_name(&imp.self_ty);
    let mut methods = Vec::new();
    let mut imp = imp;
    imp.items = std::mem::take(&mut imp.items)
        .into_iter()
        .flat_map(|item| match item {
            ImplItem::Fn(method) => conditional::split(method)
                .into_iter()
                .map(ImplItem::Fn)
                .collect(),
            other => vec![other],
        })
        .collect();
    for (index, impl_item) in imp.items.iter_mut().enumerate() {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let has_receiver = method.sig.receiver().is_some();
        match method_plan(&mut method.attrs, has_receiver) {
            Err(plan_errors) => {
                errors.extend(plan_errors);
                StripMarkers.visit_impl_item_fn_mut(method);
            }
            Ok(Plan::Untraced) => {
                if let Some(attr) = param_attr(&method.sig) {
                    errors.push(syn::Error::new_spanned(
                        attr,
                        "`#[attr]` has no effect on an `#[untraced]` method",
                    ));
                    StripMarkers.visit_impl_item_fn_mut(method);
                }
            }
            Ok(Plan::UnmarkedAssociated) => {
                if let Some(attr) = param_attr(&method.sig) {
                    errors.push(syn::Error::new_spanned(
                        attr,
                        "`#[attr]` has no effect here: `#[traced_impl]` traces the methods \
                         that take `self`; add `#[traced]` to this associated function to trace it",
                    ));
                    StripMarkers.visit_impl_item_fn_mut(method);
                }
            }
            Ok(Plan::Traced(own)) => {
                let mut own_errors = validate::options(&own, Placement::Function);
                own_errors.extend(validate::under_suppressed_block(&options, &own));
                let ret_is_own = own.ret.is_some();
                let mut merged = own.over(&defaults_for(&options, &method.sig));
                let prefix = prefix(&method.vis, method.modifiers.defaultness.as_ref());
                let model = TracedFn::new(
                    method.attrs.clone(),
                    prefix,
                    method.sig.clone(),
                    method.block.clone(),
                    Some(&type_name),
                );
                match model {
                    Ok(mut model) => {
                        model.impl_generics = Some(generic_names(&imp.generics));
                        // A block-level `ret` applies to the methods that return something.
                        if !ret_is_own && validate::returns_nothing(&model) {
                            merged.ret = None;
                        }
                        let mut method_errors = own_errors;
                        method_errors.extend(validate::function(&merged, &model));
                        if method_errors.is_empty() {
                            methods.push(ImplMethod {
                                index,
                                expansion: expand::function(&merged, &model),
                            });
                        } else {
                            errors.extend(method_errors);
                            StripMarkers.visit_impl_item_fn_mut(method);
                        }
                    }
                    Err(model_errors) => {
                        errors.extend(own_errors);
                        errors.extend(model_errors);
                        StripMarkers.visit_impl_item_fn_mut(method);
                    }
                }
            }
        }
    }
    let mut output = expand::impl_block(imp, methods);
    output.extend(compile_errors(errors));
    output
}

/// The names of an impl block's type and const parameters.
fn generic_names(generics: &syn::Generics) -> Vec<syn::Ident> {
    generics
        .params
        .iter()
        .filter_map(|param| match param {
            syn::GenericParam::Type(ty) => Some(ty.ident.clone()),
            syn::GenericParam::Const(c) => Some(c.ident.clone()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect()
}

/// The block's options as they apply to one method: block-level `attrs` that
/// read `self` do not apply to associated functions without a receiver.
fn defaults_for(options: &Options, sig: &syn::Signature) -> Options {
    if sig.receiver().is_some() {
        return options.clone();
    }
    let mut defaults = options.clone();
    if let Some((_, entries)) = &mut defaults.attrs {
        entries.retain(|entry| !mentions_self(entry.value.to_token_stream()));
    }
    defaults
}

fn mentions_self(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "self",
        proc_macro2::TokenTree::Group(group) => mentions_self(group.stream()),
        _ => false,
    })
}

fn not_an_impl(item: &TokenStream, parse_error: syn::Error) -> syn::Error {
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => syn::Error::new(
            function.sig.fn_token.span,
            "`#[traced_impl]` applies to impl blocks; on a function use `#[traced]`",
        ),
        Ok(Item::Trait(t)) => syn::Error::new(
            t.trait_token.span,
            "`#[traced_impl]` applies to impl blocks, not to a trait definition; \
             put it on the impls of the trait",
        ),
        Ok(other) => syn::Error::new(
            other.span(),
            "`#[traced_impl]` applies to impl blocks (`impl Type { .. }` or `impl Trait for Type { .. }`)",
        ),
        Err(_) => parse_error,
    }
}

/// An attribute that runs an `async fn` on a runtime, as `#[tokio::test]`,
/// `#[tokio::main]` or `#[async_std::main]`: a path ending in `test` or
/// `main` (on an `async fn`, only one written after `#[traced]` is left to
/// see here).
fn is_runtime_entry(attr: &Attribute) -> bool {
    let segments = &attr.path().segments;
    segments.len() > 1
        && segments
            .last()
            .is_some_and(|segment| segment.ident == "test" || segment.ident == "main")
}

fn is_async_trait(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "async_trait")
}

fn last_segment_is(attr: &Attribute, name: &str) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == name)
}

/// What to do with one function of a `#[traced_impl]` block.
enum Plan {
    /// `#[traced(..)]` on it, or no marker on a method taking `self`:
    /// traced, with these options over the block's.
    Traced(Box<Options>),
    /// `#[untraced]`: left as written.
    Untraced,
    /// No marker on an associated function without a receiver (a
    /// constructor, a helper): left as written.
    UnmarkedAssociated,
}

/// Takes `#[traced(..)]` / `#[untraced]` off the function and says what to
/// do with it.
fn method_plan(attrs: &mut Vec<Attribute>, has_receiver: bool) -> Result<Plan, Vec<syn::Error>> {
    let mut errors = Vec::new();
    let mut traced: Option<Attribute> = None;
    let mut untraced: Option<Attribute> = None;
    let mut kept = Vec::new();
    for attr in attrs.drain(..) {
        let slot = if last_segment_is(&attr, "traced") {
            &mut traced
        } else if last_segment_is(&attr, "untraced") {
            &mut untraced
        } else {
            kept.push(attr);
            continue;
        };
        if slot.is_some() {
            errors.push(syn::Error::new_spanned(
                &attr,
                "this attribute is written more than once on the method",
            ));
        }
        *slot = Some(attr);
    }
    *attrs = kept;
    if let (Some(_), Some(untraced)) = (&traced, &untraced) {
        errors.push(syn::Error::new_spanned(
            untraced,
            "a method cannot be both `#[traced]` and `#[untraced]`; keep one",
        ));
    }
    if let Some(untraced) = &untraced
        && !matches!(untraced.meta, syn::Meta::Path(_))
    {
        errors.push(syn::Error::new_spanned(
            untraced,
            "`#[untraced]` takes no arguments",
        ));
    }
    let options = traced.as_ref().map(|attr| match &attr.meta {
        syn::Meta::Path(_) => Options::default(),
        syn::Meta::List(list) => list.parse_args::<Options>().unwrap_or_else(|error| {
            errors.push(error);
            Options::default()
        }),
        syn::Meta::NameValue(_) => {
            errors.push(syn::Error::new_spanned(
                attr,
                "expected `#[traced]` or `#[traced(option, ..)]`",
            ));
            Options::default()
        }
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(match (options, untraced) {
        (_, Some(_)) => Plan::Untraced,
        (Some(options), None) => Plan::Traced(Box::new(options)),
        (None, None) if has_receiver => Plan::Traced(Box::default()),
        (None, None) => Plan::UnmarkedAssociated,
    })
}

/// The first `#[attr]` on a parameter of `sig`.
fn param_attr(sig: &syn::Signature) -> Option<&Attribute> {
    sig.inputs.iter().find_map(|input| {
        let attrs = match input {
            syn::FnArg::Receiver(receiver) => &receiver.attrs,
            syn::FnArg::Typed(typed) => &typed.attrs,
        };
        attrs.iter().find(|attr| attr.path().is_ident("attr"))
    })
}

/// `Type` in `Type::method`: the last path segment of the self type, without generics.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(String::new, |segment| segment.ident.to_string()),
        Type::Reference(reference) => type_name(&reference.elem),
        Type::Paren(paren) => type_name(&paren.elem),
        Type::Group(group) => type_name(&group.elem),
        Type::TraitObject(object) => object
            .bounds
            .iter()
            .find_map(|bound| match bound {
                syn::TypeParamBound::Trait(bound) => bound.path.segments.last(),
                _ => None,
            })
            .map_or_else(String::new, |segment| segment.ident.to_string()),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

pub(crate) fn untraced(args: TokenStream, item: TokenStream) -> TokenStream {
    if args.is_empty() {
        return item;
    }
    let error = syn::Error::new_spanned(args, "`#[untraced]` takes no arguments");
    let mut output = item;
    output.extend(error.to_compile_error());
    output
}
