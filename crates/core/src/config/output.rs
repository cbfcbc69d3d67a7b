//! `TofuDefaultQuality`, `TofuCacheControl`, `TofuErrorCacheControl`, `TofuAutoFormat`: how an
//! answer is encoded and how long caches keep it.

use super::values::{header_value, parse_count};
use super::{DirConfig, Directive};

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

/// `TofuAutoFormat On|Off`.
pub(super) const TOFU_AUTO_FORMAT: Directive = Directive::flag(
    c"TofuAutoFormat",
    c"On: URLs without an extension get WebP where the Accept header allows it (default Off)",
    |c, on| {
        c.auto_format = Some(on);
        Ok(())
    },
);

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
    fn defaults_and_values() {
        let c = DirConfig::default();
        assert_eq!(c.default_quality(), 82);
        assert_eq!(c.cache_control(), "public, max-age=31536000, immutable");
        assert_eq!(c.error_cache_control(), "public, max-age=60");
        assert!(!c.auto_format());
        let mut c = DirConfig::default();
        set(&mut c, "TofuDefaultQuality", "60").unwrap();
        set(&mut c, "TofuCacheControl", "public, max-age=600").unwrap();
        set(&mut c, "TofuAutoFormat", "On").unwrap();
        assert_eq!(c.default_quality(), 60);
        assert_eq!(c.cache_control(), "public, max-age=600");
        assert!(c.auto_format());
        for (name, arg) in [
            ("TofuDefaultQuality", "0"),
            ("TofuDefaultQuality", "101"),
            ("TofuCacheControl", "public\r\nSet-Cookie: x=1"),
            ("TofuErrorCacheControl", ""),
        ] {
            assert!(set(&mut c, name, arg).is_err(), "{name} {arg}");
        }
    }
}
