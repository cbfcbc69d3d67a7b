//! Times this crate's scaled decode against libjpeg's on the files given (whole image): the
//! fastest of `REPS` (default 7) runs of each, alternating, so that a busy machine disturbs the
//! ratio less than a mean would.
//!   DENOM=4 cargo run --release -p tofu-jpeg --example speed -- photo.jpg ...
use std::time::Instant;
use tofu_jpeg::{decode, Limits, Window};
use tofu_libjpeg::{Decoder, Output};

fn env(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let denom = env("DENOM", 4);
    let reps = env("REPS", 7);
    let (mut ta, mut tb) = (0f64, 0f64);
    for path in std::env::args().skip(1) {
        let source = std::fs::read(&path).unwrap();
        let (mut a, mut b) = (f64::MAX, f64::MAX);
        for _ in 0..reps {
            let t = Instant::now();
            let mut d = Decoder::new(&source).unwrap();
            let s = d.scale(denom, Output::Rgb).unwrap();
            let dims = (s.width, s.height);
            d.decode(&[], 0, s.width, 0, s.height).unwrap();
            a = a.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let win = Window {
                x: 0,
                y: 0,
                width: dims.0,
                height: dims.1,
            };
            let limits = Limits {
                max_pixels: 1 << 40,
                max_scans: 1000,
            };
            decode(&source, denom, win, limits, &mut || true).unwrap();
            b = b.min(t.elapsed().as_secs_f64());
        }
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
