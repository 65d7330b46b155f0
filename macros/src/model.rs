//! The model of a function to trace: its attributes, its signature with
//! `#[attr]` taken off the parameters, what each parameter binds, the shape
//! of its body and where that body runs.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::ext::IdentExt;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{
    AttrStyle, Attribute, Block, ExprAsync, FnArg, GenericArgument, Ident, Pat, PathArguments,
    ReturnType, Signature, Token, Type, TypeParamBound,
};

use crate::args::{ParamAttr, parse_param_attr};

/// How the body produces its value, which decides where the span ends.
pub(crate) enum Shape {
    /// A plain function: the span ends when it returns.
    Sync,
    /// `fn .. -> !`: the span only ends by a panic unwinding out of it.
    Never,
    /// `async fn`: the span ends when the future completes.
    Async,
    /// `fn .. -> impl Future<Output = T>`: the body runs in the span, then the
    /// future it returns carries the span until it completes.
    ImplFuture { output: Type },
    /// `fn .. -> Pin<Box<dyn Future<Output = T> ..>>`, as `#[async_trait]`
    /// writes methods: like `ImplFuture`, boxed again.
    BoxedFuture { output: Type },
}

/// Where the body runs.
pub(crate) enum Body {
    /// In a closure (or, for `async fn`, an async block) that first moves in
    /// and rebinds every parameter in order, as the compiler lowers an
    /// `async fn`: each is dropped where it would be without the attribute.
    Rebound,
    /// `Box::pin(async move { .. })`, as `#[async_trait]` writes methods: the
    /// async block is taken as it is (it rebinds the parameters itself).
    AsyncTraitBlock(ExprAsync),
    /// Inline, with the span entered, for `#[track_caller]` functions: a
    /// closure around the body would report its own location instead of the
    /// caller's. The signature stays as written.
    Entered,
}

/// What a parameter binds.
pub(crate) enum Binding {
    /// A `self` receiver in any form; its own token, whose hygiene a
    /// `macro_rules!` that wrote the method decides.
    Receiver(Token![self]),
    /// `name: T` or `mut name: T`.
    Ident {
        ident: Ident,
        mutability: Option<Token![mut]>,
    },
    /// Any other pattern, and the `names` it binds. Where the parameters are
    /// rebound, the signature takes it as `renamed` and the body matches it.
    Pattern {
        pat: Box<Pat>,
        renamed: Ident,
        names: Vec<Ident>,
    },
}

pub(crate) struct Param {
    pub(crate) binding: Binding,
    pub(crate) attr: Option<ParamAttr>,
    /// `#[cfg(..)]`: stays on the parameter and goes on every statement
    /// generated about it.
    pub(crate) cfgs: Vec<Attribute>,
    /// Every other attribute (lint levels): where the parameter is rebound,
    /// it goes on the rebinding, the binding the body uses.
    pub(crate) others: Vec<Attribute>,
}

/// A function to trace.
pub(crate) struct TracedFn {
    /// Attributes above the function.
    pub(crate) outer_attrs: Vec<Attribute>,
    /// `#![..]` at the top of the body: they stay at the top of the body.
    pub(crate) inner_attrs: Vec<Attribute>,
    /// Visibility and modifiers (`pub`, `default`), emitted unchanged.
    pub(crate) prefix: TokenStream,
    /// The signature as written, minus the `#[attr]` markers.
    pub(crate) sig: Signature,
    pub(crate) block: Block,
    pub(crate) params: Vec<Param>,
    pub(crate) shape: Shape,
    pub(crate) body: Body,
    /// The name the span gets by default: `fn` or `Type::method`.
    pub(crate) default_name: String,
    /// The generic parameters of the impl block, for a method of
    /// `#[traced_impl]`; unknown under `#[traced]`.
    pub(crate) impl_generics: Option<Vec<Ident>>,
}

impl TracedFn {
    /// Builds the model; `self_type` is the impl block's type name for methods
    /// of `#[traced_impl]`.
    pub(crate) fn new(
        attrs: Vec<Attribute>,
        prefix: TokenStream,
        mut sig: Signature,
        block: Block,
        self_type: Option<&str>,
    ) -> Result<Self, Vec<syn::Error>> {
        let mut errors = Vec::new();
        let mut params = Vec::new();
        for (index, input) in sig.inputs.iter_mut().enumerate() {
            let (attrs, binding) = match input {
                FnArg::Receiver(receiver) => {
                    (&mut receiver.attrs, Binding::Receiver(receiver.self_token))
                }
                FnArg::Typed(typed) => (&mut typed.attrs, binding_of(&typed.pat, index)),
            };
            let mut attr = None;
            let mut kept = Vec::new();
            for a in attrs.drain(..) {
                if !a.path().is_ident("attr") {
                    kept.push(a);
                    continue;
                }
                match parse_param_attr(&a) {
                    Ok(parsed) if attr.is_some() => errors.push(syn::Error::new(
                        parsed.span,
                        "`#[attr]` is written more than once on this parameter",
                    )),
                    Ok(parsed) => attr = Some(parsed),
                    Err(error) => errors.push(error),
                }
            }
            *attrs = kept.clone();
            let (cfgs, others) = kept.into_iter().partition(|a| a.path().is_ident("cfg"));
            params.push(Param {
                binding,
                attr,
                cfgs,
                others,
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let shape = shape_of(&sig);
        let track_caller = attrs
            .iter()
            .any(|attr| attr.path().is_ident("track_caller"));
        let body = match (&shape, boxed_async_block(&block)) {
            (Shape::BoxedFuture { .. }, Some(async_block)) => {
                Body::AsyncTraitBlock(async_block.clone())
            }
            // An async body runs in an async block whatever is written.
            (Shape::Async, _) => Body::Rebound,
            _ if track_caller => Body::Entered,
            _ => Body::Rebound,
        };
        let (outer_attrs, inner_attrs) = attrs
            .into_iter()
            .partition(|attr| matches!(attr.style, AttrStyle::Outer));
        let fn_name = unraw(&sig.ident);
        let default_name = match self_type {
            Some(ty) => format!("{ty}::{fn_name}"),
            None => fn_name,
        };
        Ok(TracedFn {
            outer_attrs,
            inner_attrs,
            prefix,
            sig,
            block,
            params,
            shape,
            body,
            default_name,
            impl_generics: None,
        })
    }

    /// The declared return type with every `impl Trait` in it replaced by
    /// `_`, as a body can name it (`()` when none is written); `None` when
    /// nothing of it can be named, or the function never returns.
    pub(crate) fn nameable_output(&self) -> Option<Type> {
        if matches!(self.shape, Shape::Never) {
            return None;
        }
        let mut ty = match &self.sig.output {
            ReturnType::Default => return Some(syn::parse_quote!(())),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        ImplTraitEraser.visit_type_mut(&mut ty);
        (!matches!(ty, Type::Infer(_))).then_some(ty)
    }
}

/// `name` without its `r#`.
pub(crate) fn unraw(ident: &Ident) -> String {
    ident.unraw().to_string()
}

fn binding_of(pat: &Pat, index: usize) -> Binding {
    match pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => Binding::Ident {
            ident: pat.ident.clone(),
            mutability: pat.mutability,
        },
        _ => {
            let mut names = BoundNames(Vec::new());
            names.visit_pat(pat);
            Binding::Pattern {
                pat: Box::new(pat.clone()),
                renamed: format_ident!("__traced_arg{}", index, span = Span::mixed_site()),
                names: names.0,
            }
        }
    }
}

/// The names a pattern binds.
struct BoundNames(Vec<Ident>);

impl<'ast> Visit<'ast> for BoundNames {
    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.0.push(pat.ident.clone());
        syn::visit::visit_pat_ident(self, pat);
    }
}

/// Whether `pat` binds something by `ref mut`: the value it is matched
/// against must then be a mutable place.
pub(crate) fn binds_ref_mut(pat: &Pat) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            self.0 |= pat.by_ref.is_some() && pat.mutability.is_some();
            syn::visit::visit_pat_ident(self, pat);
        }
    }
    let mut finder = Finder(false);
    finder.visit_pat(pat);
    finder.0
}

/// `pat` as it matches a reference to the value: binding modes and
/// reference patterns removed, so that default binding modes bind every name
/// by reference.
pub(crate) fn by_reference(pat: &Pat) -> Pat {
    struct Strip;
    impl VisitMut for Strip {
        fn visit_pat_mut(&mut self, pat: &mut Pat) {
            if let Pat::Reference(reference) = pat {
                *pat = (*reference.pat).clone();
                self.visit_pat_mut(pat);
                return;
            }
            syn::visit_mut::visit_pat_mut(self, pat);
        }
        fn visit_pat_ident_mut(&mut self, pat: &mut syn::PatIdent) {
            pat.by_ref = None;
            pat.mutability = None;
            syn::visit_mut::visit_pat_ident_mut(self, pat);
        }
    }
    let mut pat = pat.clone();
    Strip.visit_pat_mut(&mut pat);
    pat
}

/// Replaces every `impl Trait` with `_`.
struct ImplTraitEraser;

impl VisitMut for ImplTraitEraser {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            let span = syn::spanned::Spanned::span(impl_trait);
            *ty = syn::parse_quote_spanned!(span=> _);
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

fn shape_of(sig: &Signature) -> Shape {
    if sig.asyncness.is_some() {
        return Shape::Async;
    }
    let ReturnType::Type(_, ty) = &sig.output else {
        return Shape::Sync;
    };
    if let Type::Never(_) = &**ty {
        return Shape::Never;
    }
    if let Type::ImplTrait(impl_trait) = &**ty
        && let Some(output) = future_output(impl_trait.bounds.iter())
    {
        return Shape::ImplFuture { output };
    }
    if let Some(output) = boxed_future_output(ty) {
        return Shape::BoxedFuture { output };
    }
    Shape::Sync
}

/// `T` of a `Future<Output = T>` among `bounds`.
fn future_output<'a>(mut bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<Type> {
    bounds.find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

/// `T` of `Pin<Box<dyn Future<Output = T> + ..>>`.
fn boxed_future_output(ty: &Type) -> Option<Type> {
    let inner = single_generic(ty, "Pin")?;
    let inner = single_generic(inner, "Box")?;
    let Type::TraitObject(object) = inner else {
        return None;
    };
    future_output(object.bounds.iter())
}

fn single_generic<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    }
}

/// The `async` block of a body that is only `Box::pin(async move { .. })`.
fn boxed_async_block(block: &Block) -> Option<&ExprAsync> {
    let [syn::Stmt::Expr(syn::Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let syn::Expr::Path(callee) = &*call.func else {
        return None;
    };
    let mut segments = callee.path.segments.iter().rev();
    let (Some(pin), Some(boxed)) = (segments.next(), segments.next()) else {
        return None;
    };
    if pin.ident != "pin" || boxed.ident != "Box" {
        return None;
    }
    match call.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::Expr::Async(async_block)] if async_block.capture.is_some() => Some(async_block),
        _ => None,
    }
}
