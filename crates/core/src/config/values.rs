//! The value parsers several directives share: counts with size suffixes, seconds, header
//! values. Each returns the message Apache prints after "Syntax error on line N of FILE:".

use std::sync::Arc;
use std::time::Duration;

/// A decimal count, optionally (when `suffixes`) with K, M or G for binary multiples.
pub(super) fn parse_count(arg: &str, suffixes: bool) -> Result<u64, String> {
    let (digits, multiplier) = match arg.as_bytes().last() {
        Some(b'K' | b'k') if suffixes => (&arg[..arg.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') if suffixes => (&arg[..arg.len() - 1], 1 << 20),
        Some(b'G' | b'g') if suffixes => (&arg[..arg.len() - 1], 1 << 30),
        _ => (arg, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{arg:?} is not a whole number"))
}

pub(super) fn positive(n: u64) -> Result<u64, String> {
    if n == 0 {
        Err("must be at least 1".to_string())
    } else {
        Ok(n)
    }
}

/// A count from 1 to `max` (`suffixes` as for [`parse_count`]); `max_text` is how the message
/// names the largest value.
pub(super) fn count_up_to(
    arg: &str,
    suffixes: bool,
    max: u64,
    max_text: &str,
) -> Result<u64, String> {
    let n = positive(parse_count(arg, suffixes)?)?;
    if n > max {
        return Err(format!("{n} is above {max_text}"));
    }
    Ok(n)
}

/// Seconds, decimals allowed (`0.5`), at most an hour.
pub fn parse_seconds(arg: &str) -> Result<Duration, String> {
    match arg.parse::<f64>() {
        Ok(s) if (0.0..=3600.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{arg:?} is not a number of seconds between 0 and 3600"
        )),
    }
}

/// A header value must be one line of visible characters (no header injection via config).
pub(super) fn header_value(arg: &str) -> Result<Arc<str>, String> {
    if arg.is_empty() || arg.chars().any(|ch| ch.is_control()) {
        return Err(format!("{arg:?} is not a valid header value"));
    }
    Ok(Arc::from(arg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_binary_suffixes_where_allowed() {
        assert_eq!(parse_count("8M", true), Ok(8 << 20));
        assert_eq!(parse_count("2k", true), Ok(2 << 10));
        assert_eq!(parse_count("1G", true), Ok(1 << 30));
        assert!(parse_count("10M", false).is_err());
        assert!(parse_count("-1", true).is_err());
        assert!(parse_count("99999999999G", true).is_err(), "overflow");
        assert!(positive(0).is_err());
    }

    #[test]
    fn seconds_allow_decimals_up_to_an_hour() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("3601").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("forever").is_err());
    }

    #[test]
    fn header_values_are_one_line() {
        assert!(header_value("public, max-age=60").is_ok());
        assert!(header_value("public\r\nSet-Cookie: x=1").is_err());
        assert!(header_value("").is_err());
    }
}
