//! Encoding the upright result: JPEG with libjpeg-turbo, PNG with the `image` crate, lossy WebP
//! with libwebp. No metadata (EXIF, ICC, XMP) is ever written, and the same pixels always give the
//! same bytes.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

use super::pixels::{Layout, Pixels};
use crate::error::TofuError;
use crate::ops::OutputFormat;

/// The largest side each format can store (WebP: 14 bits; JPEG: 16 bits).
fn max_side(format: OutputFormat) -> u32 {
    match format {
        OutputFormat::WebP => 16383,
        OutputFormat::Jpeg => 65535,
        OutputFormat::Png => u32::MAX >> 1,
    }
}

/// Encodes `pixels` as `format`. `quality` (1..=100) applies to JPEG and WebP.
pub fn encode(pixels: Pixels, format: OutputFormat, quality: u8) -> Result<Vec<u8>, TofuError> {
    let limit = max_side(format);
    if pixels.width > limit || pixels.height > limit {
        return Err(TofuError::OutOfRange(format!(
            "{}x{} is too large for {} output (at most {limit} per side)",
            pixels.width,
            pixels.height,
            format.extension()
        )));
    }
    let quality = quality.clamp(1, 100);
    match format {
        OutputFormat::Jpeg => jpeg(pixels.flatten_on_white(), quality),
        OutputFormat::Png => png(&pixels),
        OutputFormat::WebP => webp(pixels.expand_gray(), quality),
    }
}

/// Progressive JPEG (DESIGN.md step 9: smaller than baseline at the same quality, and it
/// paints early on slow links), 4:2:0 chroma subsampling for colour; gray stays a one-channel
/// JPEG.
fn jpeg(pixels: Pixels, quality: u8) -> Result<Vec<u8>, TofuError> {
    let (format, subsamp) = match pixels.layout {
        Layout::Gray => (PixelFormat::GRAY, Subsamp::Gray),
        _ => (PixelFormat::RGB, Subsamp::Sub2x2),
    };
    let mut compressor = Compressor::new().map_err(failed)?;
    compressor.set_quality(i32::from(quality)).map_err(failed)?;
    compressor.set_subsamp(subsamp).map_err(failed)?;
    compressor.set_progressive(true).map_err(failed)?;
    let image = Image {
        pixels: pixels.data.as_slice(),
        width: pixels.width as usize,
        pitch: pixels.stride(),
        height: pixels.height as usize,
        format,
    };
    let out = compressor.compress_to_owned(image).map_err(failed)?;
    Ok(out.to_vec())
}

/// PNG with fast deflate and adaptive filtering, in the layout it has (gray, gray+alpha, RGB,
/// RGBA), 8 bits.
fn png(pixels: &Pixels) -> Result<Vec<u8>, TofuError> {
    let color = match pixels.layout {
        Layout::Gray => ExtendedColorType::L8,
        Layout::GrayAlpha => ExtendedColorType::La8,
        Layout::Rgb => ExtendedColorType::Rgb8,
        Layout::Rgba => ExtendedColorType::Rgba8,
    };
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(&pixels.data, pixels.width, pixels.height, color)
        .map_err(failed)?;
    Ok(out)
}

/// Lossy WebP (alpha, when present, compressed losslessly), libwebp's default effort.
fn webp(pixels: Pixels, quality: u8) -> Result<Vec<u8>, TofuError> {
    let encoder = match pixels.layout {
        Layout::Rgba => webp::Encoder::from_rgba(&pixels.data, pixels.width, pixels.height),
        _ => webp::Encoder::from_rgb(&pixels.data, pixels.width, pixels.height),
    };
    let out = encoder
        .encode_simple(false, f32::from(quality))
        .map_err(|e| failed(format!("{e:?}")))?;
    Ok(out.to_vec())
}

fn failed(e: impl std::fmt::Display) -> TofuError {
    TofuError::Internal(format!("encoding failed: {e}"))
}
