//! `baggage` as the W3C Baggage specification defines it.

use std::fmt::Write as _;

use opentelemetry::baggage::Baggage;

use super::traceparent::is_ows;

/// The specification's limits: a platform must propagate at least 64
/// list-members and 8192 bytes; beyond them whole list-members are dropped,
/// never part of one.
const MAX_MEMBERS: usize = 64;
const MAX_BYTES: usize = 8192;

/// The combined `baggage` values re-encoded as one clean header, or `None`
/// when nothing valid remains.
///
/// Repeated fields are joined with `,` (RFC 9110). Each list-member is
/// `key OWS "=" OWS value *(OWS ";" OWS property)`: the key a token, the
/// value baggage-octets, percent-decoded with invalid UTF-8 replaced by
/// U+FFFD as the specification requires. An invalid member is dropped on its
/// own. Members past 64, or past 8192 bytes of output, are dropped whole.
///
/// The output encodes every value byte outside `A-Z a-z 0-9 - . _ ~` so
/// that any standard baggage propagator decodes it to exactly the value
/// parsed here.
///
/// The work stays within the budget whatever the header holds: a member is
/// measured before it is decoded, one that cannot fit in what is left is
/// dropped unread, and reading stops once no member could fit.
pub(super) fn normalize(values: &[&str]) -> Option<String> {
    let mut out = String::new();
    let mut count = 0;
    let mut decoded = Vec::new();
    for member in values.iter().flat_map(|value| value.split(',')) {
        let separator = usize::from(!out.is_empty());
        let room = MAX_BYTES.saturating_sub(out.len() + separator);
        if count == MAX_MEMBERS || room < SMALLEST_MEMBER {
            break;
        }
        // Measured first: a member that cannot fit is dropped unread.
        let Some(member) = Member::split(member) else {
            continue;
        };
        let Some(len) = member.measure(room).filter(|_| member.is_valid()) else {
            continue;
        };
        let start = out.len();
        out.reserve(separator + len);
        if separator == 1 {
            out.push(',');
        }
        member.write(&mut decoded, &mut out);
        // Only invalid UTF-8 (one U+FFFD for up to three bytes) can make
        // the member longer than measured.
        if out.len() > MAX_BYTES {
            out.truncate(start);
            continue;
        }
        count += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// `k=`: a one-character key and an empty value.
const SMALLEST_MEMBER: usize = 2;

/// A list-member as received: slices of the header, nothing decoded.
struct Member<'a> {
    key: &'a str,
    /// Still percent-encoded.
    value: &'a str,
    /// What follows the first `;`.
    properties: Option<&'a str>,
}

impl<'a> Member<'a> {
    /// Key, value and properties, without whitespace around them; `None`
    /// without a `=`. Nothing is checked yet.
    fn split(member: &'a str) -> Option<Self> {
        let (pair, properties) = match member.split_once(';') {
            Some((pair, properties)) => (pair, Some(properties)),
            None => (member, None),
        };
        let (key, value) = pair.split_once('=')?;
        Some(Member {
            key: key.trim_matches(is_ows),
            value: value.trim_matches(is_ows),
            properties,
        })
    }

    /// `key OWS "=" OWS value *(OWS ";" OWS property)` with a token key and
    /// a value of baggage-octets.
    fn is_valid(&self) -> bool {
        is_token(self.key)
            && self.value.bytes().all(is_baggage_octet)
            && self.properties().all(is_property)
    }

    fn properties(&self) -> impl Iterator<Item = &'a str> {
        self.properties
            .into_iter()
            .flat_map(|properties| properties.split(';'))
            .map(|property| property.trim_matches(is_ows))
    }

    /// What [`write`](Self::write) adds, at least, when that fits in
    /// `room` bytes: read without decoding and never further than `room`
    /// allows. A value byte is sent as 1 or 3 bytes and a received `%XX`
    /// stands for one, so the measure is exact but for invalid UTF-8, which
    /// is sent longer.
    fn measure(&self, room: usize) -> Option<usize> {
        let mut len = self.key.len() + 1 + self.value.len().div_ceil(3);
        if len > room {
            return None;
        }
        len = escaped_percent_len(self.key) + 1;
        for property in self.properties() {
            len += 1 + property.len();
            if len > room {
                return None;
            }
            len += escaped_percent_len(property) - property.len();
        }
        for b in decoded_bytes(self.value) {
            len += if is_unreserved(b) { 1 } else { 3 };
            if len > room {
                return None;
            }
        }
        Some(len)
    }

    /// Appends the member, its value decoded (through `decoded`, reused
    /// from member to member) and encoded again.
    fn write(&self, decoded: &mut Vec<u8>, out: &mut String) {
        // Keys are tokens, never percent-encoded, but standard propagators
        // decode them: escaping `%` makes them keep the key as it was sent.
        push_escaping_percent(self.key, out);
        out.push('=');
        decoded.clear();
        decoded.reserve(self.value.len());
        decoded.extend(decoded_bytes(self.value));
        encode_all(decoded, out);
        for property in self.properties() {
            // Standard propagators percent-decode properties; escaping `%`
            // makes them keep the text as it was sent.
            out.push(';');
            push_escaping_percent(property, out);
        }
    }
}

/// `property = key OWS "=" OWS value / key`, without the surrounding OWS.
fn is_property(property: &str) -> bool {
    match property.split_once('=') {
        None => is_token(property),
        Some((key, value)) => {
            is_token(key.trim_matches(is_ows))
                && value.trim_matches(is_ows).bytes().all(is_baggage_octet)
        }
    }
}

/// RFC 9110 `token`: one or more `tchar`.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.
fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// The bytes `value` stands for: `%` and two hex digits are one byte; a `%`
/// without them stands for itself.
fn decoded_bytes(value: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = value.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *bytes.get(i)?;
        let digit = |at: usize| bytes.get(at).copied().and_then(hex_digit);
        if b == b'%'
            && let (Some(high), Some(low)) = (digit(i + 1), digit(i + 2))
        {
            i += 3;
            return Some(high << 4 | low);
        }
        i += 1;
        Some(b)
    })
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 unreserved: the bytes a value is sent with unescaped.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `decoded` as UTF-8, each invalid sequence replaced by U+FFFD, with every
/// byte outside the unreserved set percent-encoded.
fn encode_all(decoded: &[u8], out: &mut String) {
    for chunk in decoded.utf8_chunks() {
        for b in chunk.valid().bytes() {
            push_encoded(b, out);
        }
        if !chunk.invalid().is_empty() {
            for b in char::REPLACEMENT_CHARACTER.encode_utf8(&mut [0; 4]).bytes() {
                push_encoded(b, out);
            }
        }
    }
}

fn push_encoded(b: u8, out: &mut String) {
    if is_unreserved(b) {
        out.push(char::from(b));
    } else {
        let _ = write!(out, "%{b:02X}");
    }
}

/// The length of `text` with each `%` written as `%25`.
fn escaped_percent_len(text: &str) -> usize {
    text.len() + 2 * text.bytes().filter(|&b| b == b'%').count()
}

fn push_escaping_percent(text: &str, out: &mut String) {
    for (i, part) in text.split('%').enumerate() {
        if i > 0 {
            out.push_str("%25");
        }
        out.push_str(part);
    }
}

/// The `baggage` header for `baggage`: keys that are not tokens are left
/// out, values are percent-encoded wherever the grammar requires it
/// (including `%` itself), valid properties are kept, and whole members past
/// the limits are dropped.
pub(super) fn serialize(baggage: &Baggage) -> Option<String> {
    let mut out = String::new();
    let mut count = 0;
    for (key, (value, metadata)) in baggage {
        if count == MAX_MEMBERS {
            break;
        }
        if !is_token(key.as_str()) {
            continue;
        }
        let mut member = String::new();
        member.push_str(key.as_str());
        member.push('=');
        for b in value.as_str().bytes() {
            if is_baggage_octet(b) && b != b'%' {
                member.push(char::from(b));
            } else {
                let _ = write!(member, "%{b:02X}");
            }
        }
        // Properties that break the grammar are left out, not sent broken.
        for property in metadata.as_str().split(';') {
            let property = property.trim_matches(is_ows);
            if is_property(property) {
                member.push(';');
                member.push_str(property);
            }
        }
        let separator = usize::from(!out.is_empty());
        if out.len() + separator + member.len() > MAX_BYTES {
            continue;
        }
        if separator == 1 {
            out.push(',');
        }
        out.push_str(&member);
        count += 1;
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn values_are_decoded_then_fully_encoded() {
        assert_eq!(normalize(&["k = a%20b "]).as_deref(), Some("k=a%20b"));
        assert_eq!(normalize(&["k=v=w"]).as_deref(), Some("k=v%3Dw"));
        assert_eq!(normalize(&["k=%FF"]).as_deref(), Some("k=%EF%BF%BD"));
        assert_eq!(normalize(&["k=50%"]).as_deref(), Some("k=50%25"));
        assert_eq!(normalize(&["k%41=v"]).as_deref(), Some("k%2541=v"));
    }

    #[test]
    fn invalid_members_are_dropped_alone() {
        assert_eq!(
            normalize(&["bad key=1,k=v,=x,k2=\"q\",k3"]).as_deref(),
            Some("k=v")
        );
    }

    #[test]
    fn properties_are_kept() {
        assert_eq!(
            normalize(&["k=v;p1;p2 = x"]).as_deref(),
            Some("k=v;p1;p2 = x")
        );
        assert_eq!(normalize(&["k=v;bad prop"]), None);
        assert_eq!(
            normalize(&["k=v;p=a%20b"]).as_deref(),
            Some("k=v;p=a%2520b")
        );
    }

    #[test]
    fn limits_drop_whole_members() {
        let many: Vec<String> = (0..100).map(|i| format!("k{i}=v")).collect();
        let header = many.join(",");
        let kept = normalize(&[&header]).unwrap();
        assert_eq!(kept.split(',').count(), 64);
        let big = format!("a={},b=1", "x".repeat(8191));
        assert_eq!(normalize(&[&big]).as_deref(), Some("b=1"));
    }

    #[test]
    fn members_are_measured_as_they_would_be_sent() {
        // Sent longer than received: 1 000 invalid bytes become 1 000
        // U+FFFD, 9 000 bytes once encoded.
        let grows = format!("a={},b=1", "%FF".repeat(1000));
        assert_eq!(normalize(&[&grows]).as_deref(), Some("b=1"));
        // Sent shorter than received: 9 002 bytes that decode to 3 000.
        let shrinks = format!("k={}", "%41".repeat(3000));
        assert_eq!(
            normalize(&[&shrinks]),
            Some(format!("k={}", "A".repeat(3000)))
        );
        // What fills the budget exactly is kept; a smaller member after a
        // larger one that no longer fits still is.
        let tail = |header: &str| {
            normalize(&[header]).map(|kept| (kept.len(), kept[kept.len() - 8..].to_owned()))
        };
        let exact = format!("a={}", "x".repeat(8190));
        assert_eq!(
            tail(&format!("{exact},b=1")),
            Some((8192, "xxxxxxxx".into()))
        );
        let almost = format!("a={}", "x".repeat(8186));
        assert_eq!(
            tail(&format!("{almost},bb=1,b=1")),
            Some((8192, "xxxx,b=1".into()))
        );
    }
}
