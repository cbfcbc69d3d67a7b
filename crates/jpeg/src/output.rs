//! From kept coefficients to pixels of the window: k×k IDCT of the kept blocks into one sample
//! plane per component, then per output row libjpeg-turbo's upsampling (jdsample.c: "fancy"
//! triangle filters h2v1 and h1v2, or replication at 1/8 scale where libjpeg turns fancy
//! upsampling off) and its YCbCr → RGB conversion (jdcolor.c, same fixed-point tables).

use crate::idct::{self, Basis};
use crate::Plan;

/// One component's samples for the kept blocks.
struct Plane<'p> {
    plan: &'p Plan,
    data: Vec<u8>,
    width: usize,
    /// Sample coordinates of `data[0]`.
    x0: usize,
    y0: usize,
}

impl Plane<'_> {
    #[inline]
    fn at(&self, x: usize, y: usize) -> u8 {
        let (x, y) = (x.min(self.plan.dw - 1), y.min(self.plan.dh - 1));
        let i = (y.wrapping_sub(self.y0))
            .wrapping_mul(self.width)
            .wrapping_add(x.wrapping_sub(self.x0));
        self.data.get(i).copied().unwrap_or(128)
    }

    /// Output samples `x0..x0 + line.len()` of output row `y`.
    fn row(&self, y: usize, x0: usize, fancy: bool, line: &mut [u8]) {
        let p = self.plan;
        match (p.up_h, p.up_v) {
            (1, 1) => {
                for (i, o) in line.iter_mut().enumerate() {
                    *o = self.at(x0 + i, y);
                }
            }
            (2, 1) if fancy && p.dw > 2 => {
                for (i, o) in line.iter_mut().enumerate() {
                    let x = x0 + i;
                    let c = x / 2;
                    let near = u32::from(self.at(c, y)) * 3;
                    *o = if x % 2 == 0 {
                        ((near + u32::from(self.at(c.saturating_sub(1), y)) + 1) >> 2) as u8
                    } else {
                        ((near + u32::from(self.at(c + 1, y)) + 2) >> 2) as u8
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

/// IDCTs the kept blocks of one component.
fn plane(plan: &Plan) -> Plane<'_> {
    let k = plan.k;
    let width = (plan.bx1 - plan.bx0) * k;
    let height = (plan.by1 - plan.by0) * k;
    let mut data = vec![0u8; width * height];
    let basis = Basis::new(k);
    let quant = plan.quant.unwrap_or([1; 64]);
    let per_row = plan.bx1 - plan.bx0;
    for (i, coefs) in plan.values.chunks_exact(k * k).enumerate() {
        let (bx, by) = (i % per_row, i / per_row);
        let at = by * k * width + bx * k;
        if let Some(out) = data.get_mut(at..) {
            idct::block(coefs, &quant, &basis, out, width);
        }
    }
    Plane {
        plan,
        data,
        width,
        x0: plan.bx0 * k,
        y0: plan.by0 * k,
    }
}

/// libjpeg's YCbCr → RGB tables (jdcolor.c, SCALEBITS 16).
struct Ycc {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
}

impl Ycc {
    fn new() -> Ycc {
        let mut t = Ycc {
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256 {
            let x = i as i32 - 128;
            t.cr_r[i] = (91881 * x + 32768) >> 16;
            t.cb_b[i] = (116130 * x + 32768) >> 16;
            t.cr_g[i] = -46802 * x;
            t.cb_g[i] = -22554 * x + 32768;
        }
        t
    }
}

/// The window's pixels: grey (1 byte) or RGB (3 bytes), rows packed.
pub fn render(plans: &[Plan], k: usize, x0: usize, y0: usize, w: usize, h: usize) -> Vec<u8> {
    let planes: Vec<Plane<'_>> = plans.iter().map(plane).collect();
    let fancy = k > 1;
    let channels = planes.len();
    let mut out = vec![0u8; w * h * channels];
    if channels == 1 {
        for (r, line) in out.chunks_exact_mut(w).enumerate() {
            planes[0].row(y0 + r, x0, fancy, line);
        }
        return out;
    }
    let t = Ycc::new();
    let mut lines = vec![0u8; 3 * w];
    for (r, rgb) in out.chunks_exact_mut(3 * w).enumerate() {
        let (yl, rest) = lines.split_at_mut(w);
        let (cbl, crl) = rest.split_at_mut(w);
        planes[0].row(y0 + r, x0, fancy, yl);
        planes[1].row(y0 + r, x0, fancy, cbl);
        planes[2].row(y0 + r, x0, fancy, crl);
        for (((px, &y), &cb), &cr) in rgb.chunks_exact_mut(3).zip(&*yl).zip(&*cbl).zip(&*crl) {
            let (y, cb, cr) = (i32::from(y), usize::from(cb), usize::from(cr));
            px[0] = (y + t.cr_r[cr]).clamp(0, 255) as u8;
            px[1] = (y + ((t.cb_g[cb] + t.cr_g[cr]) >> 16)).clamp(0, 255) as u8;
            px[2] = (y + t.cb_b[cb]).clamp(0, 255) as u8;
        }
    }
    out
}
