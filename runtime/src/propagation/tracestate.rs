//! `tracestate` as W3C Trace Context Level 2 defines it.

use super::traceparent::is_ows;

/// At most this many list-members; a longer list is invalid.
const MAX_MEMBERS: usize = 32;
/// The longest system-id the `opentelemetry` `TraceState` type accepts (the
/// specification allows 14 characters).
const REPRESENTABLE_SYSTEM_ID: usize = 13;

/// The combined `tracestate` values as one clean list, or `None` when there
/// is nothing valid to keep.
///
/// Repeated fields are joined with `,` (RFC 9110) and parsed as one list.
/// Empty list-members and whitespace around members are dropped. The whole
/// header is discarded when one member breaks the key or value grammar, a
/// key repeats, or there are more than 32 members. A member whose key has a
/// 14-character system-id is valid but cannot be held by `opentelemetry`'s
/// `TraceState`; it alone is left out so the rest survives.
pub(super) fn normalize(values: &[&str]) -> Option<String> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for member in values.iter().flat_map(|value| value.split(',')) {
        let member = member.trim_matches(is_ows);
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        if !is_key(key) || !is_value(value) || members.iter().any(|(k, _)| *k == key) {
            return None;
        }
        members.push((key, value));
        if members.len() > MAX_MEMBERS {
            return None;
        }
    }
    let kept: Vec<String> = members
        .into_iter()
        .filter(|(key, _)| representable(key))
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// `simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )`,
/// `multi-tenant-key = tenant-id "@" system-id` with
/// `tenant-id = ( lcalpha / DIGIT ) 0*240( .. )` and
/// `system-id = lcalpha 0*13( .. )`.
fn is_key(key: &str) -> bool {
    match key.split_once('@') {
        None => is_key_part(key, 256, |b| b.is_ascii_lowercase()),
        Some((tenant, system)) => {
            is_key_part(tenant, 241, |b| {
                b.is_ascii_lowercase() || b.is_ascii_digit()
            }) && is_key_part(system, 14, |b| b.is_ascii_lowercase())
        }
    }
}

fn is_key_part(part: &str, max: usize, first: impl Fn(u8) -> bool) -> bool {
    let bytes = part.as_bytes();
    let Some((&head, tail)) = bytes.split_first() else {
        return false;
    };
    bytes.len() <= max
        && first(head)
        && tail.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
        })
}

/// `value = 0*255(chr) nblk-chr`: printable ASCII without `,` and `=`, not
/// ending in a space, 1 to 256 characters.
fn is_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 256
        && bytes.last() != Some(&b' ')
        && bytes
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

fn representable(key: &str) -> bool {
    key.split_once('@')
        .is_none_or(|(_, system)| system.len() <= REPRESENTABLE_SYSTEM_ID)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn members_are_merged_and_trimmed() {
        assert_eq!(
            normalize(&["a=1 ,\t,b=2", " c=3"]).as_deref(),
            Some("a=1,b=2,c=3")
        );
    }

    #[test]
    fn key_grammar() {
        assert!(normalize(&[&format!("{}=v", "k".repeat(256))]).is_some());
        assert!(normalize(&[&format!("{}=v", "k".repeat(257))]).is_none());
        assert!(normalize(&["1abc=v"]).is_none());
        assert!(normalize(&["1abc@sys=v"]).is_some());
        assert!(normalize(&[&format!("{}@sys=v", "t".repeat(241))]).is_some());
        assert!(normalize(&[&format!("{}@sys=v", "t".repeat(242))]).is_none());
        assert!(normalize(&[&format!("t@{}=v", "s".repeat(15))]).is_none());
        assert!(normalize(&["a@b@c=v", "Key=v"]).is_none());
    }

    #[test]
    fn fourteen_character_system_id_is_valid_but_left_out() {
        let long = format!("t@{}=v", "s".repeat(14));
        assert_eq!(normalize(&[&format!("a=1,{long}")]).as_deref(), Some("a=1"));
    }

    #[test]
    fn value_grammar() {
        assert!(normalize(&["a=b c"]).is_some());
        assert!(normalize(&["a="]).is_none());
        assert!(normalize(&["a=b=c"]).is_none());
        assert!(normalize(&["a=\u{7f}"]).is_none());
        assert!(normalize(&["a=é"]).is_none());
        assert!(normalize(&[&format!("a={}", "v".repeat(257))]).is_none());
    }
}
