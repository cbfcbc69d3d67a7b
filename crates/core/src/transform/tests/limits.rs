//! Limits checked before the work: the pixel limit from the header alone, the processing
//! deadline.

use std::time::Duration;

use super::*;

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

#[test]
fn the_largest_allowed_png_is_decoded_and_one_pixel_more_refused() {
    // 7000x7000 RGBA 16 bit, all zeros: exactly what TofuMaxSourcePixels allows at 49 Mpx.
    let bytes = testdata("hostile/big-rgba16.png");
    let tight = Limits {
        max_source_pixels: 7000 * 7000 - 1,
    };
    let e = run(&bytes, &job(ops(Some(64), Some(64), false), None), &tight).unwrap_err();
    assert!(e.to_string().contains("above the limit"), "{e}");
    let p = probe(&bytes, &LIMITS).unwrap();
    assert_eq!((p.width, p.height), (7000, 7000));
}

#[test]
fn a_transform_past_its_deadline_is_a_422() {
    let late = Deadline::after(Duration::ZERO);
    for path in [
        "other/landscape.gif",
        "pngsuite/basn6a16.png",
        "jpeg/baseline.jpg",
        // At 1/4 (64 px of 600): tofu-jpeg's check between rows of blocks.
        "jpeg/progressive.jpg",
    ] {
        let bytes = testdata(path);
        let e = run_until(
            &bytes,
            &job(ops(Some(64), Some(64), false), None),
            &LIMITS,
            late,
        )
        .unwrap_err();
        assert_eq!(e.status(), 422, "{path}");
        assert!(e.to_string().contains("longer than 0 s"), "{path}: {e}");
    }
}
