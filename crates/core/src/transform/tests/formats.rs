//! Source formats and their variants: JPEG (progressive, CMYK, grayscale), PngSuite's colour
//! types, GIF, WebP with and without alpha.

use super::*;

#[test]
fn jpeg_variants_decode() {
    let baseline = testdata("jpeg/baseline.jpg"); // 600×400
    let o = ops(Some(150), None, false);
    let (want, _) = decode_output(&run_ok(&baseline, &job(o, None)));

    let progressive = run_ok(&testdata("jpeg/progressive.jpg"), &job(o, None));
    assert_eq!((progressive.width, progressive.height), (150, 100));
    let (got, _) = decode_output(&progressive);
    assert!(mean_diff(&want, &got) < 3.0);

    // Adobe YCCK with inverted CMYK values: looks like the RGB original. ImageMagick made it with
    // the naive formula and no profile; the built-in FOGRA39 profile reads it as press colours,
    // 20 from the original (the naive reading was 8; an un-inverted one, a negative, is >100).
    let cmyk = run_ok(&testdata("jpeg/cmyk.jpg"), &job(o, None));
    let (got, _) = decode_output(&cmyk);
    let diff = mean_diff(&want, &got);
    assert!(diff < 25.0, "CMYK mean difference {diff}");

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
    // Through the built-in FOGRA39 profile, magenta + yellow ink is a press red (228, 8, 21).
    let red = centre(&plain);
    assert!(red[0] > 210 && red[1] < 30 && red[2] < 40, "{red:?}");
    // Read as Adobe-inverted, the same values mean full cyan and full black ink: (0, 16, 32).
    let black = centre(&with_marker);
    assert!(black.iter().all(|&v| v < 45), "{black:?}");
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
