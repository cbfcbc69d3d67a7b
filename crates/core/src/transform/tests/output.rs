//! What is written: the output format, the quality, the same bytes every time, no metadata.

use super::*;

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
