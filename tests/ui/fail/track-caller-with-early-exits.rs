use traced::traced;

macro_rules! bail {
    ($error:expr) => {
        return Err($error)
    };
}

#[traced]
#[track_caller]
fn parse(text: &str) -> Result<u32, String> {
    if text.is_empty() {
        return Err("empty".to_owned());
    }
    let number: u32 = text.parse().map_err(|_| "not a number".to_owned())?;
    if number == 0 {
        bail!("zero".to_owned());
    }
    println!("{}", text.len().checked_sub(1).ok_or("short")?);
    // Closures return from themselves.
    let double = |n: u32| -> Option<u32> { n.checked_mul(2) };
    Ok(double(number).unwrap_or(number))
}

fn main() {}
