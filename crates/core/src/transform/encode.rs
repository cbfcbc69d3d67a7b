//! Encoding the upright result: JPEG with libjpeg-turbo, PNG with the `image` crate, lossy WebP
//! with libwebp, AVIF with libavif + libaom. No metadata (EXIF, ICC, XMP) is ever written, and
//! the same pixels always give the same bytes.

use super::libjpeg::{self, EncodeOptions};
use super::pixels::{Layout, Pixels};
use crate::error::TofuError;
use crate::ops::{Background, OutputFormat};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use tofu_libavif as libavif;

/// The largest side each format can store (WebP: 14 bits; JPEG and AV1: 16 bits).
fn max_side(format: OutputFormat) -> u32 {
    match format {
        OutputFormat::WebP => 16383,
        OutputFormat::Jpeg | OutputFormat::Avif => 65535,
        OutputFormat::Png => u32::MAX >> 1,
    }
}

/// Encodes `pixels` as `format`. `quality` (1..=100) applies to JPEG, WebP and AVIF;
/// `background` is what transparency is flattened onto for JPEG (the other formats keep alpha).
pub fn encode(
    pixels: Pixels,
    format: OutputFormat,
    quality: u8,
    background: Background,
) -> Result<Vec<u8>, TofuError> {
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
        OutputFormat::Jpeg => jpeg(pixels.flatten_on(background), quality),
        OutputFormat::Png => png(&pixels),
        OutputFormat::WebP => webp(pixels.expand_gray(), quality),
        OutputFormat::Avif => avif(pixels.expand_gray(), quality),
    }
}

/// Outputs with at least this many pixels are written as progressive JPEG, smaller ones as
/// baseline; both with optimized Huffman tables.
///
/// Measured (bench/encoders.sh: the same pixels, 28 photos, 4:2:0, mean per image):
///
/// | job | baseline | progressive | mozjpeg (trellis, its tables) |
/// | --- | --- | --- | --- |
/// | 280x210 q80: CPU, bytes, DSSIM | 0.41 ms, 11795, 0.00146 | 1.05 ms, 11699, 0.00146 | 6.46 ms, 10152, 0.00157 |
/// | ≤1024 q85: CPU, bytes, DSSIM | 4.21 ms, 108865, 0.00088 | 9.48 ms, 105440, 0.00088 | 53.8 ms, 88335, 0.00100 |
///
/// Progressive saves 0.8 % of a thumbnail's bytes for 2.5× the encoding CPU (and a thumbnail
/// gains nothing from painting early), but 3.2 % at 1024 px, where it also paints early on slow
/// links: so only larger outputs are progressive. mozjpeg is 6 to 13 times slower than the
/// whole encode, and its smaller files at the same quality number are also further from the
/// reference (different quantisation tables): not worth the CPU, which is this product's bill.
pub const JPEG_PROGRESSIVE_MIN_PIXELS: u64 = 100_000;

/// JPEG with libjpeg-turbo: 4:2:0 chroma subsampling for colour, gray stays a one-channel JPEG.
fn jpeg(pixels: Pixels, quality: u8) -> Result<Vec<u8>, TofuError> {
    let channels = match pixels.layout {
        Layout::Gray => 1,
        _ => 3,
    };
    let options = EncodeOptions {
        quality,
        progressive: u64::from(pixels.width) * u64::from(pixels.height)
            >= JPEG_PROGRESSIVE_MIN_PIXELS,
        optimize: true,
    };
    libjpeg::encode(&pixels.data, pixels.width, pixels.height, channels, options).map_err(failed)
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

/// libavif's speed for every AVIF answer (libaom's `cpu-used`, all-intra mode). Measured on the
/// photo corpus (docs/performance.md, "AVIF"; bench/avif.sh): at fill 280x210, speed 8 encodes in
/// about 3 times WebP's CPU and gives 13 % fewer bytes than WebP at the same DSSIM, keeping the
/// whole thumbnail under 2× a JPEG's CPU; speed 9 is 4 times cheaper but saves only 2 %, speed 6
/// saves 17 % for 2.4 times speed 8's CPU.
pub const AVIF_SPEED: u8 = 8;

/// The AV1 quantizer (0 best ..= 63 worst) for a `q` of 1..=100, chosen so that the same `q`
/// gives about the DSSIM of libwebp's output at that `q` (and so near libjpeg's) on the photo
/// corpus: at speed 8, WebP q75/q80/q85/q90 match quantizers 26, 22.5, 18.4 and 13.3 (fill
/// 280x210; docs/performance.md, "AVIF"). The line through them, `91.3 − 0.86 q`, rounded and
/// clamped; below q33 it runs into AV1's coarsest quantizer (63).
pub fn avif_quantizer(quality: u8) -> u8 {
    let q = i32::from(quality.clamp(1, 100));
    ((9130 - 86 * q + 50) / 100).clamp(0, 63) as u8
}

/// AVIF, 8 bits, 4:2:0 (what WebP and our JPEGs use too: photos lose nothing visible at
/// thumbnail sizes, and 4:4:4 costs 7 % more bytes at the same DSSIM), sRGB by CICP, alpha
/// lossless; one thread, so the same pixels give the same bytes.
fn avif(pixels: Pixels, quality: u8) -> Result<Vec<u8>, TofuError> {
    let options = libavif::EncodeOptions {
        quantizer: avif_quantizer(quality),
        speed: AVIF_SPEED,
        codec: libavif::Codec::Aom,
        yuv444: false,
    };
    let channels = pixels.layout.channels() as u32;
    libavif::encode(&pixels.data, pixels.width, pixels.height, channels, options).map_err(failed)
}

fn failed(e: impl std::fmt::Display) -> TofuError {
    TofuError::Internal(format!("encoding failed: {e}"))
}
