//! Each HTTP status code's three digits as a `&'static str`, which an
//! error's `error.type` needs without an allocation.

use http::StatusCode;

/// The three digits of every status code from 100 to 999, in order: each
/// code's text as a `&'static str`, which `error.type` needs.
static CODE_DIGITS: [u8; 2700] = {
    let mut digits = [0; 2700];
    let mut code = 100;
    while code < 1000 {
        let at = (code - 100) * 3;
        digits[at] = b'0' + (code / 100) as u8;
        digits[at + 1] = b'0' + (code / 10 % 10) as u8;
        digits[at + 2] = b'0' + (code % 10) as u8;
        code += 1;
    }
    digits
};

static CODES: &str = match std::str::from_utf8(&CODE_DIGITS) {
    Ok(codes) => codes,
    Err(_) => panic!("status code digits are ASCII"),
};

/// `"404"` for `StatusCode::NOT_FOUND`.
pub(super) fn code_text(status: StatusCode) -> &'static str {
    // `StatusCode` holds 100..=999 only.
    let at = (usize::from(status.as_u16()) - 100) * 3;
    &CODES[at..at + 3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_digits() {
        for code in 100..=999_u16 {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(code_text(status), status.as_str());
        }
    }
}
