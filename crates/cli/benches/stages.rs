//! `cargo bench`: where the time of the module's pipeline goes, stage by stage (decode with
//! shrink-on-load, resize, encode), per job, on the photos of bench/corpus when they are there
//! (`bench/corpus` builds them) and on testdata/ otherwise. Wall-clock times as the pipeline
//! itself records them for the access log (`Encoded::stages`), mean per image over a few runs.
//! Not a timed test: it asserts nothing. bench/cpu compares the whole pipeline with its peers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tofu_core::transform::{self, Job, Limits};
use tofu_core::url;

const JOBS: [&str; 3] = ["280x210c-q80", "280x280-q80", "1024x1024-q85"];
const RUNS: u32 = 5;

fn photos() -> Vec<PathBuf> {
    // The repository's top, two levels above this crate.
    let top = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    for dir in [
        "target/bench/corpus",
        "testdata/exif-orientation",
        "testdata/jpeg",
    ] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(top.join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        if !found.is_empty() {
            found.sort();
            println!("stages: {} photos from {dir}", found.len());
            return found;
        }
    }
    Vec::new()
}

fn main() {
    let files = photos();
    let sources: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let limits = Limits {
        max_source_pixels: 100_000_000,
    };
    println!("| job | decode ms | resize ms | encode ms | total ms |");
    println!("|---|---|---|---|---|");
    for ops in JOBS {
        let job = Job {
            ops: url::parse_ops(ops, u32::MAX).unwrap(),
            format: None,
            default_quality: 82,
        };
        let (mut decode, mut resize, mut encode) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let mut n = 0u32;
        for source in &sources {
            transform::run(source, &job, &limits).unwrap(); // warm-up
            for _ in 0..RUNS {
                let out = transform::run(source, &job, &limits).unwrap();
                decode += out.stages.decode;
                resize += out.stages.resize;
                encode += out.stages.encode;
                n += 1;
            }
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(n.max(1));
        println!(
            "| {ops} | {:.2} | {:.2} | {:.2} | {:.2} |",
            ms(decode),
            ms(resize),
            ms(encode),
            ms(decode + resize + encode)
        );
    }
}
