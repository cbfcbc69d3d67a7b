//! One request through the core: route → verify → fetch → transform → response.
//!
//! Plain Rust: it takes the merged config and what the request said, and returns a [`Reply`] that
//! the Apache adapter writes out. Keeping httpd out of here is what lets unit tests drive the
//! whole flow.

use sha2::{Digest, Sha256};

use crate::config::DirConfig;
use crate::error::{LogLevel, TofuError};
use crate::transform::{self, Job, Limits};
use crate::url::{self, ImageRequest};

/// The parts of an HTTP request the handler reads.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// `GET`, `HEAD`, …
    pub method: &'a str,
    /// The path as the client sent it: not percent-decoded, no query string.
    pub raw_path: &'a str,
}

/// What to send back. On an error the adapter returns `status` to httpd (so `ErrorDocument`
/// applies) instead of writing `body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Content-Type of `body` (success only).
    pub content_type: Option<&'static str>,
    /// Response headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// The encoded image (success only).
    pub body: Vec<u8>,
    /// One line a client may read (400/422), shown unless an ErrorDocument takes over.
    pub error_message: Option<String>,
    /// The error-log line of a non-2xx answer, with its level.
    pub log: Option<(LogLevel, String)>,
}

/// Serves one request with the merged config of its location.
pub fn handle(config: &DirConfig, request: RequestInfo<'_>) -> Reply {
    match serve(config, request) {
        Ok(reply) => reply,
        Err(error) => error_reply(config, request, &error),
    }
}

/// The reply to a failure: status, cache policy by status class, log line.
pub fn error_reply(config: &DirConfig, request: RequestInfo<'_>, error: &TofuError) -> Reply {
    let status = error.status();
    let cache_control = if status >= 500 {
        // A storage blip must never be pinned in a CDN.
        "no-store".to_string()
    } else {
        config.error_cache_control().to_string()
    };
    let mut headers = vec![("Cache-Control", cache_control)];
    if let Some(seconds) = error.retry_after() {
        headers.push(("Retry-After", seconds.to_string()));
    }
    if matches!(error, TofuError::MethodNotAllowed(_)) {
        headers.push(("Allow", "GET, HEAD".to_string()));
    }
    Reply {
        status,
        content_type: None,
        headers,
        body: Vec::new(),
        error_message: error.public_message().map(str::to_string),
        log: Some((
            error.log_level(),
            format!("{status} {error} [{}]", request.raw_path),
        )),
    }
}

fn serve(config: &DirConfig, request: RequestInfo<'_>) -> Result<Reply, TofuError> {
    if request.method != "GET" && request.method != "HEAD" {
        return Err(TofuError::MethodNotAllowed(request.method.to_string()));
    }
    config.check_servable().map_err(TofuError::Misconfigured)?;
    let rest = strip_prefix(config, request.raw_path)?;
    let image = url::parse(rest, config.max_output_dimension())?;
    verify(config, &image)?;
    let storage = config
        .storage()
        .ok_or_else(|| TofuError::Misconfigured("no storage".into()))?;
    let key = config.source_key(&image.id);
    let original = storage.get(&key, config.max_source_bytes())?;
    let job = Job {
        ops: image.ops,
        format: image.format,
        default_quality: config.default_quality(),
    };
    let limits = Limits {
        max_source_pixels: config.max_source_pixels(),
    };
    let encoded = transform::run(&original.bytes, &job, &limits)?;
    let etag = etag(&original.validators.version, &image, encoded.format);
    let mut headers = vec![
        ("Cache-Control", config.cache_control().to_string()),
        ("ETag", etag),
    ];
    if let Some(modified) = original.validators.modified {
        headers.push(("Last-Modified", http_date(modified)));
    }
    Ok(Reply {
        status: 200,
        content_type: Some(encoded.format.mime_type()),
        headers,
        body: encoded.bytes,
        error_message: None,
        log: None,
    })
}

/// The path after `<prefix>/`; a path outside the prefix has no route here.
fn strip_prefix<'p>(config: &DirConfig, raw_path: &'p str) -> Result<&'p str, TofuError> {
    let prefix = config.prefix.as_deref().unwrap_or("");
    raw_path
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| {
            TofuError::NoRoute(format!(
                "path is not below the location prefix {prefix:?} (use SetHandler tofu inside <Location>)"
            ))
        })
}

fn verify(config: &DirConfig, image: &ImageRequest) -> Result<(), TofuError> {
    let keys = config
        .keys()
        .ok_or_else(|| TofuError::Misconfigured("no key".into()))?;
    if image.signature.is_empty() {
        return Err(TofuError::BadSignature("signature missing".into()));
    }
    if keys.verify(
        &image.signed_string(),
        &image.signature,
        config.signature_bytes(),
    ) {
        Ok(())
    } else {
        Err(TofuError::BadSignature(
            "signature does not match any key".into(),
        ))
    }
}

/// A strong validator of the output: the same original version, URL and pipeline give the same
/// bytes on every node, so they give the same ETag.
fn etag(
    source_version: &str,
    image: &ImageRequest,
    format: crate::ops::OutputFormat,
) -> String {
    let mut h = Sha256::new();
    h.update(source_version.as_bytes());
    h.update([0]);
    h.update(image.signed_string().as_bytes());
    h.update([0]);
    h.update(format.extension().as_bytes());
    h.update(crate::PIPELINE_VERSION.to_be_bytes());
    format!("\"{}\"", hex::encode(&h.finalize()[..12]))
}

/// An IMF-fixdate (RFC 9110) for Last-Modified.
pub fn http_date(time: std::time::SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DIRECTIVES;
    use std::time::{Duration, UNIX_EPOCH};

    fn config(storage_dir: &str) -> DirConfig {
        let mut c = DirConfig::new(Some("/img"));
        let set = |c: &mut DirConfig, name: &str, arg: &str| {
            let d = DIRECTIVES
                .iter()
                .find(|d| d.name.to_str() == Ok(name))
                .unwrap();
            (d.set)(c, arg).unwrap();
        };
        set(&mut c, "TofuSecret", "k");
        set(&mut c, "TofuStorage", &format!("file://{storage_dir}"));
        c
    }

    fn get(c: &DirConfig, path: &str) -> Reply {
        handle(
            c,
            RequestInfo {
                method: "GET",
                raw_path: path,
            },
        )
    }

    fn signed(id: &str, ops: &str, ext: &str) -> String {
        let signed = format!("{id}/{ops}{ext}");
        let sig = crate::signature::sign(b"k", &signed, 16);
        format!("/img/{id}/{ops}/{sig}{ext}")
    }

    fn testdata() -> String {
        format!("{}/testdata", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(1_784_893_845)),
            "Fri, 24 Jul 2026 11:50:45 GMT"
        );
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    #[test]
    fn refuses_before_touching_storage() {
        let c = config("/");
        let r = get(&c, "/img/a/100x/00112233445566778899aabbccddeeff.jpg");
        assert_eq!(r.status, 403);
        assert_eq!(r.error_message, None, "403 must not explain itself");
        assert_eq!(r.log.as_ref().unwrap().0, LogLevel::Info);
        assert_eq!(get(&c, "/img/a/100x/.jpg").status, 403);
        assert_eq!(get(&c, "/other/a/100x/00.jpg").status, 404);
        assert_eq!(get(&c, "/img/a/0100x/00.jpg").status, 404);
        let r = get(&c, &signed("a", "100x-q0", ".jpg"));
        assert_eq!(r.status, 400);
        assert_eq!(r.error_message.as_deref(), Some("quality 0 is outside 1..100"));
        assert!(r.headers.contains(&("Cache-Control", "public, max-age=60".into())));
        let post = handle(
            &c,
            RequestInfo {
                method: "POST",
                raw_path: "/img/a/100x/00",
            },
        );
        assert_eq!(post.status, 405);
    }

    #[test]
    fn missing_originals_are_404_and_cacheable_briefly() {
        let c = config(&testdata());
        let r = get(&c, &signed("nope", "100x", ".jpg"));
        assert_eq!(r.status, 404);
        assert!(r.headers.contains(&("Cache-Control", "public, max-age=60".into())));
    }

    #[test]
    fn serves_a_signed_image_with_validators() {
        let c = config(&testdata());
        let path = signed("exif-orientation/Landscape_1.jpg", "280x210c-q80", ".png");
        let r = get(&c, &path);
        assert_eq!(r.status, 200, "{:?}", r.log);
        assert_eq!(r.content_type, Some("image/png"));
        assert!(r.body.starts_with(b"\x89PNG"));
        let header = |name| r.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
        assert_eq!(
            header("Cache-Control").map(String::as_str),
            Some("public, max-age=31536000, immutable")
        );
        assert!(header("Last-Modified").is_some());
        let again = get(&c, &path);
        assert_eq!(header("ETag"), again.headers.iter().find(|(n, _)| *n == "ETag").map(|(_, v)| v));
        assert_eq!(r.body, again.body, "output is deterministic");
    }

    #[test]
    fn unconfigured_locations_are_500_no_store() {
        let c = DirConfig::new(Some("/img"));
        let r = get(&c, "/img/a/100x/00");
        assert_eq!(r.status, 500);
        assert!(r.headers.contains(&("Cache-Control", "no-store".into())));
    }
}
