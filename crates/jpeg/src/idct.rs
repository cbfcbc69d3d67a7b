//! k×k inverse DCTs of the top-left k×k coefficients of an 8×8 block.
//!
//! k = 1 is libjpeg's `jpeg_idct_1x1` exactly (the DC term, descaled by 8, with libjpeg's
//! wrap-around range limit). k = 2, 4 are the 8-point basis functions sampled at the centres of
//! the k×k output cells, which is what IJG libjpeg 7+'s reduced IDCTs (jidctint.c) compute;
//! libjpeg-turbo's own (jidctred.c) also fold in coefficients beyond k, so the two differ by a
//! fraction of a level on photos (the differential test bounds it). k = 8 is the full IDCT.
//! The kept frequencies are attenuated as libjpeg-turbo's cell averaging does ([`box_gain`]).
//! Computed in f32: at most 16 products per output sample, well inside its precision.

/// The 1-D basis, `basis[x * k + u] = C(u)/2 · cos((2x+1)uπ/2k)`, for one k.
pub struct Basis {
    k: usize,
    m: Vec<f32>,
}

impl Basis {
    pub fn new(k: usize) -> Basis {
        let mut m = vec![0f32; k * k];
        for x in 0..k {
            for u in 0..k {
                let c = if u == 0 {
                    std::f64::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                let angle = ((2 * x + 1) * u) as f64 * std::f64::consts::PI / (2 * k) as f64;
                m[x * k + u] = (c / 2.0 * angle.cos() * box_gain(k, u)) as f32;
            }
        }
        Basis { k, m }
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

/// Writes the k×k samples of one block (`coefs`: k×k row-major, `quant`: 8×8 natural order) to
/// `out` at rows of `stride` bytes.
pub fn block(coefs: &[i16], quant: &[u16; 64], basis: &Basis, out: &mut [u8], stride: usize) {
    match basis.k {
        1 => {
            let v = i32::from(coefs[0]) * i32::from(quant[0]);
            out[0] = range_limit((v + 4) >> 3);
        }
        2 => sized::<2>(coefs, quant, &basis.m, out, stride),
        4 => sized::<4>(coefs, quant, &basis.m, out, stride),
        _ => sized::<8>(coefs, quant, &basis.m, out, stride),
    }
}

/// A sample from an IDCT output (level shift, round half up, clamp).
#[inline(always)]
fn sample(s: f32) -> u8 {
    let v = s + 128.5;
    if v <= 0.0 {
        0
    } else {
        (v as i32).min(255) as u8
    }
}

/// The k×k IDCT for one K, so that the loops have constant bounds.
#[inline(always)]
fn sized<const K: usize>(
    coefs: &[i16],
    quant: &[u16; 64],
    m: &[f32],
    out: &mut [u8],
    stride: usize,
) {
    let (Some(coefs), Some(m)) = (coefs.get(..K * K), m.get(..K * K)) else {
        return;
    };
    let mut g = [[0f32; K]; K];
    let mut any_ac = false;
    for v in 0..K {
        for u in 0..K {
            let c = coefs[v * K + u];
            any_ac |= c != 0 && (u | v) != 0;
            g[v][u] = f32::from(c) * f32::from(quant[v * 8 + u]);
        }
    }
    if out.len() < (K - 1) * stride + K {
        return;
    }
    if !any_ac {
        // Flat block: every sample is the DC term's.
        let dc = sample(g[0][0] / 8.0);
        for y in 0..K {
            out[y * stride..y * stride + K].fill(dc);
        }
        return;
    }
    let mut basis = [[0f32; K]; K];
    for x in 0..K {
        basis[x].copy_from_slice(&m[x * K..x * K + K]);
    }
    // Rows: tmp[v][x] = Σ_u basis[x][u] g[v][u].
    let mut tmp = [[0f32; K]; K];
    for v in 0..K {
        if g[v].iter().all(|&c| c == 0.0) {
            continue;
        }
        for x in 0..K {
            let mut s = 0f32;
            for u in 0..K {
                s += basis[x][u] * g[v][u];
            }
            tmp[v][x] = s;
        }
    }
    // Columns: out[y][x] = Σ_v basis[y][v] tmp[v][x].
    for y in 0..K {
        let mut line = [0f32; K];
        for v in 0..K {
            let b = basis[y][v];
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
            let basis = Basis::new(k);
            let mut coefs = vec![0i16; k * k];
            coefs[0] = 100; // 200 / 8 = 25 above mid-grey
            let mut out = vec![0u8; k * k];
            block(&coefs, &q, &basis, &mut out, k);
            assert!(out.iter().all(|&p| p == 153), "k={k}: {out:?}");
        }
    }

    #[test]
    fn a_horizontal_frequency_falls_left_to_right() {
        let q = [1u16; 64];
        let basis = Basis::new(4);
        let mut coefs = vec![0i16; 16];
        coefs[1] = 200;
        let mut out = vec![0u8; 16];
        block(&coefs, &q, &basis, &mut out, 4);
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
