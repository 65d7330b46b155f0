//! One traced function: the signature unchanged (but for `async fn`, which
//! starts its span at the call and so becomes `fn .. -> impl Future`, and
//! pattern parameters, which the body matches), the body wrapped so the span
//! is current while it runs and records how it ended.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ReturnType, Signature};

use super::attributes::{self, SiteAttr, read_by_options};
use crate::args::{Options, SpanKind};
use crate::model::{Binding, Body, Param, Shape, TracedFn, binds_ref_mut};
use crate::validate::returns_nothing;

/// Names of the generated locals: mixed-site, so user code cannot see them.
struct Locals {
    site: Ident,
    span: Ident,
    scope: Ident,
    value: Ident,
    ret: Ident,
    recorder: Ident,
    future: Ident,
    entered: Ident,
    start: Ident,
    parent: Ident,
    attrs: Ident,
    links: Ident,
    error: Ident,
    ok: Ident,
}

impl Locals {
    fn new() -> Self {
        let ident = |name: &str| Ident::new(name, Span::mixed_site());
        Locals {
            site: ident("__TRACED_SITE"),
            span: ident("__traced_span"),
            scope: ident("__traced_scope"),
            value: ident("__traced_value"),
            ret: ident("__traced_ret"),
            recorder: ident("__traced_recorder"),
            future: ident("__traced_future"),
            entered: ident("__traced_entered"),
            start: ident("__traced_start"),
            parent: ident("__traced_parent"),
            attrs: ident("__traced_attrs"),
            links: ident("__traced_links"),
            error: ident("__traced_error"),
            ok: ident("__traced_ok"),
        }
    }
}

pub(crate) fn function(options: &Options, function: &TracedFn) -> TokenStream {
    let locals = Locals::new();
    let krate = options.runtime_path();
    let attributes = attributes::site_attributes(&krate, options, function);
    let site = call_site(&krate, options, function, &attributes, &locals);
    let start = start(&krate, options, function, &attributes, &locals);
    let body = match (&function.shape, &function.body) {
        (_, Body::AsyncTraitBlock(async_block)) => {
            let future = async_block.to_token_stream();
            instrumented(&krate, options, function, &future, true, &locals)
        }
        (Shape::Sync, Body::Rebound) => sync_body(&krate, options, function, &locals),
        (Shape::Never, Body::Rebound) => never_body(options, function, &locals),
        (Shape::Async, Body::Rebound) => {
            let future = async_block(options, function, &locals);
            instrumented(&krate, options, function, &future, false, &locals)
        }
        (Shape::ImplFuture { .. } | Shape::BoxedFuture { .. }, Body::Rebound) => {
            future_body(&krate, options, function, &locals)
        }
        (_, Body::Entered) => entered_body(&krate, options, function, &locals),
    };
    let sig = signature(function);
    let TracedFn {
        outer_attrs,
        inner_attrs,
        prefix,
        ..
    } = function;
    let mut output = quote!(#(#outer_attrs)* #prefix #sig);
    // The body's own braces: an item whose body braces come from a macro is
    // hidden from lints such as `dead_code`.
    function.block.brace_token.surround(&mut output, |output| {
        output.extend(quote! {
            #(#inner_attrs)*
            #site
            #start
            #body
        });
    });
    output
}

/// The signature as emitted: an `async fn` becomes `fn .. -> impl Future`,
/// and where the body rebinds the parameters, each is taken whole: a
/// pattern as its `renamed` ident, `mut` left to the rebinding. Elsewhere
/// only a pattern that binds nothing but is recorded is named.
fn signature(function: &TracedFn) -> Signature {
    let mut sig = function.sig.clone();
    let rebound = matches!(function.body, Body::Rebound);
    for (input, param) in sig.inputs.iter_mut().zip(&function.params) {
        let FnArg::Typed(typed) = input else { continue };
        match &param.binding {
            Binding::Ident { ident, .. } if rebound => {
                typed.attrs.clone_from(&param.cfgs);
                *typed.pat = syn::parse_quote!(#ident);
            }
            Binding::Pattern { renamed, .. } if rebound => {
                typed.attrs.clone_from(&param.cfgs);
                *typed.pat = syn::parse_quote!(#renamed);
            }
            Binding::Pattern { renamed, names, .. } if names.is_empty() && param.attr.is_some() => {
                *typed.pat = syn::parse_quote!(#renamed);
            }
            _ => {}
        }
    }
    if let Some(asyncness) = sig.asyncness.take() {
        let (output, output_span) = match &sig.output {
            ReturnType::Default => (quote!(()), asyncness.span),
            ReturnType::Type(_, ty) => (ty.to_token_stream(), ty.span()),
        };
        sig.output = syn::parse_quote_spanned! {output_span=>
            -> impl ::core::future::Future<Output = #output>
        };
    }
    sig
}

/// The `static` holding what is known at compile time.
fn call_site(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    attributes: &[SiteAttr],
    locals: &Locals,
) -> TokenStream {
    let name = match &options.name {
        Some((_, name)) => name.value(),
        None => function.default_name.clone(),
    };
    let kind = options
        .kind
        .as_ref()
        .map_or(SpanKind::Internal, |(_, kind)| *kind);
    let kind = Ident::new(kind.variant(), Span::call_site());
    let qualified = &function.default_name;
    let at = function.sig.ident.span();
    let file = quote_spanned!(at=> ::core::file!());
    let line = quote_spanned!(at=> ::core::line!());
    let site = &locals.site;
    let without_metrics = (!options.metrics()).then(|| quote!(.without_metrics()));
    let attributes = attributes::static_list(krate, attributes);
    quote! {
        static #site: #krate::__private::CallSite = #krate::__private::CallSite::new(
            #name,
            #krate::__private::Kind::#kind,
            ::core::concat!(::core::module_path!(), "::", #qualified),
            #file,
            #line,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
            #attributes,
        )#without_metrics;
    }
}

/// The statements that start the span as `span`: in one call, or where the
/// call records links or attributes, in two around them (run only when the
/// span records, outside any closure).
fn start(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    attributes: &[SiteAttr],
    locals: &Locals,
) -> TokenStream {
    let Locals {
        site,
        span,
        start,
        parent: parent_cx,
        attrs,
        links,
        ..
    } = locals;
    if options.suppress.is_some() {
        return quote!(let #span = #krate::__private::Span::suppressed(););
    }
    let recorded = attributes::any_recorded(attributes);
    let parent = |two_steps: bool| match (&options.root, &options.parent) {
        (Some(_), _) => (quote!(), quote!(#krate::__private::Parent::Root)),
        (None, Some((_, expr))) if two_steps => (
            // Bound first, so that a temporary lives as long as the start.
            quote_spanned!(expr.span()=> let #parent_cx = &(#expr);),
            quote_spanned!(expr.span()=> #krate::__private::Parent::Explicit(#parent_cx)),
        ),
        (None, Some((_, expr))) => (
            quote!(),
            quote_spanned! {expr.span()=>
                // A coercion site: `Context`, `&Context` and smart pointers to
                // one all fit, and anything else is a type error at `expr`.
                #krate::__private::Parent::Explicit(&(#expr))
            },
        ),
        (None, None) => (quote!(), quote!(#krate::__private::Parent::Current)),
    };
    if options.links.is_empty() && !recorded {
        let (_, parent) = parent(false);
        return quote!(let #span = #krate::__private::Span::start(&#site, #parent););
    }
    let (bind_parent, parent) = parent(true);
    let link_block = (!options.links.is_empty()).then(|| {
        let pushes = options
            .links
            .iter()
            .map(|(_, expr)| quote_spanned!(expr.span()=> #links.push(&(#expr));));
        quote! {
            if let ::core::option::Option::Some(#links) = #start.links() {
                #(#pushes)*
            }
        }
    });
    let attribute_block = recorded.then(|| {
        let views = attributes::pattern_views(options, function);
        let records = attributes::records(krate, attributes, attrs);
        quote! {
            if let ::core::option::Option::Some(#attrs) = #start.attributes() {
                #[allow(unused_imports)]
                use #krate::__private::probe::{
                    ViaDebug as _, ViaDisplay as _, ViaNative as _, ViaNeither as _,
                    ViaNeitherBehindRef as _, ViaOptionDebug as _, ViaOptionDisplay as _,
                };
                #views
                #(#records)*
            }
        }
    });
    let begin = if options.links.is_empty() {
        quote!(begin)
    } else {
        quote!(begin_linked)
    };
    quote! {
        #bind_parent
        let mut #start = #krate::__private::Span::#begin(&#site, #parent);
        #link_block
        #attribute_block
        let #span = #start.finish();
    }
}

/// Every parameter moved into the body and rebound, in order, as the
/// compiler lowers an `async fn`: a pattern is matched against its whole
/// argument, which lives on beside what the pattern binds. Each is dropped
/// where it would be without the attribute.
fn rebind_parameters(options: &Options, function: &TracedFn) -> TokenStream {
    let read = read_by_options(options);
    let rebindings = function.params.iter().map(|param| {
        let Param { cfgs, others, .. } = param;
        // Recorded or read by an option: used, as it was before the attribute.
        let used = |name: &Ident| param.attr.is_some() || read.contains(name);
        match &param.binding {
            Binding::Receiver(self_token) => quote!(let _ = &#self_token;),
            Binding::Ident { ident, mutability } => {
                let allow = used(ident).then(|| quote!(#[allow(unused_variables)]));
                quote!(#(#cfgs)* #(#others)* #allow let #mutability #ident = #ident;)
            }
            Binding::Pattern {
                pat,
                renamed,
                names,
            } => {
                let mutability = binds_ref_mut(pat).then(|| quote!(mut));
                let allow = names
                    .iter()
                    .any(used)
                    .then(|| quote!(#[allow(unused_variables)]));
                quote! {
                    #(#cfgs)* let #mutability #renamed = #renamed;
                    #(#cfgs)* #(#others)* #allow let #pat = #renamed;
                }
            }
        }
    });
    quote!(#(#rebindings)*)
}

/// A first `return` of the declared type (`impl Trait` left to inference):
/// it fixes the type of the closure or async block the body runs in, so
/// every later `return`, `?` and the tail coerce to it as they would in the
/// function itself.
fn declared_return(function: &TracedFn, locals: &Locals) -> TokenStream {
    let Some(ty) = function.nameable_output() else {
        return TokenStream::new();
    };
    let ret = &locals.ret;
    quote_spanned! {ty.span()=>
        if let ::core::option::Option::Some(#ret) = ::core::option::Option::None::<#ty> {
            return #ret;
        }
    }
}

/// The body as it runs in a closure or async block.
fn rebound_body(options: &Options, function: &TracedFn, locals: &Locals) -> TokenStream {
    let declared = declared_return(function, locals);
    let rebindings = rebind_parameters(options, function);
    let block = &function.block;
    quote!({ #declared #rebindings #block })
}

/// Records an `Err` and, with `ret`, the return value, through `recorder`;
/// `value_ref` is a reference to the value.
fn outcome(
    krate: &TokenStream,
    options: &Options,
    value_ref: &TokenStream,
    locals: &Locals,
) -> TokenStream {
    let Locals {
        recorder,
        error,
        ok,
        ..
    } = locals;
    let ret = options.ret.as_ref().map(|keyword| {
        quote_spanned! {keyword.span=>
            {
                #[allow(unused_imports)]
                use #krate::__private::probe::{
                    ViaDebug as _, ViaDisplay as _, ViaNative as _, ViaNeither as _,
                    ViaNeitherBehindRef as _, ViaOkValue as _, ViaOptionDebug as _,
                    ViaOptionDisplay as _, ViaOutput as _,
                };
                #recorder.ret(
                    (&&#krate::__private::RetProbe(#value_ref))
                        .__traced_ok()
                        .and_then(|#ok| {
                            (&&&&&&&#krate::__private::AttrProbe(#ok))
                                .__traced_attr_value()
                                .into_value()
                        }),
                );
            }
        }
    });
    quote! {
        if #recorder.is_on() {
            #[allow(unused_imports)]
            use #krate::__private::probe::{
                AnyOutput as _, ViaAnyResult as _, ViaDebugError as _, ViaDisplayError as _,
                ViaStatus as _, ViaStatusAndJson as _, ViaStatusAndMessage as _,
            };
            if let ::core::option::Option::Some(#error) =
                (&&&&&&&#krate::__private::OutcomeProbe(#value_ref)).__traced_error()
            {
                #recorder.error(#error);
            }
            #ret
        }
    }
}

fn sync_body(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    locals: &Locals,
) -> TokenStream {
    let Locals {
        span,
        scope,
        value,
        recorder,
        ..
    } = locals;
    let body = rebound_body(options, function, locals);
    if options.ret.is_none() && returns_nothing(function) {
        return quote! {
            let #scope = #span.attach();
            #scope.run(move || #body)
        };
    }
    let outcome = outcome(krate, options, &quote!(&#value), locals);
    quote! {
        let #scope = #span.attach();
        let #value = #scope.run(move || #body);
        let #recorder = #scope.recorder();
        #outcome
        #value
    }
}

/// A `#[track_caller]` function: the body runs inline with the span entered
/// (validation made sure it has no early exit that would skip the outcome).
fn entered_body(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    locals: &Locals,
) -> TokenStream {
    let Locals {
        span,
        value,
        recorder,
        entered,
        ..
    } = locals;
    let block = &function.block;
    let entered_block = quote!({
        let #entered = #span.enter();
        #block
    });
    match &function.shape {
        Shape::ImplFuture { .. } | Shape::BoxedFuture { .. } => {
            returned_future(krate, options, function, &entered_block, locals)
        }
        _ if options.ret.is_none() && returns_nothing(function) => entered_block,
        _ => {
            let annotation = function.nameable_output().map(|ty| quote!(: #ty));
            let outcome = outcome(krate, options, &quote!(&#value), locals);
            quote! {
                let #value #annotation = #entered_block;
                let #recorder = #span.recorder();
                #outcome
                #value
            }
        }
    }
}

/// `-> !`: nothing to record on return, as there is none.
fn never_body(options: &Options, function: &TracedFn, locals: &Locals) -> TokenStream {
    let Locals { span, scope, .. } = locals;
    let body = rebound_body(options, function, locals);
    quote! {
        let #scope = #span.attach();
        #scope.run(move || -> ! #body)
    }
}

/// The async block an `async fn`'s body runs in.
fn async_block(options: &Options, function: &TracedFn, locals: &Locals) -> TokenStream {
    let body = rebound_body(options, function, locals);
    quote!(async move #body)
}

/// A function returning a future: the body runs in the span, then the
/// future it returns carries the span.
fn future_body(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    locals: &Locals,
) -> TokenStream {
    let span = &locals.span;
    let body = rebound_body(options, function, locals);
    let produce = quote!(#span.in_scope(move || #body));
    returned_future(krate, options, function, &produce, locals)
}

/// `produce` makes the future a function returns, with the span current;
/// then the future carries the span until it completes.
fn returned_future(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    produce: &TokenStream,
    locals: &Locals,
) -> TokenStream {
    let future = &locals.future;
    let boxed = matches!(function.shape, Shape::BoxedFuture { .. });
    let instrumented = instrumented(
        krate,
        options,
        function,
        &future.to_token_stream(),
        boxed,
        locals,
    );
    quote! {
        let #future = #produce;
        #instrumented
    }
}

/// `future` carrying the span until it completes, boxed again for a
/// function that returns a boxed future.
fn instrumented(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    future: &TokenStream,
    boxed: bool,
    locals: &Locals,
) -> TokenStream {
    let span = &locals.span;
    let record = record_outcome(krate, options, function, locals);
    let instrumented = quote!(#krate::__private::Instrumented::new(#span, #future, #record));
    if boxed {
        quote!(::std::boxed::Box::pin(#instrumented))
    } else {
        instrumented
    }
}

/// The closure `Instrumented` calls with a future's output and the span's
/// recorder when the future completes.
fn record_outcome(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    locals: &Locals,
) -> TokenStream {
    if options.ret.is_none() && returns_nothing(function) {
        return quote!(|_, _| {});
    }
    let Locals {
        value, recorder, ..
    } = locals;
    let outcome = outcome(krate, options, &value.to_token_stream(), locals);
    quote!(|#value, #recorder| { #outcome })
}
