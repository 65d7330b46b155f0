//! Typed attribute values, chosen at compile time by autoref-based dispatch:
//! `(&&&&&&&AttrProbe(&value)).__traced_attr_value()` resolves to the first of
//! native value, `Option` of `Display`, `Display`, `Option` of `Debug`,
//! `Debug` that the value's type satisfies, and gives an [`AttrValue`] that
//! borrows the value: numbers as they are, text and formatting for the span
//! to copy or write once, where it keeps them. A type with none reaches the
//! last rungs, whose method demands [`DisplayOrDebug`], which nothing
//! implements: one error at the value, naming its type (behind a reference,
//! the type referred to).

use std::borrow::Cow;
use std::fmt::{Debug, Display};
use std::rc::Rc;
use std::sync::Arc;

use opentelemetry::{Array, StringValue, Value};

use crate::pipeline::AttrValue;

/// Wraps a reference to a value to be recorded; see the module docs.
#[derive(Debug)]
pub struct AttrProbe<'a, T: ?Sized>(pub &'a T);

/// Types that map onto an OpenTelemetry value without formatting.
pub trait NativeValue {
    fn native_value(&self) -> AttrValue<'_>;
}

macro_rules! native_int {
    ($($ty:ty)*) => {$(
        impl NativeValue for $ty {
            #[inline]
            fn native_value(&self) -> AttrValue<'_> {
                AttrValue::I64(i64::from(*self))
            }
        }
    )*};
}
native_int!(i8 i16 i32 i64 u8 u16 u32);

/// Integers wider than `i64` record as int when they fit, as string otherwise.
macro_rules! native_wide_int {
    ($($ty:ty)*) => {$(
        impl NativeValue for $ty {
            #[inline]
            fn native_value(&self) -> AttrValue<'_> {
                match i64::try_from(*self) {
                    Ok(value) => AttrValue::I64(value),
                    Err(_) => AttrValue::Display(self),
                }
            }
        }
    )*};
}
native_wide_int!(isize usize u64 i128 u128);

impl NativeValue for f64 {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        AttrValue::F64(*self)
    }
}

impl NativeValue for f32 {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        AttrValue::F64(f64::from(*self))
    }
}

impl NativeValue for bool {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        AttrValue::Bool(*self)
    }
}

/// `()`, the `Ok` value of a `Result<(), E>`: nothing to record.
impl NativeValue for () {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        AttrValue::None
    }
}

impl NativeValue for char {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        AttrValue::Display(self)
    }
}

macro_rules! native_str {
    ($($ty:ty)*) => {$(
        impl NativeValue for $ty {
            #[inline]
            fn native_value(&self) -> AttrValue<'_> {
                AttrValue::Str(self)
            }
        }
    )*};
}
native_str!(str String Cow<'_, str> Arc<str> Rc<str>);

impl<T: NativeValue + ?Sized> NativeValue for &T {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        (**self).native_value()
    }
}

impl<T: NativeValue + ?Sized> NativeValue for &mut T {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        (**self).native_value()
    }
}

impl<T: NativeValue + ?Sized> NativeValue for Box<T> {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        (**self).native_value()
    }
}

impl<T: NativeValue> NativeValue for Option<T> {
    #[inline]
    fn native_value(&self) -> AttrValue<'_> {
        match self {
            Some(value) => value.native_value(),
            None => AttrValue::None,
        }
    }
}

/// Element types of homogeneous array attributes.
pub trait ArrayElement: Sized {
    fn array(items: &[Self]) -> Array;
}

macro_rules! array_element {
    ($variant:ident: $($ty:ty => $convert:expr),* $(,)?) => {$(
        impl ArrayElement for $ty {
            fn array(items: &[Self]) -> Array {
                #[allow(clippy::redundant_closure_call)]
                Array::$variant(items.iter().map(|item| ($convert)(item)).collect())
            }
        }
    )*};
}
array_element!(I64:
    i8 => |v: &i8| i64::from(*v), i16 => |v: &i16| i64::from(*v), i32 => |v: &i32| i64::from(*v),
    i64 => |v: &i64| *v, u8 => |v: &u8| i64::from(*v), u16 => |v: &u16| i64::from(*v),
    u32 => |v: &u32| i64::from(*v),
);
array_element!(F64: f64 => |v: &f64| *v, f32 => |v: &f32| f64::from(*v));
array_element!(Bool: bool => |v: &bool| *v);
array_element!(String:
    String => |v: &String| StringValue::from(v.clone()),
    &str => |v: &&str| StringValue::from((*v).to_owned()),
    Cow<'_, str> => |v: &Cow<'_, str>| StringValue::from(v.to_string()),
    Arc<str> => |v: &Arc<str>| StringValue::from(v.to_string()),
    Rc<str> => |v: &Rc<str>| StringValue::from(v.to_string()),
    char => |v: &char| StringValue::from(v.to_string()),
);

/// Arrays of integers wider than `i64` record as ints when every element
/// fits, as strings otherwise (an array holds one type).
macro_rules! wide_int_array_element {
    ($($ty:ty)*) => {$(
        impl ArrayElement for $ty {
            fn array(items: &[Self]) -> Array {
                match items.iter().map(|item| i64::try_from(*item)).collect() {
                    Ok(ints) => Array::I64(ints),
                    Err(_) => Array::String(
                        items.iter().map(|item| StringValue::from(item.to_string())).collect(),
                    ),
                }
            }
        }
    )*};
}
wide_int_array_element!(isize usize u64 i128 u128);

impl<T: ArrayElement> NativeValue for [T] {
    fn native_value(&self) -> AttrValue<'_> {
        AttrValue::Value(Value::Array(T::array(self)))
    }
}

impl<T: ArrayElement> NativeValue for Vec<T> {
    fn native_value(&self) -> AttrValue<'_> {
        AttrValue::Value(Value::Array(T::array(self)))
    }
}

impl<T: ArrayElement, const N: usize> NativeValue for [T; N] {
    fn native_value(&self) -> AttrValue<'_> {
        AttrValue::Value(Value::Array(T::array(self)))
    }
}

pub trait ViaNative {
    fn __traced_attr_value(&self) -> AttrValue<'_>;
}

impl<T: NativeValue + ?Sized> ViaNative for &&&&&&AttrProbe<'_, T> {
    #[inline]
    fn __traced_attr_value(&self) -> AttrValue<'_> {
        self.0.native_value()
    }
}

pub trait ViaOptionDisplay {
    fn __traced_attr_value(&self) -> AttrValue<'_>;
}

impl<T: Display> ViaOptionDisplay for &&&&&AttrProbe<'_, Option<T>> {
    #[inline]
    fn __traced_attr_value(&self) -> AttrValue<'_> {
        match self.0 {
            Some(value) => AttrValue::Display(value),
            None => AttrValue::None,
        }
    }
}

/// A name bound by a pattern parameter is a reference.
impl<T: Display> ViaOptionDisplay for &&&&&AttrProbe<'_, &Option<T>> {
    #[inline]
    fn __traced_attr_value(&self) -> AttrValue<'_> {
        match self.0 {
            Some(value) => AttrValue::Display(value),
            None => AttrValue::None,
        }
    }
}

pub trait ViaDisplay {
    fn __traced_attr_value(&self) -> AttrValue<'_>;
}

impl<T: Display + ?Sized> ViaDisplay for &&&&AttrProbe<'_, T> {
    #[inline]
    fn __traced_attr_value(&self) -> AttrValue<'_> {
        AttrValue::Display(&self.0)
    }
}

pub trait ViaOptionDebug {
    fn __traced_attr_value(&self) -> AttrValue<'_>;
}

impl<T: Debug> ViaOptionDebug for &&&AttrProbe<'_, Option<T>> {
    #[inline]
    fn __traced_attr_value(&self) -> AttrValue<'_> {
        match self.0 {
            Some(value) => AttrValue::Debug(value),
            None => AttrValue::None,
        }
    }
}

impl<T: Debug> ViaOptionDebug for &&&AttrProbe<'_, &Option<T>> {
    #[inline]
    fn __traced_attr_value(&self) -> AttrValue<'_> {
        match self.0 {
            Some(value) => AttrValue::Debug(value),
            None => AttrValue::None,
        }
    }
}

pub trait ViaDebug {
    fn __traced_attr_value(&self) -> AttrValue<'_>;
}

impl<T: Debug + ?Sized> ViaDebug for &&AttrProbe<'_, T> {
    #[inline]
    fn __traced_attr_value(&self) -> AttrValue<'_> {
        AttrValue::Debug(&self.0)
    }
}

/// Implemented by nothing: only values with neither `Display` nor `Debug`
/// reach the rungs that demand it, and the error names their type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as an attribute: it implements neither `Display` nor `Debug`",
    label = "`{Self}` implements neither `Display` nor `Debug`",
    note = "derive `Debug` or implement `Display` for it, or record one of its fields instead"
)]
pub trait DisplayOrDebug {}

/// A reference to a value with neither: the error names the value's type.
pub trait ViaNeitherBehindRef<T: ?Sized> {
    fn __traced_attr_value(&self) -> AttrValue<'_>
    where
        T: DisplayOrDebug;
}

impl<T: ?Sized> ViaNeitherBehindRef<T> for &AttrProbe<'_, &T> {
    fn __traced_attr_value(&self) -> AttrValue<'_>
    where
        T: DisplayOrDebug,
    {
        AttrValue::None
    }
}

pub trait ViaNeither<T: ?Sized> {
    fn __traced_attr_value(&self) -> AttrValue<'_>
    where
        T: DisplayOrDebug;
}

impl<T: ?Sized> ViaNeither<T> for AttrProbe<'_, T> {
    fn __traced_attr_value(&self) -> AttrValue<'_>
    where
        T: DisplayOrDebug,
    {
        AttrValue::None
    }
}
