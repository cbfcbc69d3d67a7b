//! The whole transform pipeline (sniff, header, limits, decode, orient, resize, encode in every
//! output format, with or without a `b` background) on any bytes: never panics, answers an image no larger than asked or a 422, within the deadline.
//! The pixel limit is 4 Mpx here (TofuMaxSourcePixels' default is 50) so that each run is short;
//! the code paths are the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tofu_core::ops::{Background, Gravity, Ops, OutputFormat, Size};
use tofu_core::transform::{run, Job, Limits};

const LIMITS: Limits = Limits {
    max_source_pixels: 4_000_000,
};

fuzz_target!(|data: &[u8]| {
    // The first three bytes choose the job; the rest is the original.
    let [a, b, c, source @ ..] = data else {
        return;
    };
    let width = u32::from(a & 0x3F) + 1;
    let height = u32::from(b & 0x3F) + 1;
    let format = match c % 5 {
        0 => None,
        1 => Some(OutputFormat::Jpeg),
        2 => Some(OutputFormat::Png),
        3 => Some(OutputFormat::WebP),
        _ => Some(OutputFormat::Avif),
    };
    // The `b` option: a colour from the job bytes, or none.
    let background = (a & 0x40 != 0).then_some(Background([*c, a ^ b, *b]));
    let job = Job {
        ops: Ops {
            size: Size {
                width: Some(width),
                height: (b & 0x40 != 0).then_some(height),
                fill: b & 0x80 != 0 && b & 0x40 != 0,
            },
            quality: None,
            region: None,
            gravity: Gravity::Centre,
            background,
        },
        format,
        default_quality: 82,
    };
    match run(source, &job, &LIMITS) {
        Ok(encoded) => {
            assert!(!encoded.bytes.is_empty());
            assert!(encoded.width >= 1 && encoded.width <= width);
            assert!(encoded.height >= 1);
        }
        Err(e) => assert_eq!(e.status(), 422, "{e}"),
    }
});
