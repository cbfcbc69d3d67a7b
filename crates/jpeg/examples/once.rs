//! Decodes the files given with this crate only (for profilers): `DENOM` (default 4), `REPS`.
use tofu_jpeg::{decode, info, scaled_size, Limits, Window};
fn main() {
    let denom: u32 = std::env::var("DENOM")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(4);
    let reps: u32 = std::env::var("REPS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(1);
    for path in std::env::args().skip(1) {
        let source = std::fs::read(&path).unwrap();
        let i = info(&source).unwrap();
        let (w, h) = scaled_size(i.width, i.height, denom);
        for _ in 0..reps {
            let win = Window {
                x: 0,
                y: 0,
                width: w,
                height: h,
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
    }
}
