//! From kept coefficients to pixels of the window, row by row: each component IDCTs its kept
//! blocks a row of blocks at a time into a band of at most three (what the output row and its
//! upsampling neighbours need; never a whole plane), then libjpeg-turbo's upsampling
//! (jdsample.c: "fancy" triangle filters h2v1 and h1v2, or replication at 1/8 scale where
//! libjpeg turns fancy upsampling off) and its YCbCr → RGB conversion (jdcolor.c) make the
//! output row.

use crate::idct::{self, Basis};
use crate::Plan;

/// One component's samples: a band of rows of blocks of the kept columns, IDCT'd as the output
/// rows reach them.
struct Plane<'p> {
    plan: &'p Plan,
    basis: Basis,
    /// The band's samples, `width` per row, from sample row `y0` on.
    data: Vec<u8>,
    width: usize,
    /// Sample coordinates of `data[0]`.
    x0: usize,
    y0: usize,
}

impl<'p> Plane<'p> {
    fn new(plan: &'p Plan) -> Plane<'p> {
        Plane {
            plan,
            basis: Basis::new(plan.k, &plan.quant.unwrap_or([1; 64])),
            data: Vec::new(),
            width: (plan.bx1 - plan.bx0) * plan.k,
            x0: plan.bx0 * plan.k,
            y0: plan.by0 * plan.k,
        }
    }

    /// The sample rows output row `y` reads (the row itself, or for vertical upsampling the
    /// row above and below the nearer one), clamped to the image.
    fn reads(&self, y: usize) -> (usize, usize) {
        let last = self.plan.dh - 1;
        if self.plan.up_v == 1 {
            (y.min(last), y.min(last))
        } else {
            let r = y / 2;
            (r.saturating_sub(1).min(last), (r + 1).min(last))
        }
    }

    /// Makes sample rows `lo..=hi` present: the band moves down to start at `lo`'s row of
    /// blocks, keeping the rows of blocks it already has, and IDCTs the new ones.
    fn reach(&mut self, lo: usize, hi: usize) {
        let p = self.plan;
        let k = p.k;
        let (first, last) = ((lo / k).max(p.by0), (hi / k).min(p.by1 - 1));
        if first > last {
            return;
        }
        let row_bytes = k * self.width;
        let have = self.data.len() / row_bytes.max(1);
        let old_first = self.y0 / k;
        let keep = if first >= old_first && first < old_first + have {
            let shift = first - old_first;
            self.data.copy_within(shift * row_bytes.., 0);
            have - shift
        } else {
            0
        };
        let want = last + 1 - first;
        if keep >= want {
            self.data.truncate(keep * row_bytes);
            self.y0 = first * k;
            return;
        }
        self.data.resize(want * row_bytes, 0);
        self.y0 = first * k;
        let kk = k * k;
        let per_row = p.bx1 - p.bx0;
        for br in first + keep..=last {
            let at = (br - first) * row_bytes;
            let from = (br - p.by0) * per_row * kk;
            let Some(coefs) = p.values.get(from..from + per_row * kk) else {
                continue;
            };
            for (bx, block) in coefs.chunks_exact(kk).enumerate() {
                if let Some(out) = self.data.get_mut(at + bx * k..) {
                    idct::block(block, &self.basis, out, self.width);
                }
            }
        }
    }

    #[inline]
    fn at(&self, x: usize, y: usize) -> u8 {
        let (x, y) = (x.min(self.plan.dw - 1), y.min(self.plan.dh - 1));
        let i = (y.wrapping_sub(self.y0))
            .wrapping_mul(self.width)
            .wrapping_add(x.wrapping_sub(self.x0));
        self.data.get(i).copied().unwrap_or(128)
    }

    /// Samples `x0..x1` of row `y` as a slice of `data`, when they are all inside it (no edge
    /// to replicate): the fast paths below read through this.
    #[inline]
    fn span(&self, y: usize, x0: usize, x1: usize) -> Option<&[u8]> {
        if y >= self.plan.dh || x1 > self.plan.dw || x0 < self.x0 || y < self.y0 {
            return None;
        }
        let start = (y - self.y0) * self.width + (x0 - self.x0);
        if x1 - self.x0 > self.width {
            return None;
        }
        self.data.get(start..start + (x1 - x0))
    }

    /// The fancy h2v1 sample of output column `x` (libjpeg's triangle filter), edges included.
    #[inline]
    fn fancy_h2(&self, x: usize, y: usize) -> u8 {
        let c = x / 2;
        let near = u32::from(self.at(c, y)) * 3;
        if x % 2 == 0 {
            ((near + u32::from(self.at(c.saturating_sub(1), y)) + 1) >> 2) as u8
        } else {
            ((near + u32::from(self.at(c + 1, y)) + 2) >> 2) as u8
        }
    }

    fn row_slow_h2(&self, y: usize, x0: usize, line: &mut [u8]) {
        for (i, o) in line.iter_mut().enumerate() {
            *o = self.fancy_h2(x0 + i, y);
        }
    }

    /// Output samples `x0..x0 + line.len()` of output row `y`.
    fn row(&self, y: usize, x0: usize, fancy: bool, line: &mut [u8]) {
        let p = self.plan;
        let n = line.len();
        match (p.up_h, p.up_v) {
            (1, 1) => {
                if let Some(src) = self.span(y, x0, x0 + n) {
                    line.copy_from_slice(src);
                    return;
                }
                for (i, o) in line.iter_mut().enumerate() {
                    *o = self.at(x0 + i, y);
                }
            }
            (2, 1) if fancy && p.dw > 2 => {
                // Away from the image's edges the neighbours are read straight from the row.
                let yc = y.min(p.dh - 1);
                let row = yc
                    .checked_sub(self.y0)
                    .and_then(|r| self.data.get(r * self.width..(r + 1) * self.width));
                let Some(row) = row else {
                    return self.row_slow_h2(y, x0, line);
                };
                let (lo, hi) = (self.x0 + 1, (self.x0 + self.width).min(p.dw) - 1);
                for (i, o) in line.iter_mut().enumerate() {
                    let x = x0 + i;
                    let c = x / 2;
                    if c < lo || c >= hi {
                        *o = self.fancy_h2(x, y);
                        continue;
                    }
                    let j = c - self.x0;
                    let near = u32::from(row[j]) * 3;
                    *o = if x % 2 == 0 {
                        ((near + u32::from(row[j - 1]) + 1) >> 2) as u8
                    } else {
                        ((near + u32::from(row[j + 1]) + 2) >> 2) as u8
                    };
                }
            }
            (2, 1) => {
                for (i, o) in line.iter_mut().enumerate() {
                    *o = self.at((x0 + i) / 2, y);
                }
            }
            (1, 2) if fancy => {
                let r = y / 2;
                let (far, bias) = if y % 2 == 0 {
                    (r.saturating_sub(1), 1)
                } else {
                    (r + 1, 2)
                };
                let (r, far) = (r.min(p.dh - 1), far.min(p.dh - 1));
                if let (Some(a), Some(b)) = (self.span(r, x0, x0 + n), self.span(far, x0, x0 + n)) {
                    for ((o, &a), &b) in line.iter_mut().zip(a).zip(b) {
                        *o = ((u32::from(a) * 3 + u32::from(b) + bias) >> 2) as u8;
                    }
                    return;
                }
                for (i, o) in line.iter_mut().enumerate() {
                    let x = x0 + i;
                    let s = u32::from(self.at(x, r)) * 3 + u32::from(self.at(x, far));
                    *o = ((s + bias) >> 2) as u8;
                }
            }
            _ => {
                for (i, o) in line.iter_mut().enumerate() {
                    *o = self.at(x0 + i, y / 2);
                }
            }
        }
    }
}

/// libjpeg's YCbCr → RGB conversion (jdcolor.c, SCALEBITS 16), computed rather than looked up
/// so that the loop vectorises: each term equals the entry of libjpeg's table for it.
#[inline(always)]
fn ycc_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (i32::from(y), i32::from(cb) - 128, i32::from(cr) - 128);
    let r = y + ((91881 * cr + 32768) >> 16);
    let g = y + ((-22554 * cb - 46802 * cr + 32768) >> 16);
    let b = y + ((116130 * cb + 32768) >> 16);
    [
        r.clamp(0, 255) as u8,
        g.clamp(0, 255) as u8,
        b.clamp(0, 255) as u8,
    ]
}

/// The window's pixels: grey (1 byte) or RGB (3 bytes), rows packed.
pub fn render(plans: &[Plan], k: usize, x0: usize, y0: usize, w: usize, h: usize) -> Vec<u8> {
    let mut planes: Vec<Plane<'_>> = plans.iter().map(Plane::new).collect();
    let fancy = k > 1;
    let channels = planes.len();
    let mut out = vec![0u8; w * h * channels];
    let reach = |planes: &mut [Plane<'_>], y: usize| {
        for plane in planes.iter_mut() {
            let (lo, hi) = plane.reads(y);
            plane.reach(lo, hi);
        }
    };
    if channels == 1 {
        for (r, line) in out.chunks_exact_mut(w).enumerate() {
            reach(&mut planes, y0 + r);
            planes[0].row(y0 + r, x0, fancy, line);
        }
        return out;
    }
    let mut lines = vec![0u8; 3 * w];
    for (r, rgb) in out.chunks_exact_mut(3 * w).enumerate() {
        reach(&mut planes, y0 + r);
        let (yl, rest) = lines.split_at_mut(w);
        let (cbl, crl) = rest.split_at_mut(w);
        planes[0].row(y0 + r, x0, fancy, yl);
        planes[1].row(y0 + r, x0, fancy, cbl);
        planes[2].row(y0 + r, x0, fancy, crl);
        for (((px, &y), &cb), &cr) in rgb.chunks_exact_mut(3).zip(&*yl).zip(&*cbl).zip(&*crl) {
            px.copy_from_slice(&ycc_to_rgb(y, cb, cr));
        }
    }
    out
}
