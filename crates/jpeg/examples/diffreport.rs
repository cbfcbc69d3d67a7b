use tofu_jpeg::{decode, Limits, Window};
use tofu_libjpeg::{ColorSpace, Decoder, Output};
fn main() {
    for path in std::env::args().skip(1) {
        let source = std::fs::read(&path).unwrap();
        for denom in [2u32, 4, 8] {
            let mut d = match Decoder::new(&source) {
                Ok(d) => d,
                Err(_) => continue,
            };
            let output = match d.header().color_space {
                ColorSpace::Gray => Output::Gray,
                ColorSpace::YCbCr => Output::Rgb,
                _ => continue,
            };
            let s = d.scale(denom, output).unwrap();
            let w = match d.decode(&[], 0, s.width, 0, s.height) {
                Ok(w) => w,
                Err(_) => continue,
            };
            let win = Window {
                x: 0,
                y: 0,
                width: s.width,
                height: s.height,
            };
            match decode(
                &source,
                denom,
                win,
                Limits {
                    max_pixels: 1 << 40,
                    max_scans: 1000,
                },
                &mut || true,
            ) {
                Ok(img) => {
                    let c = img.channels as usize;
                    let mut means = vec![];
                    let mut maxd = 0;
                    for ch in 0..c {
                        let sum: u64 = img
                            .data
                            .iter()
                            .skip(ch)
                            .step_by(c)
                            .zip(w.data.iter().skip(ch).step_by(c))
                            .map(|(&a, &b)| {
                                maxd = maxd.max(a.abs_diff(b));
                                u64::from(a.abs_diff(b))
                            })
                            .sum();
                        means.push(sum as f64 / (img.data.len() / c) as f64);
                    }
                    println!(
                        "{path} 1/{denom} {}x{} means {:?} max {maxd}",
                        s.width,
                        s.height,
                        means.iter().map(|m| format!("{m:.3}")).collect::<Vec<_>>()
                    );
                }
                Err(e) => println!("{path} 1/{denom} ERR {e}"),
            }
        }
    }
}
