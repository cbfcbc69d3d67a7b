//! EXIF orientation: every example of testdata/exif-orientation/ comes out upright.

use super::*;
use crate::ops::{Gravity, Region};

#[test]
fn exif_orientations_all_come_out_upright() {
    let reference = testdata("exif-orientation/Landscape_1.jpg");
    // Landscape_6 and _8 always; the others (2..5, 7) where testdata has them.
    let turned: Vec<String> = (2..=8)
        .map(|n| format!("Landscape_{n}.jpg"))
        .filter(|name| {
            name.contains('6')
                || name.contains('8')
                || testdata_path(&format!("exif-orientation/{name}")).exists()
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
fn every_exif_orientation_example_is_served_upright() {
    for path in images("exif-orientation") {
        let bytes = std::fs::read(&path).unwrap();
        let name = file_name(&path);
        let (w, h) = outcome(&path, &bytes, &job(ops(Some(64), Some(64), false), None))
            .unwrap()
            .unwrap_or_else(|| panic!("{name} was refused"));
        // Upright, Landscape_N is 1800x1200 and Portrait_N 1200x1800, whatever N.
        let want = if name.starts_with("Landscape") {
            (64, 43)
        } else {
            (43, 64)
        };
        assert_eq!((w, h), want, "{name}");
    }
}
