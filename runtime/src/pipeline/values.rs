//! Attribute values as a `#[traced]` call records them: borrowed and typed at
//! the call ([`AttrValue`]), then held in the span's inline slots
//! ([`Slots`]): numbers and booleans as they are, short text copied once
//! into the slots' own bytes, longer or formatted text into the span's
//! pooled details, anything else (arrays) built there as an OpenTelemetry
//! value. The keys stay in the call site's static data.

use std::fmt;

use opentelemetry::{Array, Value};

use super::truncate::end_of_chars;

/// A value to record, borrowed from the call; what the expansion's type
/// dispatch made of it.
pub enum AttrValue<'a> {
    /// Nothing to record: an `Option` that is `None`, a `()`.
    None,
    /// An integer that fits in `i64`.
    I64(i64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// Text, copied once where the span keeps it.
    Str(&'a str),
    /// Formatted once with `Display`, where the span keeps it.
    Display(&'a dyn fmt::Display),
    /// Formatted once with `Debug`, where the span keeps it.
    Debug(&'a dyn fmt::Debug),
    /// A value built already (arrays).
    Value(Value),
}

impl AttrValue<'_> {
    /// The OpenTelemetry value it stands for; `None` for nothing to record.
    pub fn into_value(self) -> Option<Value> {
        Some(match self {
            AttrValue::None => return None,
            AttrValue::I64(value) => Value::I64(value),
            AttrValue::F64(value) => Value::F64(value),
            AttrValue::Bool(value) => Value::Bool(value),
            AttrValue::Str(text) => Value::String(text.to_owned().into()),
            AttrValue::Display(value) => Value::String(value.to_string().into()),
            AttrValue::Debug(value) => Value::String(format!("{value:?}").into()),
            AttrValue::Value(value) => value,
        })
    }
}

impl fmt::Debug for AttrValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::None => f.write_str("None"),
            AttrValue::I64(value) => f.debug_tuple("I64").field(value).finish(),
            AttrValue::F64(value) => f.debug_tuple("F64").field(value).finish(),
            AttrValue::Bool(value) => f.debug_tuple("Bool").field(value).finish(),
            AttrValue::Str(text) => f.debug_tuple("Str").field(text).finish(),
            AttrValue::Display(value) => {
                f.debug_tuple("Display").field(&value.to_string()).finish()
            }
            AttrValue::Debug(value) => f.debug_tuple("Debug").field(value).finish(),
            AttrValue::Value(value) => f.debug_tuple("Value").field(value).finish(),
        }
    }
}

/// What a slot holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// Nothing was recorded.
    #[default]
    Absent,
    I64,
    /// The bits of an `f64`.
    F64,
    Bool,
    /// A range of the details' text: start in the high half, length in the low.
    Text,
    /// A range of the slots' inline text, given the same way.
    InlineText,
    /// An index into the details' built values.
    Built,
}

/// One recorded value: a kind and a word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) kind: SlotKind,
    pub(crate) word: u64,
}

impl Slot {
    pub(crate) const ABSENT: Slot = Slot {
        kind: SlotKind::Absent,
        word: 0,
    };

    pub(crate) fn i64(value: i64) -> Slot {
        Slot {
            kind: SlotKind::I64,
            word: value as u64,
        }
    }

    pub(crate) fn f64(value: f64) -> Slot {
        Slot {
            kind: SlotKind::F64,
            word: value.to_bits(),
        }
    }

    pub(crate) fn bool(value: bool) -> Slot {
        Slot {
            kind: SlotKind::Bool,
            word: u64::from(value),
        }
    }

    /// Text at `start..start + len` of the details' text; `None` past what
    /// 32 bits count.
    pub(crate) fn text(start: usize, len: usize) -> Option<Slot> {
        let start = u32::try_from(start).ok()?;
        let len = u32::try_from(len).ok()?;
        Some(Slot {
            kind: SlotKind::Text,
            word: u64::from(start) << 32 | u64::from(len),
        })
    }

    /// Text at `start..start + len` of the slots' inline text.
    fn inline_text(start: usize, len: usize) -> Slot {
        Slot {
            kind: SlotKind::InlineText,
            word: (start as u64) << 32 | len as u64,
        }
    }

    pub(crate) fn built(index: usize) -> Slot {
        Slot {
            kind: SlotKind::Built,
            word: index as u64,
        }
    }

    /// The value it holds, read in place from where it is `held`, its text
    /// cut to `cut`.
    pub(crate) fn value_ref(self, held: Held<'_>, cut: Cut) -> Option<ValueRef<'_>> {
        let range = || {
            let start = (self.word >> 32) as usize;
            start..start + (self.word & u64::from(u32::MAX)) as usize
        };
        match self.kind {
            SlotKind::Absent => None,
            SlotKind::I64 => Some(ValueRef::I64(self.word as i64)),
            SlotKind::F64 => Some(ValueRef::F64(f64::from_bits(self.word))),
            SlotKind::Bool => Some(ValueRef::Bool(self.word != 0)),
            SlotKind::Text => held
                .text
                .get(range())
                .map(|text| ValueRef::Str(cut.apply(text))),
            SlotKind::InlineText => held
                .inline_text
                .get(range())
                .map(|text| ValueRef::Str(cut.apply(text))),
            SlotKind::Built => held
                .built
                .get(self.word as usize)
                .map(|value| ValueRef::of(value, cut)),
        }
    }

    /// The value it holds, as an OpenTelemetry value of its own.
    pub(crate) fn value(self, held: Held<'_>) -> Option<Value> {
        self.value_ref(held, Cut::default()).map(ValueRef::to_value)
    }
}

/// A value read in place, for an encoder that copies nothing: text borrowed
/// from the span's details, the call site or an attribute.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) enum ValueRef<'a> {
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(&'a str),
    /// An array, its strings cut to [`Cut`].
    Array(&'a Array, Cut),
    /// A value of a kind OpenTelemetry may add, sent as its text.
    Other(&'a Value),
}

impl<'a> ValueRef<'a> {
    /// `value`, its text cut to `cut`.
    pub(crate) fn of(value: &'a Value, cut: Cut) -> ValueRef<'a> {
        match value {
            Value::Bool(flag) => ValueRef::Bool(*flag),
            Value::I64(number) => ValueRef::I64(*number),
            Value::F64(number) => ValueRef::F64(*number),
            Value::String(text) => ValueRef::Str(cut.apply(text.as_str())),
            Value::Array(array) => ValueRef::Array(array, cut),
            other => ValueRef::Other(other),
        }
    }
}

impl ValueRef<'_> {
    /// The OpenTelemetry value, text copied (an array whole, whatever its
    /// cut).
    pub(crate) fn to_value(self) -> Value {
        match self {
            ValueRef::Bool(flag) => Value::Bool(flag),
            ValueRef::I64(number) => Value::I64(number),
            ValueRef::F64(number) => Value::F64(number),
            ValueRef::Str(text) => Value::String(text.to_owned().into()),
            ValueRef::Array(array, _) => Value::Array(array.clone()),
            ValueRef::Other(other) => other.clone(),
        }
    }
}

/// The value length limit, applied to text as it is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cut(pub(crate) Option<usize>);

impl Cut {
    /// The first characters of `text` the limit keeps.
    #[inline]
    pub(crate) fn apply(self, text: &str) -> &str {
        match self.0 {
            Some(limit) => &text[..end_of_chars(text, limit)],
            None => text,
        }
    }
}

/// Where the values a span's call recorded are held, beside the slots'
/// words: the slots' inline text, and what the span's details hold (the
/// text of longer strings, the values built whole, the slots past the
/// inline ones; empty for a span without details).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Held<'a> {
    pub(crate) inline_text: &'a str,
    pub(crate) text: &'a str,
    pub(crate) built: &'a [Value],
    pub(crate) more_slots: &'a [Slot],
}

/// Values a span and its record hold inline; more go to its details.
pub(crate) const INLINE_SLOTS: usize = 3;

/// Bytes of text a span and its record hold inline: room for the short
/// strings most calls record (an id, a name, a method), beside the slots
/// in a record of 112 bytes; longer text goes to the details. (Every byte a
/// record grows by costs every span on its way between the threads.)
pub(crate) const INLINE_TEXT: usize = 18;

/// The values a call recorded, in the order of its call site's recorded
/// attributes: the first [`INLINE_SLOTS`] here, a kind byte and a word each,
/// with the text of short strings; the rest in the span's details. Every
/// field is bytes, aligned to one, so that the slots fill what the fields
/// around them leave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Slots {
    kinds: [SlotKind; INLINE_SLOTS],
    /// Each word little-endian.
    words: [[u8; 8]; INLINE_SLOTS],
    text_len: u8,
    text: [u8; INLINE_TEXT],
}

impl Slots {
    pub(crate) const EMPTY: Slots = Slots {
        kinds: [SlotKind::Absent; INLINE_SLOTS],
        words: [[0; 8]; INLINE_SLOTS],
        text_len: 0,
        text: [0; INLINE_TEXT],
    };

    /// The `index`th recorded value.
    pub(crate) fn get(&self, index: usize, held: Held<'_>) -> Slot {
        match (self.kinds.get(index), self.words.get(index)) {
            (Some(&kind), Some(&word)) => Slot {
                kind,
                word: u64::from_le_bytes(word),
            },
            _ => held
                .more_slots
                .get(index - INLINE_SLOTS)
                .copied()
                .unwrap_or(Slot::ABSENT),
        }
    }

    /// Copies `text` into the inline text when it fits; its slot.
    #[inline(always)]
    pub(crate) fn push_text(&mut self, text: &str) -> Option<Slot> {
        let start = usize::from(self.text_len);
        let end = start + text.len();
        self.text
            .get_mut(start..end)?
            .copy_from_slice(text.as_bytes());
        self.text_len = end as u8;
        Some(Slot::inline_text(start, text.len()))
    }

    /// The inline text: whole strings one after another, so valid UTF-8.
    pub(crate) fn inline_text(&self) -> &str {
        std::str::from_utf8(&self.text[..usize::from(self.text_len)]).unwrap_or_default()
    }

    /// Sets the `index`th value when it is held inline; false when it
    /// belongs in the details.
    #[inline(always)]
    pub(crate) fn set(&mut self, index: usize, slot: Slot) -> bool {
        match (self.kinds.get_mut(index), self.words.get_mut(index)) {
            (Some(kind), Some(word)) => {
                *kind = slot.kind;
                *word = slot.word.to_le_bytes();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_give_back_what_was_set() {
        let text = "héllo";
        let built = [Value::Array(vec![1_i64, 2].into())];
        let mut more_slots = Vec::new();
        let mut slots = Slots::EMPTY;
        let values = [
            Slot::i64(-7),
            Slot::f64(0.25),
            Slot::bool(true),
            Slot::text(0, text.len()).expect("fits"),
            Slot::built(0),
            Slot::ABSENT,
        ];
        for (index, slot) in values.into_iter().enumerate() {
            if !slots.set(index, slot) {
                assert_eq!(more_slots.len(), index - INLINE_SLOTS);
                more_slots.push(slot);
            }
        }
        let held = Held {
            inline_text: slots.inline_text(),
            text,
            built: &built,
            more_slots: &more_slots,
        };
        let read: Vec<Option<Value>> = (0..values.len() + 1)
            .map(|index| slots.get(index, held).value(held))
            .collect();
        assert_eq!(
            read,
            [
                Some(Value::I64(-7)),
                Some(Value::F64(0.25)),
                Some(Value::Bool(true)),
                Some(Value::from("héllo")),
                Some(Value::Array(vec![1_i64, 2].into())),
                None,
                None,
            ]
        );
        assert_eq!(slots.get(INLINE_SLOTS, Held::default()), Slot::ABSENT);
    }

    #[test]
    fn short_text_is_held_inline_until_its_room_is_full() {
        let mut slots = Slots::EMPTY;
        let first = slots.push_text("héllo").expect("fits");
        let second = slots.push_text("").expect("fits");
        let third = slots
            .push_text(&"x".repeat(INLINE_TEXT - "héllo".len()))
            .expect("fits");
        assert_eq!(slots.push_text("y"), None, "the room is full");
        let held = Held {
            inline_text: slots.inline_text(),
            ..Held::default()
        };
        assert_eq!(first.value(held), Some(Value::from("héllo")));
        assert_eq!(second.value(held), Some(Value::from("")));
        assert_eq!(
            third.value(held),
            Some(Value::from("x".repeat(INLINE_TEXT - "héllo".len())))
        );
        assert_eq!(slots.inline_text().len(), INLINE_TEXT);
    }
}
