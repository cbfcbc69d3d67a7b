//! AVIF output (decoded back with libavif + dav1d) and the `b` background of flattened alpha.

use super::*;
use crate::ops::Background;

fn with_background(mut o: Ops, rgb: [u8; 3]) -> Ops {
    o.background = Some(Background(rgb));
    o
}

#[test]
fn avif_output_looks_like_the_jpeg_output() {
    let src = testdata("jpeg/baseline.jpg"); // 600×400
    let o = ops(Some(150), None, false);
    let avif = run_ok(&src, &job(o, Some(OutputFormat::Avif)));
    assert_eq!(
        (avif.format, avif.width, avif.height),
        (OutputFormat::Avif, 150, 100)
    );
    let (got, channels) = decode_output(&avif);
    assert_eq!(channels, 4);
    assert!(
        got.chunks_exact(4).all(|p| p[3] == 255),
        "an opaque source stays opaque"
    );
    let rgb: Vec<u8> = got
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let png = run_ok(&src, &job(o, Some(OutputFormat::Png)));
    let (want, _) = decode_output(&png);
    let diff = mean_diff(&want, &rgb);
    assert!(
        diff < 4.0,
        "AVIF differs from the lossless output by {diff} on average"
    );
}

#[test]
fn avif_is_deterministic_and_follows_q() {
    let src = testdata("jpeg/baseline.jpg");
    let o = ops(Some(280), Some(210), true);
    let first = run_ok(&src, &job(o, Some(OutputFormat::Avif)));
    for _ in 0..2 {
        let again = run_ok(&src, &job(o, Some(OutputFormat::Avif)));
        assert_eq!(
            again.bytes, first.bytes,
            "same pixels, same bytes (ETags depend on it)"
        );
    }
    let small = Ops {
        quality: Some(30),
        ..o
    };
    let large = Ops {
        quality: Some(95),
        ..o
    };
    let small = run_ok(&src, &job(small, Some(OutputFormat::Avif)))
        .bytes
        .len();
    let large = run_ok(&src, &job(large, Some(OutputFormat::Avif)))
        .bytes
        .len();
    assert!(
        small < first.bytes.len() && first.bytes.len() < large,
        "{small} {} {large}",
        first.bytes.len()
    );
}

#[test]
fn the_quality_mapping_is_monotonic_and_in_range() {
    let mut last = u8::MAX;
    for q in 1..=100u8 {
        let quantizer = super::super::encode::avif_quantizer(q);
        assert!(quantizer <= 63 && quantizer <= last, "q{q} → {quantizer}");
        last = quantizer;
    }
    assert!(super::super::encode::avif_quantizer(100) < super::super::encode::avif_quantizer(1));
}

#[test]
fn avif_keeps_alpha_and_gray() {
    let o = ops(Some(300), None, false);
    let alpha = run_ok(
        &testdata("other/landscape-alpha.webp"),
        &job(o, Some(OutputFormat::Avif)),
    );
    let (px, _) = decode_output(&alpha);
    assert!(px[3] < 10, "top-left corner should stay transparent");
    let centre = (100 * 300 + 150) * 4;
    assert!(px[centre + 3] > 245, "centre should be opaque");
    // A background changes nothing for a format that keeps alpha.
    let teal = with_background(o, [0, 128, 128]);
    let with_b = run_ok(
        &testdata("other/landscape-alpha.webp"),
        &job(teal, Some(OutputFormat::Avif)),
    );
    assert_eq!(with_b.bytes, alpha.bytes);

    let gray = run_ok(
        &testdata("jpeg/grayscale.jpg"),
        &job(ops(Some(150), None, false), Some(OutputFormat::Avif)),
    );
    let (px, _) = decode_output(&gray);
    let centre = (50 * 150 + 75) * 4;
    let (r, g, b) = (px[centre], px[centre + 1], px[centre + 2]);
    assert!(
        r.abs_diff(g) <= 2 && g.abs_diff(b) <= 2,
        "gray stays gray: {r} {g} {b}"
    );
}

#[test]
fn transparency_is_flattened_onto_the_background_for_jpeg_only() {
    let src = testdata("other/landscape-alpha.webp"); // transparent top-left corner
    let o = ops(Some(300), None, false);
    let teal = with_background(o, [0x00, 0x80, 0x80]);
    let (px, _) = decode_output(&run_ok(&src, &job(teal, Some(OutputFormat::Jpeg))));
    let corner = [px[0], px[1], px[2]];
    assert!(
        corner[0] < 8 && corner[1].abs_diff(0x80) < 8 && corner[2].abs_diff(0x80) < 8,
        "corner {corner:?}"
    );
    let (px, _) = decode_output(&run_ok(&src, &job(o, Some(OutputFormat::Jpeg))));
    assert!(
        px[..3].iter().all(|&v| v > 245),
        "white by default: {:?}",
        &px[..3]
    );
    // Formats that keep alpha ignore it.
    for format in [OutputFormat::Png, OutputFormat::WebP] {
        let plain = run_ok(&src, &job(o, Some(format)));
        assert_eq!(
            run_ok(&src, &job(teal, Some(format))).bytes,
            plain.bytes,
            "{format:?}"
        );
    }
    // An opaque source is not touched either.
    let opaque = testdata("jpeg/baseline.jpg");
    assert_eq!(
        run_ok(&opaque, &job(teal, Some(OutputFormat::Jpeg))).bytes,
        run_ok(&opaque, &job(o, Some(OutputFormat::Jpeg))).bytes
    );
    // Gray+alpha over a colour becomes a colour JPEG (PngSuite basn4a08: gray with alpha).
    let gray_alpha = testdata("pngsuite/basn4a08.png");
    let red = with_background(ops(Some(32), None, false), [255, 0, 0]);
    let e = run_ok(&gray_alpha, &job(red, Some(OutputFormat::Jpeg)));
    let header = libjpeg::Decoder::new(&e.bytes).unwrap().header();
    assert_eq!(header.color_space, libjpeg::ColorSpace::YCbCr);
}
