//! End-to-end tests of `run` on the real images in testdata/ (see testdata/README.md), one file
//! per concern. The helpers every file shares live here: reading testdata, building `Job`s,
//! decoding outputs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::*;
use crate::ops::sized as ops;

mod avif;
mod colour;
mod formats;
mod geometry;
mod hostile;
mod limits;
mod orientation;
mod output;

const LIMITS: Limits = Limits {
    max_source_pixels: 50_000_000,
};

/// The path of a file or folder of testdata/.
fn testdata_path(path: &str) -> PathBuf {
    Path::new(crate::TESTDATA).join(path)
}

/// The bytes of a file of testdata/.
pub(super) fn testdata(path: &str) -> Vec<u8> {
    let full = testdata_path(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The image files of a testdata folder (licences, READMEs and scripts left out), sorted.
fn images(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata_path(dir))
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

/// The file name of a path from [`images`].
fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

fn job(ops: Ops, format: Option<OutputFormat>) -> Job {
    Job {
        ops,
        format,
        default_quality: 82,
    }
}

/// The jobs every file of a corpus goes through: a fit in the source's format, a JPEG
/// fill-crop, a WebP.
fn jobs() -> [Job; 3] {
    [
        job(ops(Some(64), Some(64), false), None),
        job(ops(Some(120), Some(80), true), Some(OutputFormat::Jpeg)),
        job(ops(Some(50), Some(50), false), Some(OutputFormat::WebP)),
    ]
}

fn run_ok(source: &[u8], job: &Job) -> Encoded {
    run(source, job, &LIMITS).unwrap_or_else(|e| panic!("{e}"))
}

fn unprocessable(result: Result<Encoded, TofuError>) -> String {
    match result {
        Err(TofuError::Unprocessable(msg)) => msg,
        other => panic!("expected Unprocessable, got {other:?}"),
    }
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
        OutputFormat::Avif => {
            assert_eq!(&e.bytes[4..12], b"ftypavif");
            assert_eq!(sniff(&e.bytes), None, "AVIF is no source format");
            let (rgba, w, h) = tofu_libavif::decode_rgba(&e.bytes).unwrap();
            assert_eq!((w, h), (e.width, e.height));
            (rgba, 4)
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
