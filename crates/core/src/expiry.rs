//! Expiring URLs: the `-e<unix-seconds>` option. Before that second the answer is cacheable for
//! at most the seconds left; from it on the URL is a 404 like a missing original.
//!
//! Pure functions of the expiry and "now", so the handler and its tests agree on the clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::TofuError;

/// Whole seconds from `now` until `expires` (unix seconds); 0 once `now` has reached it. A URL
/// with 0 seconds left is expired: it is served while `now < expires`.
pub fn seconds_left(expires: u64, now: SystemTime) -> u64 {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    expires.saturating_sub(now)
}

/// `Ok` while the URL is still valid at `now`; the 404 of an expired URL otherwise, whose log
/// line says when it expired.
pub fn check(expires: u64, now: SystemTime) -> Result<(), TofuError> {
    if seconds_left(expires, now) > 0 {
        return Ok(());
    }
    // An expired time is in the past, so it is a date httpdate can write.
    let when = UNIX_EPOCH
        .checked_add(Duration::from_secs(expires))
        .map(crate::conditional::http_date)
        .unwrap_or_default();
    Err(TofuError::Expired(format!(
        "the URL expired at {when} (e{expires})"
    )))
}

/// The location's Cache-Control for an answer that may be kept `left` more seconds: `max-age`
/// and `s-maxage` capped to `left` (a `max-age` is added when there is none, so that no cache
/// falls back to heuristic freshness), and what would let a cache serve it past the expiry
/// dropped: `immutable`, `stale-while-revalidate`, `stale-if-error`. Other directives are kept
/// as written.
pub fn cache_control(configured: &str, left: u64) -> String {
    let mut has_max_age = false;
    let mut out = Vec::new();
    for directive in configured.split(',').map(str::trim) {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive, None),
        };
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "" | "immutable" | "stale-while-revalidate" | "stale-if-error" => {}
            "max-age" | "s-maxage" => {
                has_max_age |= lower == "max-age";
                // An unreadable value counts as "longer than left".
                let seconds = value.and_then(|v| v.parse::<u64>().ok()).unwrap_or(left);
                out.push(format!("{name}={}", seconds.min(left)));
            }
            _ => out.push(directive.to_string()),
        }
    }
    if !has_max_age {
        out.push(format!("max-age={left}"));
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn a_url_is_valid_until_its_second() {
        assert_eq!(seconds_left(1_700_000_100, at(1_700_000_000)), 100);
        assert_eq!(seconds_left(1_700_000_000, at(1_700_000_000)), 0);
        assert_eq!(seconds_left(0, at(1_700_000_000)), 0);
        assert_eq!(seconds_left(u64::MAX, at(0)), u64::MAX);
        assert!(check(1_700_000_001, at(1_700_000_000)).is_ok());
        let expired = check(1_700_000_000, at(1_700_000_000)).unwrap_err();
        assert_eq!(expired.status(), 404);
        assert_eq!(expired.log_level(), crate::error::LogLevel::Info);
        assert_eq!(
            expired.public_message(),
            None,
            "the same 404 as a missing original"
        );
        assert_eq!(
            expired.to_string(),
            "expired: the URL expired at Tue, 14 Nov 2023 22:13:20 GMT (e1700000000)"
        );
    }

    #[test]
    fn cache_control_is_capped_to_the_seconds_left() {
        for (configured, left, expected) in [
            (
                "public, max-age=31536000, immutable",
                3600,
                "public, max-age=3600",
            ),
            ("public, max-age=600", 3600, "public, max-age=600"),
            (
                "public, max-age=600, s-maxage=86400",
                100,
                "public, max-age=100, s-maxage=100",
            ),
            (
                "public, s-maxage=50, max-age=600",
                100,
                "public, s-maxage=50, max-age=100",
            ),
            (
                "Public, Max-Age=\"900\", IMMUTABLE",
                60,
                "Public, Max-Age=60",
            ),
            (
                "public, max-age=600, stale-while-revalidate=60, stale-if-error=86400",
                100,
                "public, max-age=100",
            ),
            ("public", 42, "public, max-age=42"),
            ("no-cache", 42, "no-cache, max-age=42"),
            ("private, max-age=forever", 42, "private, max-age=42"),
            ("public, max-age=600", 0, "public, max-age=0"),
        ] {
            assert_eq!(cache_control(configured, left), expected, "{configured}");
        }
    }
}
