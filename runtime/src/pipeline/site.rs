//! What one `#[traced]` function's spans share, known at compile time: its
//! name, kind, `code.*` location and instrumentation scope, held in a
//! `static` by each expansion so that none of it is built per call. A
//! `tracing` callsite gets one too, made once when its first span is
//! recorded ([`CallSite::library`]).

use std::sync::OnceLock;

use opentelemetry::trace::SpanKind;
use opentelemetry::{InstrumentationScope, Key, KeyValue};

/// The span kinds `kind = ..` accepts, `const`-constructible for a `static`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `kind = internal`, the default.
    Internal,
    /// `kind = server`.
    Server,
    /// `kind = client`.
    Client,
    /// `kind = producer`.
    Producer,
    /// `kind = consumer`.
    Consumer,
}

impl Kind {
    pub(crate) fn to_otel(self) -> SpanKind {
        match self {
            Kind::Internal => SpanKind::Internal,
            Kind::Server => SpanKind::Server,
            Kind::Client => SpanKind::Client,
            Kind::Producer => SpanKind::Producer,
            Kind::Consumer => SpanKind::Consumer,
        }
    }
}

/// Everything about one annotated function that is known at compile time.
#[derive(Debug)]
pub struct CallSite {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) function: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    /// A `tracing` callsite's module: its spans carry `code.module.name`
    /// instead of a function name, which `tracing` does not know.
    module: Option<&'static str>,
    crate_name: &'static str,
    crate_version: Option<&'static str>,
    /// Whether its spans count into the RED metrics.
    metrics: bool,
    scope: OnceLock<InstrumentationScope>,
}

impl CallSite {
    /// The data of one call site; `crate_name` and `crate_version` come
    /// from `option_env!` in the annotated crate.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        kind: Kind,
        function: &'static str,
        file: &'static str,
        line: u32,
        crate_name: Option<&'static str>,
        crate_version: Option<&'static str>,
    ) -> Self {
        CallSite {
            name,
            kind,
            function,
            file,
            line,
            module: None,
            crate_name: match crate_name {
                Some(name) => name,
                None => "unknown",
            },
            crate_version,
            metrics: true,
            scope: OnceLock::new(),
        }
    }

    /// The same call site, its spans left out of the RED metrics
    /// (`#[traced(metrics = false)]`).
    pub const fn without_metrics(mut self) -> Self {
        self.metrics = false;
        self
    }

    /// Whether its spans count into the RED metrics.
    pub(crate) fn metrics(&self) -> bool {
        self.metrics
    }

    /// The annotated function's path; `None` for a `tracing` callsite,
    /// which names none.
    pub(crate) fn function_name(&self) -> Option<&'static str> {
        Some(self.function).filter(|function| !function.is_empty())
    }

    /// The data of a `tracing` callsite: its spans' name, their file, line
    /// and module, and the crate their scope is named after (the first
    /// segment of the callsite's target; `tracing` knows no version).
    #[cfg(feature = "tracing")]
    pub(crate) fn library(
        name: &'static str,
        file: Option<&'static str>,
        line: Option<u32>,
        module: Option<&'static str>,
        crate_name: &'static str,
    ) -> Self {
        CallSite {
            name,
            kind: Kind::Internal,
            function: "",
            file: file.unwrap_or(""),
            line: line.unwrap_or(0),
            module: Some(module.unwrap_or("")),
            crate_name,
            crate_version: None,
            metrics: true,
            scope: OnceLock::new(),
        }
    }

    /// The `code.*` attributes its spans carry: `#[traced]`'s function,
    /// file and line; a `tracing` callsite's file, module and line (those
    /// it knows), as tracing-opentelemetry records them.
    pub(crate) fn code_attributes(&self) -> impl Iterator<Item = KeyValue> + use<> {
        let function = |name| KeyValue::new(Key::from_static_str("code.function.name"), name);
        let file = |path| KeyValue::new(Key::from_static_str("code.file.path"), path);
        let module = |name| KeyValue::new(Key::from_static_str("code.module.name"), name);
        let line =
            |number| KeyValue::new(Key::from_static_str("code.line.number"), i64::from(number));
        match self.module {
            None => [
                Some(function(self.function)),
                Some(file(self.file)),
                None,
                Some(line(self.line)),
            ],
            Some(name) => [
                None,
                Some(self.file).filter(|path| !path.is_empty()).map(file),
                Some(name).filter(|name| !name.is_empty()).map(module),
                Some(self.line).filter(|number| *number != 0).map(line),
            ],
        }
        .into_iter()
        .flatten()
    }

    /// The instrumentation scope: the annotated crate's package name and version.
    pub(crate) fn scope(&self) -> &InstrumentationScope {
        self.scope.get_or_init(|| {
            let builder = InstrumentationScope::builder(self.crate_name);
            match self.crate_version {
                Some(version) => builder.with_version(version).build(),
                None => builder.build(),
            }
        })
    }

    /// The span name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}
