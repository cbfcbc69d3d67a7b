//! Every test corpus in testdata/ (PngSuite with its corrupt files, image-png's regression files,
//! the imagetestsuite crash files, the EXIF orientations) and the hostile set of
//! testdata/hostile/ through [`run`]: each gets a valid image or a clean 422, and nothing runs
//! into the processing deadline.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;
use crate::ops::{Gravity, Size};

const LIMITS: Limits = Limits {
    max_source_pixels: 50_000_000,
};

fn root() -> PathBuf {
    Path::new(crate::TESTDATA).to_path_buf()
}

/// The image files of a testdata folder (licences, READMEs and scripts left out), sorted.
fn images(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("testdata/{dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            matches!(ext, "png" | "jpg" | "gif" | "webp")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "testdata/{dir} has no images");
    files
}

fn job(width: u32, height: u32, fill: bool, format: Option<OutputFormat>) -> Job {
    Job {
        ops: Ops {
            size: Size {
                width: Some(width),
                height: Some(height),
                fill,
            },
            quality: None,
            region: None,
            gravity: Gravity::Centre,
        },
        format,
        default_quality: 82,
    }
}

/// The jobs every file goes through: a fit in the source's format, a JPEG fill-crop, a WebP.
fn jobs() -> [Job; 3] {
    [
        job(64, 64, false, None),
        job(120, 80, true, Some(OutputFormat::Jpeg)),
        job(50, 50, false, Some(OutputFormat::WebP)),
    ]
}

/// Runs `job` on `path`: `Ok(Some(size))` for an image whose output decodes again to the size it
/// claims, `Ok(None)` for a clean 422, `Err` for anything else (another status, a panic is a test
/// failure by itself, an output that does not decode, a deadline hit).
fn outcome(path: &Path, bytes: &[u8], job: &Job) -> Result<Option<(u32, u32)>, String> {
    let name = path.display();
    let started = Instant::now();
    let result = run(bytes, job, &LIMITS);
    let took = started.elapsed();
    if took > PROCESSING_DEADLINE {
        return Err(format!("{name}: {took:?}, beyond the deadline"));
    }
    match result {
        Ok(encoded) => {
            let again = probe(&encoded.bytes, &LIMITS)
                .map_err(|e| format!("{name}: the output does not decode: {e}"))?;
            if (again.width, again.height) != (encoded.width, encoded.height) {
                return Err(format!("{name}: output size disagrees with its header"));
            }
            let size = job.ops.size;
            if Some(encoded.width) > size.width || Some(encoded.height) > size.height {
                return Err(format!("{name}: output larger than asked"));
            }
            Ok(Some((encoded.width, encoded.height)))
        }
        Err(e) if e.status() == 422 && e.to_string().contains("longer than") => {
            Err(format!("{name}: hit the processing deadline: {e}"))
        }
        Err(e) if e.status() == 422 && e.public_message().is_some_and(|m| !m.is_empty()) => {
            Ok(None)
        }
        Err(e) => Err(format!("{name}: {} {e}", e.status())),
    }
}

/// Runs every job on every image of `dirs`; returns (served, refused) counts and fails on any
/// other outcome.
fn sweep(dirs: &[&str], skip: &[&str]) -> (usize, usize) {
    let (mut served, mut refused) = (0, 0);
    let mut failures = Vec::new();
    for dir in dirs {
        for path in images(dir) {
            let name = path.file_name().unwrap().to_str().unwrap();
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
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
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
fn every_exif_orientation_example_is_served_upright() {
    for path in images("exif-orientation") {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let (w, h) = outcome(&path, &bytes, &job(64, 64, false, None))
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
        other => panic!("testdata/hostile/{other}: no expected outcome written down"),
    }
}

#[test]
fn hostile_inputs_get_what_they_must() {
    let mut seen = 0;
    for path in images("hostile") {
        let name = path.file_name().unwrap().to_str().unwrap();
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
    assert_eq!(seen, 29, "hostile files tried");
}

#[test]
fn the_largest_allowed_png_is_decoded_and_one_pixel_more_refused() {
    // 7000x7000 RGBA 16 bit, all zeros: exactly what TofuMaxSourcePixels allows at 49 Mpx.
    let bytes = std::fs::read(root().join("hostile/big-rgba16.png")).unwrap();
    let tight = Limits {
        max_source_pixels: 7000 * 7000 - 1,
    };
    let e = run(&bytes, &job(64, 64, false, None), &tight).unwrap_err();
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
    ] {
        let bytes = std::fs::read(root().join(path)).unwrap();
        let e = run_until(&bytes, &job(64, 64, false, None), &LIMITS, late).unwrap_err();
        assert_eq!(e.status(), 422, "{path}");
        assert!(e.to_string().contains("longer than 0 s"), "{path}: {e}");
    }
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
        let bytes = std::fs::read(root().join(path)).unwrap();
        let step = (bytes.len() / 24).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let job = job(40, 40, false, Some(OutputFormat::Png));
            if let Err(e) = run(&bytes[..cut], &job, &LIMITS) {
                assert_eq!(e.status(), 422, "{path} cut at {cut}: {e}");
            }
        }
    }
}
