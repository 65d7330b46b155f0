//! The cap on the length of the values an integration records from a request:
//! what a caller sends (a path, a user agent, a method, a host) must not
//! decide how much memory a span takes.

/// The longest string value, in bytes, an integration records. Longer values
/// are cut at the last character boundary within the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ValueCap(usize);

impl ValueCap {
    /// 2 KiB: the URL length browsers, CDNs and the sitemap protocol keep to,
    /// so a real URL, path or user agent is kept whole, while a hostile
    /// request's span stays within a few KiB.
    pub(crate) const DEFAULT_BYTES: usize = 2048;

    pub(crate) fn new(bytes: usize) -> Self {
        ValueCap(bytes)
    }

    /// `text`, cut to the cap.
    pub(crate) fn str(self, text: &str) -> String {
        text[..self.end(text)].to_owned()
    }

    /// `text`, cut to the cap; a long value is copied into a string of its
    /// new length, so the memory of the cut part is given back.
    pub(crate) fn string(self, text: String) -> String {
        if text.len() <= self.0 {
            text
        } else {
            self.str(&text)
        }
    }

    fn end(self, text: &str) -> usize {
        text.floor_char_boundary(self.0)
    }
}

impl Default for ValueCap {
    fn default() -> Self {
        ValueCap(Self::DEFAULT_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::ValueCap;

    #[test]
    fn values_are_cut_on_a_char_boundary() {
        let cap = ValueCap::new(4);
        assert_eq!(cap.str("abcdef"), "abcd");
        assert_eq!(cap.str("abc"), "abc");
        // 'é' takes bytes 3..5: cutting at 4 would split it.
        assert_eq!(cap.str("abcé"), "abc");
        assert_eq!(cap.string("日本".to_owned()), "日");
        assert_eq!(ValueCap::new(0).str("abc"), "");
        assert_eq!(ValueCap::new(usize::MAX).string("abc".to_owned()), "abc");
    }

    #[test]
    fn a_cut_value_holds_no_more_memory_than_its_length() {
        let cut = ValueCap::new(10).string("x".repeat(60_000));
        assert_eq!(cut.len(), 10);
        assert!(cut.capacity() < 60_000);
    }
}
