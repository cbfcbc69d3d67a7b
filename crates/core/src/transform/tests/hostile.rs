//! Inputs that are not what they claim: not images, corrupt and truncated files, every test
//! corpus in testdata/ (PngSuite with its corrupt files, image-png's regression files, the
//! imagetestsuite crash files) and the hostile set of testdata/hostile/. Each gets a valid image
//! or a clean 422, and nothing runs into the processing deadline.

use std::time::{Duration, Instant};

use super::*;

/// Runs every job on every image of `dirs`; returns (served, refused) counts and fails on any
/// other outcome.
fn sweep(dirs: &[&str], skip: &[&str]) -> (usize, usize) {
    let (mut served, mut refused) = (0, 0);
    let mut failures = Vec::new();
    for dir in dirs {
        for path in images(dir) {
            let name = file_name(&path);
            if skip.contains(&name) {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            for job in jobs() {
                match outcome(&path, &bytes, &job) {
                    Ok(Some(_)) => served += 1,
                    Ok(None) => refused += 1,
                    Err(e) => failures.push(e),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    (served, refused)
}

/// What each file of testdata/hostile/ must get: `Some(text)` = a 422 whose message has `text`,
/// `None` = a valid image.
fn expected(name: &str) -> Option<&'static str> {
    match name {
        "flood-65535.png" | "flood-65500.jpg" | "flood-65535.gif" | "flood-65535.webp" => {
            Some("pixels, above the limit")
        }
        // Past libjpeg's largest dimension (65500): refused while reading the header.
        "flood-65535.jpg" => Some(""),
        "zero-width.png" | "zero-height.png" | "zero-width.jpg" | "zero-height.jpg"
        | "zero-size.gif" => Some(""),
        "frame-flood-65535.gif" => Some(""),
        "scan-flood.jpg" => Some("scans"),
        "huge-chunk.png" | "truncated-header.jpg" | "truncated.webp" => Some("corrupt"),
        "html.jpg" | "svg.jpg" | "empty.jpg" => Some("not an image"),
        "only-magic.jpg" => Some("corrupt"),
        "idat-bomb.png" | "ztxt-bomb.png" | "itxt-bomb.png" | "iccp-bomb.png"
        | "chunk-flood.png" | "frame-flood.gif" | "frame-flood.webp" | "exif-loop.jpg"
        | "exif-overrun.jpg" | "truncated-data.jpg" | "big-rgba16.png" => None,
        // Colour profiles that are broken or lie: ignored (transform/tests/colour.rs).
        "icc-segments.jpg" | "icc-lies.jpg" | "icc-huge-clut.jpg" | "iccp-garbage.png"
        | "iccp-lies.webp" => None,
        other => panic!("testdata/hostile/{other}: no expected outcome written down"),
    }
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
fn truncated_files_get_an_image_or_a_clean_422() {
    for path in [
        "jpeg/baseline.jpg",
        "jpeg/progressive.jpg",
        "other/landscape.gif",
        "other/landscape-lossy.webp",
        "other/small-lossless-alpha.webp",
        "pngsuite/basi6a08.png",
        "pngsuite/basn2c16.png",
    ] {
        let bytes = testdata(path);
        let step = (bytes.len() / 24).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let job = job(ops(Some(40), Some(40), false), Some(OutputFormat::Png));
            if let Err(e) = run(&bytes[..cut], &job, &LIMITS) {
                assert_eq!(e.status(), 422, "{path} cut at {cut}: {e}");
            }
        }
    }
}

#[test]
fn crash_files_get_an_image_or_a_clean_422() {
    let (served, refused) = sweep(
        &[
            "imagetestsuite/jpg",
            "imagetestsuite/gif",
            "imagetestsuite/png",
        ],
        &[],
    );
    // Most of these files are damaged beyond use, some still decode: both kinds must be there.
    assert!(
        served > 100 && refused > 100,
        "{served} served, {refused} refused"
    );
}

#[test]
fn every_valid_pngsuite_file_is_served_and_every_corrupt_one_refused() {
    for dir in ["pngsuite", "pngsuite-extra", "png-bugfixes"] {
        for path in images(dir) {
            let name = file_name(&path).to_string();
            let bytes = std::fs::read(&path).unwrap();
            // PngSuite names corrupt files x*, image-png's regression files x_*.
            let corrupt = name.starts_with('x');
            for job in jobs() {
                match outcome(&path, &bytes, &job) {
                    Ok(Some(_)) => assert!(!corrupt, "{dir}/{name}: a corrupt file was served"),
                    Ok(None) => assert!(corrupt, "{dir}/{name}: a valid file was refused"),
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }
}

#[test]
fn hostile_inputs_get_what_they_must() {
    let mut seen = 0;
    for path in images("hostile") {
        let name = file_name(&path);
        if name == "big-rgba16.png" {
            continue; // 392 MB of pixels: see the test below
        }
        let bytes = std::fs::read(&path).unwrap();
        let want = expected(name);
        for job in jobs() {
            let started = Instant::now();
            let result = run(&bytes, &job, &LIMITS);
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{name} took too long"
            );
            match (result, want) {
                (Ok(encoded), None) => assert!(probe(&encoded.bytes, &LIMITS).is_ok(), "{name}"),
                (Err(e), Some(text)) => {
                    assert_eq!(e.status(), 422, "{name}: {e}");
                    assert!(e.to_string().contains(text), "{name}: {e}");
                }
                (Ok(_), Some(_)) => panic!("{name} was served"),
                (Err(e), None) => panic!("{name}: {e}"),
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 34, "hostile files tried");
}
