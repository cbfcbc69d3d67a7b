//! Conditional requests: the ETag and Last-Modified of an output, and whether a request's
//! If-None-Match / If-Modified-Since make the answer a 304.
//!
//! Everything here is computed from the original's *version* (what a stat or a HEAD returns),
//! never from its bytes, so a revalidation (If-None-Match / If-Modified-Since) is answered 304
//! without fetching the body or decoding anything.

use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::negotiate::FormatChoice;

/// A strong ETag: the same original version, signed string, location settings (the digest of
/// `DirConfig::answer_settings`), format choice and pipeline give the same bytes on every node,
/// so they give the same tag; a change of any of them gives another.
pub fn etag(source_version: &str, signed: &str, settings: &str, choice: FormatChoice) -> String {
    let mut h = Sha256::new();
    for part in [source_version, signed, settings, &choice.etag_token()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(crate::PIPELINE_VERSION.to_be_bytes());
    format!("\"{}\"", hex::encode(&h.finalize()[..12]))
}

/// An IMF-fixdate (RFC 9110) for Last-Modified.
pub fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// True when the request's conditional headers say the client's copy is current (RFC 9110
/// §13.1.2–3): If-None-Match, when present, decides alone (weak comparison, `*` matches);
/// otherwise If-Modified-Since against Last-Modified at one-second resolution.
pub fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etag: &str,
    last_modified: Option<SystemTime>,
) -> bool {
    if let Some(list) = if_none_match {
        let ours = etag.trim_start_matches("W/");
        return list
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours);
    }
    match (if_modified_since, last_modified) {
        (Some(since), Some(modified)) => match httpdate::parse_http_date(since) {
            Ok(since) => seconds(modified) <= seconds(since),
            Err(_) => false,
        },
        _ => false,
    }
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::OutputFormat;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn etags_change_with_every_input() {
        let jpeg = FormatChoice::Explicit(OutputFormat::Jpeg);
        let base = etag("v1", "1/100x.jpg", "settings", jpeg);
        assert!(base.starts_with('"') && base.ends_with('"') && base.len() == 26);
        assert_eq!(base, etag("v1", "1/100x.jpg", "settings", jpeg));
        for other in [
            etag("v2", "1/100x.jpg", "settings", jpeg),
            etag("v1", "1/101x.jpg", "settings", jpeg),
            etag("v1", "1/100x.jpg", "other settings", jpeg),
            etag("v1", "1/100x.jpg", "settings", FormatChoice::Source),
            etag(
                "v1",
                "1/100x.jpg",
                "settings",
                FormatChoice::Negotiated(OutputFormat::WebP),
            ),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn if_none_match_decides_when_present() {
        let t = Some(UNIX_EPOCH + Duration::from_secs(1_000_000));
        let later = "Fri, 24 Jul 2026 11:50:45 GMT";
        assert!(not_modified(Some("\"a\""), None, "\"a\"", t));
        assert!(not_modified(Some("\"x\", W/\"a\""), None, "\"a\"", t));
        assert!(not_modified(Some("*"), None, "\"a\"", t));
        assert!(!not_modified(Some("\"b\""), Some(later), "\"a\"", t));
    }

    #[test]
    fn if_modified_since_compares_whole_seconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_784_893_845_700);
        let same = "Fri, 24 Jul 2026 11:50:45 GMT";
        let before = "Fri, 24 Jul 2026 11:50:44 GMT";
        assert_eq!(http_date(t), same);
        assert!(not_modified(None, Some(same), "\"a\"", Some(t)));
        assert!(!not_modified(None, Some(before), "\"a\"", Some(t)));
        assert!(!not_modified(None, Some("garbage"), "\"a\"", Some(t)));
        assert!(!not_modified(None, Some(same), "\"a\"", None));
        assert!(!not_modified(None, None, "\"a\"", Some(t)));
    }
}
