//! The model of a function to trace: its signature with `#[attr]` taken off the
//! parameters, what each parameter binds, and which shape of body it has.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::visit::Visit;
use syn::{
    Attribute, Block, FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Signature,
    Type, TypeParamBound,
};

use crate::args::{ParamAttr, parse_param_attr};

/// How the body produces its value, which decides where the span ends.
pub(crate) enum Shape {
    /// A plain function: the span ends when it returns.
    Sync,
    /// `async fn`: the span ends when the future completes.
    Async,
    /// `fn .. -> impl Future<Output = T>`: the body runs in the span, then the
    /// future it returns carries the span until it completes.
    ImplFuture { output: Type },
    /// `fn .. -> Pin<Box<dyn Future<Output = T> ..>>`, as `#[async_trait]`
    /// writes methods: like `ImplFuture`, boxed again.
    BoxedFuture { output: Type },
}

/// What a parameter binds.
pub(crate) enum Binding {
    /// A `self` receiver in any form.
    Receiver,
    /// `name: T` or `mut name: T`.
    Ident(Ident),
    /// Any other pattern. When it must be recorded, or kept alive by an async
    /// body, the parameter is `renamed` and the pattern is matched at the start
    /// of the body; otherwise it stays in the signature.
    Pattern {
        pat: Box<Pat>,
        renamed: Option<Ident>,
    },
}

pub(crate) struct Param {
    pub(crate) binding: Binding,
    pub(crate) attr: Option<ParamAttr>,
}

/// A function to trace.
pub(crate) struct TracedFn {
    pub(crate) attrs: Vec<Attribute>,
    /// Visibility and modifiers (`pub`, `default`), emitted unchanged.
    pub(crate) prefix: TokenStream,
    /// The signature with `#[attr]` removed and pattern parameters renamed.
    pub(crate) sig: Signature,
    pub(crate) block: Block,
    pub(crate) params: Vec<Param>,
    pub(crate) shape: Shape,
    /// The name the span gets by default: `fn` or `Type::method`.
    pub(crate) default_name: String,
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
        let rename_patterns = sig.asyncness.is_some();
        for (index, input) in sig.inputs.iter_mut().enumerate() {
            let (attrs, binding) = match input {
                FnArg::Receiver(receiver) => (&mut receiver.attrs, Binding::Receiver),
                FnArg::Typed(typed) => {
                    let binding = match &*typed.pat {
                        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                            Binding::Ident(pat.ident.clone())
                        }
                        _ => Binding::Pattern {
                            pat: typed.pat.clone(),
                            renamed: Some(format_ident!(
                                "__traced_arg{}",
                                index,
                                span = Span::mixed_site()
                            )),
                        },
                    };
                    (&mut typed.attrs, binding)
                }
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
            *attrs = kept;
            params.push(Param { binding, attr });
        }
        for (input, param) in sig.inputs.iter_mut().zip(&mut params) {
            let keep_pattern = !(rename_patterns || param.attr.is_some());
            if let (FnArg::Typed(typed), Binding::Pattern { renamed, .. }) =
                (input, &mut param.binding)
            {
                match renamed {
                    Some(name) if !keep_pattern => *typed.pat = syn::parse_quote!(#name),
                    _ => *renamed = None,
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let shape = shape_of(&sig);
        let fn_name = sig.ident.unraw_string();
        let default_name = match self_type {
            Some(ty) => format!("{ty}::{fn_name}"),
            None => fn_name,
        };
        Ok(TracedFn {
            attrs,
            prefix,
            sig,
            block,
            params,
            shape,
            default_name,
        })
    }
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for Ident {
    fn unraw_string(&self) -> String {
        let text = self.to_string();
        text.strip_prefix("r#").map_or(text.clone(), str::to_owned)
    }
}

fn shape_of(sig: &Signature) -> Shape {
    if sig.asyncness.is_some() {
        return Shape::Async;
    }
    let ReturnType::Type(_, ty) = &sig.output else {
        return Shape::Sync;
    };
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

/// Whether `ty` can be written as a closure's return type or a `let` type:
/// no `impl Trait`, and (for closures) no elided or named lifetimes, whose
/// meaning changes inside a closure signature.
pub(crate) fn nameable(ty: &Type, in_closure: bool) -> bool {
    struct Check {
        in_closure: bool,
        ok: bool,
    }
    impl<'ast> Visit<'ast> for Check {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.ok = false;
        }
        fn visit_type_infer(&mut self, _: &'ast syn::TypeInfer) {
            self.ok = false;
        }
        fn visit_type_reference(&mut self, node: &'ast syn::TypeReference) {
            if self.in_closure {
                self.ok = false;
            }
            syn::visit::visit_type_reference(self, node);
        }
        fn visit_lifetime(&mut self, _: &'ast syn::Lifetime) {
            if self.in_closure {
                self.ok = false;
            }
        }
        fn visit_type_macro(&mut self, _: &'ast syn::TypeMacro) {
            self.ok = false;
        }
    }
    let mut check = Check { in_closure, ok: true };
    check.visit_type(ty);
    check.ok
}
