//! `TofuMaxSourceBytes`, `TofuMaxSourcePixels`, `TofuMaxOutputDimension`: what an original or
//! a URL may cost, refused (422, 400) before anything is allocated for it.

use super::values::count_up_to;
use super::{DirConfig, Directive};

macro_rules! default_max_source_mib {
    () => {
        32
    };
}
macro_rules! default_max_source_pixels {
    () => {
        50000000
    };
}
macro_rules! default_max_output_dimension {
    () => {
        4096
    };
}

/// `TofuMaxSourceBytes` default: 32 MiB.
pub const DEFAULT_MAX_SOURCE_BYTES: u64 = default_max_source_mib!() << 20;
/// `TofuMaxSourcePixels` default.
pub const DEFAULT_MAX_SOURCE_PIXELS: u64 = default_max_source_pixels!();
/// `TofuMaxOutputDimension` default.
pub const DEFAULT_MAX_OUTPUT_DIMENSION: u32 = default_max_output_dimension!();
/// Largest value `TofuMaxSourceBytes` accepts: a whole original is held in memory, and the
/// arithmetic on sizes must never overflow.
pub const MAX_SOURCE_BYTES_LIMIT: u64 = 4 << 30;
/// Largest value `TofuMaxSourcePixels` accepts (4 GB of RGBA pixels).
pub const MAX_SOURCE_PIXELS_LIMIT: u64 = 1_000_000_000;
/// Largest value `TofuMaxOutputDimension` accepts (JPEG's own limit).
pub const MAX_OUTPUT_DIMENSION_LIMIT: u32 = 65_500;

/// `TofuMaxSourceBytes N`.
pub(super) const TOFU_MAX_SOURCE_BYTES: Directive = Directive::one(
    c"TofuMaxSourceBytes",
    cstr!(
        "largest original accepted, in bytes (K, M, G suffixes allowed, at most 4G; default ",
        default_max_source_mib!(),
        "M)"
    ),
    set_max_source_bytes,
);

fn set_max_source_bytes(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let most = format!("{MAX_SOURCE_BYTES_LIMIT} (4G)");
    c.max_source_bytes = Some(count_up_to(arg, true, MAX_SOURCE_BYTES_LIMIT, &most)?);
    Ok(())
}

/// `TofuMaxSourcePixels N`.
pub(super) const TOFU_MAX_SOURCE_PIXELS: Directive = Directive::one(
    c"TofuMaxSourcePixels",
    cstr!(
        "largest original accepted, in width x height pixels (default ",
        default_max_source_pixels!(),
        ")"
    ),
    set_max_source_pixels,
);

fn set_max_source_pixels(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let most = MAX_SOURCE_PIXELS_LIMIT.to_string();
    c.max_source_pixels = Some(count_up_to(arg, false, MAX_SOURCE_PIXELS_LIMIT, &most)?);
    Ok(())
}

/// `TofuMaxOutputDimension N`.
pub(super) const TOFU_MAX_OUTPUT_DIMENSION: Directive = Directive::one(
    c"TofuMaxOutputDimension",
    cstr!(
        "largest width or height a URL may ask for (default ",
        default_max_output_dimension!(),
        ")"
    ),
    set_max_output_dimension,
);

fn set_max_output_dimension(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let most = u64::from(MAX_OUTPUT_DIMENSION_LIMIT);
    let n = count_up_to(arg, false, most, &most.to_string())?;
    c.max_output_dimension = Some(n as u32);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::set;
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let c = DirConfig::default();
        assert_eq!(c.max_source_bytes(), 32 * 1024 * 1024);
        assert_eq!(c.max_source_pixels(), 50_000_000);
        assert_eq!(c.max_output_dimension(), 4096);
        let mut c = DirConfig::default();
        set(&mut c, "TofuMaxSourceBytes", "8M").unwrap();
        assert_eq!(c.max_source_bytes(), 8 << 20);
        for (name, arg) in [
            ("TofuMaxSourceBytes", "0"),
            ("TofuMaxSourceBytes", "-1"),
            ("TofuMaxSourceBytes", "99999999999G"),
            ("TofuMaxSourceBytes", "18446744073709551615"),
            ("TofuMaxSourceBytes", "5G"),
            ("TofuMaxSourcePixels", "10M"),
            ("TofuMaxSourcePixels", "2000000000"),
            ("TofuMaxOutputDimension", "70000"),
            ("TofuMaxOutputDimension", "abc"),
        ] {
            assert!(set(&mut c, name, arg).is_err(), "{name} {arg}");
        }
    }
}
