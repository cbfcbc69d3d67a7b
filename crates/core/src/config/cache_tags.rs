//! `TofuCacheTag HEADER TEMPLATE`: a purge tag per original on every answer a CDN may keep, so
//! that replacing or deleting a photo purges all its sizes with one tag purge (Akamai
//! `Edge-Cache-Tag`, Fastly `Surrogate-Key`, Cloudflare `Cache-Tag`).
//!
//! The rules, which README states for the application that computes the same tags:
//! - `{id}` is the decoded id, `{key}` the storage key (`TofuSourceKey` applied); each is
//!   percent-encoded: every byte outside `A-Z a-z 0-9 - . _ ~` becomes `%XX` (uppercase hex), what
//!   Python's `quote(s, safe="")`, PHP's `rawurlencode` and Ruby's `ERB::Util.url_encode` give.
//! - The rest of the template may hold only characters every CDN takes in a tag (Akamai's list,
//!   the strictest): letters, digits and ``! # $ ' + - . ^ _ ` | ~``; anything else is refused at
//!   startup.
//! - A tag longer than its header allows (128 characters for `Edge-Cache-Tag`, 1024 otherwise)
//!   is built again with each placeholder replaced by `!` and the first 32 hex digits of the
//!   SHA-256 of its value (the decoded id or key), so it always fits.
//! - Several `TofuCacheTag` lines with one header make one header: space-separated for
//!   `Surrogate-Key`, comma-separated for every other one.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::sync::Arc;

use super::{DirConfig, Directive};

/// One `TofuCacheTag` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CacheTag {
    header: Arc<str>,
    template: Arc<str>,
}

/// The longest value one tag header may reach, all tags at their longest: below Akamai's
/// default limit of 8192 bytes for all response headers, half of Fastly's and Cloudflare's 16 KB.
const MAX_HEADER_BYTES: usize = 8192;

/// What a placeholder becomes when the tag would be too long: `!` and 32 hex digits.
const DIGEST_LEN: usize = 33;

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 2] = ["{id}", "{key}"];

/// Headers mod_tofu sets itself, or that frame the message: never a tag header.
const RESERVED: [&str; 10] = [
    "Allow",
    "Cache-Control",
    "Connection",
    "Content-Length",
    "Content-Type",
    "ETag",
    "Last-Modified",
    "Retry-After",
    "Transfer-Encoding",
    "Vary",
];

/// How a CDN reads a tag header: the longest tag and the separator of several.
fn rules(header: &str) -> (usize, &'static str) {
    if header.eq_ignore_ascii_case("Edge-Cache-Tag") {
        (128, ",")
    } else if header.eq_ignore_ascii_case("Surrogate-Key") {
        (1024, " ")
    } else {
        (1024, ",")
    }
}

/// A character the literal part of a template may hold: Akamai's tag characters (a subset of
/// an HTTP token's, without `&`, `*` and `%`), which Fastly and Cloudflare take too.
fn tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$'+-.^_`|~".contains(c)
}

/// An HTTP field name (RFC 9110 §5.1: a token).
fn token(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// `TofuCacheTag HEADER TEMPLATE`.
pub(super) const TOFU_CACHE_TAG: Directive = Directive::two(
    c"TofuCacheTag",
    c"TofuCacheTag HEADER TEMPLATE: a purge tag on every answer about one original, {id} and {key} percent-encoded (repeatable)",
    set_cache_tag,
);

fn set_cache_tag(c: &mut DirConfig, header: &str, template: &str) -> Result<(), String> {
    if !token(header) {
        return Err(format!("{header:?} is not a header name (an HTTP token)"));
    }
    if let Some(ours) = RESERVED.iter().find(|r| r.eq_ignore_ascii_case(header)) {
        return Err(format!(
            "{ours} is set by mod_tofu itself, not a tag header"
        ));
    }
    let literal = PLACEHOLDERS
        .iter()
        .fold(template.to_string(), |t, p| t.replace(p, ""));
    if template.is_empty() {
        return Err("the template is empty".to_string());
    }
    if let Some(bad) = literal.chars().find(|&ch| !tag_char(ch)) {
        return Err(format!(
            "{template:?}: {bad:?} may not be in a tag (letters, digits, ! # $ ' + - . ^ _ ` | ~ \
             and the placeholders {{id}} and {{key}})"
        ));
    }
    let (limit, separator) = rules(header);
    let placeholders = PLACEHOLDERS
        .iter()
        .map(|p| template.matches(p).count())
        .sum::<usize>();
    if literal.len() + placeholders * DIGEST_LEN > limit {
        return Err(format!(
            "{template:?} is too long for {header}: its tags may have {limit} characters"
        ));
    }
    let mut tags = c.cache_tags.as_deref().cloned().unwrap_or_default();
    tags.push(CacheTag {
        header: Arc::from(header),
        template: Arc::from(template),
    });
    let same = tags
        .iter()
        .filter(|t| t.header.eq_ignore_ascii_case(header))
        .count();
    if same * (limit + separator.len()) - separator.len() > MAX_HEADER_BYTES {
        return Err(format!(
            "{same} tags of {limit} characters would make {header} longer than \
             {MAX_HEADER_BYTES} bytes"
        ));
    }
    c.cache_tags = Some(Arc::new(tags));
    Ok(())
}

/// Every byte outside RFC 3986's unreserved characters, written `%XX` (uppercase hex).
const TAG_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A value as it goes into a tag: the same percent-encoding as the URL's ids use, with only
/// RFC 3986's unreserved characters left literal.
fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, TAG_ESCAPED).to_string()
}

/// The short stand-in of a value whose tag would be too long.
fn digest(value: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("!{}", hex::encode(&Sha256::digest(value.as_bytes())[..16]))
}

/// The tag headers of an answer about the original `id` stored under `key`: one per header
/// name, in the order of the first `TofuCacheTag` naming it; the same tag twice is sent once.
pub(super) fn tag_headers(tags: &[CacheTag], id: &str, key: &str) -> Vec<(Arc<str>, String)> {
    let fill =
        |template: &str, id: &str, key: &str| template.replace("{id}", id).replace("{key}", key);
    let mut headers: Vec<(Arc<str>, Vec<String>)> = Vec::new();
    for tag in tags {
        let (limit, _) = rules(&tag.header);
        let mut value = fill(&tag.template, &percent_encode(id), &percent_encode(key));
        if value.len() > limit {
            value = fill(&tag.template, &digest(id), &digest(key));
        }
        match headers
            .iter_mut()
            .find(|(h, _)| h.eq_ignore_ascii_case(&tag.header))
        {
            Some((_, values)) if values.contains(&value) => {}
            Some((_, values)) => values.push(value),
            None => headers.push((tag.header.clone(), vec![value])),
        }
    }
    headers
        .into_iter()
        .map(|(header, values)| {
            let separator = rules(&header).1;
            (header, values.join(separator))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::set;
    use super::*;

    fn headers(c: &DirConfig, id: &str, key: &str) -> Vec<(String, String)> {
        c.cache_tag_headers(id, key)
            .into_iter()
            .map(|(h, v)| (h.to_string(), v))
            .collect()
    }

    fn pair(h: &str, v: &str) -> (String, String) {
        (h.to_string(), v.to_string())
    }

    #[test]
    fn tags_join_per_header_as_each_cdn_reads_them() {
        let mut c = DirConfig::default();
        assert!(headers(&c, "1", "1").is_empty(), "none by default");
        set(&mut c, "TofuCacheTag", "Edge-Cache-Tag photo-{id}").unwrap();
        set(&mut c, "TofuCacheTag", "Surrogate-Key photo-{id}").unwrap();
        set(&mut c, "TofuCacheTag", "edge-cache-tag images").unwrap();
        set(&mut c, "TofuCacheTag", "Surrogate-Key store-{key}").unwrap();
        set(&mut c, "TofuCacheTag", "Cache-Tag a-{id}").unwrap();
        set(&mut c, "TofuCacheTag", "Cache-Tag b-{id}").unwrap();
        set(&mut c, "TofuCacheTag", "Cache-Tag a-{id}").unwrap();
        assert_eq!(
            headers(&c, "123", "originals/123.jpg"),
            vec![
                pair("Edge-Cache-Tag", "photo-123,images"),
                pair("Surrogate-Key", "photo-123 store-originals%2F123.jpg"),
                pair("Cache-Tag", "a-123,b-123"),
            ]
        );
    }

    #[test]
    fn ids_are_percent_encoded_so_the_application_can_compute_the_tag() {
        let mut c = DirConfig::default();
        set(&mut c, "TofuCacheTag", "Surrogate-Key p-{id}").unwrap();
        let tag = |id: &str| headers(&c, id, id)[0].1.clone();
        assert_eq!(tag("a b,c/d"), "p-a%20b%2Cc%2Fd");
        assert_eq!(tag("Aa0-._~"), "p-Aa0-._~");
        assert_eq!(tag("%41!*"), "p-%2541%21%2A");
        assert_eq!(tag("é\n"), "p-%C3%A9%0A");
    }

    #[test]
    fn a_tag_too_long_for_its_cdn_is_a_digest_of_the_id() {
        let mut c = DirConfig::default();
        set(&mut c, "TofuCacheTag", "Edge-Cache-Tag photo-{id}").unwrap();
        set(&mut c, "TofuCacheTag", "Cache-Tag photo-{id}").unwrap();
        let long = "x/".repeat(50);
        let tags = headers(&c, &long, &long);
        // 206 characters encoded: too many for Akamai, not for Cloudflare.
        use sha2::{Digest, Sha256};
        let digest = format!("!{}", hex::encode(&Sha256::digest(long.as_bytes())[..16]));
        assert_eq!(tags[0], pair("Edge-Cache-Tag", &format!("photo-{digest}")));
        assert_eq!(tags[1].1, format!("photo-{}", "x%2F".repeat(50)));
        let exactly = "y".repeat(122);
        assert_eq!(headers(&c, &exactly, "")[0].1.len(), 128, "128 still fits");
    }

    #[test]
    fn bad_headers_and_templates_are_refused_at_startup() {
        let mut c = DirConfig::default();
        for args in [
            "Edge:Cache photo-{id}",
            "Edge\u{1}Tag photo-{id}",
            "ETag photo-{id}",
            "cache-control photo-{id}",
            "Content-Length {id}",
            "Cache-Tag photo,{id}",
            "Cache-Tag photo:{id}",
            "Cache-Tag photo/{id}",
            "Cache-Tag photo%{id}",
            "Cache-Tag {ID}",
            "Cache-Tag {name}",
            "Cache-Tag é{id}",
        ] {
            let (header, template) = args.split_once(' ').unwrap();
            assert!(set_cache_tag(&mut c, header, template).is_err(), "{args}");
        }
        assert!(set_cache_tag(&mut c, "Cache-Tag", "").is_err());
        assert!(set_cache_tag(&mut c, "", "x").is_err());
        let long = format!("Edge-Cache-Tag {}{{id}}", "p".repeat(96));
        assert!(
            set(&mut c, "TofuCacheTag", &long).is_err(),
            "no room for a digest"
        );
        assert!(c.cache_tags.is_none(), "nothing refused was kept");
        // A constant tag is fine: it purges every answer of the location at once.
        set(&mut c, "TofuCacheTag", "X-Purge-Tags all-images").unwrap();
        // The header's worst case stays below 8 KB: 7 Surrogate-Keys of 1024 bytes, not 8.
        for n in 0..6 {
            set(
                &mut c,
                "TofuCacheTag",
                &format!("Surrogate-Key k{n}-{{id}}"),
            )
            .unwrap();
        }
        set(&mut c, "TofuCacheTag", "Surrogate-Key k6-{id}").unwrap();
        let err = set(&mut c, "TofuCacheTag", "Surrogate-Key k7-{id}").unwrap_err();
        assert!(err.contains("8192"), "{err}");
    }

    #[test]
    fn a_section_that_sets_tags_replaces_its_parents() {
        let mut server = DirConfig::default();
        set(&mut server, "TofuCacheTag", "Cache-Tag server-{id}").unwrap();
        let plain = DirConfig::new();
        let merged = DirConfig::merge(&server, &plain);
        assert_eq!(
            headers(&merged, "1", "1"),
            vec![pair("Cache-Tag", "server-1")]
        );
        let mut own = DirConfig::new();
        set(&mut own, "TofuCacheTag", "Surrogate-Key img-{id}").unwrap();
        let merged = DirConfig::merge(&server, &own);
        assert_eq!(
            headers(&merged, "1", "1"),
            vec![pair("Surrogate-Key", "img-1")]
        );
    }
}
