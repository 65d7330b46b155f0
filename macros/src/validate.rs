//! The checks that need the whole picture: which options fit where, and what
//! the function and its parameters allow.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{LitStr, ReturnType};

use crate::args::Options;
use crate::model::{Binding, Body, Shape, TracedFn, unraw};

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
                "name" => {
                    "every method gets its own span name, `Type::method`; \
                           rename one method with `#[traced(name = \"..\")]` on it"
                }
                "root" | "parent" | "link" => {
                    "it belongs to a single call; \
                           set it on the method with `#[traced(..)]`"
                }
                _ => continue,
            };
            errors.push(syn::Error::new(
                keyword.span,
                format!(
                    "`{}` cannot be set on `#[traced_impl]`: {why}",
                    keyword.name
                ),
            ));
        }
    }
    if let (Placement::Function, Some(_), Some((parent, _))) =
        (placement, &options.root, &options.parent)
    {
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
                format!(
                    "the attribute key `{}` is recorded more than once",
                    entry.key
                ),
            ));
        }
    }
    for param in &function.params {
        let Some(attr) = &param.attr else { continue };
        let recorded_keys = match (&param.binding, &attr.key) {
            (Binding::Receiver(_), _) => {
                errors.push(syn::Error::new(
                    attr.span,
                    "`#[attr]` cannot record `self`; record what matters with \
                     `attrs(key = self.field)`",
                ));
                continue;
            }
            (Binding::Ident { ident, .. }, key) => {
                vec![key.as_ref().map_or_else(|| unraw(ident), LitStr::value)]
            }
            (Binding::Pattern { names, .. }, Some(key)) if names.len() <= 1 => vec![key.value()],
            (Binding::Pattern { names, .. }, Some(key)) => {
                let names: Vec<String> = names
                    .iter()
                    .map(|name| format!("`{}`", unraw(name)))
                    .collect();
                errors.push(syn::Error::new(
                    key.span(),
                    format!(
                        "`#[attr(\"{}\")]` names one attribute, but this pattern binds {}; \
                         write `#[attr]` to record each under its own name",
                        key.value(),
                        names.join(", ")
                    ),
                ));
                continue;
            }
            (Binding::Pattern { names, .. }, None) if names.is_empty() => {
                errors.push(syn::Error::new(
                    attr.span,
                    "`#[attr]` records the names a pattern binds, and this one binds none; \
                     give the value a key, like `#[attr(\"point\")]`",
                ));
                continue;
            }
            (Binding::Pattern { names, .. }, None) => names.iter().map(unraw).collect(),
        };
        for key in recorded_keys {
            if !keys.insert(key.clone()) {
                errors.push(syn::Error::new(
                    attr.span,
                    format!("the attribute key `{key}` is recorded more than once"),
                ));
            }
        }
    }
    let option_values = options
        .attrs
        .iter()
        .flat_map(|(_, entries)| entries)
        .map(|entry| ("attrs(..)", &entry.value))
        .chain(options.links.iter().map(|(_, expr)| ("link", expr)));
    for (option, value) in option_values {
        let mut exits = ExitsFromOption {
            option,
            errors: Vec::new(),
        };
        exits.visit_expr(value);
        errors.extend(exits.errors);
    }
    if let Body::Entered = function.body {
        let mut exits = EarlyExits(Vec::new());
        exits.visit_block(&function.block);
        errors.extend(exits.0);
    }
    if let Some(ret) = &options.ret
        && returns_nothing(function)
    {
        errors.push(syn::Error::new(
            ret.span,
            "`ret` records the return value, but this function returns nothing",
        ));
    }
    errors
}

/// Whether the function has no value to record with `ret`: `()`, or `!`.
pub(crate) fn returns_nothing(function: &TracedFn) -> bool {
    let unit = |ty: &syn::Type| matches!(ty, syn::Type::Tuple(tuple) if tuple.elems.is_empty());
    match (&function.shape, &function.sig.output) {
        (Shape::Never, _) | (Shape::Sync | Shape::Async, ReturnType::Default) => true,
        (Shape::Sync | Shape::Async, ReturnType::Type(_, ty)) => unit(ty),
        (Shape::ImplFuture { output } | Shape::BoxedFuture { output }, _) => unit(output),
    }
}

/// A method's own options under an impl block that sets `suppress`: they
/// would describe a span that is never made.
pub(crate) fn under_suppressed_block(block: &Options, method: &Options) -> Vec<syn::Error> {
    if block.suppress.is_none() {
        return Vec::new();
    }
    method
        .keywords()
        .into_iter()
        .filter(|keyword| keyword.name != "suppress")
        .map(|keyword| {
            syn::Error::new(
                keyword.span,
                format!(
                    "`{}` has no effect: the impl block sets `suppress`, so this method makes no span",
                    keyword.name
                ),
            )
        })
        .collect()
}

/// The ways out of a `#[track_caller]` body other than its end: its body
/// runs inline (`Body::Entered`), so they would skip recording the outcome.
/// Closures, async blocks and nested items return from themselves.
struct EarlyExits(Vec<syn::Error>);

impl EarlyExits {
    fn push(&mut self, at: Span, what: &str, fix: &str) {
        self.0.push(syn::Error::new(
            at,
            format!(
                "`#[traced]` runs the body of a `#[track_caller]` function without a closure, \
                 to keep the caller's location, so {what} would skip recording the outcome; \
                 {fix}, or remove `#[track_caller]`"
            ),
        ));
    }
}

impl<'ast> Visit<'ast> for EarlyExits {
    fn visit_expr_return(&mut self, node: &'ast syn::ExprReturn) {
        self.push(
            node.return_token.span,
            "this `return`",
            "end the body with the value instead",
        );
        syn::visit::visit_expr_return(self, node);
    }

    fn visit_expr_try(&mut self, node: &'ast syn::ExprTry) {
        self.push(
            node.question_token.span,
            "this `?`",
            "handle the error in the body or in a helper function",
        );
        syn::visit::visit_expr_try(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        let exit = exit_token(node.tokens.clone());
        let name = node.path.segments.last().map(|s| s.ident.to_string());
        match (exit, name) {
            (Some((at, token)), _) => self.push(
                at,
                &format!("this `{token}`"),
                "handle it outside the macro's arguments",
            ),
            (None, Some(name)) if !NEVER_RETURNING_MACROS.contains(&name.as_str()) => self.push(
                node.path.span(),
                &format!("`{name}!`, which may return early,"),
                "call it from a helper function",
            ),
            (None, _) => {}
        }
    }

    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}

    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// `?` or `return` in the value of an option computed as the span starts:
/// it would leave the function before its span exists. Closures, async blocks
/// and nested items return from themselves.
struct ExitsFromOption {
    option: &'static str,
    errors: Vec<syn::Error>,
}

impl ExitsFromOption {
    fn push(&mut self, at: Span, token: &str) {
        self.errors.push(syn::Error::new(
            at,
            format!(
                "`{token}` cannot be used in `{}`: the value is computed as the span starts, \
                 where `{token}` would leave the function before its body runs; \
                 give a value instead (`.ok()`, `.unwrap_or(..)`)",
                self.option
            ),
        ));
    }
}

impl<'ast> Visit<'ast> for ExitsFromOption {
    fn visit_expr_return(&mut self, node: &'ast syn::ExprReturn) {
        self.push(node.return_token.span, "return");
        syn::visit::visit_expr_return(self, node);
    }

    fn visit_expr_try(&mut self, node: &'ast syn::ExprTry) {
        self.push(node.question_token.span, "?");
        syn::visit::visit_expr_try(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        if let Some((at, token)) = exit_token(node.tokens.clone()) {
            self.push(at, &token);
        }
    }

    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}

    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Macros known never to return from the function they are written in.
const NEVER_RETURNING_MACROS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "assert_matches",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "debug_assert_matches",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "format",
    "format_args",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "vec",
    "matches",
    "dbg",
    "concat",
    "stringify",
    "line",
    "column",
    "file",
    "module_path",
    "cfg",
    "env",
    "option_env",
    "include_str",
    "include_bytes",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "event",
];

/// A `?` or `return` among a macro's tokens.
fn exit_token(tokens: TokenStream) -> Option<(Span, String)> {
    tokens.into_iter().find_map(|token| match token {
        TokenTree::Punct(punct) if punct.as_char() == '?' => Some((punct.span(), "?".to_owned())),
        TokenTree::Ident(ident) if ident == "return" => Some((ident.span(), "return".to_owned())),
        TokenTree::Group(group) => exit_token(group.stream()),
        _ => None,
    })
}
