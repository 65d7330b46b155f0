//! Which metric a finished span counts into, and under which attributes:
//! one pass over the span's attributes picks out the ones the semantic
//! conventions put on their metrics, the span kind and those attributes
//! choose the metric, and the chosen values are the series key. The key
//! borrows from the span; only a new series copies it.

use std::hash::Hasher;

use opentelemetry::{KeyValue, Value};

use super::super::site::{CallSite, Kind};
use super::families::Family;
use super::finished::Finished;
use super::key_hasher::KeyHasher;

/// The span attributes metrics read, each at its index in [`Found`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Slot {
    ErrorType,
    HttpRequestMethod,
    UrlScheme,
    HttpRoute,
    HttpResponseStatusCode,
    NetworkProtocolName,
    NetworkProtocolVersion,
    ServerAddress,
    ServerPort,
    RpcSystemName,
    RpcSystem,
    RpcService,
    RpcMethod,
    RpcResponseStatusCode,
    RpcGrpcStatusCode,
    MessagingSystem,
    MessagingOperationType,
    MessagingOperationName,
    MessagingDestinationName,
    MessagingDestinationTemplate,
    MessagingConsumerGroupName,
    MessagingDestinationSubscriptionName,
    DbSystemName,
    DbSystem,
    DbNamespace,
    DbCollectionName,
    DbOperationName,
    DbQuerySummary,
    DbStoredProcedureName,
    DbResponseStatusCode,
    CodeFunctionName,
}

const SLOTS: usize = Slot::CodeFunctionName as usize + 1;

impl Slot {
    fn of(key: &str) -> Option<Slot> {
        Some(match key {
            "error.type" => Slot::ErrorType,
            "http.request.method" => Slot::HttpRequestMethod,
            "url.scheme" => Slot::UrlScheme,
            "http.route" => Slot::HttpRoute,
            "http.response.status_code" => Slot::HttpResponseStatusCode,
            "network.protocol.name" => Slot::NetworkProtocolName,
            "network.protocol.version" => Slot::NetworkProtocolVersion,
            "server.address" => Slot::ServerAddress,
            "server.port" => Slot::ServerPort,
            "rpc.system.name" => Slot::RpcSystemName,
            "rpc.system" => Slot::RpcSystem,
            "rpc.service" => Slot::RpcService,
            "rpc.method" => Slot::RpcMethod,
            "rpc.response.status_code" => Slot::RpcResponseStatusCode,
            "rpc.grpc.status_code" => Slot::RpcGrpcStatusCode,
            "messaging.system" => Slot::MessagingSystem,
            "messaging.operation.type" => Slot::MessagingOperationType,
            "messaging.operation.name" => Slot::MessagingOperationName,
            "messaging.destination.name" => Slot::MessagingDestinationName,
            "messaging.destination.template" => Slot::MessagingDestinationTemplate,
            "messaging.consumer.group.name" => Slot::MessagingConsumerGroupName,
            "messaging.destination.subscription.name" => Slot::MessagingDestinationSubscriptionName,
            "db.system.name" => Slot::DbSystemName,
            "db.system" => Slot::DbSystem,
            "db.namespace" => Slot::DbNamespace,
            "db.collection.name" => Slot::DbCollectionName,
            "db.operation.name" => Slot::DbOperationName,
            "db.query.summary" => Slot::DbQuerySummary,
            "db.stored_procedure.name" => Slot::DbStoredProcedureName,
            "db.response.status_code" => Slot::DbResponseStatusCode,
            "code.function.name" => Slot::CodeFunctionName,
            _ => return None,
        })
    }

    /// The attribute name the slot is exported under.
    fn key(self) -> &'static str {
        match self {
            Slot::ErrorType => "error.type",
            Slot::HttpRequestMethod => "http.request.method",
            Slot::UrlScheme => "url.scheme",
            Slot::HttpRoute => "http.route",
            Slot::HttpResponseStatusCode => "http.response.status_code",
            Slot::NetworkProtocolName => "network.protocol.name",
            Slot::NetworkProtocolVersion => "network.protocol.version",
            Slot::ServerAddress => "server.address",
            Slot::ServerPort => "server.port",
            Slot::RpcSystemName | Slot::RpcSystem => "rpc.system.name",
            Slot::RpcService | Slot::RpcMethod => "rpc.method",
            Slot::RpcResponseStatusCode | Slot::RpcGrpcStatusCode => "rpc.response.status_code",
            Slot::MessagingSystem => "messaging.system",
            Slot::MessagingOperationType => "messaging.operation.type",
            Slot::MessagingOperationName => "messaging.operation.name",
            Slot::MessagingDestinationName => "messaging.destination.name",
            Slot::MessagingDestinationTemplate => "messaging.destination.template",
            Slot::MessagingConsumerGroupName => "messaging.consumer.group.name",
            Slot::MessagingDestinationSubscriptionName => "messaging.destination.subscription.name",
            Slot::DbSystemName | Slot::DbSystem => "db.system.name",
            Slot::DbNamespace => "db.namespace",
            Slot::DbCollectionName => "db.collection.name",
            Slot::DbOperationName => "db.operation.name",
            Slot::DbQuerySummary => "db.query.summary",
            Slot::DbStoredProcedureName => "db.stored_procedure.name",
            Slot::DbResponseStatusCode => "db.response.status_code",
            Slot::CodeFunctionName => "code.function.name",
        }
    }
}

/// The slots each convention's metric is keyed by, in key order; the error
/// type comes last in every key.
fn slots(family: Family) -> &'static [Slot] {
    use Slot::*;
    match family {
        Family::HttpServer => &[
            HttpRequestMethod,
            UrlScheme,
            HttpRoute,
            HttpResponseStatusCode,
            NetworkProtocolName,
            NetworkProtocolVersion,
        ],
        Family::HttpClient => &[
            HttpRequestMethod,
            ServerAddress,
            ServerPort,
            HttpResponseStatusCode,
            NetworkProtocolName,
            NetworkProtocolVersion,
        ],
        Family::RpcServer => &[
            RpcSystemName,
            RpcSystem,
            RpcService,
            RpcMethod,
            RpcResponseStatusCode,
            RpcGrpcStatusCode,
        ],
        Family::RpcClient => &[
            RpcSystemName,
            RpcSystem,
            RpcService,
            RpcMethod,
            RpcResponseStatusCode,
            RpcGrpcStatusCode,
            ServerAddress,
            ServerPort,
        ],
        Family::MessagingProcess => &[
            MessagingSystem,
            MessagingOperationName,
            MessagingDestinationName,
            MessagingDestinationTemplate,
            MessagingConsumerGroupName,
            MessagingDestinationSubscriptionName,
            ServerAddress,
            ServerPort,
        ],
        Family::MessagingClient => &[
            MessagingSystem,
            MessagingOperationType,
            MessagingOperationName,
            MessagingDestinationName,
            MessagingDestinationTemplate,
            MessagingConsumerGroupName,
            MessagingDestinationSubscriptionName,
            ServerAddress,
            ServerPort,
        ],
        Family::DbClient => &[
            DbSystemName,
            DbSystem,
            DbNamespace,
            DbCollectionName,
            DbOperationName,
            DbQuerySummary,
            DbStoredProcedureName,
            DbResponseStatusCode,
            ServerAddress,
            ServerPort,
        ],
        Family::Function => &[],
    }
}

/// The most parts a key has: a family's slots and the error type.
pub(crate) const MAX_PARTS: usize = 11;

/// An attribute value as a key part, borrowed from the span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Part<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Float(f64),
}

impl<'a> Part<'a> {
    fn of(value: &'a Value) -> Option<Part<'a>> {
        Some(match value {
            Value::String(text) => Part::Str(text.as_str()),
            Value::I64(n) => Part::Int(*n),
            Value::Bool(b) => Part::Bool(*b),
            Value::F64(x) => Part::Float(*x),
            // Arrays say nothing a metric's attribute can hold.
            _ => return None,
        })
    }

    fn hash(&self, hasher: &mut KeyHasher) {
        match self {
            Part::Str(text) => {
                hasher.write_u8(1);
                hasher.write(text.as_bytes());
            }
            Part::Int(n) => {
                hasher.write_u8(2);
                hasher.write_i64(*n);
            }
            Part::Bool(b) => hasher.write_u8(3 + u8::from(*b)),
            Part::Float(x) => {
                hasher.write_u8(5);
                hasher.write_u64(x.to_bits());
            }
        }
    }

    fn owned(self) -> OwnedPart {
        match self {
            Part::Str(text) => OwnedPart::Str(text.into()),
            Part::Int(n) => OwnedPart::Int(n),
            Part::Bool(b) => OwnedPart::Bool(b),
            Part::Float(x) => OwnedPart::Float(x.to_bits()),
        }
    }
}

/// A key part kept by a series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OwnedPart {
    Str(Box<str>),
    Int(i64),
    Bool(bool),
    Float(u64),
}

impl OwnedPart {
    fn matches(&self, part: &Part<'_>) -> bool {
        match (self, part) {
            (OwnedPart::Str(a), Part::Str(b)) => &**a == *b,
            (OwnedPart::Int(a), Part::Int(b)) => a == b,
            (OwnedPart::Bool(a), Part::Bool(b)) => a == b,
            (OwnedPart::Float(a), Part::Float(b)) => *a == b.to_bits(),
            _ => false,
        }
    }

    fn value(&self) -> Value {
        match self {
            OwnedPart::Str(text) => Value::from(text.to_string()),
            OwnedPart::Int(n) => Value::I64(*n),
            OwnedPart::Bool(b) => Value::Bool(*b),
            OwnedPart::Float(bits) => Value::F64(f64::from_bits(*bits)),
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            OwnedPart::Str(text) => Some(text),
            _ => None,
        }
    }
}

/// The series a span counts into: its metric and the parts of its key.
#[derive(Debug)]
pub(crate) struct Key<'a> {
    pub(crate) family: Family,
    parts: [Option<Part<'a>>; MAX_PARTS],
    len: usize,
}

impl<'a> Key<'a> {
    fn new(family: Family) -> Self {
        Key {
            family,
            parts: [None; MAX_PARTS],
            len: 0,
        }
    }

    fn push(&mut self, part: Option<Part<'a>>) {
        self.parts[self.len] = part;
        self.len += 1;
    }

    pub(crate) fn parts(&self) -> &[Option<Part<'a>>] {
        &self.parts[..self.len]
    }

    pub(crate) fn hash(&self) -> u64 {
        let mut hasher = KeyHasher::default();
        for part in self.parts() {
            match part {
                Some(part) => part.hash(&mut hasher),
                None => hasher.write_u8(0),
            }
        }
        hasher.finish()
    }

    /// Whether a series' stored key is this one.
    pub(crate) fn matches(&self, stored: &[Option<OwnedPart>]) -> bool {
        stored.len() == self.len
            && stored
                .iter()
                .zip(self.parts())
                .all(|(stored, part)| match (stored, part) {
                    (None, None) => true,
                    (Some(stored), Some(part)) => stored.matches(part),
                    _ => false,
                })
    }

    pub(crate) fn owned(&self) -> Box<[Option<OwnedPart>]> {
        self.parts()
            .iter()
            .map(|part| part.map(Part::owned))
            .collect()
    }
}

/// The attributes metrics read, found in one pass.
struct Found<'a> {
    values: [Option<&'a Value>; SLOTS],
    /// Some attribute's key starts with `db.`.
    database: bool,
}

impl<'a> Found<'a> {
    fn scan(attributes: &'a [KeyValue]) -> Self {
        let mut found = Found {
            values: [None; SLOTS],
            database: false,
        };
        for attribute in attributes {
            let key = attribute.key.as_str();
            if let Some(slot) = Slot::of(key) {
                // A value set again later wins, as on the span.
                found.values[slot as usize] = Some(&attribute.value);
            }
            found.database |= key.starts_with("db.");
        }
        found
    }

    fn get(&self, slot: Slot) -> Option<&'a Value> {
        self.values[slot as usize]
    }

    fn has(&self, slot: Slot) -> bool {
        self.values[slot as usize].is_some()
    }

    fn text(&self, slot: Slot) -> Option<&'a str> {
        match self.get(slot)? {
            Value::String(text) => Some(text.as_str()),
            _ => None,
        }
    }
}

/// Whether `span` counts into the series of `site`'s spans without
/// attributes: its call site's name and kind, not failed, and no attribute
/// any metric reads.
pub(crate) fn keyed_as(span: &Finished<'_>, site: &CallSite) -> bool {
    !span.failed
        && span.kind == site.kind
        && span.name == site.name
        && read_by_none(span.attributes)
}

/// Whether no metric reads any of these attributes: none is one of the
/// conventions' keys, and none starts with `db.`.
pub(crate) fn read_by_none(attributes: &[KeyValue]) -> bool {
    attributes
        .iter()
        .all(|attribute| !read_by_some(attribute.key.as_str()))
}

/// Whether a metric reads the attribute `key`.
pub(crate) fn read_by_some(key: &str) -> bool {
    Slot::of(key).is_some() || key.starts_with("db.")
}

/// Which metric a span of `kind` with these attributes counts into: the
/// conventions' where the span is of theirs, else `function.calls`.
fn family(kind: Kind, found: &Found<'_>) -> Family {
    if found.has(Slot::HttpRequestMethod) {
        match kind {
            Kind::Server => return Family::HttpServer,
            Kind::Client => return Family::HttpClient,
            _ => {}
        }
    }
    if found.has(Slot::RpcSystemName) || found.has(Slot::RpcSystem) {
        match kind {
            Kind::Server => return Family::RpcServer,
            Kind::Client => return Family::RpcClient,
            _ => {}
        }
    }
    if found.has(Slot::MessagingSystem) {
        match (found.text(Slot::MessagingOperationType), kind) {
            (Some("process"), _) | (None, Kind::Consumer) => return Family::MessagingProcess,
            (Some(_), _) | (None, Kind::Producer | Kind::Client) => {
                return Family::MessagingClient;
            }
            _ => {}
        }
    }
    if found.database && matches!(kind, Kind::Client | Kind::Internal) {
        return Family::DbClient;
    }
    Family::Function
}

/// The `span.kind` value, as the Collector's spanmetrics connector writes it.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Internal => "SPAN_KIND_INTERNAL",
        Kind::Server => "SPAN_KIND_SERVER",
        Kind::Client => "SPAN_KIND_CLIENT",
        Kind::Producer => "SPAN_KIND_PRODUCER",
        Kind::Consumer => "SPAN_KIND_CONSUMER",
    }
}

/// The series key of `span`.
pub(crate) fn key<'a>(span: &Finished<'a>) -> Key<'a> {
    let found = Found::scan(span.attributes);
    let family = family(span.kind, &found);
    let mut key = Key::new(family);
    if family == Family::Function {
        key.push(Some(Part::Str(span.name)));
        key.push(Some(Part::Str(kind_name(span.kind))));
        let function = span.function.or_else(|| found.text(Slot::CodeFunctionName));
        key.push(function.map(Part::Str));
    } else {
        for slot in slots(family) {
            key.push(found.get(*slot).and_then(Part::of));
        }
    }
    let error = match found.get(Slot::ErrorType).and_then(Part::of) {
        Some(error) => Some(error),
        None if span.failed => Some(Part::Str("_OTHER")),
        None => None,
    };
    key.push(error);
    key
}

/// The key of a span that has no attributes: its call site's name, kind and
/// function (a `tracing` callsite has none), no error.
pub(crate) fn site_key(
    name: &'static str,
    kind: Kind,
    function: Option<&'static str>,
) -> Key<'static> {
    let mut key = Key::new(Family::Function);
    key.push(Some(Part::Str(name)));
    key.push(Some(Part::Str(kind_name(kind))));
    key.push(function.map(Part::Str));
    key.push(None);
    key
}

/// The attributes a series is exported with, from its stored key.
pub(crate) fn attributes(family: Family, parts: &[Option<OwnedPart>]) -> Vec<KeyValue> {
    let (error, parts) = parts
        .split_last()
        .map_or((None, parts), |(error, rest)| (error.as_ref(), rest));
    let mut attributes = Vec::with_capacity(parts.len() + 4);
    if family == Family::Function {
        function_attributes(parts, error.is_some(), &mut attributes);
    } else {
        let slots = slots(family);
        let part = |slot: Slot| {
            slots
                .iter()
                .position(|s| *s == slot)
                .and_then(|at| parts[at].as_ref())
        };
        for (slot, value) in slots.iter().zip(parts) {
            let Some(value) = value else { continue };
            let exported = match slot {
                // The conventions' newer names win over the older ones.
                Slot::RpcSystem if part(Slot::RpcSystemName).is_some() => continue,
                Slot::DbSystem if part(Slot::DbSystemName).is_some() => continue,
                Slot::RpcService => continue,
                Slot::RpcMethod => {
                    match (part(Slot::RpcService).and_then(OwnedPart::text), value) {
                        (Some(service), OwnedPart::Str(method)) if !method.contains('/') => {
                            Value::from(format!("{service}/{method}"))
                        }
                        _ => value.value(),
                    }
                }
                Slot::RpcGrpcStatusCode if part(Slot::RpcResponseStatusCode).is_some() => {
                    continue;
                }
                Slot::RpcGrpcStatusCode => match value {
                    OwnedPart::Int(code) => Value::from(grpc_code_name(*code)),
                    other => other.value(),
                },
                _ => value.value(),
            };
            attributes.push(KeyValue::new(slot.key(), exported));
        }
    }
    if let Some(error) = error {
        attributes.push(KeyValue::new("error.type", error.value()));
    }
    attributes
}

/// `span.name`, `span.kind`, `code.function.name`, and autometrics'
/// `function`, `module` and `result`.
fn function_attributes(parts: &[Option<OwnedPart>], failed: bool, into: &mut Vec<KeyValue>) {
    let text = |at: usize| {
        parts
            .get(at)
            .and_then(Option::as_ref)
            .and_then(OwnedPart::text)
    };
    let name = text(0).unwrap_or_default();
    into.push(KeyValue::new("span.name", name.to_owned()));
    if let Some(kind) = text(1) {
        into.push(KeyValue::new("span.kind", kind.to_owned()));
    }
    match text(2) {
        Some(path) => {
            into.push(KeyValue::new("code.function.name", path.to_owned()));
            let (module, function) = match path.rsplit_once("::") {
                Some((module, function)) => (Some(module), function),
                None => (None, path),
            };
            into.push(KeyValue::new("function", function.to_owned()));
            if let Some(module) = module {
                into.push(KeyValue::new("module", module.to_owned()));
            }
        }
        None => into.push(KeyValue::new("function", name.to_owned())),
    }
    into.push(KeyValue::new("result", if failed { "error" } else { "ok" }));
}

/// The name of a gRPC status code, as `rpc.response.status_code` holds it.
fn grpc_code_name(code: i64) -> String {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|at| NAMES.get(at))
        .map_or_else(|| code.to_string(), |name| (*name).to_owned())
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId};

    use super::super::finished::End;
    use super::*;

    fn span<'a>(kind: Kind, attributes: &'a [KeyValue], failed: bool) -> Finished<'a> {
        Finished {
            name: "span",
            kind,
            function: None,
            attributes,
            failed,
            nanos: 1,
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            end: End::Wall(std::time::SystemTime::UNIX_EPOCH),
        }
    }

    fn exported(kind: Kind, attributes: &[KeyValue], failed: bool) -> (Family, Vec<String>) {
        let span = span(kind, attributes, failed);
        let key = key(&span);
        let attributes = super::attributes(key.family, &key.owned());
        let shown = attributes
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        (key.family, shown)
    }

    #[test]
    fn http_spans_go_to_the_conventions_histograms_with_their_attributes() {
        let attributes = [
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/articles/{id}"),
            KeyValue::new("url.path", "/articles/7"),
            KeyValue::new("url.scheme", "http"),
            KeyValue::new("http.response.status_code", 500),
            KeyValue::new("network.protocol.version", "1.1"),
            KeyValue::new("error.type", "500"),
            KeyValue::new("server.address", "shop"),
        ];
        assert_eq!(
            exported(Kind::Server, &attributes, true),
            (
                Family::HttpServer,
                [
                    "http.request.method=GET",
                    "url.scheme=http",
                    "http.route=/articles/{id}",
                    "http.response.status_code=500",
                    "network.protocol.version=1.1",
                    "error.type=500",
                ]
                .map(String::from)
                .to_vec()
            )
        );
        let (family, client) = exported(Kind::Client, &attributes, false);
        assert_eq!(family, Family::HttpClient);
        assert!(
            client.contains(&"server.address=shop".to_owned()),
            "{client:?}"
        );
        assert!(!client.iter().any(|kv| kv.starts_with("http.route")));
    }

    #[test]
    fn rpc_spans_take_the_newer_names() {
        let attributes = [
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", "shop.Payments"),
            KeyValue::new("rpc.method", "Charge"),
            KeyValue::new("rpc.grpc.status_code", 5),
        ];
        assert_eq!(
            exported(Kind::Server, &attributes, true),
            (
                Family::RpcServer,
                [
                    "rpc.system.name=grpc",
                    "rpc.method=shop.Payments/Charge",
                    "rpc.response.status_code=NOT_FOUND",
                    "error.type=_OTHER",
                ]
                .map(String::from)
                .to_vec()
            )
        );
        let (family, _) = exported(Kind::Client, &attributes, false);
        assert_eq!(family, Family::RpcClient);
    }

    #[test]
    fn messaging_and_database_spans() {
        let process = [
            KeyValue::new("messaging.system", "kafka"),
            KeyValue::new("messaging.operation.type", "process"),
            KeyValue::new("messaging.destination.name", "orders"),
            KeyValue::new("messaging.message.id", "42"),
        ];
        assert_eq!(
            exported(Kind::Consumer, &process, false).0,
            Family::MessagingProcess
        );
        let send = [
            KeyValue::new("messaging.system", "kafka"),
            KeyValue::new("messaging.operation.type", "send"),
        ];
        let (family, attributes) = exported(Kind::Producer, &send, false);
        assert_eq!(family, Family::MessagingClient);
        assert!(attributes.contains(&"messaging.operation.type=send".to_owned()));
        let query = [
            KeyValue::new("db.system", "postgresql"),
            KeyValue::new("db.query.text", "SELECT 1"),
            KeyValue::new("db.collection.name", "orders"),
        ];
        assert_eq!(
            exported(Kind::Client, &query, false),
            (
                Family::DbClient,
                ["db.system.name=postgresql", "db.collection.name=orders"]
                    .map(String::from)
                    .to_vec()
            )
        );
        // An internal span carrying db.* attributes is a database call too.
        let other_db = [KeyValue::new("db.operation.name", "SELECT")];
        assert_eq!(
            exported(Kind::Internal, &other_db, false).0,
            Family::DbClient
        );
        // A server span is not.
        assert_eq!(exported(Kind::Server, &other_db, false).0, Family::Function);
    }

    #[test]
    fn other_spans_count_per_name_with_autometrics_labels() {
        let attributes = [
            KeyValue::new("rows", 3),
            KeyValue::new("code.function.name", "shop::orders::Cart::add"),
            KeyValue::new("error.type", "OutOfStock"),
        ];
        assert_eq!(
            exported(Kind::Internal, &attributes, true),
            (
                Family::Function,
                [
                    "span.name=span",
                    "span.kind=SPAN_KIND_INTERNAL",
                    "code.function.name=shop::orders::Cart::add",
                    "function=add",
                    "module=shop::orders::Cart",
                    "result=error",
                    "error.type=OutOfStock",
                ]
                .map(String::from)
                .to_vec()
            )
        );
        // Attributes that are not the conventions' are not part of the key.
        let a = span(Kind::Internal, &attributes[..1], false);
        let b_attributes = [KeyValue::new("rows", 4)];
        let b = span(Kind::Internal, &b_attributes, false);
        assert_eq!(key(&a).hash(), key(&b).hash());
        assert!(key(&a).matches(&key(&b).owned()));
        // A call site's key is the key its span would have.
        let site = site_key("span", Kind::Internal, Some("shop::f"));
        let mut from_span = span(Kind::Internal, &[], false);
        from_span.function = Some("shop::f");
        assert!(site.matches(&key(&from_span).owned()));
        assert_eq!(site.hash(), key(&from_span).hash());
    }
}
