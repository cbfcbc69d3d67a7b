//! The URL grammar of DESIGN.md: `id "/" ops "/" signature [ "." ext ]`, canonical form only.
//!
//! Canonical means one image has exactly one URL (one CDN cache key): numbers without leading
//! zeros, options at most once and in the order q, r, g, b, e, gravity only with a fill size, the
//! signature in lowercase hex, and id segments percent-encoded exactly as [`encode_id_segment`]
//! does. Anything else is a [`TofuError::NoRoute`] (404). Values that match the grammar but are out
//! of range are [`TofuError::OutOfRange`] (400).
//!
//! The expiry `e` is the last option, and it may follow a preset name too (`thumb-e1735689600`):
//! it is split off the ops segment before the ops (or the preset) are interpreted, so it never
//! reaches a preset definition or the transform.
//!
//! Percent-decoding is defined once, here: the signed string is the id and ops *as the client
//! sent them* (still encoded), and the storage key is built from the decoded id.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::TofuError;
use crate::ops::{Background, Gravity, Ops, OutputFormat, Region, Size};

/// Bytes that stay literal in an id segment: RFC 3986 `pchar` minus `%` (unreserved, sub-delims,
/// `:` and `@`). Every other byte is written `%XX` with uppercase hex.
const ID_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Longest id segment accepted (bytes, as sent); longer ones are no route. Keeps keys sane and
/// below filesystem name limits.
pub const MAX_SEGMENT_LEN: usize = 255;

/// Numbers in the grammar longer than this many digits are out of range (avoids overflow).
const MAX_DIGITS: usize = 9;

/// The latest expiry a URL may carry: the largest `time_t` (what every signing language's clock
/// can represent). Larger values, up to anything beyond `u64`, are out of range (400).
pub const MAX_EXPIRES: u64 = i64::MAX as u64;

/// A parsed, canonical image URL (the part after the `<Location>` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    /// The id as sent (still percent-encoded), as it enters the signed string.
    pub raw_id: String,
    /// The decoded id, from which the storage key is built.
    pub id: String,
    /// The ops segment exactly as sent, the expiry included.
    pub raw_ops: String,
    pub ops: Ops,
    /// The `e` option: unix seconds from which the URL is 404.
    pub expires: Option<u64>,
    /// Output format from the extension, if any.
    pub format: Option<OutputFormat>,
    /// The signature segment (lowercase hex), not yet verified.
    pub signature: String,
}

impl ImageRequest {
    /// The string the HMAC covers: `id "/" ops` plus `"." ext` when the URL has one.
    pub fn signed_string(&self) -> String {
        signed_string(&self.raw_id, &self.raw_ops, self.format)
    }
}

/// The string the HMAC covers for an encoded id, an ops segment and an optional extension.
pub fn signed_string(raw_id: &str, raw_ops: &str, format: Option<OutputFormat>) -> String {
    match format {
        Some(f) => format!("{raw_id}/{raw_ops}.{}", f.extension()),
        None => format!("{raw_id}/{raw_ops}"),
    }
}

/// Percent-encodes one id segment canonically (what `tofu sign` and signing apps must do).
pub fn encode_id_segment(segment: &str) -> String {
    utf8_percent_encode(segment, ID_ESCAPED).to_string()
}

/// Percent-encodes a whole id (segments joined by `/`) canonically.
pub fn encode_id(id: &str) -> String {
    id.split('/')
        .map(encode_id_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// The path of an HTTP request target exactly as the client sent it: no query, no fragment,
/// not percent-decoded, not normalised. httpd's `r->uri` and `parsed_uri.path` are decoded and
/// have `..` resolved, but the signature covers the bytes the client sent, and a path that
/// only looks canonical after httpd's cleanup must not pass as canonical. Accepts the
/// absolute form (`http://host/path`) too, which proxies and some clients send.
pub fn request_target_path(target: &str) -> &str {
    let path = match target.find("://") {
        Some(scheme_end) if !target.starts_with('/') => {
            let after_authority = &target[scheme_end + 3..];
            match after_authority.find(['/', '?', '#']) {
                Some(i) if after_authority[i..].starts_with('/') => &after_authority[i..],
                _ => "/",
            }
        }
        _ => target,
    };
    match path.find(['?', '#']) {
        Some(end) => &path[..end],
        None => path,
    }
}

/// Parses the path after the location prefix and its slash (`123/280x210c-q80/<sig>.jpg`).
/// `max_dimension` is TofuMaxOutputDimension: a larger width or height is out of range.
pub fn parse(path: &str, max_dimension: u32) -> Result<ImageRequest, TofuError> {
    parse_with(path, |ops| parse_ops(ops, max_dimension))
}

/// [`parse`] with the ops segment interpreted by `ops_parser` (presets, presets-only).
pub fn parse_with(
    path: &str,
    ops_parser: impl FnOnce(&str) -> Result<Ops, TofuError>,
) -> Result<ImageRequest, TofuError> {
    let no_route = |why: &str| TofuError::NoRoute(why.to_string());
    let mut segments: Vec<&str> = path.split('/').collect();
    if segments.len() < 3 {
        return Err(no_route("expected <id>/<ops>/<signature>"));
    }
    let last = segments.pop().unwrap_or_default();
    let raw_ops = segments.pop().unwrap_or_default();
    let (signature, format) = parse_signature_segment(last)?;
    let mut decoded = Vec::with_capacity(segments.len());
    for segment in &segments {
        decoded.push(decode_id_segment(segment)?);
    }
    let (ops_text, expires) = split_expiry(raw_ops)?;
    let ops = ops_parser(ops_text)?;
    Ok(ImageRequest {
        raw_id: segments.join("/"),
        id: decoded.join("/"),
        raw_ops: raw_ops.to_string(),
        ops,
        expires,
        format,
        signature: signature.to_string(),
    })
}

/// Splits a trailing `-e<unix-seconds>` off an ops segment: `(ops or preset name, expiry)`.
/// Only the last option can be the expiry; an `e` anywhere else is left to the ops parser,
/// which refuses it as out of order.
fn split_expiry(raw_ops: &str) -> Result<(&str, Option<u64>), TofuError> {
    match raw_ops.rsplit_once('-') {
        Some((ops, option)) if option.starts_with('e') => {
            Ok((ops, Some(parse_expires(&option[1..])?)))
        }
        _ => Ok((raw_ops, None)),
    }
}

/// The value of `e`: canonical decimal unix seconds, at most [`MAX_EXPIRES`].
fn parse_expires(digits: &str) -> Result<u64, TofuError> {
    check_canonical_number(digits)?;
    match digits.parse::<u64>() {
        Ok(seconds) if seconds <= MAX_EXPIRES => Ok(seconds),
        _ => Err(TofuError::OutOfRange(format!(
            "expiry {digits} is after {MAX_EXPIRES}"
        ))),
    }
}

/// Splits `<hex>[.<ext>]`. An empty signature is allowed here (it is then "missing": 403);
/// anything but lowercase hex is not canonical.
fn parse_signature_segment(segment: &str) -> Result<(&str, Option<OutputFormat>), TofuError> {
    let (signature, format) = match segment.split_once('.') {
        Some((sig, ext)) => {
            let format = OutputFormat::from_extension(ext)
                .ok_or_else(|| TofuError::NoRoute(format!("unknown extension {ext:?}")))?;
            (sig, Some(format))
        }
        None => (segment, None),
    };
    if !signature
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(TofuError::NoRoute(
            "signature is not lowercase hex".to_string(),
        ));
    }
    Ok((signature, format))
}

/// Decodes one id segment, refusing what could escape a storage root or has two spellings.
fn decode_id_segment(segment: &str) -> Result<String, TofuError> {
    let no_route = |why: String| Err(TofuError::NoRoute(why));
    if segment.is_empty() || segment == "." || segment == ".." {
        return no_route(format!("id segment {segment:?} is not allowed"));
    }
    if segment.len() > MAX_SEGMENT_LEN {
        return no_route(format!("id segment longer than {MAX_SEGMENT_LEN} bytes"));
    }
    let decoded = match percent_decode_str(segment).decode_utf8() {
        Ok(d) => d.into_owned(),
        Err(_) => return no_route("id segment is not UTF-8".to_string()),
    };
    if encode_id_segment(&decoded) != segment {
        return no_route(format!("id segment {segment:?} is not canonically encoded"));
    }
    if decoded.contains(['/', '\0']) || decoded == "." || decoded == ".." {
        return no_route(format!(
            "id segment {segment:?} decodes to a forbidden name"
        ));
    }
    Ok(decoded)
}

/// Parses `size *( "-" option )`.
pub fn parse_ops(text: &str, max_dimension: u32) -> Result<Ops, TofuError> {
    let mut parts = text.split('-');
    let size = parse_size(parts.next().unwrap_or_default(), max_dimension)?;
    let mut ops = Ops {
        size,
        quality: None,
        region: None,
        gravity: Gravity::Centre,
        background: None,
    };
    // Each option's rank in the canonical order; a rank may only increase.
    let mut last_rank = 0;
    for option in parts {
        let (rank, rest) = match option.as_bytes().first() {
            Some(b'q') => (1, &option[1..]),
            Some(b'r') => (2, &option[1..]),
            Some(b'g') => (3, &option[1..]),
            Some(b'b') => (4, &option[1..]),
            // A URL's expiry was split off already: one here is out of place (not last, given
            // twice) or in a preset definition, where a fixed date would expire every URL.
            Some(b'e') => {
                return Err(TofuError::NoRoute(format!(
                    "the expiry {option:?} must be the last option of a URL, once, and is not part of a preset"
                )));
            }
            _ => {
                return Err(TofuError::NoRoute(format!("unknown option {option:?}")));
            }
        };
        if rank <= last_rank {
            return Err(TofuError::NoRoute(
                "options must appear once each, in the order q, r, g, b, e".to_string(),
            ));
        }
        last_rank = rank;
        match rank {
            1 => {
                let q = parse_number(rest)?;
                if !(1..=100).contains(&q) {
                    return Err(TofuError::OutOfRange(format!(
                        "quality {q} is outside 1..100"
                    )));
                }
                ops.quality = Some(q as u8);
            }
            2 => ops.region = Some(parse_region(rest)?),
            4 => {
                ops.background = Some(Background::from_code(rest).ok_or_else(|| {
                    TofuError::NoRoute(format!(
                        "background {rest:?} is not six lowercase hex digits"
                    ))
                })?);
            }
            _ => {
                ops.gravity = Gravity::from_code(rest)
                    .ok_or_else(|| TofuError::NoRoute(format!("unknown gravity {rest:?}")))?;
                if !ops.size.fill {
                    return Err(TofuError::NoRoute(
                        "gravity is only meaningful with a fill (c) size".to_string(),
                    ));
                }
            }
        }
    }
    Ok(ops)
}

/// True when `name` can name a preset: lowercase letters, digits and `_`, starting with a letter,
/// and not itself valid ops (so a preset can never shadow or be confused with a size).
pub fn is_preset_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && parse_ops(name, u32::MAX).is_err()
}

/// Parses `[width] "x" [height] ["c"]`.
fn parse_size(text: &str, max_dimension: u32) -> Result<Size, TofuError> {
    let (body, fill) = match text.strip_suffix('c') {
        Some(body) => (body, true),
        None => (text, false),
    };
    let (w, h) = body
        .split_once('x')
        .ok_or_else(|| TofuError::NoRoute(format!("size {text:?} has no 'x'")))?;
    let side = |digits: &str, name: &str| -> Result<Option<u32>, TofuError> {
        if digits.is_empty() {
            return Ok(None);
        }
        let value = parse_number(digits)?;
        if value == 0 || value > u64::from(max_dimension) {
            return Err(TofuError::OutOfRange(format!(
                "{name} {value} is outside 1..{max_dimension}"
            )));
        }
        Ok(Some(value as u32))
    };
    let width = side(w, "width")?;
    let height = side(h, "height")?;
    match (width, height, fill) {
        (None, None, _) => Err(TofuError::NoRoute(
            "size needs a width or a height".to_string(),
        )),
        (Some(_), Some(_), _) | (_, _, false) => Ok(Size {
            width,
            height,
            fill,
        }),
        _ => Err(TofuError::NoRoute(
            "a fill (c) size needs both width and height".to_string(),
        )),
    }
}

/// Parses `x "," y "," w "," h`.
fn parse_region(text: &str) -> Result<Region, TofuError> {
    let fields: Vec<&str> = text.split(',').collect();
    let [x, y, w, h] = fields[..] else {
        return Err(TofuError::NoRoute("region needs x,y,w,h".to_string()));
    };
    let (x, y, w, h) = (
        parse_number(x)?,
        parse_number(y)?,
        parse_number(w)?,
        parse_number(h)?,
    );
    if w == 0 || h == 0 {
        return Err(TofuError::OutOfRange(
            "region width and height must be at least 1".to_string(),
        ));
    }
    let fits = |v: u64| u32::try_from(v).ok();
    match (fits(x), fits(y), fits(w), fits(h)) {
        (Some(x), Some(y), Some(width), Some(height)) => Ok(Region {
            x,
            y,
            width,
            height,
        }),
        _ => Err(TofuError::OutOfRange("region is too large".to_string())),
    }
}

/// A canonical decimal number: digits only, no leading zero (except "0" itself). Too many digits
/// is a range error, not a grammar error: the grammar matched.
fn parse_number(digits: &str) -> Result<u64, TofuError> {
    check_canonical_number(digits)?;
    if digits.len() > MAX_DIGITS {
        return Err(TofuError::OutOfRange(format!("{digits} is too large")));
    }
    digits
        .parse()
        .map_err(|_| TofuError::NoRoute(format!("{digits:?} is not a number")))
}

/// Digits only, no leading zero (except "0" itself): anything else is not canonical (404).
fn check_canonical_number(digits: &str) -> Result<(), TofuError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TofuError::NoRoute(format!("{digits:?} is not a number")));
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(TofuError::NoRoute(format!("{digits:?} has a leading zero")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn request_target_path_keeps_what_the_client_sent() {
        let cases = [
            ("/img/a%20b/100x/00.jpg", "/img/a%20b/100x/00.jpg"),
            ("/img/../x/100x/00?q=1", "/img/../x/100x/00"),
            ("/img/x#frag", "/img/x"),
            ("http://example.com/img/x?y", "/img/x"),
            ("https://example.com:8443/img/%2e%2e/x", "/img/%2e%2e/x"),
            ("http://example.com", "/"),
            ("http://example.com?x", "/"),
            ("*", "*"),
        ];
        for (target, path) in cases {
            assert_eq!(request_target_path(target), path, "{target}");
        }
    }
    use super::*;

    const SIG: &str = "0123456789abcdef0123456789abcdef";

    fn ok(path: &str) -> ImageRequest {
        parse(path, 4096).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn status(path: &str) -> u16 {
        parse(path, 4096)
            .map(|_| 200)
            .unwrap_or_else(|e| e.status())
    }

    #[test]
    fn parses_the_design_examples() {
        let r = ok(&format!("recipes/123/280x210c-q80/{SIG}.jpg"));
        assert_eq!(r.id, "recipes/123");
        assert_eq!(r.signed_string(), "recipes/123/280x210c-q80.jpg");
        assert_eq!(r.format, Some(OutputFormat::Jpeg));
        assert_eq!(
            r.ops.size,
            Size {
                width: Some(280),
                height: Some(210),
                fill: true
            }
        );
        assert_eq!(r.ops.quality, Some(80));

        let r = ok(&format!("123/280x/{SIG}"));
        assert_eq!(r.ops.size.height, None);
        assert_eq!(r.format, None);
        assert_eq!(r.signed_string(), "123/280x");

        let r = ok(&format!("123/x210/{SIG}.webp"));
        assert_eq!(r.ops.size.width, None);

        let r = ok(&format!("123/280x210c-q80-gn/{SIG}.png"));
        assert_eq!(r.ops.gravity, Gravity::North);

        let r = ok(&format!("123/800x600-r100,50,1600,1200/{SIG}"));
        assert_eq!(
            r.ops.region,
            Some(Region {
                x: 100,
                y: 50,
                width: 1600,
                height: 1200
            })
        );
        let r = ok(&format!("a/b/c/280x210c-q1-r0,0,1,1-gse/{SIG}"));
        assert_eq!(r.id, "a/b/c");
        assert_eq!(r.ops.gravity, Gravity::SouthEast);
    }

    #[test]
    fn non_canonical_paths_have_no_route() {
        for path in [
            format!("123/0280x210/{SIG}"),
            format!("123/280x0210/{SIG}"),
            format!("123/280x210-q080/{SIG}"),
            format!("123/280x210-r1,2,3/{SIG}"),
            format!("123/280x210c-gn-q80/{SIG}"),
            format!("123/280x210-q80-q80/{SIG}"),
            format!("123/280x210-gn/{SIG}"),
            format!("123/280xc/{SIG}"),
            format!("123/x/{SIG}"),
            format!("123/280x210c-gc/{SIG}"),
            format!("123/280x210-z1/{SIG}"),
            format!("123/280x210-/{SIG}"),
            format!("123/280X210/{SIG}"),
            format!("123/280x210/{SIG}.jpeg"),
            format!("123/280x210/{SIG}.JPG"),
            format!("123/280x210/{}", SIG.to_uppercase()),
            format!("123/280x210/{SIG}.jpg.jpg"),
            format!("123/+280x210/{SIG}"),
            format!("../280x210/{SIG}"),
            format!("a/./b/280x210/{SIG}"),
            format!("a//b/280x210/{SIG}"),
            format!("/a/280x210/{SIG}"),
            format!("%61bc/280x210/{SIG}"),
            format!("a%2fb/280x210/{SIG}"),
            format!("a%2Fb/280x210/{SIG}"),
            format!("%2E%2E/280x210/{SIG}"),
            format!("a%00/280x210/{SIG}"),
            format!("a%zz/280x210/{SIG}"),
            format!("a%ff/280x210/{SIG}"),
            format!("a b/280x210/{SIG}"),
            format!("{}/280x210/{SIG}", "a".repeat(256)),
            "280x210/sig".to_string(),
            String::new(),
        ] {
            assert_eq!(status(&path), 404, "{path}");
        }
    }

    #[test]
    fn the_background_is_six_lowercase_hex_digits_after_g() {
        let r = ok(&format!(
            "123/280x210c-q80-r0,0,9,9-gn-b1a2b3c-e5/{SIG}.jpg"
        ));
        assert_eq!(r.ops.background, Some(Background([0x1a, 0x2b, 0x3c])));
        assert_eq!(r.expires, Some(5));
        assert_eq!(
            r.signed_string(),
            "123/280x210c-q80-r0,0,9,9-gn-b1a2b3c-e5.jpg"
        );
        assert_eq!(
            ok(&format!("123/280x-b000000/{SIG}")).ops.background(),
            Background([0, 0, 0])
        );
        assert_eq!(
            ok(&format!("123/280x/{SIG}")).ops.background(),
            Background::WHITE
        );
        assert_eq!(
            ok(&format!("123/280x-bffffff/{SIG}.avif")).format,
            Some(OutputFormat::Avif)
        );
        for ops in [
            "280x-bFFFFFF",
            "280x-bFfffff",
            "280x-bfff",
            "280x-bfffffff",
            "280x-bfffff",
            "280x-b",
            "280x-bgggggg",
            "280x-b#ffffff",
            "280x-b+fffff",
            "280x-b-ffffff",
            "280x-bffffff-q80",
            "280x210c-bffffff-gn",
            "280x-bffffff-r0,0,1,1",
            "280x-bffffff-bffffff",
            "280x-e5-bffffff",
            "280x-B000000",
        ] {
            let path = format!("123/{ops}/{SIG}");
            assert_eq!(status(&path), 404, "{path}");
        }
    }

    #[test]
    fn out_of_range_values_are_400() {
        for path in [
            format!("123/0x210/{SIG}"),
            format!("123/280x0/{SIG}"),
            format!("123/4097x/{SIG}"),
            format!("123/x4097/{SIG}"),
            format!("123/280x210-q0/{SIG}"),
            format!("123/280x210-q101/{SIG}"),
            format!("123/280x210-q1234567890/{SIG}"),
            format!("123/280x210-r0,0,0,10/{SIG}"),
            format!("123/99999999999x/{SIG}"),
        ] {
            assert_eq!(status(&path), 400, "{path}");
        }
        assert_eq!(status(&format!("123/4096x4096/{SIG}")), 200);
    }

    #[test]
    fn the_expiry_is_the_last_option_and_is_signed() {
        let r = ok(&format!(
            "123/280x210c-q80-r0,0,9,9-gn-e1735689600/{SIG}.jpg"
        ));
        assert_eq!(r.expires, Some(1_735_689_600));
        assert_eq!((r.ops.quality, r.ops.gravity), (Some(80), Gravity::North));
        assert_eq!(
            r.signed_string(),
            "123/280x210c-q80-r0,0,9,9-gn-e1735689600.jpg"
        );
        assert_eq!(ok(&format!("123/280x-e1/{SIG}")).expires, Some(1));
        assert_eq!(ok(&format!("123/280x-e0/{SIG}")).expires, Some(0));
        assert_eq!(ok(&format!("123/280x/{SIG}")).expires, None);
        let latest = format!("123/x9-e{}/{SIG}", i64::MAX);
        assert_eq!(ok(&latest).expires, Some(MAX_EXPIRES));
        // The ops without the expiry are those of the same URL without it.
        assert_eq!(
            ok(&format!("123/280x-q80-e5/{SIG}")).ops,
            ok(&format!("123/280x-q80/{SIG}")).ops
        );

        let keys = crate::signature::Keys::new(vec![b"k".to_vec()]);
        let sig = keys.sign("123/280x-e1735689600", 16).unwrap();
        let verifies = |ops: &str| {
            let r = ok(&format!("123/{ops}/{sig}"));
            keys.verify(&r.signed_string(), &r.signature, 16)
        };
        assert!(verifies("280x-e1735689600"));
        assert!(
            !verifies("280x-e1735689601"),
            "a later expiry is another URL"
        );
        assert!(!verifies("280x"), "dropping the expiry is another URL");
    }

    #[test]
    fn non_canonical_expiries_have_no_route() {
        for ops in [
            "280x-e0123",
            "280x-e00",
            "280x-e",
            "280x-e+5",
            "280x-e-5",
            "280x-e1.5",
            "280x-e1e5",
            "280x-e%31",
            "280x-e 5",
            "280x-eabc",
            "280x-E5",
            "280x-e5-q80",
            "280x210c-e5-gn",
            "280x-e5-r0,0,1,1",
            "280x-e5-e6",
            "280x-e5-e5",
            "280x-e5-",
            "-e5",
            "e5",
            "thumb-e5",
        ] {
            let path = format!("123/{ops}/{SIG}");
            assert_eq!(status(&path), 404, "{path}");
        }
    }

    #[test]
    fn expiries_beyond_time_t_are_400() {
        for value in [
            "9223372036854775808",                       // i64::MAX + 1
            "18446744073709551615",                      // u64::MAX
            "18446744073709551616",                      // u64::MAX + 1
            "99999999999999999999999999999999999999999", // far beyond
        ] {
            let path = format!("123/280x-e{value}/{SIG}");
            assert_eq!(status(&path), 400, "{path}");
        }
    }

    #[test]
    fn presets_take_an_expiry_and_their_definitions_refuse_one() {
        let r = parse_with(&format!("123/thumb-e1735689600/{SIG}.png"), |ops| {
            assert_eq!(ops, "thumb", "the preset is looked up without the expiry");
            parse_ops("64x48c", 4096)
        })
        .unwrap();
        assert_eq!(r.expires, Some(1_735_689_600));
        assert_eq!(r.signed_string(), "123/thumb-e1735689600.png");
        // The preset name is unambiguous: names have no '-'.
        assert!(!is_preset_name("thumb-e5"));
        // TofuPreset's ops go through parse_ops, which refuses an expiry.
        assert_eq!(
            parse_ops("100x-e1735689600", 4096).unwrap_err().status(),
            404
        );
    }

    #[test]
    fn ids_are_decoded_once_and_signed_as_sent() {
        let r = ok(&format!("basn%23weird/caf%C3%A9/100x/{SIG}.png"));
        assert_eq!(r.id, "basn#weird/café");
        assert_eq!(r.raw_id, "basn%23weird/caf%C3%A9");
        assert_eq!(r.signed_string(), "basn%23weird/caf%C3%A9/100x.png");
        assert_eq!(encode_id("basn#weird/café"), "basn%23weird/caf%C3%A9");
        let r = ok(&format!("a-b_c.d~e!$&'()*+,;=:@/100x/{SIG}"));
        assert_eq!(r.id, "a-b_c.d~e!$&'()*+,;=:@");
    }

    #[test]
    fn preset_names_cannot_look_like_ops() {
        assert!(is_preset_name("thumb"));
        assert!(is_preset_name("card_2x"));
        assert!(!is_preset_name("x200"));
        assert!(!is_preset_name("Thumb"));
        assert!(!is_preset_name("thumb-small"));
        assert!(!is_preset_name(""));
        assert!(!is_preset_name("2x"));
    }

    #[test]
    fn an_empty_signature_parses_so_it_can_be_refused_with_403() {
        let r = ok("123/280x210/.jpg");
        assert_eq!(r.signature, "");
    }

    #[test]
    fn encoding_round_trips_every_byte() {
        for c in (1u8..128)
            .map(char::from)
            .filter(|c| !matches!(c, '/' | '.'))
        {
            let segment = format!("x{c}y");
            let encoded = encode_id_segment(&segment);
            assert_eq!(decode_id_segment(&encoded).unwrap(), segment);
        }
    }

    #[test]
    fn ids_that_try_to_escape_have_no_route() {
        let long = "a".repeat(MAX_SEGMENT_LEN + 1);
        for id in [
            "..",
            "a/..",
            "../etc/passwd",
            "a/../../etc/passwd",
            "%2e%2e",
            "%2E%2E/etc",
            "a/%2e%2e/b",
            ".%2e",
            "%2e.",
            "%2e",
            "..%2Fetc",
            "..%2fetc%2fpasswd",
            "%2Fetc%2Fpasswd",
            "a%2F..%2F..%2Fb",
            "/etc/passwd",
            "//etc/passwd",
            "a%00.jpg",
            "a%00",
            "%00",
            "a\0b",
            long.as_str(),
            "%C0%AE%C0%AE",       // overlong UTF-8 for "..": not UTF-8 at all
            "%E0%80%AE%E0%80%AE", // the same, three bytes each
            "%252e%252e/..",
        ] {
            let path = format!("{id}/100x/{SIG}");
            assert_eq!(status(&path), 404, "{path}");
        }
        // A segment of exactly the longest length is fine; "%252e%252e" is canonical and names
        // a file literally called "%2e%2e", which is not a way up.
        let longest = "a".repeat(MAX_SEGMENT_LEN);
        assert_eq!(ok(&format!("{longest}/100x/{SIG}")).id, longest);
        assert_eq!(ok(&format!("%252e%252e/100x/{SIG}")).id, "%2e%2e");
        // A backslash is an ordinary byte of a name on Unix: one segment, not a way up.
        let r = ok(&format!("a%5C..%5C../100x/{SIG}"));
        assert_eq!(r.id, "a\\..\\..");
        assert_eq!(crate::storage::key_segments(&r.id).unwrap(), ["a\\..\\.."]);
    }

    /// Thumbor accepted URLs whose signature segment was repeated or re-encoded; here the
    /// signature is the last segment, lowercase hex only, and covers everything before it.
    #[test]
    fn the_signature_segment_cannot_be_repeated_or_re_encoded() {
        use crate::signature::{Keys, DEFAULT_SIGNATURE_BYTES};
        let keys = Keys::new(vec![b"k".to_vec()]);
        let bytes = DEFAULT_SIGNATURE_BYTES;
        let good = keys.sign("123/280x210.jpg", bytes).unwrap();
        let checks = |path: &str| match parse(path, 4096) {
            Ok(r) => keys.verify(&r.signed_string(), &r.signature, bytes),
            Err(_) => false,
        };
        assert!(checks(&format!("123/280x210/{good}.jpg")));
        let upper = good.to_uppercase();
        let encoded: String = good.bytes().map(|b| format!("%{b:02X}")).collect();
        for path in [
            format!("123/280x210/{good}/{good}.jpg"),
            format!("123/280x210/{good}.jpg/{good}.jpg"),
            format!("{good}/123/280x210/{good}.jpg"),
            format!("123/280x210/{good}{good}.jpg"),
            format!("123/280x210/{good}.jpg.jpg"),
            format!("123/280x210/{good}.jpg/"),
            format!("123/280x210/{upper}.jpg"),
            format!("123/280x210/{encoded}.jpg"),
            format!("123/280x210/{good}%2Ejpg"),
            format!("123/280x210/{good}%2ejpg"),
            format!("123/280x210/{}.jpg", &good[..good.len() - 2]),
            format!("123/280x210/{good}00.jpg"),
            format!("123/280x210/{good}"),
            format!("123/280x210/{good}.png"),
            format!("123/280x210;{good}/{good}.jpg"),
            format!("123/{good}/{good}.jpg"),
            format!("123%2F280x210/{good}.jpg"),
            format!("1%323/280x210/{good}.jpg"),
        ] {
            assert!(!checks(&path), "{path} passed the signature check");
        }
    }
}
