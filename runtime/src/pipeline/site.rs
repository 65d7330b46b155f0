//! What one `#[traced]` function's spans share, known at compile time: its
//! name, kind, `code.*` location and instrumentation scope, held in a
//! `static` by each expansion so that none of it is built per call.

use std::sync::OnceLock;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::SpanKind;

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
