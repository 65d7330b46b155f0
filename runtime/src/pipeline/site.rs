//! What one `#[traced]` function's spans share, known at compile time: its
//! name, kind, `code.*` location, instrumentation scope and attributes (keys,
//! and the values of literal ones), held in a `static` by each expansion so
//! that none of it is built per call. A `tracing` callsite gets one too, made
//! once when its first span is recorded ([`CallSite::library`]).

use std::hash::Hasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::trace::SpanKind;
use opentelemetry::{InstrumentationScope, Key, KeyValue, StringValue, Value};

use super::values::ValueRef;

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
    attributes: &'static [SiteAttribute],
    /// How many of `attributes` come first and are literals.
    leading_literals: usize,
    scope: OnceLock<InstrumentationScope>,
    /// Its place in per-thread caches, plus one; 0 until it is given one.
    cache_slot: AtomicUsize,
}

impl CallSite {
    /// The data of one call site; `crate_name` and `crate_version` come
    /// from `option_env!` in the annotated crate; `attributes` in the order
    /// they were declared.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        kind: Kind,
        function: &'static str,
        file: &'static str,
        line: u32,
        crate_name: Option<&'static str>,
        crate_version: Option<&'static str>,
        attributes: &'static [SiteAttribute],
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
            attributes,
            leading_literals: leading_literals(attributes),
            scope: OnceLock::new(),
            cache_slot: AtomicUsize::new(0),
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

    /// Its attributes, in the order they were declared.
    pub(crate) fn attributes(&self) -> &'static [SiteAttribute] {
        self.attributes
    }

    /// How many of its first attributes are literals.
    #[inline]
    pub(crate) fn leading_literals(&self) -> usize {
        self.leading_literals
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
            attributes: &[],
            leading_literals: 0,
            scope: OnceLock::new(),
            cache_slot: AtomicUsize::new(0),
        }
    }

    /// The `code.*` attributes its spans carry: `#[traced]`'s function,
    /// file and line; a `tracing` callsite's file, module and line (those
    /// it knows), as tracing-opentelemetry records them.
    pub(crate) fn code_attributes(&self) -> impl Iterator<Item = KeyValue> + use<> {
        self.code_values()
            .map(|(key, value)| KeyValue::new(Key::from_static_str(key), value.to_value()))
    }

    /// The same as keys and values, nothing built.
    pub(crate) fn code_values(&self) -> impl Iterator<Item = (&'static str, CodeValue)> + use<> {
        let file = |path| ("code.file.path", CodeValue::Text(path));
        let line = |number| ("code.line.number", CodeValue::Number(i64::from(number)));
        match self.module {
            None => [
                Some(("code.function.name", CodeValue::Text(self.function))),
                Some(file(self.file)),
                None,
                Some(line(self.line)),
            ],
            Some(name) => [
                None,
                Some(self.file).filter(|path| !path.is_empty()).map(file),
                Some(name)
                    .filter(|name| !name.is_empty())
                    .map(|name| ("code.module.name", CodeValue::Text(name))),
                Some(self.line).filter(|number| *number != 0).map(line),
            ],
        }
        .into_iter()
        .flatten()
    }

    #[inline]
    pub(crate) fn push_code_attributes(&self, attributes: &mut Vec<KeyValue>) {
        if self.module.is_some() {
            attributes.extend(self.code_attributes());
            return;
        }
        attributes.reserve(3);
        attributes.push(KeyValue::new(
            Key::from_static_str("code.function.name"),
            self.function,
        ));
        attributes.push(KeyValue::new(
            Key::from_static_str("code.file.path"),
            self.file,
        ));
        attributes.push(KeyValue::new(
            Key::from_static_str("code.line.number"),
            i64::from(self.line),
        ));
    }

    /// Pushes the literal attributes declared before any other, as
    /// OpenTelemetry key-values.
    #[inline]
    pub(crate) fn push_leading_literals(&self, attributes: &mut Vec<KeyValue>) {
        for attribute in &self.attributes[..self.leading_literals] {
            if let SiteValue::Literal(value) = attribute.value {
                attributes.push(KeyValue::new(
                    Key::from_static_str(attribute.key),
                    value.to_value(),
                ));
            }
        }
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

    /// Its place in per-thread caches, once it has one.
    #[inline]
    pub(crate) fn cache_slot(&self) -> Option<usize> {
        self.cache_slot.load(Ordering::Relaxed).checked_sub(1)
    }

    /// Gives it the place `slot` in per-thread caches, unless another
    /// thread gave it one first; the place it keeps.
    pub(crate) fn claim_cache_slot(&self, slot: usize) -> usize {
        match self
            .cache_slot
            .compare_exchange(0, slot + 1, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => slot,
            Err(taken) => taken - 1,
        }
    }

    /// The span name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// How many of `attributes` come first and are literals.
/// The value of a `code.*` attribute.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CodeValue {
    Text(&'static str),
    Number(i64),
}

impl CodeValue {
    pub(crate) fn to_value(self) -> Value {
        match self {
            CodeValue::Text(text) => Value::from(text),
            CodeValue::Number(number) => Value::I64(number),
        }
    }

    pub(crate) fn value_ref(self) -> ValueRef<'static> {
        match self {
            CodeValue::Text(text) => ValueRef::Str(text),
            CodeValue::Number(number) => ValueRef::I64(number),
        }
    }
}

const fn leading_literals(attributes: &[SiteAttribute]) -> usize {
    let mut count = 0;
    while count < attributes.len() && matches!(attributes[count].value, SiteValue::Literal(_)) {
        count += 1;
    }
    count
}

/// One attribute of a call site: its key, and its value when that is known
/// before the call.
#[derive(Debug)]
pub struct SiteAttribute {
    pub(crate) key: &'static str,
    pub(crate) value: SiteValue,
}

/// Where an attribute's value comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SiteValue {
    /// A literal: part of the call site.
    Literal(StaticValue),
    /// A constant, read where the span is exported (or, for a span of
    /// another provider, as it starts).
    Constant(fn() -> Option<Value>),
    /// Recorded by each call, in the order of the recorded attributes.
    Recorded,
}

impl SiteAttribute {
    /// An attribute whose value is a literal.
    pub const fn literal(key: &'static str, value: StaticValue) -> Self {
        SiteAttribute {
            key,
            value: SiteValue::Literal(value),
        }
    }

    /// An attribute whose value is a constant, read by `value`.
    pub const fn constant(key: &'static str, value: fn() -> Option<Value>) -> Self {
        SiteAttribute {
            key,
            value: SiteValue::Constant(value),
        }
    }

    /// An attribute each call records.
    pub const fn recorded(key: &'static str) -> Self {
        SiteAttribute {
            key,
            value: SiteValue::Recorded,
        }
    }

    /// Its value, when it is known without the call: `None` for a recorded
    /// one, or a constant that is `None`.
    pub(crate) fn known(&self) -> Option<Value> {
        match self.value {
            SiteValue::Literal(value) => Some(value.to_value()),
            SiteValue::Constant(read) => read(),
            SiteValue::Recorded => None,
        }
    }
}

/// A literal attribute value, typed as the same value recorded at run time
/// would be: integers that fit as int, wider ones as their decimal text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StaticValue(Literal);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Literal {
    Str(&'static str),
    I64(i64),
    Wide(i128),
    WideUnsigned(u128),
    F64(f64),
    Bool(bool),
    Char(char),
}

macro_rules! narrow_ints {
    ($($name:ident: $ty:ty),*) => {$(
        #[doc = concat!("A `", stringify!($ty), "` literal.")]
        pub const fn $name(value: $ty) -> Self {
            StaticValue(Literal::I64(value as i64))
        }
    )*};
}

impl StaticValue {
    narrow_ints!(i8: i8, i16: i16, i32: i32, i64: i64, u8: u8, u16: u16, u32: u32);

    /// A `u64` literal.
    pub const fn u64(value: u64) -> Self {
        Self::u128(value as u128)
    }

    /// A `usize` literal.
    pub const fn usize(value: usize) -> Self {
        Self::u128(value as u128)
    }

    /// An `isize` literal.
    pub const fn isize(value: isize) -> Self {
        Self::i128(value as i128)
    }

    /// An `i128` literal.
    pub const fn i128(value: i128) -> Self {
        if value >= i64::MIN as i128 && value <= i64::MAX as i128 {
            StaticValue(Literal::I64(value as i64))
        } else {
            StaticValue(Literal::Wide(value))
        }
    }

    /// A `u128` literal.
    pub const fn u128(value: u128) -> Self {
        if value <= i64::MAX as u128 {
            StaticValue(Literal::I64(value as i64))
        } else {
            StaticValue(Literal::WideUnsigned(value))
        }
    }

    /// An `f64` literal.
    pub const fn f64(value: f64) -> Self {
        StaticValue(Literal::F64(value))
    }

    /// An `f32` literal.
    pub const fn f32(value: f32) -> Self {
        StaticValue(Literal::F64(value as f64))
    }

    /// A `bool` literal.
    pub const fn bool(value: bool) -> Self {
        StaticValue(Literal::Bool(value))
    }

    /// A string literal.
    pub const fn str(value: &'static str) -> Self {
        StaticValue(Literal::Str(value))
    }

    /// A `char` literal.
    pub const fn char(value: char) -> Self {
        StaticValue(Literal::Char(value))
    }

    /// The OpenTelemetry value; a string literal is borrowed, not copied.
    #[inline]
    pub(crate) fn to_value(self) -> Value {
        match self.0 {
            Literal::Str(text) => Value::String(StringValue::from(text)),
            Literal::I64(value) => Value::I64(value),
            Literal::F64(value) => Value::F64(value),
            Literal::Bool(value) => Value::Bool(value),
            Literal::Wide(value) => as_text(value),
            Literal::WideUnsigned(value) => as_text(value),
            Literal::Char(value) => as_text(value),
        }
    }
}

/// A literal no OpenTelemetry value holds as it is, as its text.
#[cold]
#[inline(never)]
fn as_text(literal: impl ToString) -> Value {
    Value::String(literal.to_string().into())
}

/// Hashes the address of a call site (or of a `tracing` callsite's
/// metadata): unique already, so one multiply spreads it.
#[derive(Debug, Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 31)
    }
}
