//! End-to-end tests of `run` on the real images in testdata/ (see testdata/README.md).

use super::*;
use crate::ops::{Gravity, Region};

fn testdata(path: &str) -> Vec<u8> {
    let full = format!("{}/{path}", crate::TESTDATA);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

const LIMITS: Limits = Limits {
    max_source_pixels: 50_000_000,
};

use crate::ops::sized as ops;

fn job(ops: Ops, format: Option<OutputFormat>) -> Job {
    Job {
        ops,
        format,
        default_quality: 82,
    }
}

fn run_ok(source: &[u8], job: &Job) -> Encoded {
    run(source, job, &LIMITS).unwrap_or_else(|e| panic!("{e}"))
}

/// Decodes an output back to 8-bit RGB(A) with its channel count, checking its magic.
fn decode_output(e: &Encoded) -> (Vec<u8>, usize) {
    match e.format {
        OutputFormat::Jpeg => {
            assert_eq!(sniff(&e.bytes), Some(SourceFormat::Jpeg));
            let img = libjpeg::decode_all(&e.bytes, libjpeg::Output::Rgb).unwrap();
            assert_eq!((img.width, img.height), (e.width, e.height));
            (img.data, 3)
        }
        OutputFormat::Png | OutputFormat::WebP => {
            let want = if e.format == OutputFormat::Png {
                SourceFormat::Png
            } else {
                SourceFormat::WebP
            };
            assert_eq!(sniff(&e.bytes), Some(want));
            let img = image::load_from_memory(&e.bytes).unwrap();
            assert_eq!((img.width(), img.height()), (e.width, e.height));
            if img.color().has_alpha() {
                (img.into_rgba8().into_raw(), 4)
            } else {
                (img.into_rgb8().into_raw(), 3)
            }
        }
    }
}

/// Mean absolute difference per sample of two same-sized RGB images.
fn mean_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}

fn unprocessable(result: Result<Encoded, TofuError>) -> String {
    match result {
        Err(TofuError::Unprocessable(msg)) => msg,
        other => panic!("expected Unprocessable, got {other:?}"),
    }
}

#[test]
fn jpeg_fit_fill_width_height_dimensions() {
    let src = testdata("exif-orientation/Landscape_1.jpg"); // 1800×1200
    let cases = [
        (ops(Some(280), Some(210), false), (280, 187)),
        (ops(Some(280), Some(210), true), (280, 210)),
        (ops(Some(300), None, false), (300, 200)),
        (ops(None, Some(100), false), (150, 100)),
        (ops(Some(4000), None, false), (1800, 1200)), // never upscaled
        (ops(Some(2000), Some(2000), true), (1200, 1200)), // fill, never upscaled
        (ops(Some(1), Some(1), true), (1, 1)),
    ];
    for (o, want) in cases {
        let e = run_ok(&src, &job(o, None));
        assert_eq!(e.format, OutputFormat::Jpeg);
        assert_eq!((e.width, e.height), want, "{o:?}");
        decode_output(&e);
    }
    let portrait = testdata("exif-orientation/Portrait_1.jpg"); // 1200×1800
    let e = run_ok(&portrait, &job(ops(Some(280), Some(210), false), None));
    assert_eq!((e.width, e.height), (140, 210));
}

#[test]
fn region_is_cut_from_the_oriented_image() {
    let src = testdata("exif-orientation/Landscape_1.jpg");
    let mut o = ops(Some(400), None, false);
    o.region = Some(Region {
        x: 100,
        y: 50,
        width: 800,
        height: 600,
    });
    let e = run_ok(&src, &job(o, None));
    assert_eq!((e.width, e.height), (400, 300));

    o.region = Some(Region {
        x: 1000,
        y: 0,
        width: 900,
        height: 100,
    });
    match run(&src, &job(o, None), &LIMITS) {
        Err(TofuError::OutOfRange(msg)) => {
            assert_eq!(msg, "region 1000,0,900,100 is outside the 1800x1200 image")
        }
        other => panic!("{other:?}"),
    }
    // Landscape_6 is stored 1200×1800 but upright 1800×1200: the same region is valid.
    let rotated = testdata("exif-orientation/Landscape_6.jpg");
    o.region = Some(Region {
        x: 1000,
        y: 0,
        width: 800,
        height: 100,
    });
    let e = run_ok(&rotated, &job(o, None));
    assert_eq!((e.width, e.height), (400, 50));
}

#[test]
fn exif_orientations_all_come_out_upright() {
    let reference = testdata("exif-orientation/Landscape_1.jpg");
    // Landscape_6 and _8 always; the others (2..5, 7) where testdata has them.
    let turned: Vec<String> = (2..=8)
        .map(|n| format!("Landscape_{n}.jpg"))
        .filter(|name| {
            let path = format!("{}/exif-orientation/{name}", crate::TESTDATA);
            name.contains('6') || name.contains('8') || std::path::Path::new(&path).exists()
        })
        .collect();
    for o in [
        ops(Some(280), Some(210), true),
        ops(Some(300), None, false),
        ops(Some(900), None, false), // 1/2 DCT scale
        {
            let mut o = ops(Some(200), Some(200), true);
            o.gravity = Gravity::NorthEast;
            o.region = Some(Region {
                x: 900,
                y: 100,
                width: 800,
                height: 500,
            });
            o
        },
    ] {
        let want = run_ok(&reference, &job(o, Some(OutputFormat::Png)));
        let (want_px, _) = decode_output(&want);
        for name in &turned {
            let src = testdata(&format!("exif-orientation/{name}"));
            let probe = probe(&src, &LIMITS).unwrap();
            assert_eq!((probe.width, probe.height), (1800, 1200), "{name}");
            let got = run_ok(&src, &job(o, Some(OutputFormat::Png)));
            assert_eq!((got.width, got.height), (want.width, want.height), "{name}");
            let (got_px, _) = decode_output(&got);
            let diff = mean_diff(&want_px, &got_px);
            assert!(diff < 4.0, "{name} {o:?}: mean difference {diff}");
        }
    }
    assert_eq!(probe(&reference, &LIMITS).unwrap().orientation.value(), 1);
    let six = testdata("exif-orientation/Landscape_6.jpg");
    assert_eq!(probe(&six, &LIMITS).unwrap().orientation.value(), 6);
}

#[test]
fn jpeg_variants_decode() {
    let baseline = testdata("jpeg/baseline.jpg"); // 600×400
    let o = ops(Some(150), None, false);
    let (want, _) = decode_output(&run_ok(&baseline, &job(o, None)));

    let progressive = run_ok(&testdata("jpeg/progressive.jpg"), &job(o, None));
    assert_eq!((progressive.width, progressive.height), (150, 100));
    let (got, _) = decode_output(&progressive);
    assert!(mean_diff(&want, &got) < 3.0);

    // Adobe YCCK with inverted CMYK values: looks like the RGB original.
    let cmyk = run_ok(&testdata("jpeg/cmyk.jpg"), &job(o, None));
    let (got, _) = decode_output(&cmyk);
    let diff = mean_diff(&want, &got);
    assert!(diff < 12.0, "CMYK mean difference {diff}");

    // Grayscale stays a one-channel JPEG.
    let gray = run_ok(&testdata("jpeg/grayscale.jpg"), &job(o, None));
    let header = libjpeg::Decoder::new(&gray.bytes).unwrap().header();
    assert_eq!(header.color_space, libjpeg::ColorSpace::Gray);
    assert_eq!((gray.width, gray.height), (150, 100));
    // …and becomes RGB only where the format needs it.
    let gray_webp = run_ok(
        &testdata("jpeg/grayscale.jpg"),
        &job(o, Some(OutputFormat::WebP)),
    );
    decode_output(&gray_webp);
    let gray_png = run_ok(
        &testdata("jpeg/grayscale.jpg"),
        &job(o, Some(OutputFormat::Png)),
    );
    let img = image::load_from_memory(&gray_png.bytes).unwrap();
    assert_eq!(img.color(), image::ColorType::L8);
}

#[test]
fn plain_cmyk_without_adobe_marker_is_not_inverted() {
    // Red as ink amounts: C=0 M=255 Y=255 K=0, written as a CMYK JPEG by libjpeg-turbo.
    let (w, h) = (32usize, 16usize);
    let pixels = [0u8, 255, 255, 0].repeat(w * h);
    let options = libjpeg::EncodeOptions {
        quality: 95,
        progressive: false,
        optimize: false,
    };
    let with_marker = libjpeg::encode(&pixels, w as u32, h as u32, 4, options).unwrap();
    // libjpeg always writes an Adobe marker for CMYK; cut it out for the plain variant.
    let at = with_marker
        .windows(7)
        .position(|s| s[0] == 0xFF && s[1] == 0xEE && &s[4..7] == b"Ado")
        .expect("Adobe marker");
    let len = usize::from(u16::from_be_bytes([
        with_marker[at + 2],
        with_marker[at + 3],
    ]));
    let mut plain = with_marker.clone();
    plain.drain(at..at + 2 + len);
    assert!(!jpeg::markers(&plain).adobe);
    assert!(jpeg::markers(&with_marker).adobe);

    let o = ops(Some(16), None, false);
    let centre = |bytes: &[u8]| {
        let (px, _) = decode_output(&run_ok(bytes, &job(o, Some(OutputFormat::Png))));
        let i = (4 * 16 + 8) * 3;
        [px[i], px[i + 1], px[i + 2]]
    };
    let red = centre(&plain);
    assert!(red[0] > 240 && red[1] < 15 && red[2] < 15, "{red:?}");
    // Read as Adobe-inverted, the same values mean full cyan and full black ink.
    let black = centre(&with_marker);
    assert!(black.iter().all(|&v| v < 15), "{black:?}");
}

#[test]
fn pngsuite_colour_types_decode() {
    for (name, want_alpha) in [
        ("basn0g01.png", false),
        ("basn0g16.png", false),
        ("basn2c16.png", false),
        ("basn3p08.png", false),
        ("basn4a08.png", true),
        ("basn6a16.png", true),
        ("basi6a08.png", true),
        ("tbrn2c08.png", true),
    ] {
        let src = testdata(&format!("pngsuite/{name}"));
        let probe = probe(&src, &LIMITS).unwrap();
        assert_eq!(
            (probe.format, probe.width, probe.height),
            (SourceFormat::Png, 32, 32),
            "{name}"
        );
        let e = run_ok(&src, &job(ops(Some(20), None, false), None));
        assert_eq!(
            (e.format, e.width, e.height),
            (OutputFormat::Png, 20, 20),
            "{name}"
        );
        let (_, channels) = decode_output(&e);
        assert_eq!(channels == 4, want_alpha, "{name}");
        // Every one also goes to JPEG (alpha flattened) and WebP.
        for format in [OutputFormat::Jpeg, OutputFormat::WebP] {
            let e = run_ok(&src, &job(ops(Some(20), None, false), Some(format)));
            decode_output(&e);
        }
    }
    // Opaque 16-bit gray keeps its gray level: basn0g16 goes 0..65535 left to right-ish; check
    // the output is gray (R = G = B) at least.
    let e = run_ok(
        &testdata("pngsuite/basn0g16.png"),
        &job(ops(Some(32), None, false), None),
    );
    let img = image::load_from_memory(&e.bytes).unwrap();
    assert_eq!(img.color(), image::ColorType::L8);
}

#[test]
fn gif_and_webp_decode() {
    let o = ops(Some(300), None, false);
    let gif = run_ok(&testdata("other/landscape.gif"), &job(o, None));
    assert_eq!(
        (gif.format, gif.width, gif.height),
        (OutputFormat::Png, 300, 200)
    );
    decode_output(&gif);

    let lossy = run_ok(&testdata("other/landscape-lossy.webp"), &job(o, None));
    assert_eq!(
        (lossy.format, lossy.width, lossy.height),
        (OutputFormat::WebP, 300, 200)
    );
    let (_, channels) = decode_output(&lossy);
    assert_eq!(channels, 3);

    let alpha = run_ok(&testdata("other/landscape-alpha.webp"), &job(o, None));
    let (px, channels) = decode_output(&alpha);
    assert_eq!(channels, 4);
    assert!(px[3] < 10, "top-left corner should be transparent");
    let centre = (100 * 300 + 150) * 4;
    assert!(px[centre + 3] > 245, "centre should be opaque");

    let lossless = run_ok(
        &testdata("other/small-lossless-alpha.webp"),
        &job(ops(Some(100), None, false), Some(OutputFormat::Png)),
    );
    let (px, channels) = decode_output(&lossless);
    assert_eq!(channels, 4);
    assert_eq!(px[3], 0);

    // A transparent source as JPEG is flattened on white.
    let flat = run_ok(
        &testdata("other/landscape-alpha.webp"),
        &job(o, Some(OutputFormat::Jpeg)),
    );
    let (px, _) = decode_output(&flat);
    assert!(px[..3].iter().all(|&v| v > 245), "corner {:?}", &px[..3]);
}

#[test]
fn output_format_follows_the_job_then_the_source() {
    let src = testdata("jpeg/baseline.jpg");
    let o = ops(Some(100), None, false);
    for (want, format) in [
        (OutputFormat::Jpeg, None),
        (OutputFormat::Png, Some(OutputFormat::Png)),
        (OutputFormat::WebP, Some(OutputFormat::WebP)),
        (OutputFormat::Jpeg, Some(OutputFormat::Jpeg)),
    ] {
        let e = run_ok(&src, &job(o, format));
        assert_eq!(e.format, want);
        decode_output(&e);
    }
    // The format is decided by the bytes, never a name: PNG bytes give PNG output.
    let png = testdata("pngsuite/basn2c16.png");
    assert_eq!(run_ok(&png, &job(o, None)).format, OutputFormat::Png);
}

#[test]
fn not_images_are_unprocessable() {
    for bytes in [
        &b"<!DOCTYPE html><html><body>hi</body></html>"[..],
        b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        b"",
        b"II*\0\x08\0\0\0",
    ] {
        let msg = unprocessable(run(bytes, &job(ops(Some(10), None, false), None), &LIMITS));
        assert_eq!(msg, "not an image format we decode");
    }
}

#[test]
fn corrupt_files_are_unprocessable_not_panics() {
    let o = ops(Some(10), None, false);
    for name in [
        "xs1n0g01.png",
        "xcrn0g04.png",
        "xhdn0g08.png",
        "xd0n2c08.png",
    ] {
        let src = testdata(&format!("pngsuite/{name}"));
        unprocessable(run(&src, &job(o, None), &LIMITS));
    }
    let jpeg = testdata("jpeg/baseline.jpg");
    // Cut inside the header: nothing to decode.
    unprocessable(run(&jpeg[..300], &job(o, None), &LIMITS));
    // Garbage after valid magic.
    let mut garbage = vec![0xFF, 0xD8, 0xFF];
    garbage.extend((0..2000u32).map(|i| (i * 7919 % 251) as u8));
    unprocessable(run(&garbage, &job(o, None), &LIMITS));
    let png = testdata("pngsuite/basn2c16.png");
    unprocessable(run(&png[..png.len() / 2], &job(o, None), &LIMITS));
    let webp = testdata("other/landscape-lossy.webp");
    unprocessable(run(&webp[..webp.len() / 2], &job(o, None), &LIMITS));
    let gif = testdata("other/landscape.gif");
    unprocessable(run(&gif[..gif.len() / 2], &job(o, None), &LIMITS));
}

#[test]
fn truncated_jpeg_is_served_like_browsers_do() {
    // libjpeg reports a missing tail as a warning and fills it with grey: the image is usable.
    let jpeg = testdata("jpeg/baseline.jpg");
    let e = run_ok(
        &jpeg[..jpeg.len() * 2 / 3],
        &job(ops(Some(100), None, false), None),
    );
    assert_eq!((e.width, e.height), (100, 67));
}

#[test]
fn pixel_limit_is_checked_from_the_header() {
    let src = testdata("exif-orientation/Landscape_1.jpg");
    let small = Limits {
        max_source_pixels: 1000,
    };
    let msg = unprocessable(run(&src, &job(ops(Some(10), None, false), None), &small));
    assert_eq!(msg, "source has 2160000 pixels, above the limit 1000");
    assert!(probe(&src, &small).is_err());
    // Exactly at the limit is fine.
    let exact = Limits {
        max_source_pixels: 1800 * 1200,
    };
    assert!(run(&src, &job(ops(Some(10), None, false), None), &exact).is_ok());

    // Headers that claim huge images with no data behind them: refused from the header alone.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let ihdr_data = [
        &100_000u32.to_be_bytes()[..],
        &100_000u32.to_be_bytes(),
        &[8, 2, 0, 0, 0],
    ]
    .concat();
    png.extend_from_slice(&ihdr_data);
    let crc = crc32(&[&b"IHDR"[..], &ihdr_data].concat());
    png.extend_from_slice(&crc.to_be_bytes());
    let msg = unprocessable(run(&png, &job(ops(Some(10), None, false), None), &LIMITS));
    assert_eq!(
        msg,
        "source has 10000000000 pixels, above the limit 50000000"
    );

    // A JPEG whose SOF says 60000×60000.
    let mut jpeg = testdata("jpeg/baseline.jpg");
    let sof = jpeg
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&60000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&60000u16.to_be_bytes());
    let msg = unprocessable(run(&jpeg, &job(ops(Some(10), None, false), None), &LIMITS));
    assert_eq!(
        msg,
        "source has 3600000000 pixels, above the limit 50000000"
    );

    // A GIF whose logical screen is 65535×65535.
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0]);
    gif.push(0x3B);
    let msg = unprocessable(run(&gif, &job(ops(Some(10), None, false), None), &LIMITS));
    assert!(msg.starts_with("source has 4294836225 pixels"), "{msg}");
}

/// CRC-32 (PNG's), for building test headers.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn jpeg_quality_changes_the_bytes() {
    let src = testdata("jpeg/baseline.jpg");
    let mut o = ops(Some(300), None, false);
    o.quality = Some(30);
    let low = run_ok(&src, &job(o, None));
    o.quality = Some(95);
    let high = run_ok(&src, &job(o, None));
    assert_ne!(low.bytes, high.bytes);
    assert!(low.bytes.len() < high.bytes.len());
    // The default quality applies when the URL has none.
    o.quality = None;
    let mut j = job(o, None);
    j.default_quality = 30;
    assert_eq!(run_ok(&src, &j).bytes, low.bytes);
    // WebP too.
    o.quality = Some(30);
    let low = run_ok(&src, &job(o, Some(OutputFormat::WebP)));
    o.quality = Some(95);
    let high = run_ok(&src, &job(o, Some(OutputFormat::WebP)));
    assert!(low.bytes.len() < high.bytes.len());
}

#[test]
fn output_is_deterministic() {
    let src = testdata("exif-orientation/Landscape_6.jpg");
    let alpha = testdata("other/landscape-alpha.webp");
    for format in [OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::WebP] {
        let j = job(ops(Some(280), Some(210), true), Some(format));
        assert_eq!(run_ok(&src, &j).bytes, run_ok(&src, &j).bytes, "{format:?}");
        assert_eq!(
            run_ok(&alpha, &j).bytes,
            run_ok(&alpha, &j).bytes,
            "{format:?}"
        );
    }
}

#[test]
fn no_metadata_is_written() {
    // Landscape_6 carries EXIF; the output must not (no APP1 Exif, no ICC).
    let src = testdata("exif-orientation/Landscape_6.jpg");
    let e = run_ok(&src, &job(ops(Some(200), None, false), None));
    assert_eq!(jpeg::markers(&e.bytes).exif, None);
    assert!(!e.bytes.windows(12).any(|w| w == b"ICC_PROFILE\0"));
    let e = run_ok(
        &src,
        &job(ops(Some(200), None, false), Some(OutputFormat::Png)),
    );
    assert!(!e.bytes.windows(4).any(|w| w == b"eXIf" || w == b"iCCP"));
}
