//! Parsing the options of `#[traced(..)]` and `#[traced_impl(..)]`.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(kind);
    syn::custom_keyword!(attrs);
    syn::custom_keyword!(ret);
    syn::custom_keyword!(root);
    syn::custom_keyword!(parent);
    syn::custom_keyword!(link);
    syn::custom_keyword!(suppress);
    syn::custom_keyword!(metrics);
}

pub(crate) const OPTION_NAMES: &str =
    "name, kind, attrs, ret, root, parent, link, suppress, metrics, crate";

/// The span kinds `kind = ..` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpanKind {
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            SpanKind::Internal => "Internal",
            SpanKind::Server => "Server",
            SpanKind::Client => "Client",
            SpanKind::Producer => "Producer",
            SpanKind::Consumer => "Consumer",
        }
    }
}

/// A keyword as written, kept for error spans.
#[derive(Clone)]
pub(crate) struct Keyword {
    pub(crate) name: &'static str,
    pub(crate) span: Span,
}

/// One entry of `attrs(..)`: `key = expr`, `"key" = expr` or the shorthand `arg`.
#[derive(Clone)]
pub(crate) struct AttrEntry {
    pub(crate) key: String,
    pub(crate) key_tokens: TokenStream,
    pub(crate) value: Expr,
}

/// Every option, each `None` until written. Parsing only checks syntax and
/// duplicates; which options fit where is `validate`'s job.
#[derive(Clone, Default)]
pub(crate) struct Options {
    pub(crate) name: Option<(Keyword, LitStr)>,
    pub(crate) kind: Option<(Keyword, SpanKind)>,
    pub(crate) attrs: Option<(Keyword, Vec<AttrEntry>)>,
    pub(crate) ret: Option<Keyword>,
    pub(crate) root: Option<Keyword>,
    pub(crate) parent: Option<(Keyword, Expr)>,
    pub(crate) links: Vec<(Keyword, Expr)>,
    pub(crate) suppress: Option<Keyword>,
    /// `metrics = false` leaves the spans out of the RED metrics.
    pub(crate) metrics: Option<(Keyword, bool)>,
    pub(crate) krate: Option<(Keyword, Path)>,
}

impl Options {
    /// The path generated code reaches the runtime through: `crate = ..` or
    /// `::traced`.
    pub(crate) fn runtime_path(&self) -> TokenStream {
        match &self.krate {
            Some((_, path)) => path.to_token_stream(),
            None => quote::quote!(::traced),
        }
    }

    /// Every option that is set, as the keyword written.
    pub(crate) fn keywords(&self) -> Vec<&Keyword> {
        let mut set = Vec::new();
        set.extend(self.name.as_ref().map(|(k, _)| k));
        set.extend(self.kind.as_ref().map(|(k, _)| k));
        set.extend(self.attrs.as_ref().map(|(k, _)| k));
        set.extend(self.ret.as_ref());
        set.extend(self.root.as_ref());
        set.extend(self.parent.as_ref().map(|(k, _)| k));
        set.extend(self.links.iter().map(|(k, _)| k));
        set.extend(self.suppress.as_ref());
        set.extend(self.metrics.as_ref().map(|(k, _)| k));
        set
    }

    /// Whether the spans count into the RED metrics (`metrics = ..`,
    /// `true` unless written).
    pub(crate) fn metrics(&self) -> bool {
        self.metrics.as_ref().is_none_or(|(_, on)| *on)
    }

    /// `self` (a method's own options) over `defaults` (its impl block's),
    /// option by option; `attrs` are merged, the method's winning on a key.
    pub(crate) fn over(self, defaults: &Options) -> Options {
        let attrs = match (&defaults.attrs, self.attrs) {
            (None, mine) => mine,
            (Some(theirs), None) => Some(theirs.clone()),
            (Some((_, theirs)), Some((keyword, mine))) => {
                let mut merged: Vec<AttrEntry> = theirs
                    .iter()
                    .filter(|entry| !mine.iter().any(|m| m.key == entry.key))
                    .cloned()
                    .collect();
                merged.extend(mine);
                Some((keyword, merged))
            }
        };
        Options {
            name: self.name,
            kind: self.kind.or_else(|| defaults.kind.clone()),
            attrs,
            ret: self.ret.or_else(|| defaults.ret.clone()),
            root: self.root,
            parent: self.parent,
            links: self.links,
            suppress: self.suppress.or_else(|| defaults.suppress.clone()),
            metrics: self.metrics.or_else(|| defaults.metrics.clone()),
            krate: self.krate.or_else(|| defaults.krate.clone()),
        }
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, keyword: &Keyword) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            keyword.span,
            format!("`{}` is set more than once", keyword.name),
        ));
    }
    *slot = Some(value);
    Ok(())
}

impl Parse for Options {
    /// Every option, or every mistake among them: after a mistake, parsing
    /// goes on at the next option, so all are reported in one pass.
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Options::default();
        let mut errors: Option<syn::Error> = None;
        while !input.is_empty() {
            if let Err(error) = parse_option(input, &mut options) {
                match &mut errors {
                    Some(errors) => errors.combine(error),
                    None => errors = Some(error),
                }
                skip_to_next_option(input);
            }
            if input.is_empty() {
                break;
            }
            if let Err(error) = input.parse::<Token![,]>() {
                return Err(match errors {
                    Some(mut errors) => {
                        errors.combine(error);
                        errors
                    }
                    None => error,
                });
            }
        }
        match errors {
            Some(errors) => Err(errors),
            None => Ok(options),
        }
    }
}

/// Skips what is left of an option that could not be parsed.
fn skip_to_next_option(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<proc_macro2::TokenTree>().is_err() {
            break;
        }
    }
}

/// What an option of `#[tracing::instrument]` is called here, or why it is
/// not needed.
fn instrument_hint(option: &str) -> Option<&'static str> {
    Some(match option {
        "fields" => "attributes are `attrs(key = value, ..)` here",
        "skip" | "skip_all" => {
            "arguments are never recorded unless asked (`#[attr]` on a parameter, \
             or `attrs(..)`), so there is nothing to skip; remove it"
        }
        "err" => {
            "a returned `Err` is always recorded (status, `exception` event, \
             `error.type`); remove it"
        }
        "level" => {
            "OpenTelemetry spans have no level; to trace less, sample \
             (`OTEL_TRACES_SAMPLER`) or use `suppress`"
        }
        "target" => {
            "every span records where it comes from in `code.function.name`; \
             remove it"
        }
        "follows_from" => "a span links to another with `link = ..`",
        _ => return None,
    })
}

fn keyword(name: &'static str, span: Span) -> Keyword {
    Keyword { name, span }
}

fn parse_option(input: ParseStream<'_>, options: &mut Options) -> syn::Result<()> {
    let lookahead = input.lookahead1();
    if lookahead.peek(kw::name) {
        let k = keyword("name", input.parse::<kw::name>()?.span);
        input.parse::<Token![=]>()?;
        let name = parse_name(input)?;
        set_once(&mut options.name, (k.clone(), name), &k)
    } else if lookahead.peek(kw::kind) {
        let k = keyword("kind", input.parse::<kw::kind>()?.span);
        input.parse::<Token![=]>()?;
        let kind = parse_kind(input)?;
        set_once(&mut options.kind, (k.clone(), kind), &k)
    } else if lookahead.peek(kw::attrs) {
        let k = keyword("attrs", input.parse::<kw::attrs>()?.span);
        let content;
        syn::parenthesized!(content in input);
        let entries = Punctuated::<AttrEntry, Token![,]>::parse_terminated(&content)?;
        if entries.is_empty() {
            return Err(syn::Error::new(
                k.span,
                "`attrs()` is empty; write `attrs(key = value, ..)` or remove it",
            ));
        }
        set_once(
            &mut options.attrs,
            (k.clone(), entries.into_iter().collect()),
            &k,
        )
    } else if lookahead.peek(kw::ret) {
        let k = keyword("ret", input.parse::<kw::ret>()?.span);
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let arguments: TokenStream = content.parse()?;
            return Err(syn::Error::new_spanned(
                arguments,
                "`ret` takes no arguments: the value is recorded natively, \
                 or with its `Display`, or `Debug`, whichever it has first",
            ));
        }
        set_once(&mut options.ret, k.clone(), &k)
    } else if lookahead.peek(kw::root) {
        let k = keyword("root", input.parse::<kw::root>()?.span);
        set_once(&mut options.root, k.clone(), &k)
    } else if lookahead.peek(kw::parent) {
        let k = keyword("parent", input.parse::<kw::parent>()?.span);
        input.parse::<Token![=]>()?;
        let expr: Expr = input.parse()?;
        set_once(&mut options.parent, (k.clone(), expr), &k)
    } else if lookahead.peek(kw::link) {
        let k = keyword("link", input.parse::<kw::link>()?.span);
        input.parse::<Token![=]>()?;
        let expr: Expr = input.parse()?;
        options.links.push((k, expr));
        Ok(())
    } else if lookahead.peek(kw::suppress) {
        let k = keyword("suppress", input.parse::<kw::suppress>()?.span);
        set_once(&mut options.suppress, k.clone(), &k)
    } else if lookahead.peek(kw::metrics) {
        let k = keyword("metrics", input.parse::<kw::metrics>()?.span);
        input.parse::<Token![=]>()?;
        let on = parse_switch(input, "metrics")?;
        set_once(&mut options.metrics, (k.clone(), on), &k)
    } else if lookahead.peek(Token![crate]) {
        let k = keyword("crate", input.parse::<Token![crate]>()?.span);
        input.parse::<Token![=]>()?;
        let path = Path::parse_mod_style(input)?;
        set_once(&mut options.krate, (k.clone(), path), &k)
    } else if input.peek(Ident::peek_any) {
        let unknown = input.call(Ident::parse_any)?;
        let message = match instrument_hint(&unknown.to_string()) {
            Some(hint) => format!("unknown option `{unknown}`: {hint}"),
            None => format!("unknown option `{unknown}`; expected one of: {OPTION_NAMES}"),
        };
        Err(syn::Error::new(unknown.span(), message))
    } else {
        Err(lookahead.error())
    }
}

fn parse_name(input: ParseStream<'_>) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        let name: LitStr = input.parse()?;
        if name.value().trim().is_empty() {
            return Err(syn::Error::new(
                name.span(),
                "the span name cannot be empty",
            ));
        }
        return Ok(name);
    }
    let expr: Expr = input.parse()?;
    Err(syn::Error::new_spanned(
        expr,
        "`name` takes a string literal, like `name = \"GET /articles/{id}\"`; \
         span names must be fixed (low cardinality): record variable parts with `attrs(..)`",
    ))
}

/// `true` or `false`, for the option `name`.
fn parse_switch(input: ParseStream<'_>, name: &str) -> syn::Result<bool> {
    if input.peek(syn::LitBool) {
        return Ok(input.parse::<syn::LitBool>()?.value);
    }
    let expr: Expr = input.parse()?;
    Err(syn::Error::new_spanned(
        expr,
        format!("`{name}` takes `true` or `false`, like `{name} = false`"),
    ))
}

fn parse_kind(input: ParseStream<'_>) -> syn::Result<SpanKind> {
    const KINDS: &str = "server, client, producer, consumer, internal";
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Err(syn::Error::new(
            lit.span(),
            format!("`kind` takes a bare word, not a string: one of {KINDS}"),
        ));
    }
    let ident = input.call(Ident::parse_any)?;
    match ident.to_string().as_str() {
        "server" => Ok(SpanKind::Server),
        "client" => Ok(SpanKind::Client),
        "producer" => Ok(SpanKind::Producer),
        "consumer" => Ok(SpanKind::Consumer),
        "internal" => Ok(SpanKind::Internal),
        other => Err(syn::Error::new(
            ident.span(),
            format!("unknown span kind `{other}`; expected one of: {KINDS}"),
        )),
    }
}

impl Parse for AttrEntry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let key: LitStr = input.parse()?;
            if key.value().is_empty() {
                return Err(syn::Error::new(
                    key.span(),
                    "an attribute key cannot be empty",
                ));
            }
            input.parse::<Token![=]>()?;
            return Ok(AttrEntry {
                key: key.value(),
                key_tokens: key.to_token_stream(),
                value: input.parse()?,
            });
        }
        let mut segments: Vec<Ident> = vec![input.call(Ident::parse_any)?];
        let mut key_tokens = segments[0].to_token_stream();
        while input.peek(Token![.]) {
            let dot: Token![.] = input.parse()?;
            let segment = input.call(Ident::parse_any)?;
            dot.to_tokens(&mut key_tokens);
            segment.to_tokens(&mut key_tokens);
            segments.push(segment);
        }
        let key = segments
            .iter()
            .map(|s| s.unraw().to_string())
            .collect::<Vec<_>>()
            .join(".");
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            return Ok(AttrEntry {
                key,
                key_tokens,
                value: input.parse()?,
            });
        }
        if segments.len() > 1 {
            return Err(syn::Error::new_spanned(
                key_tokens,
                format!(
                    "expected `= value` after the key `{key}`; \
                     only a single argument name can stand alone, as in `attrs(id)`"
                ),
            ));
        }
        let ident = segments.remove(0);
        Ok(AttrEntry {
            key,
            key_tokens,
            value: syn::parse_quote!(#ident),
        })
    }
}

/// `#[attr]` or `#[attr("key")]` on a parameter.
pub(crate) struct ParamAttr {
    pub(crate) key: Option<LitStr>,
    pub(crate) span: Span,
}

pub(crate) fn parse_param_attr(attr: &syn::Attribute) -> syn::Result<ParamAttr> {
    let span = attr.path().segments[0].ident.span();
    let bad = || {
        syn::Error::new_spanned(
            attr,
            "expected `#[attr]` or `#[attr(\"key\")]`, like `#[attr(\"enduser.id\")] user: &str`",
        )
    };
    match &attr.meta {
        syn::Meta::Path(_) => Ok(ParamAttr { key: None, span }),
        syn::Meta::List(list) => {
            let key: LitStr = list.parse_args().map_err(|_| bad())?;
            if key.value().is_empty() {
                return Err(syn::Error::new(
                    key.span(),
                    "an attribute key cannot be empty",
                ));
            }
            Ok(ParamAttr {
                key: Some(key),
                span,
            })
        }
        syn::Meta::NameValue(_) => Err(bad()),
    }
}
