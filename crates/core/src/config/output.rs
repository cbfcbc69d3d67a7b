//! `TofuDefaultQuality`, `TofuCacheControl`, `TofuErrorCacheControl`, `TofuAutoFormat`: how an
//! answer is encoded and how long caches keep it.

use super::tree::words;
use super::values::{header_value, parse_count};
use super::{DirConfig, Directive};
use crate::ops::OutputFormat;

macro_rules! default_quality {
    () => {
        82
    };
}
macro_rules! default_cache_control {
    () => {
        "public, max-age=31536000, immutable"
    };
}
macro_rules! default_error_cache_control {
    () => {
        "public, max-age=60"
    };
}

/// `TofuDefaultQuality` default.
pub const DEFAULT_QUALITY: u8 = default_quality!();
/// `TofuCacheControl` default: a signed URL's output never changes, so cache it for a year.
pub const DEFAULT_CACHE_CONTROL: &str = default_cache_control!();
/// `TofuErrorCacheControl` default: 4xx answers are cached briefly, so a fixed original shows up.
pub const DEFAULT_ERROR_CACHE_CONTROL: &str = default_error_cache_control!();

/// `TofuAutoFormat FORMAT...` / `On` / `Off`.
pub(super) const TOFU_AUTO_FORMAT: Directive = Directive::raw(
    c"TofuAutoFormat",
    c"formats URLs without an extension may get, in order of preference, where the Accept header names them: avif, webp; On = webp, Off = none (default Off)",
    set_auto_format,
);

/// The formats negotiation can offer: those a browser announces in its Accept header. JPEG and
/// PNG need no offer: the source's format is what every client gets otherwise.
const NEGOTIABLE: [OutputFormat; 2] = [OutputFormat::Avif, OutputFormat::WebP];

fn set_auto_format(c: &mut DirConfig, args: &str) -> Result<(), String> {
    let words = words(args);
    let formats = match words.as_slice() {
        [] => return Err("name the formats to offer (avif, webp), or On or Off".to_string()),
        [one] if one.eq_ignore_ascii_case("off") => Vec::new(),
        [one] if one.eq_ignore_ascii_case("on") => vec![OutputFormat::WebP],
        _ => {
            let mut formats = Vec::new();
            for word in &words {
                let format = NEGOTIABLE
                    .into_iter()
                    .find(|f| word.eq_ignore_ascii_case(f.extension()))
                    .ok_or_else(|| {
                        format!("{word:?} is not a format to offer (avif, webp; On or Off alone)")
                    })?;
                if formats.contains(&format) {
                    return Err(format!("{word} is listed twice"));
                }
                formats.push(format);
            }
            formats
        }
    };
    c.auto_formats = Some(formats.into());
    Ok(())
}

/// `TofuDefaultQuality N`.
pub(super) const TOFU_DEFAULT_QUALITY: Directive = Directive::one(
    c"TofuDefaultQuality",
    cstr!(
        "JPEG/WebP quality when the URL has no q option, 1..100 (default ",
        default_quality!(),
        ")"
    ),
    set_default_quality,
);

fn set_default_quality(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let q = parse_count(arg, false)?;
    if !(1..=100).contains(&q) {
        return Err(format!("{q} is outside 1..100"));
    }
    c.default_quality = Some(q as u8);
    Ok(())
}

/// `TofuCacheControl VALUE`.
pub(super) const TOFU_CACHE_CONTROL: Directive = Directive::one(
    c"TofuCacheControl",
    cstr!(
        "Cache-Control of successful answers (default \"",
        default_cache_control!(),
        "\")"
    ),
    set_cache_control,
);

fn set_cache_control(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.cache_control = Some(header_value(arg)?);
    Ok(())
}

/// `TofuErrorCacheControl VALUE`.
pub(super) const TOFU_ERROR_CACHE_CONTROL: Directive = Directive::one(
    c"TofuErrorCacheControl",
    cstr!(
        "Cache-Control of 404 and other 4xx answers, 5xx are always no-store (default \"",
        default_error_cache_control!(),
        "\")"
    ),
    set_error_cache_control,
);

fn set_error_cache_control(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.error_cache_control = Some(header_value(arg)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::set;
    use super::*;

    #[test]
    fn auto_format_lists_formats_in_order_of_preference() {
        let formats = |arg: &str| {
            let mut c = DirConfig::default();
            set(&mut c, "TofuAutoFormat", arg).map(|()| c.auto_formats().to_vec())
        };
        use OutputFormat::{Avif, WebP};
        assert_eq!(formats("avif webp"), Ok(vec![Avif, WebP]));
        assert_eq!(formats("webp avif"), Ok(vec![WebP, Avif]));
        assert_eq!(formats("  AVIF\twebp "), Ok(vec![Avif, WebP]));
        assert_eq!(formats("avif"), Ok(vec![Avif]));
        assert_eq!(formats("On"), Ok(vec![WebP]));
        assert_eq!(formats("on"), Ok(vec![WebP]));
        assert_eq!(formats("Off"), Ok(vec![]));
        // A child section's Off turns its parent's list off.
        let mut parent = DirConfig::default();
        set(&mut parent, "TofuAutoFormat", "avif webp").unwrap();
        let mut child = DirConfig::default();
        set(&mut child, "TofuAutoFormat", "Off").unwrap();
        assert!(DirConfig::merge(&parent, &child).auto_formats().is_empty());
        assert_eq!(
            DirConfig::merge(&parent, &DirConfig::default()).auto_formats(),
            [Avif, WebP]
        );
    }

    #[test]
    fn defaults_and_values() {
        let c = DirConfig::default();
        assert_eq!(c.default_quality(), 82);
        assert_eq!(c.cache_control(), "public, max-age=31536000, immutable");
        assert_eq!(c.error_cache_control(), "public, max-age=60");
        assert!(c.auto_formats().is_empty());
        let mut c = DirConfig::default();
        set(&mut c, "TofuDefaultQuality", "60").unwrap();
        set(&mut c, "TofuCacheControl", "public, max-age=600").unwrap();
        set(&mut c, "TofuAutoFormat", "On").unwrap();
        assert_eq!(c.default_quality(), 60);
        assert_eq!(c.cache_control(), "public, max-age=600");
        assert_eq!(c.auto_formats(), [OutputFormat::WebP]);
        for (name, arg) in [
            ("TofuDefaultQuality", "0"),
            ("TofuDefaultQuality", "101"),
            ("TofuCacheControl", "public\r\nSet-Cookie: x=1"),
            ("TofuErrorCacheControl", ""),
            ("TofuAutoFormat", ""),
            ("TofuAutoFormat", "jpg"),
            ("TofuAutoFormat", "avif avif"),
            ("TofuAutoFormat", "avif On"),
            ("TofuAutoFormat", "Off webp"),
            ("TofuAutoFormat", "avif,webp"),
            ("TofuAutoFormat", "heic"),
        ] {
            assert!(set(&mut c, name, arg).is_err(), "{name} {arg}");
        }
    }
}
