//! Resampling the crop window to the output size: Lanczos3 with SIMD (`fast_image_resize`),
//! sub-pixel crop, alpha premultiplied while filtering so transparent pixels do not bleed their
//! (meaningless) colour into the edges.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, MulDiv, ResizeAlg, ResizeOptions, Resizer};

use std::cell::RefCell;

use super::geometry::Rect;
use super::pixels::Pixels;
use crate::error::TofuError;

thread_local! {
    /// One resampler per thread: it keeps its scratch buffers (coefficients, the intermediate
    /// image between the horizontal and vertical passes) from one request to the next, as long
    /// as they are small (see [`KEPT_SCRATCH_BYTES`]). httpd never unloads the module's code
    /// under a live thread (`-z nodelete`, DESIGN.md).
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// The largest intermediate image a thread's resampler keeps between requests. Every httpd
/// thread has its own resampler, and `fast_image_resize` keeps its buffers at their largest
/// size, so without a cap a child would hold ThreadsPerChild × the largest resize it ever did
/// (not TofuConcurrency ×). Thumbnails (the common case) stay under it and reuse their buffers;
/// a larger resize drops its buffers when done.
pub const KEPT_SCRATCH_BYTES: usize = 2 << 20;

/// The bytes of the intermediate image `fast_image_resize` keeps for a resize of a `crop`
/// to `width`: the horizontal pass's output, crop height × output width pixels.
fn scratch_bytes(crop: Rect, width: u32, bytes_per_pixel: usize) -> usize {
    (crop.height.ceil() as usize + 8)
        .saturating_mul(width as usize)
        .saturating_mul(bytes_per_pixel)
}

/// Resamples `crop` of `source` (stored orientation, in `source`'s pixels) to
/// `width`×`height`.
///
/// `source` is taken by value: when it has alpha it is premultiplied in place (no copy of the
/// big buffer); when nothing needs resampling it is returned as it is.
pub fn resize(
    mut source: Pixels,
    crop: Rect,
    width: u32,
    height: u32,
) -> Result<Pixels, TofuError> {
    let layout = source.layout;
    let crop = crop.clamped(source.width, source.height);
    let whole = crop == Rect::full(source.width, source.height);
    if whole && width == source.width && height == source.height {
        return Ok(source);
    }
    if is_whole_pixel_copy(crop, width, height) {
        return Ok(copy_window(
            &source,
            crop.x as usize,
            crop.y as usize,
            width,
            height,
        ));
    }

    let mul_div = MulDiv::new();
    let pixel_type = layout.pixel_type();
    if layout.has_alpha() {
        let mut view =
            Image::from_slice_u8(source.width, source.height, &mut source.data, pixel_type)
                .map_err(internal)?;
        mul_div
            .multiply_alpha_inplace(&mut view)
            .map_err(internal)?;
    }
    let src =
        ImageRef::new(source.width, source.height, &source.data, pixel_type).map_err(internal)?;
    let mut dst = Image::new(width, height, pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(crop.x, crop.y, crop.width, crop.height)
        .use_alpha(false); // premultiplied above, once, in place
    let keep = scratch_bytes(crop, width, layout.channels()) <= KEPT_SCRATCH_BYTES;
    RESIZER
        .with(|resizer| {
            let mut resizer = resizer.borrow_mut();
            let done = resizer.resize(&src, &mut dst, &options);
            if !keep {
                *resizer = Resizer::new();
            }
            done
        })
        .map_err(internal)?;
    if layout.has_alpha() {
        mul_div.divide_alpha_inplace(&mut dst).map_err(internal)?;
    }
    Ok(Pixels {
        data: dst.into_vec(),
        width,
        height,
        layout,
    })
}

/// A crop at whole-pixel offsets with the output's exact size: copying beats filtering (which
/// would only blur, and would lose precision on premultiplied alpha).
fn is_whole_pixel_copy(crop: Rect, width: u32, height: u32) -> bool {
    crop.x.fract() == 0.0
        && crop.y.fract() == 0.0
        && crop.width == f64::from(width)
        && crop.height == f64::from(height)
}

fn copy_window(source: &Pixels, x: usize, y: usize, width: u32, height: u32) -> Pixels {
    let n = source.layout.channels();
    let stride = source.stride();
    let row = width as usize * n;
    let mut data = Vec::with_capacity(row * height as usize);
    for r in y..y + height as usize {
        let start = r * stride + x * n;
        data.extend_from_slice(&source.data[start..start + row]);
    }
    Pixels {
        data,
        width,
        height,
        layout: source.layout,
    }
}

fn internal(e: impl std::fmt::Display) -> TofuError {
    TofuError::Internal(format!("resize: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::pixels::Layout;

    fn flat(width: u32, height: u32, layout: Layout, pixel: &[u8]) -> Pixels {
        Pixels {
            data: pixel.repeat((width * height) as usize),
            width,
            height,
            layout,
        }
    }

    #[test]
    fn resizes_to_the_exact_size_and_keeps_flat_colour() {
        let p = resize(
            flat(300, 200, Layout::Rgb, &[10, 120, 250]),
            Rect::full(300, 200),
            97,
            41,
        )
        .unwrap();
        assert_eq!((p.width, p.height, p.data.len()), (97, 41, 97 * 41 * 3));
        assert!(p.data.chunks_exact(3).all(|c| c == [10, 120, 250]));
    }

    #[test]
    fn transparent_pixels_do_not_bleed_their_colour() {
        // Left half opaque red, right half fully transparent *green*.
        let (w, h) = (64u32, 8u32);
        let mut data = Vec::new();
        for _ in 0..h {
            for x in 0..w {
                data.extend_from_slice(if x < w / 2 {
                    &[255, 0, 0, 255]
                } else {
                    &[0, 255, 0, 0]
                });
            }
        }
        let p = Pixels {
            data,
            width: w,
            height: h,
            layout: Layout::Rgba,
        };
        let out = resize(p, Rect::full(w, h), 16, 2).unwrap();
        for px in out.data.chunks_exact(4) {
            if px[3] > 0 {
                assert!(px[1] <= 2, "green bled into {px:?}");
            }
        }
    }

    #[test]
    fn whole_pixel_windows_are_copied() {
        let mut p = flat(10, 10, Layout::Gray, &[0]);
        for (i, v) in p.data.iter_mut().enumerate() {
            *v = i as u8;
        }
        let crop = Rect {
            x: 2.0,
            y: 3.0,
            width: 4.0,
            height: 2.0,
        };
        let out = resize(p, crop, 4, 2).unwrap();
        assert_eq!(out.data, vec![32, 33, 34, 35, 42, 43, 44, 45]);
    }

    #[test]
    fn a_window_a_hair_outside_the_image_is_pulled_in() {
        let crop = Rect {
            x: -1e-12,
            y: 0.0,
            width: 300.0 + 2e-12,
            height: 200.0 + 1e-9,
        };
        let p = resize(flat(300, 200, Layout::Rgb, &[1, 2, 3]), crop, 30, 20).unwrap();
        assert_eq!((p.width, p.height), (30, 20));
    }

    #[test]
    fn nothing_to_do_returns_the_source() {
        let p = flat(5, 4, Layout::GrayAlpha, &[1, 2]);
        let out = resize(p.clone(), Rect::full(5, 4), 5, 4).unwrap();
        assert_eq!(out, p);
    }
}
