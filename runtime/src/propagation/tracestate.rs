//! `tracestate` as W3C Trace Context Level 2 defines it.

use opentelemetry::trace::TraceState;

use super::traceparent::is_ows;

/// At most this many list-members; a longer list is invalid.
const MAX_MEMBERS: usize = 32;
/// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`.
const MAX_KEY: usize = 256;
/// `value = 0*255(chr) nblk-chr`.
const MAX_VALUE: usize = 256;

/// A valid `tracestate` list as received: its members in order, each key
/// once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct List {
    members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Member {
    key: String,
    value: String,
    /// Whether `opentelemetry`'s `TraceState` accepts this member; it does
    /// not take every key Level 2 allows (a system-id after `@` of more than
    /// 13 characters, a second `@`).
    upstream: bool,
}

impl List {
    /// The combined `tracestate` values as one list, or `None` when the
    /// header is invalid or holds no member.
    ///
    /// Repeated fields are joined with `,` (RFC 9110) and parsed as one list.
    /// Empty list-members and whitespace around members are dropped. The
    /// whole header is invalid when one member breaks the key or value
    /// grammar or there are more than 32 members. A key that repeats keeps
    /// its first (left-most, most recent) member.
    pub(super) fn parse(values: &[&str]) -> Option<List> {
        let mut members: Vec<Member> = Vec::new();
        let mut count = 0;
        for member in values.iter().flat_map(|value| value.split(',')) {
            let member = member.trim_matches(is_ows);
            if member.is_empty() {
                continue;
            }
            count += 1;
            let (key, value) = member.split_once('=')?;
            if count > MAX_MEMBERS || !is_key(key) || !is_value(value) {
                return None;
            }
            if members.iter().all(|kept| kept.key != key) {
                members.push(Member {
                    key: key.to_owned(),
                    value: value.to_owned(),
                    upstream: TraceState::from_key_value([(key, value)]).is_ok(),
                });
            }
        }
        (!members.is_empty()).then_some(List { members })
    }

    /// The whole list, as it is sent on.
    #[cfg(test)]
    fn header(&self) -> String {
        join(
            self.members
                .iter()
                .map(|m| (m.key.as_str(), m.value.as_str())),
        )
    }

    /// The members `opentelemetry`'s `TraceState` can hold, as a header, or
    /// `None` when there are none.
    pub(super) fn upstream_header(&self) -> Option<String> {
        let held = self.members.iter().filter(|m| m.upstream);
        let header = join(held.map(|m| (m.key.as_str(), m.value.as_str())));
        (!header.is_empty()).then_some(header)
    }

    /// The list to send on from a span whose `TraceState` is `state`, when
    /// this list came in with the span's trace: the members `state` added or
    /// changed first, in its order, then the received members in theirs,
    /// less those `state` changed or deleted. With `state` as extracted, that
    /// is the received list unchanged, members upstream cannot hold included.
    pub(super) fn after(&self, state: &TraceState) -> String {
        let received = |key: &str, value: &str| {
            self.members
                .iter()
                .any(|m| m.upstream && m.key == key && m.value == value)
        };
        let changed = state
            .into_iter()
            .filter(|(key, value)| !received(key, value));
        let kept = self
            .members
            .iter()
            .filter(|m| !m.upstream || state.get(&m.key) == Some(m.value.as_str()))
            .map(|m| (m.key.as_str(), m.value.as_str()));
        join(changed.chain(kept).take(MAX_MEMBERS))
    }
}

fn join<'a>(members: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut header = String::new();
    for (key, value) in members {
        if !header.is_empty() {
            header.push(',');
        }
        header.push_str(key);
        header.push('=');
        header.push_str(value);
    }
    header
}

/// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )` with
/// `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"`. Level 1's
/// `tenant@system` form, with its 241 and 14 character limits, is gone.
fn is_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    bytes.len() <= MAX_KEY
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && rest.iter().all(|&b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// `value = 0*255(chr) nblk-chr`: printable ASCII without `,` and `=`, not
/// ending in a space, 1 to 256 characters.
fn is_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_VALUE
        && bytes.last() != Some(&b' ')
        && bytes
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceState;

    use super::List;

    fn header(values: &[&str]) -> Option<String> {
        List::parse(values).map(|list| list.header())
    }

    #[test]
    fn members_are_merged_and_trimmed() {
        assert_eq!(
            header(&["a=1 ,\t,b=2", " c=3"]).as_deref(),
            Some("a=1,b=2,c=3")
        );
        assert_eq!(header(&[" , ", ""]), None);
    }

    #[test]
    fn key_grammar() {
        assert!(header(&[&format!("{}=v", "k".repeat(256))]).is_some());
        assert!(header(&[&format!("{}=v", "k".repeat(257))]).is_none());
        assert!(header(&["1abc=v"]).is_some());
        assert!(header(&["foo@=v", "foo@@bar=v", "a@b@c=v"]).is_some());
        assert!(header(&[&format!("{}@{}=v", "t".repeat(241), "s".repeat(14))]).is_some());
        assert!(header(&[&format!("{}@s=v", "t".repeat(242))]).is_some());
        assert!(header(&[&format!("t@{}=v", "s".repeat(15))]).is_some());
        for bad in ["@foo=v", "Key=v", "k.ey=v", "k ey=v", "=v", "_k=v"] {
            assert!(header(&["a=1", bad]).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn value_grammar() {
        assert!(header(&["a=b c"]).is_some());
        assert!(header(&["a=", "b=1"]).is_none());
        assert!(header(&["a=b=c"]).is_none());
        assert!(header(&["a=\u{7f}"]).is_none());
        assert!(header(&["a=é"]).is_none());
        assert!(header(&[&format!("a={}", "v".repeat(256))]).is_some());
        assert!(header(&[&format!("a={}", "v".repeat(257))]).is_none());
    }

    #[test]
    fn a_repeated_key_keeps_its_first_member() {
        assert_eq!(header(&["a=1,b=2", "a=3"]).as_deref(), Some("a=1,b=2"));
    }

    #[test]
    fn more_than_32_members_is_invalid_counting_repeats() {
        let members = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>();
        assert!(header(&[&members(32).join(",")]).is_some());
        assert!(header(&[&members(33).join(",")]).is_none());
        assert!(header(&[&members(32).join(","), "k0=v"]).is_none());
    }

    #[test]
    fn upstream_sees_only_the_members_it_can_hold() {
        let long = format!("t@{}", "s".repeat(14));
        let list = List::parse(&[&format!("a=1,{long}=2,x@@y=3,b=4")]).unwrap();
        assert_eq!(list.header(), format!("a=1,{long}=2,x@@y=3,b=4"));
        assert_eq!(list.upstream_header().as_deref(), Some("a=1,b=4"));
        let only_long = List::parse(&[&format!("{long}=2")]).unwrap();
        assert_eq!(only_long.upstream_header(), None);
    }

    #[test]
    fn an_unchanged_state_sends_the_list_as_received() {
        let list = List::parse(&["a=1,x@@y=2,b=3"]).unwrap();
        let state: TraceState = list.upstream_header().unwrap().parse().unwrap();
        assert_eq!(list.after(&state), "a=1,x@@y=2,b=3");
        assert_eq!(
            List::parse(&["x@@y=2"]).unwrap().after(&TraceState::NONE),
            "x@@y=2"
        );
    }

    #[test]
    fn changes_to_the_state_go_first_and_the_rest_keeps_its_order() {
        let list = List::parse(&["a=1,x@@y=2,b=3,c=4"]).unwrap();
        let state: TraceState = list.upstream_header().unwrap().parse().unwrap();
        let state = state.insert("new", "0").unwrap();
        let state = state.insert("b", "9").unwrap();
        let state = state.delete("c").unwrap();
        assert_eq!(list.after(&state), "b=9,new=0,a=1,x@@y=2");
    }

    #[test]
    fn no_more_than_32_members_are_sent() {
        let long = format!("t@{}=v", "s".repeat(14));
        let mut received: Vec<String> = (0..31).map(|i| format!("k{i}=v")).collect();
        received.push(long);
        let list = List::parse(&[&received.join(",")]).unwrap();
        let state: TraceState = list.upstream_header().unwrap().parse().unwrap();
        let sent = list.after(&state.insert("new", "0").unwrap());
        assert_eq!(sent.split(',').count(), 32);
        assert!(sent.starts_with("new=0,k0=v,"), "{sent}");
        assert!(sent.ends_with(",k30=v"), "{sent}");
    }
}
