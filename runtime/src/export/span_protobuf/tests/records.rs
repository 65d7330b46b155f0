//! Spans encoded straight from records make the bytes opentelemetry-otlp
//! makes of the `SpanData` the same records convert to.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use prost::Message as _;

use super::super::SpanBatch;
use super::{every_value, reference, resource};
use crate::pipeline::for_tests::{Record, Slot, Slots, SpanDetails, WallClock, now, span_data};
use crate::pipeline::{CallSite, Kind, Limits, SiteAttribute, SpanView, StaticValue};

fn pi() -> Option<Value> {
    Some(Value::F64(3.25))
}

fn region() -> Option<Value> {
    Some(Value::from("eu-west-1, a region whose name is long"))
}

fn panics() -> Option<Value> {
    panic!("a constant that cannot be read")
}

fn nothing() -> Option<Value> {
    None
}

/// Every kind of call-site attribute: literals of every type, constants
/// (one that panics, one without a value), recorded values.
static EVERY_KIND: CallSite = CallSite::new(
    "every_kind",
    Kind::Server,
    "app::handlers::every_kind",
    "src/handlers/a_rather_long_file_name.rs",
    42,
    Some("app"),
    Some("1.2.3"),
    &[
        SiteAttribute::literal("lit.str", StaticValue::str("literal text")),
        SiteAttribute::recorded("rec.first"),
        SiteAttribute::literal("lit.i64", StaticValue::i64(-7)),
        SiteAttribute::literal("lit.wide", StaticValue::u128(u128::MAX)),
        SiteAttribute::literal("lit.char", StaticValue::char('é')),
        SiteAttribute::literal("lit.f64", StaticValue::f64(0.5)),
        SiteAttribute::literal("lit.bool", StaticValue::bool(true)),
        SiteAttribute::constant("const.pi", pi),
        SiteAttribute::constant("const.region", region),
        SiteAttribute::constant("const.panics", panics),
        SiteAttribute::constant("const.none", nothing),
        SiteAttribute::recorded("rec.second"),
        SiteAttribute::recorded("rec.text"),
        SiteAttribute::recorded("rec.bool"),
        SiteAttribute::recorded("rec.array"),
        SiteAttribute::recorded("rec.absent"),
        SiteAttribute::recorded("rec.f64"),
    ],
);

/// A plain call site of another crate.
static OTHER_CRATE: CallSite = CallSite::new(
    "other",
    Kind::Client,
    "lib::other",
    "src/lib.rs",
    7,
    Some("lib"),
    None,
    &[SiteAttribute::recorded("n")],
);

/// A call site of the same crate as `EVERY_KIND`: a scope equal to its,
/// held at another address.
static SAME_CRATE: CallSite = CallSite::new(
    "same",
    Kind::Internal,
    "app::same",
    "src/same.rs",
    1,
    Some("app"),
    Some("1.2.3"),
    &[],
);

fn limits() -> Limits {
    Limits::default()
}

fn record(site: Option<&'static CallSite>, span: u64) -> Record {
    let now = now();
    Record {
        trace_id: TraceId::from(0x0123_4567_89ab_cdef_u128 << 64 | u128::from(span)),
        span_id: SpanId::from(span),
        parent_span_id: SpanId::from(span + 1000),
        parent_is_remote: false,
        flags: TraceFlags::SAMPLED,
        start: now,
        end: now,
        site,
        slots: Slots::EMPTY,
        extra: None,
    }
}

/// Records `values` in order into `record`'s slots, spilling past the
/// inline ones into its details.
fn set_values(record: &mut Record, values: &[Slot]) {
    for (index, &slot) in values.iter().enumerate() {
        if !record.slots.set(index, slot) {
            record
                .extra
                .get_or_insert_with(Box::default)
                .more_slots
                .push(slot);
        }
    }
}

/// A record of `EVERY_KIND` with every recorded value set, text cut to
/// `limits` as it is recorded.
fn every_kind(span: u64, limits: &Limits) -> Record {
    let mut record = record(Some(&EVERY_KIND), span);
    let mut extra = Box::<SpanDetails>::default();
    let text = extra.push_text("recorded text, with ünïcode", limits);
    let array = extra.push_built(
        Value::Array(Array::String(vec![
            StringValue::from("first"),
            StringValue::from("a second, longer string"),
        ])),
        limits,
    );
    record.extra = Some(extra);
    let inline = record
        .slots
        .push_text("short ünï")
        .expect("short text is held inline");
    set_values(
        &mut record,
        &[
            Slot::i64(1 << 40),
            inline,
            text,
            Slot::bool(false),
            array,
            Slot::ABSENT,
            Slot::f64(-0.0),
        ],
    );
    record
}

/// Everything the OpenTelemetry API can set on a span.
fn with_details(mut record: Record, limits: &Limits) -> Record {
    let extra = record.extra.get_or_insert_with(Box::default);
    extra.name = Some(Cow::Owned("renamed at run time".into()));
    extra.kind = Some(SpanKind::Consumer);
    for attribute in every_value() {
        extra.push_attribute(attribute, limits);
    }
    extra.dropped_attributes = 2;
    extra.push_event(
        Event::new(
            "exception",
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            every_value(),
            1,
        ),
        limits,
    );
    extra.push_event(
        Event::new("plain", SystemTime::UNIX_EPOCH, Vec::new(), 0),
        limits,
    );
    extra.dropped_events = 3;
    let state = TraceState::from_key_value([("vendor", "value")]).expect("valid");
    extra.push_link(
        Link::new(
            SpanContext::new(
                TraceId::from(9_u128),
                SpanId::from(9_u64),
                TraceFlags::SAMPLED,
                true,
                state.clone(),
            ),
            every_value(),
            4,
        ),
        limits,
    );
    extra.dropped_links = 1;
    extra.status = Status::error("it failed");
    extra.trace_state = state;
    record.parent_is_remote = true;
    record
}

/// Encodes `records` both ways and compares the bytes.
fn assert_encoded_alike(records: &[Record], limits: &Limits) {
    assert_mixed_alike(records, &[], limits);
}

/// The same, with `spans` (built as `SpanData` already) added after the
/// records.
fn assert_mixed_alike(records: &[Record], spans: &[SpanData], limits: &Limits) {
    let clock = WallClock::new();
    let resource = resource();
    let mut batch = SpanBatch::default();
    batch.set_resource(&resource);
    for record in records {
        batch.add_record(SpanView::new(record, &clock, limits));
    }
    for span in spans {
        batch.add_span(span);
    }
    assert_eq!(batch.len(), records.len() + spans.len());
    let ours = batch.finish(Vec::new());
    let mut expected: Vec<SpanData> = records
        .iter()
        .map(|record| span_data(record, &clock, limits))
        .collect();
    expected.extend_from_slice(spans);
    assert_same_request(&ours, &reference(&expected, &resource));
}

/// The same bytes; where they differ, the decoded requests show how.
fn assert_same_request(ours: &[u8], reference: &[u8]) {
    if ours != reference {
        let decode =
            |bytes: &[u8]| ExportTraceServiceRequest::decode(bytes).map_err(|e| e.to_string());
        assert_eq!(decode(ours), decode(reference), "different requests");
        panic!("the same request, encoded differently");
    }
}

#[test]
fn call_site_attributes_encode_as_their_span_data() {
    let limits = limits();
    assert_encoded_alike(&[every_kind(1, &limits)], &limits);
}

#[test]
fn values_set_through_the_api_encode_as_their_span_data() {
    let limits = limits();
    let records = [
        with_details(every_kind(1, &limits), &limits),
        with_details(record(Some(&OTHER_CRATE), 2), &limits),
    ];
    assert_encoded_alike(&records, &limits);
}

#[test]
fn a_span_of_another_tracer_takes_its_name_kind_and_scope_from_its_details() {
    let limits = limits();
    let tracer_scope = InstrumentationScope::builder("some-library")
        .with_version("0.9")
        .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
        .with_attributes([KeyValue::new("scope.attr", "x")])
        .build();
    let mut foreign = with_details(record(None, 1), &limits);
    foreign.extra.as_mut().expect("details").scope = Some(tracer_scope.clone());
    // A call site's span moved to another scope at run time, and one
    // whose dynamic scope is its crate's all the same.
    let mut moved = record(Some(&OTHER_CRATE), 2);
    moved.extra = Some(Box::new(SpanDetails {
        scope: Some(tracer_scope),
        ..SpanDetails::default()
    }));
    let mut same = record(Some(&OTHER_CRATE), 3);
    same.extra = Some(Box::new(SpanDetails {
        scope: Some(OTHER_CRATE.scope().clone()),
        ..SpanDetails::default()
    }));
    // Nothing at all: the default scope, an empty name.
    let mut bare = record(None, 4);
    bare.parent_span_id = SpanId::INVALID;
    assert_encoded_alike(&[foreign, moved, same, bare], &limits);
}

#[test]
fn spans_of_several_scopes_are_grouped_by_scope() {
    let limits = limits();
    let records: Vec<Record> = (0..12_u64)
        .map(|n| match n % 4 {
            0 => every_kind(n + 1, &limits),
            1 => record(Some(&OTHER_CRATE), n + 1),
            2 => record(Some(&SAME_CRATE), n + 1),
            _ => record(None, n + 1),
        })
        .collect();
    assert_encoded_alike(&records, &limits);
}

#[test]
fn text_is_cut_to_the_value_length_limit_as_it_is_encoded() {
    // Recorded before the limit was known: the encoder cuts it.
    let whole = limits();
    let cut = Limits {
        value_length: Some(4),
        ..limits()
    };
    let records = [
        with_details(every_kind(1, &whole), &whole),
        with_details(every_kind(2, &cut), &cut),
    ];
    assert_encoded_alike(&records, &cut);
}

#[test]
fn attributes_past_the_limit_are_dropped_and_counted_code_ones_included() {
    for attributes in [0, 2, 3, 5, 17, 40] {
        let limits = Limits {
            attributes,
            ..limits()
        };
        let records = [
            every_kind(1, &limits),
            with_details(every_kind(2, &limits), &limits),
            with_details(record(None, 3), &limits),
        ];
        assert_encoded_alike(&records, &limits);
    }
}

#[test]
fn explicit_times_are_used_and_an_end_before_the_start_is_the_start() {
    let limits = limits();
    let mut explicit = record(Some(&OTHER_CRATE), 1);
    explicit.extra = Some(Box::new(SpanDetails {
        start_time: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        end_time: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        status: Status::Ok,
        ..SpanDetails::default()
    }));
    let mut started = record(Some(&OTHER_CRATE), 2);
    started.extra = Some(Box::new(SpanDetails {
        start_time: Some(SystemTime::now() + Duration::from_secs(3600)),
        ..SpanDetails::default()
    }));
    assert_encoded_alike(&[explicit, started], &limits);
}

#[test]
fn spans_of_every_size_have_their_lengths_right() {
    // Under 128 bytes, a length of one byte; over 16 KiB, of three.
    let limits = limits();
    let mut tiny = record(None, 1);
    tiny.parent_span_id = SpanId::INVALID;
    let mut huge = record(Some(&OTHER_CRATE), 2);
    huge.extra = Some(Box::new(SpanDetails {
        attributes: vec![KeyValue::new("big", "x".repeat(40_000))],
        ..SpanDetails::default()
    }));
    let mut larger = record(None, 3);
    larger.extra = Some(Box::new(SpanDetails {
        attributes: vec![KeyValue::new("bigger", "y".repeat(3_000_000))],
        ..SpanDetails::default()
    }));
    assert_encoded_alike(&[tiny, huge, larger], &limits);
}

#[test]
fn records_and_span_data_share_a_batch() {
    // Tail sampling releases spans with details as `SpanData`.
    let limits = limits();
    let clock = WallClock::new();
    let converted: Vec<SpanData> = [
        with_details(every_kind(10, &limits), &limits),
        record(Some(&SAME_CRATE), 11),
    ]
    .iter()
    .map(|record| span_data(record, &clock, &limits))
    .collect();
    let records = [every_kind(1, &limits), record(Some(&OTHER_CRATE), 2)];
    assert_mixed_alike(&records, &converted, &limits);
}

#[test]
fn one_batch_after_another_keeps_nothing_of_the_last() {
    let limits = limits();
    let clock = WallClock::new();
    let resource = resource();
    let mut batch = SpanBatch::default();
    batch.set_resource(&resource);
    let batches = [
        vec![every_kind(1, &limits), record(Some(&OTHER_CRATE), 2)],
        vec![record(Some(&SAME_CRATE), 3)],
        vec![record(None, 4), every_kind(5, &limits)],
    ];
    for records in &batches {
        for record in records {
            batch.add_record(SpanView::new(record, &clock, &limits));
        }
        let expected: Vec<SpanData> = records
            .iter()
            .map(|record| span_data(record, &clock, &limits))
            .collect();
        assert!(batch.bytes() > 0);
        assert_same_request(&batch.finish(Vec::new()), &reference(&expected, &resource));
    }
}

#[cfg(feature = "tracing")]
#[test]
fn a_tracing_span_encodes_its_code_attributes_as_its_span_data() {
    let limits = limits();
    let with_module: &'static CallSite = Box::leak(Box::new(CallSite::library(
        "a tracing span",
        Some("src/net.rs"),
        Some(12),
        Some("app::net"),
        "app",
    )));
    let without: &'static CallSite = Box::leak(Box::new(CallSite::library(
        "another", None, None, None, "app",
    )));
    let mut fielded = record(Some(with_module), 1);
    fielded.extra = Some(Box::new(SpanDetails {
        attributes: vec![KeyValue::new("field", 3_i64)],
        ..SpanDetails::default()
    }));
    assert_encoded_alike(&[fielded, record(Some(without), 2)], &limits);
}

#[test]
fn an_unsampled_span_keeps_its_flags() {
    let limits = limits();
    let mut unsampled = record(Some(&OTHER_CRATE), 1);
    unsampled.flags = TraceFlags::default();
    let _ = Resource::builder_empty();
    assert_encoded_alike(&[unsampled], &limits);
}

#[test]
fn more_call_sites_than_the_encoder_keeps_encode_alike() {
    // Sites that share a slot of the encoder's cache take turns in it.
    let limits = limits();
    let sites: Vec<&'static CallSite> = (0..200_u32)
        .map(|n| {
            let name: &'static str = Box::leak(format!("site {n}").into_boxed_str());
            let site: &'static CallSite = Box::leak(Box::new(CallSite::new(
                name,
                Kind::Internal,
                name,
                "src/many.rs",
                n,
                Some(if n % 2 == 0 { "even" } else { "odd" }),
                None,
                &[],
            )));
            site
        })
        .collect();
    let records: Vec<Record> = (0..600_u64)
        .map(|n| record(Some(sites[(n * 7 % 200) as usize]), n + 1))
        .collect();
    assert_encoded_alike(&records, &limits);
}
