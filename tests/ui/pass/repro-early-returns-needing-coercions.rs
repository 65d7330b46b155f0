use std::error::Error;
use std::fmt::{self, Debug};

use traced::traced;

#[derive(Debug)]
struct Missing;

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("missing")
    }
}

impl Error for Missing {}

#[traced]
async fn boxed_error(fail: bool) -> Result<u8, Box<dyn Error + Send + Sync>> {
    if fail {
        return Err(Box::new(Missing));
    }
    Ok(1)
}

#[traced]
async fn boxed_debug(small: bool) -> Box<dyn Debug> {
    if small {
        return Box::new(1u8);
    }
    Box::new("large")
}

#[traced]
fn borrowed_debug<'a>(value: &'a u8) -> Box<dyn Debug + 'a> {
    if *value == 0 {
        return Box::new(0u8);
    }
    Box::new(value)
}

#[traced]
fn elided_debug(value: &u8) -> Box<dyn Debug + '_> {
    if *value == 0 {
        return Box::new(0u8);
    }
    Box::new(value)
}

#[traced]
fn question_mark_into_a_box(text: &str) -> Result<u32, Box<dyn Error>> {
    let number: u32 = text.parse()?;
    Ok(number)
}

fn main() {
    drop(boxed_error(true));
    drop(boxed_debug(true));
    assert_eq!(format!("{:?}", borrowed_debug(&0)), "0");
    assert_eq!(format!("{:?}", elided_debug(&2)), "2");
    assert!(question_mark_into_a_box("x").is_err());
}
