//! `traceparent` as W3C Trace Context Level 2 defines it.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};

/// Length of a version `00` value: `vv-<32>-<16>-ff`.
const LENGTH: usize = 55;

/// The flags Level 2 defines: `sampled` and `random`. The others are
/// reserved, and a sender must leave them zero.
pub(super) const DEFINED_FLAGS: TraceFlags = TraceFlags::new(SAMPLED_FLAG | RANDOM_FLAG);

const SAMPLED_FLAG: u8 = 0x01;

/// Level 2's `random` flag: the trace id's right-most 7 bytes are random.
const RANDOM_FLAG: u8 = 0x02;

/// A valid `traceparent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Traceparent {
    /// The canonical version-`00` form: `00-<trace-id>-<parent-id>-<flags>`,
    /// the flags as received.
    pub(super) header: String,
    pub(super) trace_id: TraceId,
    pub(super) parent_id: SpanId,
    /// The received flags that Level 2 defines, reserved ones zeroed.
    pub(super) flags: TraceFlags,
}

/// The combined `traceparent` values as one valid value, or `None` when they
/// do not make one.
///
/// - More than one value: RFC 9110 combines repeated fields with a comma,
///   which is never a valid `traceparent`.
/// - Optional whitespace (space, tab) around the value is ignored; anything
///   else must match the grammar exactly: lowercase hex, fixed lengths, `-`
///   separators, version not `ff`, trace-id and parent-id not all zeros.
/// - Version `00` is exactly 55 characters. A higher version is parsed by its
///   first four fields; anything after them must start with `-` and is
///   ignored, as the specification asks of versions it does not know yet.
pub(super) fn parse(values: &[&str]) -> Option<Traceparent> {
    let [value] = values else { return None };
    let value = value.trim_matches(is_ows).as_bytes();
    if value.len() < LENGTH {
        return None;
    }
    let (version, trace_id, parent_id, flags) =
        (&value[0..2], &value[3..35], &value[36..52], &value[53..55]);
    let separated = value[2] == b'-' && value[35] == b'-' && value[52] == b'-';
    let valid_fields = is_lower_hex(version)
        && version != b"ff"
        && is_lower_hex(trace_id)
        && !is_all_zero(trace_id)
        && is_lower_hex(parent_id)
        && !is_all_zero(parent_id)
        && is_lower_hex(flags);
    let valid_length = if version == b"00" {
        value.len() == LENGTH
    } else {
        value.len() == LENGTH || value[LENGTH] == b'-'
    };
    if !(separated && valid_fields && valid_length) {
        return None;
    }
    // Every byte checked above is ASCII hex.
    let text = |field| std::str::from_utf8(field).ok();
    let (trace_id, parent_id, flags) = (text(trace_id)?, text(parent_id)?, text(flags)?);
    Some(Traceparent {
        header: format!("00-{trace_id}-{parent_id}-{flags}"),
        trace_id: TraceId::from_hex(trace_id).ok()?,
        parent_id: SpanId::from_hex(parent_id).ok()?,
        flags: TraceFlags::new(u8::from_str_radix(flags, 16).ok()?) & DEFINED_FLAGS,
    })
}

/// The `traceparent` to send for `span_context`: version `00`, with the flags
/// Level 2 defines.
pub(super) fn header(span_context: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        span_context.trace_id(),
        span_context.span_id(),
        (span_context.trace_flags() & DEFINED_FLAGS).to_u8()
    )
}

pub(super) fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_lower_hex(field: &[u8]) -> bool {
    field
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

fn is_all_zero(field: &[u8]) -> bool {
    field.iter().all(|&b| b == b'0')
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceFlags;

    use super::parse;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";

    fn one(value: &str) -> Option<String> {
        parse(&[value]).map(|traceparent| traceparent.header)
    }

    fn flags(value: &str) -> TraceFlags {
        parse(&[&format!("00-{TRACE}-{PARENT}-{value}")])
            .expect("valid")
            .flags
    }

    #[test]
    fn version_00_is_kept_as_is() {
        let value = format!("00-{TRACE}-{PARENT}-01");
        assert_eq!(one(&value), Some(value.clone()));
    }

    #[test]
    fn future_version_keeps_four_fields() {
        let expected = format!("00-{TRACE}-{PARENT}-09");
        assert_eq!(
            one(&format!("cc-{TRACE}-{PARENT}-09")),
            Some(expected.clone())
        );
        assert_eq!(
            one(&format!("cc-{TRACE}-{PARENT}-09-what-comes-next")),
            Some(expected)
        );
        assert_eq!(
            one(&format!("cc-{TRACE}-{PARENT}-09.what-comes-next")),
            None
        );
        assert_eq!(one(&format!("cc-{TRACE}-{PARENT}-0900")), None);
    }

    #[test]
    fn version_00_admits_nothing_after_the_flags() {
        assert_eq!(one(&format!("00-{TRACE}-{PARENT}-01-")), None);
        assert_eq!(one(&format!("00-{TRACE}-{PARENT}-01-extra")), None);
    }

    #[test]
    fn signs_and_short_fields_are_not_hex() {
        assert_eq!(one(&format!("00-+{}-{PARENT}-01", &TRACE[1..])), None);
        assert_eq!(one(&format!("00-{TRACE}-{PARENT}-+1")), None);
        assert_eq!(one(&format!("0-{TRACE}-{PARENT}-01x")), None);
    }

    #[test]
    fn ids_are_read_as_sent() {
        let traceparent = parse(&[&format!("00-{TRACE}-{PARENT}-01")]).unwrap();
        assert_eq!(traceparent.trace_id.to_string(), TRACE);
        assert_eq!(traceparent.parent_id.to_string(), PARENT);
    }

    #[test]
    fn sampled_and_random_are_kept_and_reserved_flags_zeroed() {
        assert_eq!(flags("00"), TraceFlags::new(0x00));
        assert_eq!(flags("01"), TraceFlags::new(0x01));
        assert_eq!(flags("02"), TraceFlags::new(0x02));
        assert_eq!(flags("03"), TraceFlags::new(0x03));
        assert_eq!(flags("ff"), TraceFlags::new(0x03));
        assert_eq!(flags("fc"), TraceFlags::new(0x00));
    }

    #[test]
    fn no_panic_on_multibyte_text() {
        assert_eq!(one(&format!("00-{TRACE}-{PARENT}-é")), None);
        assert_eq!(one(&"é".repeat(40)), None);
    }
}
