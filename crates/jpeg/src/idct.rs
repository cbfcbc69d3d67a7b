//! k×k inverse DCTs of the top-left k×k coefficients of an 8×8 block.
//!
//! k = 1 is libjpeg's `jpeg_idct_1x1` exactly (the DC term, descaled by 8, with libjpeg's
//! wrap-around range limit). k = 2, 4 are the 8-point basis functions sampled at the centres of
//! the k×k output cells, which is what IJG libjpeg 7+'s reduced IDCTs (jidctint.c) compute;
//! libjpeg-turbo's own (jidctred.c) also fold in coefficients beyond k, so the two differ by a
//! fraction of a level on photos (the differential test bounds it). k = 8 is the full IDCT.
//! The kept frequencies are attenuated as libjpeg-turbo's cell averaging does ([`box_gain`]).
//! Computed in f32 (at most 16 products per output sample, well inside its precision) as dense
//! sums of K-wide rows that the compiler vectorises; for k = 8 (4:2:0 chroma at 1/2) the rows
//! without coefficients, most of them in a chroma block, are skipped.

/// What one component's IDCTs share: the 1-D basis `rows[x][u] = C(u)/2 · cos((2x+1)uπ/2k) ·`
/// [`box_gain`] and its transpose `cols[u][x]`, for one k, and the component's quantisation
/// table as f32.
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
                q[v][u] = f32::from(quant[v * 8 + u]);
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
        _ => sized::<8>(coefs, basis, out, stride),
    }
}

/// A sample from an IDCT output: level shift, clamp, round to nearest. Adding 2²³ leaves the
/// rounded integer in the low bits of the f32 (ties go to even, where libjpeg's integer IDCTs
/// round half up: a tie is an exact x.5, which flat blocks, the common case, never reach here).
/// Branch-free bit operations the compiler vectorises; a float-to-int `as` does not.
#[inline(always)]
fn sample(s: f32) -> u8 {
    ((s + 128.0).clamp(0.0, 255.0) + 8_388_608.0).to_bits() as u8
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
        // Flat block: every sample is the DC term's, in libjpeg's integer arithmetic.
        let dc = range_limit((i32::from(coefs[0]) * basis.dc + 4) >> 3);
        for y in 0..K {
            out[y * stride..y * stride + K].fill(dc);
        }
        return;
    }
    // Rows: tmp[v] = Σ_u g[v][u] · cols[u], for the rows with a coefficient (the column pass
    // reads only those: most blocks have one to three).
    let mut tmp = [[0f32; K]; K];
    let mut live = [0usize; K];
    let mut n = 0;
    for v in 0..K {
        let row = &coefs[v * K..v * K + K];
        if K == 8 && row.iter().all(|&c| c == 0) {
            continue;
        }
        for u in 0..K {
            let g = f32::from(row[u]) * basis.quant[v][u];
            for x in 0..K {
                tmp[v][x] += g * basis.cols[u][x];
            }
        }
        live[n] = v;
        n += 1;
    }
    // Columns: out[y] = Σ_v rows[y][v] · tmp[v].
    for y in 0..K {
        let mut line = [0f32; K];
        for &v in &live[..n] {
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
