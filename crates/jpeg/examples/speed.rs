//! Times this crate's scaled decode against libjpeg's on the files given (whole image).
use std::time::Instant;
use tofu_jpeg::{decode, Limits, Window};
use tofu_libjpeg::{Decoder, Output};
fn main() {
    let denom: u32 = std::env::var("DENOM")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(4);
    let (mut ta, mut tb) = (0f64, 0f64);
    for path in std::env::args().skip(1) {
        let source = std::fs::read(&path).unwrap();
        // ONLY=libjpeg or ONLY=tofu runs one side (for callgrind's instruction counts).
        let only = std::env::var("ONLY").unwrap_or_default();
        let reps = if only.is_empty() { 5 } else { 1 };
        let t = Instant::now();
        let mut dims = (0, 0);
        for _ in 0..reps {
            if only == "tofu" {
                let d = Decoder::new(&source).unwrap();
                dims = tofu_jpeg::scaled_size(d.header().width, d.header().height, denom);
                break;
            }
            let mut d = Decoder::new(&source).unwrap();
            let s = d.scale(denom, Output::Rgb).unwrap();
            dims = (s.width, s.height);
            d.decode(&[], 0, s.width, 0, s.height).unwrap();
        }
        let a = t.elapsed().as_secs_f64() / reps as f64;
        let t = Instant::now();
        for _ in 0..if only == "libjpeg" { 0 } else { reps } {
            let win = Window {
                x: 0,
                y: 0,
                width: dims.0,
                height: dims.1,
            };
            decode(
                &source,
                denom,
                win,
                Limits {
                    max_pixels: 1 << 40,
                    max_scans: 1000,
                },
                &mut || true,
            )
            .unwrap();
        }
        let b = t.elapsed().as_secs_f64() / reps as f64;
        ta += a;
        tb += b;
        println!(
            "{path}: libjpeg {:.2} ms, tofu-jpeg {:.2} ms ({:.2}x)",
            a * 1e3,
            b * 1e3,
            b / a
        );
    }
    println!(
        "total 1/{denom}: libjpeg {:.1} ms, tofu-jpeg {:.1} ms ({:.2}x)",
        ta * 1e3,
        tb * 1e3,
        tb / ta
    );
}
