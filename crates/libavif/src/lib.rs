//! tofu-libavif: AVIF encoding with Debian's libavif (0.11, AV1 by libaom 3.6) behind a safe
//! interface. The codec binding layer of DESIGN.md, like tofu-libjpeg: it holds the `unsafe`, so
//! that the core can forbid it.
//!
//! The C half (`shim.c`, compiled by build.rs) fills libavif's structs against the installed
//! header and returns a malloc'd file or a message; this half checks every size it hands to C
//! and copies the result into a `Vec` once.
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, c_int, CStr};

extern "C" {
    fn tofu_avif_encode(
        pixels: *const u8,
        width: u32,
        height: u32,
        channels: u32,
        quantizer: c_int,
        speed: c_int,
        codec: c_int,
        yuv444: c_int,
        out: *mut *mut u8,
        out_len: *mut usize,
        message: *mut c_char,
        message_len: usize,
    ) -> c_int;
    fn tofu_avif_free(data: *mut u8, len: usize);
    fn tofu_avif_decode(
        data: *const u8,
        len: usize,
        rgba: *mut *mut u8,
        width: *mut u32,
        height: *mut u32,
        message: *mut c_char,
        message_len: usize,
    ) -> c_int;
    fn tofu_avif_free_pixels(rgba: *mut u8);
}

/// The AV1 encoder libavif drives (Debian's libavif is built with both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// libaom: what mod_tofu serves with.
    Aom = 0,
    /// rav1e: only for comparing encoders in bench/encoders.
    Rav1e = 1,
}

/// How to encode: the knobs that decide bytes, quality and CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// AV1 quantizer, 0 (lossless) ..= 63 (worst); colour only, alpha is always lossless.
    pub quantizer: u8,
    /// libavif speed, 0 (slowest, smallest) ..= 10 (fastest).
    pub speed: u8,
    pub codec: Codec,
    /// Full-resolution chroma (4:4:4) instead of 4:2:0.
    pub yuv444: bool,
}

/// Why an encode failed (libavif's result and diagnostic, or a size the wrapper refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Encodes `width × height` packed 8-bit sRGB pixels of `channels` (3: RGB, 4: RGBA) as one AVIF
/// still image. Single-threaded, so the same pixels and options always give the same bytes.
pub fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u32,
    options: EncodeOptions,
) -> Result<Vec<u8>, Error> {
    if channels != 3 && channels != 4 {
        return Err(Error(format!("cannot encode {channels} channels")));
    }
    let needed = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(channels as usize));
    if width == 0 || height == 0 || needed != Some(pixels.len()) {
        return Err(Error("pixel buffer does not match the image size".into()));
    }
    if width.checked_mul(channels).is_none() {
        return Err(Error("rows too long".into()));
    }
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut out_len: usize = 0;
    let mut message = [0 as c_char; 300];
    // SAFETY: `pixels` holds exactly `height` rows of `width × channels` bytes (checked above),
    // which the shim only reads; the out-pointers are valid; the shim writes at most
    // message.len() bytes, NUL-terminated (snprintf).
    let rc = unsafe {
        tofu_avif_encode(
            pixels.as_ptr(),
            width,
            height,
            channels,
            c_int::from(options.quantizer.min(63)),
            c_int::from(options.speed.min(10)),
            options.codec as c_int,
            c_int::from(options.yuv444),
            &mut out,
            &mut out_len,
            message.as_mut_ptr(),
            message.len(),
        )
    };
    if rc != 0 || out.is_null() {
        // SAFETY: NUL-terminated by snprintf in the shim (or all zeros).
        let msg = unsafe { CStr::from_ptr(message.as_ptr()) };
        return Err(Error(format!(
            "libavif: {}",
            msg.to_string_lossy().into_owned()
        )));
    }
    // SAFETY: libavif wrote `out_len` bytes at `out`, which we copy once and then free.
    let bytes = unsafe { std::slice::from_raw_parts(out, out_len) }.to_vec();
    // SAFETY: `out`/`out_len` are the avifRWData libavif filled, freed once with its allocator.
    unsafe { tofu_avif_free(out, out_len) };
    Ok(bytes)
}

/// Decodes an AVIF file (with dav1d, through libavif) to packed 8-bit RGBA: `(pixels, width,
/// height)`. For tests and benchmarks, which check what the encoder wrote with a real decoder;
/// the module never decodes AVIF (it is no accepted source format).
pub fn decode_rgba(avif: &[u8]) -> Result<(Vec<u8>, u32, u32), Error> {
    let mut rgba: *mut u8 = std::ptr::null_mut();
    let (mut width, mut height) = (0u32, 0u32);
    let mut message = [0 as c_char; 300];
    // SAFETY: `avif` is a live slice the shim only reads; the out-pointers are valid; the shim
    // writes at most message.len() bytes, NUL-terminated.
    let rc = unsafe {
        tofu_avif_decode(
            avif.as_ptr(),
            avif.len(),
            &mut rgba,
            &mut width,
            &mut height,
            message.as_mut_ptr(),
            message.len(),
        )
    };
    if rc != 0 || rgba.is_null() {
        // SAFETY: NUL-terminated by snprintf in the shim (or all zeros).
        let msg = unsafe { CStr::from_ptr(message.as_ptr()) };
        return Err(Error(format!("libavif: {}", msg.to_string_lossy())));
    }
    let len = width as usize * height as usize * 4;
    // SAFETY: libavif allocated `width × height` packed RGBA pixels at `rgba` (rowBytes =
    // width × 4), which we copy once and then free with its allocator.
    let pixels = unsafe { std::slice::from_raw_parts(rgba, len) }.to_vec();
    // SAFETY: allocated by libavif in the shim, freed once.
    unsafe { tofu_avif_free_pixels(rgba) };
    Ok((pixels, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32, channels: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for y in 0..height {
            for x in 0..width {
                v.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 128]);
                if channels == 4 {
                    v.push(if x < width / 2 { 255 } else { 0 });
                }
            }
        }
        v
    }

    const OPTIONS: EncodeOptions = EncodeOptions {
        quantizer: 30,
        speed: 8,
        codec: Codec::Aom,
        yuv444: false,
    };

    #[test]
    fn writes_an_avif_file() {
        for channels in [3, 4] {
            let avif = encode(&gradient(97, 61, channels), 97, 61, channels, OPTIONS).unwrap();
            // ISO BMFF: a ftyp box with the avif brand first.
            assert_eq!(&avif[4..12], b"ftypavif", "{channels} channels");
        }
    }

    #[test]
    fn the_same_pixels_give_the_same_bytes() {
        let pixels = gradient(120, 80, 4);
        let first = encode(&pixels, 120, 80, 4, OPTIONS).unwrap();
        for _ in 0..3 {
            assert_eq!(encode(&pixels, 120, 80, 4, OPTIONS).unwrap(), first);
        }
    }

    #[test]
    fn a_lower_quantizer_keeps_more() {
        let pixels = gradient(200, 150, 3);
        let fine = EncodeOptions {
            quantizer: 5,
            ..OPTIONS
        };
        let coarse = EncodeOptions {
            quantizer: 55,
            ..OPTIONS
        };
        let fine = encode(&pixels, 200, 150, 3, fine).unwrap();
        let coarse = encode(&pixels, 200, 150, 3, coarse).unwrap();
        assert!(
            fine.len() > coarse.len(),
            "{} <= {}",
            fine.len(),
            coarse.len()
        );
    }

    #[test]
    fn decodes_what_it_wrote() {
        let pixels = gradient(64, 48, 4);
        let lossless = EncodeOptions {
            quantizer: 0,
            yuv444: true,
            ..OPTIONS
        };
        let avif = encode(&pixels, 64, 48, 4, lossless).unwrap();
        let (rgba, w, h) = decode_rgba(&avif).unwrap();
        assert_eq!((w, h), (64, 48));
        // Alpha is lossless: opaque on the left half, transparent on the right.
        assert_eq!(rgba[3], 255);
        assert_eq!(rgba[(63 * 4) + 3], 0);
        let worst = rgba
            .iter()
            .zip(&pixels)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 3, "differs by {worst}");
        assert!(decode_rgba(b"not an avif").is_err());
        assert!(decode_rgba(&avif[..avif.len() / 2]).is_err());
    }

    #[test]
    fn wrong_sizes_are_refused_before_c() {
        assert!(encode(&[0; 11], 2, 2, 3, OPTIONS).is_err());
        assert!(encode(&[], 0, 0, 3, OPTIONS).is_err());
        assert!(encode(&[0; 8], 2, 2, 2, OPTIONS).is_err());
    }
}
