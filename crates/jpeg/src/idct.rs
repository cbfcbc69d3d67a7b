//! k×k inverse DCTs of the top-left k×k coefficients of an 8×8 block.
//!
//! k = 1 is libjpeg's `jpeg_idct_1x1` exactly (the DC term, descaled by 8, with libjpeg's
//! wrap-around range limit). k = 2, 4 are the 8-point basis functions sampled at the centres of
//! the k×k output cells, which is what IJG libjpeg 7+'s reduced IDCTs (jidctint.c) compute;
//! libjpeg-turbo's own (jidctred.c) also fold in coefficients beyond k, so the two differ by a
//! fraction of a level on photos (the differential test bounds it). k = 8 is the full IDCT.
//! The kept frequencies are attenuated as libjpeg-turbo's cell averaging does ([`box_gain`]).
//! Computed in f32: at most 16 products per output sample, well inside its precision.

/// What one component's IDCTs share: the 1-D basis `rows[x][u] = C(u)/2 · cos((2x+1)uπ/2k) ·`
/// [`box_gain`] and its transpose `cols[u][x]`, for one k, and the component's quantisation
/// table as f32 (for k = 8, with AAN's scale factors folded in).
pub struct Basis {
    k: usize,
    rows: [[f32; 8]; 8],
    cols: [[f32; 8]; 8],
    quant: [[f32; 8]; 8],
    /// The DC quantiser as an integer, for k = 1's exact libjpeg arithmetic.
    dc: i32,
}

impl Basis {
    pub fn new(k: usize, quant: &[u16; 64]) -> Basis {
        let mut rows = [[0f32; 8]; 8];
        let mut cols = [[0f32; 8]; 8];
        for x in 0..k {
            for u in 0..k {
                let c = if u == 0 {
                    std::f64::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                let angle = ((2 * x + 1) * u) as f64 * std::f64::consts::PI / (2 * k) as f64;
                let b = (c / 2.0 * angle.cos() * box_gain(k, u)) as f32;
                rows[x][u] = b;
                cols[u][x] = b;
            }
        }
        let mut q = [[0f32; 8]; 8];
        for v in 0..8 {
            for u in 0..8 {
                let scale = if k == 8 { AAN[v] * AAN[u] } else { 1.0 };
                q[v][u] = f32::from(quant[v * 8 + u]) * scale;
            }
        }
        Basis {
            k,
            rows,
            cols,
            quant: q,
            dc: i32::from(quant[0]),
        }
    }
}

/// How much averaging the 8-point basis function `u` over the 8/k samples of one output cell
/// (what libjpeg-turbo's reduced IDCTs compute) scales it: the mean of cos(a + offset·uπ/16) over
/// the cell's offsets is cos(a) times this. Applying it keeps the low frequencies as soft as
/// libjpeg's; only the aliased frequencies above k (which are not kept) still differ.
fn box_gain(k: usize, u: usize) -> f64 {
    let n = 8 / k; // samples per cell
    let sum: f64 = (0..n)
        .map(|i| {
            let offset = 2.0 * i as f64 - (n as f64 - 1.0); // -(n-1), …, n-1 in half-samples
            (offset * u as f64 * std::f64::consts::PI / 16.0).cos()
        })
        .sum();
    sum / n as f64
}

/// libjpeg's post-IDCT range limit: the value is taken modulo 1024 as a signed number, then
/// clamped to 0..=255 after the +128 level shift.
#[inline]
fn range_limit(v: i32) -> u8 {
    let m = v & 1023;
    let s = if m >= 512 { m - 1024 } else { m };
    (s + 128).clamp(0, 255) as u8
}

/// Writes the k×k samples of one block (`coefs`: k×k row-major) to `out` at rows of `stride`
/// bytes.
pub fn block(coefs: &[i16], basis: &Basis, out: &mut [u8], stride: usize) {
    match basis.k {
        1 => {
            out[0] = range_limit((i32::from(coefs[0]) * basis.dc + 4) >> 3);
        }
        2 => sized::<2>(coefs, basis, out, stride),
        4 => sized::<4>(coefs, basis, out, stride),
        _ => full(coefs, basis, out, stride),
    }
}

/// AAN's scale factors (jidctflt.c): `cos(kπ/16)·√2` for k > 0, folded into the dequantisation.
const AAN: [f32; 8] = [
    1.0,
    1.387_039_8,
    1.306_563,
    1.175_875_6,
    1.0,
    0.785_694_96,
    0.541_196_1,
    0.275_899_38,
];

/// One 8-point AAN inverse DCT (jidctflt.c's butterflies) over `v[0..8]`, in place.
#[inline(always)]
fn aan8(v: [f32; 8]) -> [f32; 8] {
    // Even part.
    let (tmp10, tmp11) = (v[0] + v[4], v[0] - v[4]);
    let tmp13 = v[2] + v[6];
    let tmp12 = (v[2] - v[6]) * std::f32::consts::SQRT_2 - tmp13;
    let (e0, e3) = (tmp10 + tmp13, tmp10 - tmp13);
    let (e1, e2) = (tmp11 + tmp12, tmp11 - tmp12);
    // Odd part.
    let (z13, z10) = (v[5] + v[3], v[5] - v[3]);
    let (z11, z12) = (v[1] + v[7], v[1] - v[7]);
    let o7 = z11 + z13;
    let t11 = (z11 - z13) * std::f32::consts::SQRT_2;
    let z5 = (z10 + z12) * 1.847_759;
    let t10 = 1.082_392_2 * z12 - z5;
    let t12 = -2.613_126 * z10 + z5;
    let o6 = t12 - o7;
    let o5 = t11 - o6;
    let o4 = t10 + o5;
    [
        e0 + o7,
        e1 + o6,
        e2 + o5,
        e3 - o4,
        e3 + o4,
        e2 - o5,
        e1 - o6,
        e0 - o7,
    ]
}

/// The full 8×8 IDCT (4:2:0 chroma at 1/2), by AAN's factorisation in f32 as libjpeg's
/// jidctflt.c: about 5 times fewer operations than the basis sums of [`sized`].
fn full(coefs: &[i16], basis: &Basis, out: &mut [u8], stride: usize) {
    let Some(coefs) = coefs.get(..64) else {
        return;
    };
    if out.len() < 7 * stride + 8 {
        return;
    }
    if coefs[1..].iter().all(|&c| c == 0) {
        let dc = sample(f32::from(coefs[0]) * basis.quant[0][0] / 8.0);
        for y in 0..8 {
            out[y * stride..y * stride + 8].fill(dc);
        }
        return;
    }
    // Columns first, as jidctflt.c; a column of zero AC terms is its DC term throughout.
    let mut ws = [[0f32; 8]; 8]; // ws[row][col]
    for col in 0..8 {
        let c = |row: usize| f32::from(coefs[row * 8 + col]) * basis.quant[row][col];
        if (1..8).all(|row| coefs[row * 8 + col] == 0) {
            let dc = c(0);
            for row in ws.iter_mut() {
                row[col] = dc;
            }
            continue;
        }
        let r = aan8([c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7)]);
        for (row, v) in ws.iter_mut().zip(r) {
            row[col] = v;
        }
    }
    for (y, w) in ws.iter().enumerate() {
        let r = aan8(*w);
        let line = &mut out[y * stride..y * stride + 8];
        for (o, v) in line.iter_mut().zip(r) {
            *o = sample(v / 8.0);
        }
    }
}

/// A sample from an IDCT output: level shift, round half up, clamp (Rust's float-to-int `as`
/// saturates, so this is branch-free and vectorises).
#[inline(always)]
fn sample(s: f32) -> u8 {
    (s + 128.5).clamp(0.0, 255.0) as i32 as u8
}

/// The k×k IDCT for one K, so that the loops have constant bounds: dense, branch-free sums of
/// K-wide rows (coefficient × basis row), which the compiler turns into vector code.
// Index loops: the matrix products read as the formulas above.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn sized<const K: usize>(coefs: &[i16], basis: &Basis, out: &mut [u8], stride: usize) {
    let Some(coefs) = coefs.get(..K * K) else {
        return;
    };
    if out.len() < (K - 1) * stride + K {
        return;
    }
    if coefs[1..].iter().all(|&c| c == 0) {
        // Flat block: every sample is the DC term's.
        let dc = sample(f32::from(coefs[0]) * basis.quant[0][0] / 8.0);
        for y in 0..K {
            out[y * stride..y * stride + K].fill(dc);
        }
        return;
    }
    // Rows: tmp[v] = Σ_u g[v][u] · cols[u].
    let mut tmp = [[0f32; K]; K];
    for v in 0..K {
        for u in 0..K {
            let g = f32::from(coefs[v * K + u]) * basis.quant[v][u];
            for x in 0..K {
                tmp[v][x] += g * basis.cols[u][x];
            }
        }
    }
    // Columns: out[y] = Σ_v rows[y][v] · tmp[v].
    for y in 0..K {
        let mut line = [0f32; K];
        for v in 0..K {
            let b = basis.rows[y][v];
            for x in 0..K {
                line[x] += b * tmp[v][x];
            }
        }
        let row = &mut out[y * stride..y * stride + K];
        for x in 0..K {
            row[x] = sample(line[x]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_only_is_the_mean() {
        let q = [2u16; 64];
        for k in [1, 2, 4, 8] {
            let basis = Basis::new(k, &q);
            let mut coefs = vec![0i16; k * k];
            coefs[0] = 100; // 200 / 8 = 25 above mid-grey
            let mut out = vec![0u8; k * k];
            block(&coefs, &basis, &mut out, k);
            assert!(out.iter().all(|&p| p == 153), "k={k}: {out:?}");
        }
    }

    #[test]
    fn a_horizontal_frequency_falls_left_to_right() {
        let q = [1u16; 64];
        let basis = Basis::new(4, &q);
        let mut coefs = vec![0i16; 16];
        coefs[1] = 200;
        let mut out = vec![0u8; 16];
        block(&coefs, &basis, &mut out, 4);
        assert!(out[0] > out[1] && out[1] > out[2] && out[2] > out[3]);
        assert_eq!(&out[0..4], &out[12..16]);
    }

    #[test]
    fn range_limit_wraps_like_libjpeg() {
        assert_eq!(range_limit(0), 128);
        assert_eq!(range_limit(200), 255);
        assert_eq!(range_limit(-200), 0);
        assert_eq!(range_limit(1024 + 10), 138);
    }
}
