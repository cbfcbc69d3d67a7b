//! The geometry of a transform, computed up front from the (oriented) source size and the ops
//! alone: which rectangle of the source is used and how big the output is. A pure function, so
//! every sizing rule is tested without a single pixel, and the decoder can pick its DCT scale from
//! the answer before decoding.

use crate::error::TofuError;
use crate::ops::{Ops, Region};

/// A rectangle of source pixels with sub-pixel precision (what the resampler reads).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    /// The whole of a `width`×`height` image.
    pub fn full(width: u32, height: u32) -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            width: f64::from(width),
            height: f64::from(height),
        }
    }

    /// The rectangle pulled inside a `width`×`height` image: floating-point noise from the
    /// orientation and scale mappings may put an edge a hair outside, which the resampler refuses.
    pub fn clamped(self, width: u32, height: u32) -> Rect {
        let (w, h) = (f64::from(width), f64::from(height));
        let x = self.x.clamp(0.0, w);
        let y = self.y.clamp(0.0, h);
        Rect {
            x,
            y,
            width: self.width.clamp(0.0, w - x),
            height: self.height.clamp(0.0, h - y),
        }
    }

    /// The same rectangle in an image scaled by `factor` on both axes (DCT scaling).
    pub fn scaled(self, factor: f64) -> Rect {
        Rect {
            x: self.x * factor,
            y: self.y * factor,
            width: self.width * factor,
            height: self.height * factor,
        }
    }
}

/// The geometry of one transform in the oriented (upright) source: cut `crop`, resample it to
/// `width`×`height`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// The part of the oriented source that ends up in the output.
    pub crop: Rect,
    /// Output width in pixels (at least 1).
    pub width: u32,
    /// Output height in pixels (at least 1).
    pub height: u32,
}

/// Computes what to cut from a `source_width`×`source_height` (oriented) image and the output
/// size, following the URL's ops.
///
/// The rules, in order (the README quotes them):
///
/// 1. **Region** `r<x>,<y>,<w>,<h>` is cut first, in oriented pixels. It must lie inside the
///    image (`x+w <= width`, `y+h <= height`, `w, h >= 1`), otherwise the request is out of range
///    (400). Everything below applies to the region as if it were the whole source.
/// 2. **Fit** (no `c`; also `c` with a single side): the scale is `min(W/sw, H/sh)` over the sides
///    given (`W`, `H` the box, `sw`, `sh` the source), capped at 1: an image is never
///    enlarged. The side that sets the scale is exactly the box side; the other is
///    `round(side × scale)`, rounding halves up, and at least 1. Nothing is cropped.
/// 3. **Fill** (`c` with both sides): when the source covers the box on both axes, the output is
///    exactly `W`×`H`: the source is scaled by `max(W/sw, H/sh)` and the part outside the box is
///    cut off, where the gravity says (`Gravity::anchor`: 0 = left/top, ½ = centre,
///    1 = right/bottom of the slack). When the source is smaller than the box on either axis the
///    image is not enlarged: the output is the largest rectangle of the box's aspect ratio that
///    fits in the source at scale 1 (its other side `round(…)`, halves up), cut at whole-pixel
///    offsets placed by the gravity (halves up). Example: a 200×100 source at `280x210c` gives
///    133×100.
///
/// Rounding is exact (integer arithmetic), so results never depend on floating-point noise.
pub fn plan(source_width: u32, source_height: u32, ops: &Ops) -> Result<Plan, TofuError> {
    if source_width == 0 || source_height == 0 {
        return Err(TofuError::Unprocessable(
            "source has no pixels (zero width or height)".to_string(),
        ));
    }
    let base = match ops.region {
        Some(region) => check_region(region, source_width, source_height)?,
        None => Region {
            x: 0,
            y: 0,
            width: source_width,
            height: source_height,
        },
    };
    let (sw, sh) = (base.width, base.height);
    let size = ops.size;
    if size.width == Some(0) || size.height == Some(0) {
        return Err(TofuError::OutOfRange(
            "width and height must be at least 1".to_string(),
        ));
    }

    let mut plan = match (size.width, size.height) {
        (Some(bw), Some(bh)) if size.fill => fill(sw, sh, bw, bh, ops.gravity.anchor()),
        (Some(bw), Some(bh)) => {
            if u64::from(bw) * u64::from(sh) <= u64::from(bh) * u64::from(sw) {
                fit_width(sw, sh, bw)
            } else {
                fit_height(sw, sh, bh)
            }
        }
        (Some(bw), None) => fit_width(sw, sh, bw),
        (None, Some(bh)) => fit_height(sw, sh, bh),
        (None, None) => Plan {
            crop: Rect::full(sw, sh),
            width: sw,
            height: sh,
        },
    };
    plan.crop.x += f64::from(base.x);
    plan.crop.y += f64::from(base.y);
    Ok(plan)
}

/// The region, checked against the oriented image.
fn check_region(region: Region, width: u32, height: u32) -> Result<Region, TofuError> {
    let right = u64::from(region.x) + u64::from(region.width);
    let bottom = u64::from(region.y) + u64::from(region.height);
    if region.width == 0
        || region.height == 0
        || right > u64::from(width)
        || bottom > u64::from(height)
    {
        return Err(TofuError::OutOfRange(format!(
            "region {},{},{},{} is outside the {}x{} image",
            region.x, region.y, region.width, region.height, width, height
        )));
    }
    Ok(region)
}

/// `round(a / b)` with halves rounded up, for `b > 0`, and at least 1.
fn ratio_round(a: u64, b: u64) -> u32 {
    let (a, b) = (u128::from(a), u128::from(b));
    let rounded = (2 * a + b) / (2 * b);
    u32::try_from(rounded.max(1)).unwrap_or(u32::MAX)
}

/// Fit where the width sets the scale (`bw / sw`).
fn fit_width(sw: u32, sh: u32, bw: u32) -> Plan {
    let (width, height) = if bw >= sw {
        (sw, sh)
    } else {
        (
            bw,
            ratio_round(u64::from(sh) * u64::from(bw), u64::from(sw)),
        )
    };
    Plan {
        crop: Rect::full(sw, sh),
        width,
        height,
    }
}

/// Fit where the height sets the scale (`bh / sh`).
fn fit_height(sw: u32, sh: u32, bh: u32) -> Plan {
    let (width, height) = if bh >= sh {
        (sw, sh)
    } else {
        (
            ratio_round(u64::from(sw) * u64::from(bh), u64::from(sh)),
            bh,
        )
    };
    Plan {
        crop: Rect::full(sw, sh),
        width,
        height,
    }
}

/// Fill: cover the `bw`×`bh` box, crop by gravity; never enlarge.
fn fill(sw: u32, sh: u32, bw: u32, bh: u32, (ax, ay): (f64, f64)) -> Plan {
    // box wider (relative to its height) than the source: the source's width is the limit.
    let width_limited = u64::from(bw) * u64::from(sh) >= u64::from(bh) * u64::from(sw);
    if sw >= bw && sh >= bh {
        let (cw, ch) = if width_limited {
            (f64::from(sw), f64::from(bh) * f64::from(sw) / f64::from(bw))
        } else {
            (f64::from(bw) * f64::from(sh) / f64::from(bh), f64::from(sh))
        };
        Plan {
            crop: Rect {
                x: (f64::from(sw) - cw) * ax,
                y: (f64::from(sh) - ch) * ay,
                width: cw,
                height: ch,
            },
            width: bw,
            height: bh,
        }
    } else {
        let (ow, oh) = if width_limited {
            (
                sw,
                ratio_round(u64::from(sw) * u64::from(bh), u64::from(bw)),
            )
        } else {
            (
                ratio_round(u64::from(sh) * u64::from(bw), u64::from(bh)),
                sh,
            )
        };
        let (ow, oh) = (ow.min(sw), oh.min(sh));
        // Whole-pixel offsets: at scale 1 this is a plain copy, no resampling blur.
        let offset = |slack: u32, anchor: f64| (f64::from(slack) * anchor + 0.5).floor();
        Plan {
            crop: Rect {
                x: offset(sw - ow, ax),
                y: offset(sh - oh, ay),
                width: f64::from(ow),
                height: f64::from(oh),
            },
            width: ow,
            height: oh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Gravity;

    use crate::ops::sized as ops;

    fn dims(p: Plan) -> (u32, u32) {
        (p.width, p.height)
    }

    fn rect(x: f64, y: f64, width: f64, height: f64) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn fit_inside_the_box() {
        let p = plan(1800, 1200, &ops(Some(280), Some(210), false)).unwrap();
        // 280/1800 < 210/1200: the width decides; 1200 × 280/1800 = 186.67 → 187.
        assert_eq!(dims(p), (280, 187));
        assert_eq!(p.crop, Rect::full(1800, 1200));
        let p = plan(1200, 1800, &ops(Some(280), Some(210), false)).unwrap();
        // 210/1800 decides; 1200 × 210/1800 = 140.
        assert_eq!(dims(p), (140, 210));
    }

    #[test]
    fn width_only_and_height_only() {
        assert_eq!(
            dims(plan(1800, 1200, &ops(Some(300), None, false)).unwrap()),
            (300, 200)
        );
        assert_eq!(
            dims(plan(1800, 1200, &ops(None, Some(100), false)).unwrap()),
            (150, 100)
        );
        assert_eq!(
            dims(plan(1000, 333, &ops(Some(100), None, false)).unwrap()),
            (100, 33)
        );
    }

    #[test]
    fn rounding_halves_up_and_never_to_zero() {
        assert_eq!(
            dims(plan(2, 5, &ops(Some(1), None, false)).unwrap()),
            (1, 3)
        ); // 2.5 → 3
        assert_eq!(
            dims(plan(4, 10, &ops(Some(3), None, false)).unwrap()),
            (3, 8)
        ); // 7.5 → 8
        assert_eq!(
            dims(plan(10, 4, &ops(None, Some(3), false)).unwrap()),
            (8, 3)
        ); // 7.5 → 8
        assert_eq!(
            dims(plan(4, 9, &ops(Some(3), None, false)).unwrap()),
            (3, 7)
        ); // 6.75 → 7
           // A very thin image still gets one row.
        assert_eq!(
            dims(plan(10000, 10, &ops(Some(100), None, false)).unwrap()),
            (100, 1)
        );
        assert_eq!(
            dims(plan(10, 10000, &ops(None, Some(100), false)).unwrap()),
            (1, 100)
        );
    }

    #[test]
    fn fit_never_upscales() {
        assert_eq!(
            dims(plan(200, 100, &ops(Some(400), None, false)).unwrap()),
            (200, 100)
        );
        assert_eq!(
            dims(plan(200, 100, &ops(None, Some(400), false)).unwrap()),
            (200, 100)
        );
        assert_eq!(
            dims(plan(200, 100, &ops(Some(400), Some(400), false)).unwrap()),
            (200, 100)
        );
        assert_eq!(
            dims(plan(200, 100, &ops(Some(200), Some(100), false)).unwrap()),
            (200, 100)
        );
        // One side larger than the box: scale < 1 applies to both.
        assert_eq!(
            dims(plan(200, 100, &ops(Some(100), Some(400), false)).unwrap()),
            (100, 50)
        );
    }

    #[test]
    fn fill_covers_the_box_and_centre_crops() {
        let p = plan(1800, 1200, &ops(Some(280), Some(210), true)).unwrap();
        assert_eq!(dims(p), (280, 210));
        // scale = max(280/1800, 210/1200) = 0.175: window 1600×1200, centred.
        assert_eq!(p.crop, rect(100.0, 0.0, 1600.0, 1200.0));
        let p = plan(1200, 1800, &ops(Some(280), Some(210), true)).unwrap();
        assert_eq!(dims(p), (280, 210));
        assert_eq!(p.crop, rect(0.0, 450.0, 1200.0, 900.0));
        // Same aspect: nothing is cut.
        let p = plan(1800, 1200, &ops(Some(300), Some(200), true)).unwrap();
        assert_eq!(p.crop, Rect::full(1800, 1200));
        // Sub-pixel windows are kept as they are (the resampler handles them).
        let p = plan(1000, 1000, &ops(Some(300), Some(200), true)).unwrap();
        assert_eq!(p.crop.width, 1000.0);
        assert!((p.crop.height - 2000.0 / 3.0).abs() < 1e-9);
        assert!((p.crop.y - (1000.0 - 2000.0 / 3.0) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn fill_gravity_anchors() {
        let at = |g: Gravity| {
            let mut o = ops(Some(280), Some(210), true);
            o.gravity = g;
            let p = plan(1800, 1200, &o).unwrap();
            (p.crop.x, p.crop.y)
        };
        assert_eq!(at(Gravity::Centre), (100.0, 0.0));
        assert_eq!(at(Gravity::West), (0.0, 0.0));
        assert_eq!(at(Gravity::East), (200.0, 0.0));
        assert_eq!(at(Gravity::NorthWest), (0.0, 0.0));
        assert_eq!(at(Gravity::SouthEast), (200.0, 0.0));
        let at_tall = |g: Gravity| {
            let mut o = ops(Some(280), Some(210), true);
            o.gravity = g;
            let p = plan(1200, 1800, &o).unwrap();
            (p.crop.x, p.crop.y)
        };
        assert_eq!(at_tall(Gravity::North), (0.0, 0.0));
        assert_eq!(at_tall(Gravity::Centre), (0.0, 450.0));
        assert_eq!(at_tall(Gravity::South), (0.0, 900.0));
        assert_eq!(at_tall(Gravity::NorthEast), (0.0, 0.0));
        assert_eq!(at_tall(Gravity::SouthWest), (0.0, 900.0));
    }

    #[test]
    fn fill_never_upscales() {
        // The documented example: 200×100 at 280x210c → 133×100 (100 × 4/3 = 133.3).
        let p = plan(200, 100, &ops(Some(280), Some(210), true)).unwrap();
        assert_eq!(dims(p), (133, 100));
        // Centred at a whole pixel: (200 - 133) / 2 = 33.5 → 34.
        assert_eq!(p.crop, rect(34.0, 0.0, 133.0, 100.0));
        // Smaller on one axis only.
        let p = plan(400, 100, &ops(Some(280), Some(210), true)).unwrap();
        assert_eq!(dims(p), (133, 100));
        let p = plan(100, 400, &ops(Some(280), Some(210), true)).unwrap();
        assert_eq!(dims(p), (100, 75));
        assert_eq!(p.crop, rect(0.0, 163.0, 100.0, 75.0)); // 162.5 → 163
                                                           // Gravity still places the window.
        let mut o = ops(Some(280), Some(210), true);
        o.gravity = Gravity::East;
        assert_eq!(
            plan(200, 100, &o).unwrap().crop,
            rect(67.0, 0.0, 133.0, 100.0)
        );
        o.gravity = Gravity::West;
        assert_eq!(
            plan(200, 100, &o).unwrap().crop,
            rect(0.0, 0.0, 133.0, 100.0)
        );
        // Exactly the box: unchanged.
        let p = plan(280, 210, &ops(Some(280), Some(210), true)).unwrap();
        assert_eq!((dims(p), p.crop), ((280, 210), Rect::full(280, 210)));
    }

    #[test]
    fn region_is_cut_first() {
        let mut o = ops(Some(800), Some(600), false);
        o.region = Some(Region {
            x: 100,
            y: 50,
            width: 1600,
            height: 1200,
        });
        let p = plan(1800, 1300, &o).unwrap();
        assert_eq!(dims(p), (800, 600));
        assert_eq!(p.crop, rect(100.0, 50.0, 1600.0, 1200.0));

        // Fill inside a region: the gravity offset is added to the region's origin.
        let mut o = ops(Some(100), Some(100), true);
        o.region = Some(Region {
            x: 10,
            y: 20,
            width: 300,
            height: 200,
        });
        let p = plan(1000, 1000, &o).unwrap();
        assert_eq!(p.crop, rect(60.0, 20.0, 200.0, 200.0));

        // A region that reaches the edge exactly is fine.
        let mut o = ops(Some(10), None, false);
        o.region = Some(Region {
            x: 1700,
            y: 1100,
            width: 100,
            height: 100,
        });
        assert!(plan(1800, 1200, &o).is_ok());
    }

    #[test]
    fn region_outside_the_image_is_out_of_range() {
        let mut o = ops(Some(10), None, false);
        for (x, y, w, h) in [
            (1701, 0, 100, 100),
            (0, 1101, 100, 100),
            (0, 0, 1801, 1),
            (u32::MAX, u32::MAX, u32::MAX, u32::MAX),
            (0, 0, 0, 10),
        ] {
            o.region = Some(Region {
                x,
                y,
                width: w,
                height: h,
            });
            match plan(1800, 1200, &o) {
                Err(TofuError::OutOfRange(msg)) => {
                    assert!(msg.contains("outside the 1800x1200 image"), "{msg}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn degenerate_inputs_are_errors_not_panics() {
        assert!(matches!(
            plan(0, 10, &ops(Some(1), None, false)),
            Err(TofuError::Unprocessable(_))
        ));
        assert!(matches!(
            plan(10, 10, &ops(Some(0), None, false)),
            Err(TofuError::OutOfRange(_))
        ));
        // `c` with one side behaves as fit.
        assert_eq!(
            dims(plan(1800, 1200, &ops(Some(300), None, true)).unwrap()),
            (300, 200)
        );
        // Huge numbers do not overflow.
        let p = plan(u32::MAX, 1, &ops(Some(u32::MAX - 1), None, false)).unwrap();
        assert_eq!(dims(p), (u32::MAX - 1, 1));
    }
}
