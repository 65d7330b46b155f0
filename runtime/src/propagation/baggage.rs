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
pub(super) fn normalize(values: &[&str]) -> Option<String> {
    let mut out = String::new();
    let mut count = 0;
    for member in values.iter().flat_map(|value| value.split(',')) {
        if count == MAX_MEMBERS {
            break;
        }
        let Some(member) = parse_member(member) else {
            continue;
        };
        let mut encoded = String::with_capacity(member.key.len() + member.value.len() + 1);
        // Keys are tokens, never percent-encoded, but standard propagators
        // decode them: escaping `%` makes them keep the key as it was sent.
        encoded.push_str(&member.key.replace('%', "%25"));
        encoded.push('=');
        encode_all(&member.value, &mut encoded);
        for property in &member.properties {
            // Standard propagators percent-decode properties; escaping `%`
            // makes them keep the text as it was sent.
            encoded.push(';');
            encoded.push_str(&property.replace('%', "%25"));
        }
        let separator = usize::from(!out.is_empty());
        if out.len() + separator + encoded.len() > MAX_BYTES {
            continue;
        }
        if separator == 1 {
            out.push(',');
        }
        out.push_str(&encoded);
        count += 1;
    }
    (!out.is_empty()).then_some(out)
}

struct Member<'a> {
    key: &'a str,
    value: String,
    properties: Vec<&'a str>,
}

fn parse_member(member: &str) -> Option<Member<'_>> {
    let mut parts = member.split(';');
    let (key, value) = parts.next()?.split_once('=')?;
    let (key, value) = (key.trim_matches(is_ows), value.trim_matches(is_ows));
    if !is_token(key) || !value.bytes().all(is_baggage_octet) {
        return None;
    }
    let mut properties = Vec::new();
    for property in parts {
        let property = property.trim_matches(is_ows);
        if !is_property(property) {
            return None;
        }
        properties.push(property);
    }
    Some(Member {
        key,
        value: percent_decode(value),
        properties,
    })
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

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| {
                Some((
                    hex_digit(*bytes.get(i + 1)?)?,
                    hex_digit(*bytes.get(i + 2)?)?,
                ))
            })
            .flatten();
        match escaped {
            Some((high, low)) => {
                decoded.push(high << 4 | low);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn encode_all(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
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
}
