use std::fmt::Display;

use traced::testing::capture;
use traced::traced;

#[traced]
fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

#[traced(attrs(len = items.len()))]
fn join<T, I>(items: &[T], sep: I) -> String
where
    T: Display,
    I: AsRef<str>,
{
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(sep.as_ref())
}

#[traced]
fn first<const N: usize>(values: [u8; N]) -> Option<u8> {
    values.first().copied()
}

#[traced]
fn show(value: impl Display, #[attr] width: usize) -> impl Display {
    format!("{value:>width$}")
}

#[traced]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[traced]
fn parse_all<'s>(input: &'s str) -> Result<Vec<&'s str>, std::num::ParseIntError> {
    let mut parts = Vec::new();
    for part in input.split(',') {
        part.trim().parse::<u32>()?;
        parts.push(part);
    }
    Ok(parts)
}

fn main() {
    let (_, trace) = capture(|| {
        assert_eq!(longest("abc", "de"), "abc");
        assert_eq!(join(&[1, 2], ","), "1,2");
        assert_eq!(first([7, 8]), Some(7));
        assert_eq!(show(5, 3).to_string(), "  5");
        assert_eq!(evens(5).count(), 3);
        assert!(parse_all("1, x").is_err());
    });
    assert_eq!(
        trace.names(),
        ["longest", "join", "first", "show", "evens", "parse_all"]
    );
}
