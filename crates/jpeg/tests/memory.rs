//! The coefficient memory of a 50-megapixel progressive 4:2:0 JPEG (libjpeg's standard
//! progression script, `jpeg_simple_progression`), whole image, at each scale: the numbers the
//! README's memory section quotes, computed by the decoder's own planning (`coefficient_bytes`)
//! and checked against the arithmetic. libjpeg-turbo keeps 64 coefficients × 2 bytes for every
//! block of every component of a progressive file, whatever the scale: 150 MB here.

use tofu_jpeg::{coefficient_bytes, scaled_size, Limits, Window};

const W: u32 = 8660;
const H: u32 = 5774; // 50.0 MP

/// SOI, SOF2 (Y 2×2, Cb and Cr 1×1), then the scan headers of libjpeg's progression script,
/// each with no entropy-coded data (only the headers are read when planning).
fn header() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend_from_slice(&[0xFF, 0xC2, 0, 17, 8]);
    j.extend_from_slice(&(H as u16).to_be_bytes());
    j.extend_from_slice(&(W as u16).to_be_bytes());
    j.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    let sos = |comps: &[u8], ss: u8, se: u8, ahal: u8| {
        let mut s = vec![0xFF, 0xDA, 0, 6 + 2 * comps.len() as u8, comps.len() as u8];
        for &c in comps {
            s.extend_from_slice(&[c, 0]);
        }
        s.extend_from_slice(&[ss, se, ahal]);
        s
    };
    for s in [
        sos(&[1, 2, 3], 0, 0, 0x01),
        sos(&[1], 1, 5, 0x02),
        sos(&[3], 1, 63, 0x01),
        sos(&[2], 1, 63, 0x01),
        sos(&[1], 6, 63, 0x02),
        sos(&[1], 1, 63, 0x21),
        sos(&[1, 2, 3], 0, 0, 0x10),
        sos(&[3], 1, 63, 0x10),
        sos(&[2], 1, 63, 0x10),
        sos(&[1], 1, 63, 0x10),
    ] {
        j.extend_from_slice(&s);
    }
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

#[test]
fn coefficient_memory_of_a_50_mp_progressive_file() {
    let jpeg = header();
    let limits = Limits {
        max_pixels: 60_000_000,
        max_scans: 64,
    };
    let luma = (W.div_ceil(16) * 2 * H.div_ceil(16) * 2) as usize; // blocks, MCU grid
    let chroma = (W.div_ceil(16) * H.div_ceil(16)) as usize;
    let libjpeg = (luma + 2 * chroma) * 128;
    let mut lines = Vec::new();
    for (denom, luma_k, chroma_k) in [(8u32, 1usize, 2usize), (4, 2, 4), (2, 4, 8)] {
        let (w, h) = scaled_size(W, H, denom);
        let whole = Window {
            x: 0,
            y: 0,
            width: w,
            height: h,
        };
        let bytes = coefficient_bytes(&jpeg, denom, whole, limits).unwrap();
        // Kept values (2 bytes each), plus 8 bytes of non-zero history per block of every
        // component with a refinement scan that is decoded (luma needs none at 1/8).
        let luma_history = if luma_k == 1 { 0 } else { 8 };
        let want = luma * (2 * luma_k * luma_k + luma_history)
            + 2 * chroma * (2 * chroma_k * chroma_k + 8);
        // The kept blocks are the window's (the MCU grid's last partial row and column aside).
        assert!(
            bytes <= want && bytes * 100 >= want * 99,
            "1/{denom}: {bytes} vs {want}"
        );
        lines.push(format!(
            "1/{denom}: {:.1} MB ({:.1}% of libjpeg's {:.1} MB)",
            bytes as f64 / 1e6,
            100.0 * bytes as f64 / libjpeg as f64,
            libjpeg as f64 / 1e6
        ));
    }
    eprintln!("{}", lines.join("\n"));
}
