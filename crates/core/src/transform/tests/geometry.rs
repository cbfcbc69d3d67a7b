//! Output sizes: fit, fill, width or height alone, never upscaled; regions cut from the
//! upright image.

use super::*;
use crate::ops::Region;

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
