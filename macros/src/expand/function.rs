//! One traced function: the signature unchanged (but for `async fn`, which
//! starts its span at the call and so becomes `fn .. -> impl Future`), the
//! body wrapped so the span is current while it runs and records how it ended.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ReturnType, Type};

use crate::args::{Options, SpanKind};
use crate::model::{Binding, Shape, TracedFn, nameable};

/// Names of the generated locals: mixed-site, so user code cannot see them.
struct Locals {
    site: Ident,
    span: Ident,
    value: Ident,
    recorder: Ident,
    future: Ident,
    attrs: Ident,
    links: Ident,
    error: Ident,
    ok: Ident,
}

impl Locals {
    fn new() -> Self {
        let ident = |name: &str| Ident::new(name, Span::mixed_site());
        Locals {
            site: Ident::new("__TRACED_SITE", Span::mixed_site()),
            span: ident("__traced_span"),
            value: ident("__traced_value"),
            recorder: ident("__traced_recorder"),
            future: ident("__traced_future"),
            attrs: ident("__traced_attrs"),
            links: ident("__traced_links"),
            error: ident("__traced_error"),
            ok: ident("__traced_ok"),
        }
    }
}

/// The path generated code reaches the runtime through: `crate = ..` or `::traced`.
fn runtime_path(options: &Options) -> TokenStream {
    match &options.krate {
        Some((_, path)) => path.to_token_stream(),
        None => quote!(::traced),
    }
}

pub(crate) fn function(options: &Options, function: &TracedFn) -> TokenStream {
    let locals = Locals::new();
    let krate = runtime_path(options);
    let attrs = &function.attrs;
    let prefix = &function.prefix;
    let site = call_site(&krate, options, function, &locals);
    let start = start(&krate, options, function, &locals);
    let (sig, body) = match &function.shape {
        Shape::Sync => (
            function.sig.to_token_stream(),
            sync_body(&krate, options, function, &locals),
        ),
        Shape::Never => (
            function.sig.to_token_stream(),
            never_body(function, &locals),
        ),
        Shape::Async => async_fn(&krate, options, function, &locals),
        Shape::ImplFuture { .. } => (
            function.sig.to_token_stream(),
            future_body(&krate, options, function, false, &locals),
        ),
        Shape::BoxedFuture { .. } => (
            function.sig.to_token_stream(),
            future_body(&krate, options, function, true, &locals),
        ),
    };
    let span = &locals.span;
    quote! {
        #(#attrs)*
        #prefix #sig {
            #site
            let #span = #start;
            #body
        }
    }
}

/// The `static` holding what is known at compile time.
fn call_site(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
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
    quote! {
        static #site: #krate::__private::CallSite = #krate::__private::CallSite::new(
            #name,
            #krate::__private::Kind::#kind,
            ::core::concat!(::core::module_path!(), "::", #qualified),
            #file,
            #line,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
        );
    }
}

/// The expression that starts the span.
fn start(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    locals: &Locals,
) -> TokenStream {
    if options.suppress.is_some() {
        return quote!(#krate::__private::Span::suppressed());
    }
    let Locals {
        site, attrs, links, ..
    } = locals;
    let parent = match (&options.root, &options.parent) {
        (Some(_), _) => quote!(#krate::__private::Parent::Root),
        (None, Some((_, expr))) => quote_spanned! {expr.span()=>
            // A coercion site: `Context`, `&Context` and smart pointers to
            // one all fit, and anything else is a type error at `expr`.
            #krate::__private::Parent::Explicit(&(#expr))
        },
        (None, None) => quote!(#krate::__private::Parent::Current),
    };
    let link_pushes = options
        .links
        .iter()
        .map(|(_, expr)| quote_spanned!(expr.span()=> #links.push(&(#expr));));
    let link_closure = if options.links.is_empty() {
        quote!(|_| {})
    } else {
        quote!(|#links: &mut #krate::__private::Links| { #(#link_pushes)* })
    };
    let records = attribute_records(krate, options, function, attrs);
    let attr_closure = if records.is_empty() {
        quote!(|_| {})
    } else {
        quote! {
            |#attrs: &mut #krate::__private::Attributes| {
                #[allow(unused_imports)]
                use #krate::__private::probe::{
                    ViaDebug as _, ViaDisplay as _, ViaNative as _, ViaOptionDebug as _,
                    ViaOptionDisplay as _,
                };
                #(#records)*
            }
        }
    };
    quote!(#krate::__private::Span::start(&#site, #parent, #link_closure, #attr_closure))
}

/// One `record` call per `attrs(..)` entry and `#[attr]` parameter.
fn attribute_records(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    sink: &Ident,
) -> Vec<TokenStream> {
    let mut records = Vec::new();
    for entry in options.attrs.iter().flat_map(|(_, entries)| entries) {
        let key = &entry.key;
        let value = &entry.value;
        records.push(quote_spanned! {value.span()=>
            #sink.record(#key, (&&&&&#krate::__private::AttrProbe(&(#value))).__traced_attr_value());
        });
    }
    for param in &function.params {
        let Some(attr) = &param.attr else { continue };
        let (name, key) = match &param.binding {
            Binding::Ident(ident) => (
                ident.to_token_stream(),
                attr.key
                    .as_ref()
                    .map_or_else(|| unraw(ident), syn::LitStr::value),
            ),
            Binding::Pattern {
                renamed: Some(renamed),
                ..
            } => (
                renamed.to_token_stream(),
                attr.key
                    .as_ref()
                    .map(syn::LitStr::value)
                    .unwrap_or_default(),
            ),
            Binding::Pattern { renamed: None, .. } | Binding::Receiver => continue,
        };
        records.push(quote_spanned! {attr.span=>
            #sink.record(#key, (&&&&&#krate::__private::AttrProbe(&#name)).__traced_attr_value());
        });
    }
    records
}

fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map_or(text.clone(), str::to_owned)
}

/// `let PATTERN = __traced_argN;` for every renamed pattern parameter.
fn pattern_bindings(function: &TracedFn) -> TokenStream {
    let lets = function
        .params
        .iter()
        .filter_map(|param| match &param.binding {
            Binding::Pattern {
                pat,
                renamed: Some(renamed),
            } => Some(quote!(let #pat = #renamed;)),
            _ => None,
        });
    quote!(#(#lets)*)
}

/// Records an `Err` and, with `ret`, the return value, through `recorder`.
fn outcome(
    krate: &TokenStream,
    options: &Options,
    value_ref: &TokenStream,
    locals: &Locals,
) -> TokenStream {
    let Locals {
        recorder, error, ok, ..
    } = locals;
    let ret = options.ret.as_ref().map(|keyword| {
        quote_spanned! {keyword.span=>
            {
                #[allow(unused_imports)]
                use #krate::__private::probe::{
                    ViaDebug as _, ViaDisplay as _, ViaNative as _, ViaOkValue as _,
                    ViaOptionDebug as _, ViaOptionDisplay as _, ViaOutput as _,
                };
                #recorder.ret(
                    (&&#krate::__private::RetProbe(#value_ref))
                        .__traced_ok()
                        .and_then(|#ok| (&&&&&#krate::__private::AttrProbe(#ok)).__traced_attr_value()),
                );
            }
        }
    });
    quote! {
        if #recorder.is_on() {
            #[allow(unused_imports)]
            use #krate::__private::probe::{
                AnyOutput as _, ViaAnyResult as _, ViaDebugError as _, ViaDisplayError as _,
            };
            if let ::core::option::Option::Some(#error) =
                (&&&&#krate::__private::OutcomeProbe(#value_ref)).__traced_error()
            {
                #recorder.error(#error);
            }
            #ret
        }
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
    if options.ret.is_none() && crate::validate::returns_nothing(function) {
        return quote!(|_, _| {});
    }
    let Locals {
        value, recorder, ..
    } = locals;
    let outcome = outcome(krate, options, &value.to_token_stream(), locals);
    quote!(|#value, #recorder| { #outcome })
}

fn return_type(function: &TracedFn) -> Option<&Type> {
    match &function.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(ty),
    }
}

/// The body as a closure body: the block itself, or a block that first
/// destructures the renamed pattern parameters.
fn closure_body(function: &TracedFn) -> TokenStream {
    let block = &function.block;
    if function.has_renamed_patterns() {
        let patterns = pattern_bindings(function);
        quote!({ #patterns #block })
    } else {
        block.to_token_stream()
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
        value,
        recorder,
        ..
    } = locals;
    let body = closure_body(function);
    // The declared type guides inference of `?` and `.into()` in the body. A
    // closure cannot spell elided lifetimes, but a `let` can.
    let (closure_type, let_type) = match return_type(function) {
        Some(ty) if nameable(ty, true) => (quote!(-> #ty), quote!()),
        Some(ty) if nameable(ty, false) => (quote!(), quote!(: #ty)),
        Some(_) => (quote!(), quote!()),
        None => (quote!(-> ()), quote!()),
    };
    let outcome = outcome(krate, options, &quote!(&#value), locals);
    quote! {
        let #value #let_type = #span.in_scope(move || #closure_type #body);
        let #recorder = #span.recorder();
        #outcome
        #value
    }
}

/// `-> !`: nothing to record on return, as there is none.
fn never_body(function: &TracedFn, locals: &Locals) -> TokenStream {
    let span = &locals.span;
    let body = closure_body(function);
    quote!(#span.in_scope(move || -> ! #body))
}

fn async_fn(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    locals: &Locals,
) -> (TokenStream, TokenStream) {
    let Locals { span, value, .. } = locals;
    let mut sig = function.sig.clone();
    let async_span = sig
        .asyncness
        .take()
        .map_or_else(Span::call_site, |a| a.span);
    let output = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let output_span = match &sig.output {
        ReturnType::Default => async_span,
        ReturnType::Type(_, ty) => ty.span(),
    };
    sig.output = syn::parse_quote_spanned! {output_span=>
        -> impl ::core::future::Future<Output = #output>
    };
    let keep_alive = function
        .params
        .iter()
        .filter_map(|param| match &param.binding {
            Binding::Receiver => Some(quote!(let _ = &self;)),
            Binding::Ident(ident) => Some(quote!(let _ = &#ident;)),
            Binding::Pattern { .. } => None,
        });
    let patterns = pattern_bindings(function);
    let block = &function.block;
    let annotation = match return_type(function) {
        Some(ty) if nameable(ty, false) => quote!(: #ty),
        Some(_) => quote!(),
        None => quote!(: ()),
    };
    let record = record_outcome(krate, options, function, locals);
    let body = quote! {
        #krate::__private::Instrumented::new(
            #span,
            async move {
                #(#keep_alive)*
                #patterns
                let #value #annotation = async move #block.await;
                #value
            },
            #record,
        )
    };
    (sig.to_token_stream(), body)
}

fn future_body(
    krate: &TokenStream,
    options: &Options,
    function: &TracedFn,
    boxed: bool,
    locals: &Locals,
) -> TokenStream {
    let Locals { span, future, .. } = locals;
    let body = closure_body(function);
    let record = record_outcome(krate, options, function, locals);
    let instrumented = quote! {
        #krate::__private::Instrumented::new(#span, #future, #record)
    };
    let instrumented = if boxed {
        quote!(::std::boxed::Box::pin(#instrumented))
    } else {
        instrumented
    };
    // `Box::pin(async move { .. })`, as `#[async_trait]` writes: running it
    // only allocates, so the async block is taken as it is, boxed once.
    let future_expr = match boxed_async_block(function) {
        Some(async_block) => async_block.to_token_stream(),
        None => quote!(#span.in_scope(move || #body)),
    };
    quote! {
        let #future = #future_expr;
        #instrumented
    }
}

/// The `async` block of a body that is only `Box::pin(async move { .. })`.
fn boxed_async_block(function: &TracedFn) -> Option<&syn::ExprAsync> {
    if function.has_renamed_patterns() {
        return None;
    }
    let [syn::Stmt::Expr(syn::Expr::Call(call), None)] = function.block.stmts.as_slice() else {
        return None;
    };
    let syn::Expr::Path(callee) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = callee
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) {
        return None;
    }
    match call.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::Expr::Async(async_block)] if async_block.capture.is_some() => Some(async_block),
        _ => None,
    }
}
