//! tofu-libjpeg: libjpeg (Debian's libjpeg62-turbo, its own API, not TurboJPEG) behind a safe
//! interface. The codec binding layer of DESIGN.md: besides the Apache adapter, the only crate
//! with `unsafe`, so that the core can forbid it.
//!
//! The C half (`shim.c`, compiled by build.rs) catches libjpeg's fatal errors with setjmp and
//! returns error codes, so no longjmp ever crosses a Rust frame. This half owns the handle and
//! the buffers, checks every size it hands to C, and exposes:
//!
//! - [`Decoder`]: header, then the scaled output size and each component's IDCT size for a
//!   chosen 1/N scale, then the decode of a window, jumping over byte ranges (the progressive
//!   scans the scaled IDCT never reads: chosen by the caller, see `jpeg.rs`);
//! - [`encode`]: pixels to JPEG in memory.
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, c_int, c_long, CStr};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// libjpeg's `J_COLOR_SPACE` values used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ColorSpace {
    Unknown = 0,
    Gray = 1,
    Rgb = 2,
    YCbCr = 3,
    Cmyk = 4,
    Ycck = 5,
}

impl ColorSpace {
    fn from_raw(v: i32) -> ColorSpace {
        match v {
            1 => ColorSpace::Gray,
            2 => ColorSpace::Rgb,
            3 => ColorSpace::YCbCr,
            4 => ColorSpace::Cmyk,
            5 => ColorSpace::Ycck,
            _ => ColorSpace::Unknown,
        }
    }
}

#[repr(C)]
struct RawJpeg {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Default)]
struct RawHeader {
    width: u32,
    height: u32,
    components: i32,
    color_space: i32,
    progressive: i32,
}

#[repr(C)]
#[derive(Default)]
struct RawScaled {
    width: u32,
    height: u32,
    channels: i32,
    components: i32,
    component_id: [i32; 4],
    idct_size: [i32; 4],
}

const ENCODE_PROGRESSIVE: i32 = 1;
const ENCODE_OPTIMIZE: i32 = 2;

extern "C" {
    fn tofu_jpeg_new() -> *mut RawJpeg;
    fn tofu_jpeg_free(j: *mut RawJpeg);
    fn tofu_jpeg_message(j: *const RawJpeg) -> *const c_char;
    fn tofu_jpeg_warnings(j: *const RawJpeg) -> c_long;
    fn tofu_jpeg_read_header(
        j: *mut RawJpeg,
        data: *const u8,
        len: usize,
        out: *mut RawHeader,
    ) -> c_int;
    fn tofu_jpeg_scale(j: *mut RawJpeg, denom: c_int, out_space: i32, out: *mut RawScaled)
        -> c_int;
    fn tofu_jpeg_start(
        j: *mut RawJpeg,
        skips: *const usize,
        nskips: usize,
        x: *mut u32,
        width: *mut u32,
    ) -> c_int;
    fn tofu_jpeg_read(
        j: *mut RawJpeg,
        skip_rows: u32,
        rows: u32,
        out: *mut u8,
        stride: usize,
    ) -> c_int;
    #[allow(clippy::too_many_arguments)]
    fn tofu_jpeg_encode(
        pixels: *const u8,
        width: u32,
        height: u32,
        stride: usize,
        in_space: i32,
        quality: i32,
        flags: i32,
        max_out: usize,
        out: *mut *mut u8,
        out_len: *mut usize,
        message: *mut c_char,
        message_len: usize,
    ) -> c_int;
    fn tofu_jpeg_free_buffer(buffer: *mut u8);
}

/// libjpeg's message for a fatal error (for logs: not for clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    pub components: u32,
    pub color_space: ColorSpace,
    pub progressive: bool,
}

/// The output of a 1/N-scaled decode, known before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaled {
    pub width: u32,
    pub height: u32,
    /// Bytes per output pixel.
    pub channels: u32,
    /// For each component of the frame (in frame order): its id and its IDCT size (N×N output
    /// samples per 8×8 block; 1 reads only the DC coefficient).
    pub components: [(i32, i32); 4],
    pub component_count: usize,
}

/// The pixel format asked of the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Gray,
    Rgb,
    /// CMYK and YCCK files: 4 bytes per pixel, as stored (Adobe files inverted).
    Cmyk,
}

/// A window of decoded pixels: `width`×`height` at (`x`, `y`) of the scaled image, rows packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub data: Vec<u8>,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// libjpeg's warnings (corrupt data it decoded past).
    pub warnings: c_long,
}

/// One JPEG being decoded: the handle borrows the source bytes until it is dropped.
pub struct Decoder<'a> {
    raw: NonNull<RawJpeg>,
    header: Header,
    scaled: Option<Scaled>,
    _source: PhantomData<&'a [u8]>,
}

impl Drop for Decoder<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from tofu_jpeg_new and is freed once, here.
        unsafe { tofu_jpeg_free(self.raw.as_ptr()) }
    }
}

impl<'a> Decoder<'a> {
    /// Reads the markers up to the first scan. Allocates nothing the size of the image.
    pub fn new(source: &'a [u8]) -> Result<Decoder<'a>, Error> {
        // SAFETY: no arguments; NULL (out of memory) is checked.
        let raw = NonNull::new(unsafe { tofu_jpeg_new() })
            .ok_or_else(|| Error("out of memory".into()))?;
        let mut decoder = Decoder {
            raw,
            header: Header {
                width: 0,
                height: 0,
                components: 0,
                color_space: ColorSpace::Unknown,
                progressive: false,
            },
            scaled: None,
            _source: PhantomData,
        };
        let mut h = RawHeader::default();
        // SAFETY: `source` outlives the handle (the lifetime 'a); `h` is a valid out-pointer.
        let rc =
            unsafe { tofu_jpeg_read_header(raw.as_ptr(), source.as_ptr(), source.len(), &mut h) };
        decoder.check(rc)?;
        decoder.header = Header {
            width: h.width,
            height: h.height,
            components: h.components.max(0) as u32,
            color_space: ColorSpace::from_raw(h.color_space),
            progressive: h.progressive != 0,
        };
        Ok(decoder)
    }

    pub fn header(&self) -> Header {
        self.header
    }

    /// Sets the scale (1/`denom`, `denom` in 1, 2, 4, 8) and the output pixels.
    pub fn scale(&mut self, denom: u32, output: Output) -> Result<Scaled, Error> {
        if !matches!(denom, 1 | 2 | 4 | 8) {
            return Err(Error(format!("unsupported scale 1/{denom}")));
        }
        let space = match output {
            Output::Gray => ColorSpace::Gray,
            Output::Rgb => ColorSpace::Rgb,
            Output::Cmyk => ColorSpace::Cmyk,
        };
        let mut s = RawScaled::default();
        // SAFETY: valid handle and out-pointer.
        let rc =
            unsafe { tofu_jpeg_scale(self.raw.as_ptr(), denom as c_int, space as i32, &mut s) };
        self.check(rc)?;
        let mut components = [(-1, 0); 4];
        for (i, c) in components.iter_mut().enumerate() {
            *c = (s.component_id[i], s.idct_size[i]);
        }
        let scaled = Scaled {
            width: s.width,
            height: s.height,
            channels: s.channels.max(0) as u32,
            components,
            component_count: s.components.clamp(0, 4) as usize,
        };
        self.scaled = Some(scaled);
        Ok(scaled)
    }

    /// Decodes rows `y..y + height` and (at least) columns `x..x + width` of the scaled image,
    /// jumping over the byte ranges `skips` (sorted `[start, end)` offsets into the source, each
    /// a whole scan after the first). libjpeg widens the columns to whole iMCUs: the window
    /// returned says which ones it holds. Rows below the window are never decoded.
    pub fn decode(
        self,
        skips: &[(usize, usize)],
        x: u32,
        width: u32,
        y: u32,
        height: u32,
    ) -> Result<Window, Error> {
        let scaled = self
            .scaled
            .ok_or_else(|| Error("decode before scale".into()))?;
        if width == 0
            || height == 0
            || u64::from(x) + u64::from(width) > u64::from(scaled.width)
            || u64::from(y) + u64::from(height) > u64::from(scaled.height)
        {
            return Err(Error(format!(
                "window {x},{y} {width}x{height} outside {}x{}",
                scaled.width, scaled.height
            )));
        }
        if skips
            .windows(2)
            .any(|w| w[0].1 > w[1].0 || w[0].0 >= w[0].1)
            || skips.last().is_some_and(|s| s.0 >= s.1)
        {
            return Err(Error("skips must be sorted and disjoint".into()));
        }
        let flat: Vec<usize> = skips.iter().flat_map(|&(a, b)| [a, b]).collect();
        let (mut x_out, mut w_out) = (x, width);
        // SAFETY: valid handle; `flat` holds 2 × skips.len() values and lives across the call
        // (the shim copies it); x_out/w_out are valid out-pointers.
        let rc = unsafe {
            tofu_jpeg_start(
                self.raw.as_ptr(),
                flat.as_ptr(),
                skips.len(),
                &mut x_out,
                &mut w_out,
            )
        };
        self.check(rc)?;
        if x_out > x || u64::from(x_out) + u64::from(w_out) > u64::from(scaled.width) || w_out == 0
        {
            return Err(Error("libjpeg cropped an unexpected window".into()));
        }
        let stride = w_out as usize * scaled.channels as usize;
        let mut data = vec![0u8; stride * height as usize];
        // SAFETY: `data` holds `height` rows of `stride` bytes, and libjpeg writes rows of
        // w_out × channels bytes (the cropped output width it just reported).
        let rc = unsafe { tofu_jpeg_read(self.raw.as_ptr(), y, height, data.as_mut_ptr(), stride) };
        self.check(rc)?;
        // SAFETY: valid handle.
        let warnings = unsafe { tofu_jpeg_warnings(self.raw.as_ptr()) };
        Ok(Window {
            data,
            x: x_out,
            y,
            width: w_out,
            height,
            warnings,
        })
    }

    fn check(&self, rc: c_int) -> Result<(), Error> {
        if rc == 0 {
            return Ok(());
        }
        // SAFETY: the shim's message buffer is NUL-terminated and lives as long as the handle.
        let msg = unsafe { CStr::from_ptr(tofu_jpeg_message(self.raw.as_ptr())) };
        Err(Error(msg.to_string_lossy().into_owned()))
    }
}

/// Decodes a whole JPEG at full size (what tests compare a scaled decode with).
pub fn decode_all(source: &[u8], output: Output) -> Result<Window, Error> {
    let mut decoder = Decoder::new(source)?;
    let scaled = decoder.scale(1, output)?;
    decoder.decode(&[], 0, scaled.width, 0, scaled.height)
}

/// How to write a JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    pub quality: u8,
    pub progressive: bool,
    /// Optimized Huffman tables (an extra pass over the coefficients; progressive implies it).
    pub optimize: bool,
}

/// Encodes packed pixels (`channels` 1 = gray, 3 = RGB as 4:2:0 YCbCr, 4 = CMYK).
pub fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u32,
    options: EncodeOptions,
) -> Result<Vec<u8>, Error> {
    // Twice the raw pixels and headroom: more than any JPEG of them can take, so reaching it
    // means something is wrong, and the buffer stops there instead of growing on.
    let most = (width as usize * height as usize * channels as usize).saturating_mul(2) + (1 << 20);
    encode_at_most(pixels, width, height, channels, options, most)
}

/// [`encode`] into at most `max_out` bytes (an error past that).
fn encode_at_most(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u32,
    options: EncodeOptions,
    max_out: usize,
) -> Result<Vec<u8>, Error> {
    let space = match channels {
        1 => ColorSpace::Gray,
        3 => ColorSpace::Rgb,
        4 => ColorSpace::Cmyk,
        _ => return Err(Error(format!("cannot encode {channels} channels"))),
    };
    let stride = width as usize * channels as usize;
    if width == 0 || height == 0 || pixels.len() < stride * height as usize {
        return Err(Error("pixel buffer smaller than the image".into()));
    }
    let mut flags = 0;
    if options.progressive {
        flags |= ENCODE_PROGRESSIVE;
    }
    if options.optimize {
        flags |= ENCODE_OPTIMIZE;
    }
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut out_len: usize = 0;
    let mut message = [0 as c_char; 200];
    // SAFETY: `pixels` holds `height` rows of `stride` bytes (checked above); the out-pointers
    // are valid; the shim writes at most message.len() bytes, NUL-terminated.
    let rc = unsafe {
        tofu_jpeg_encode(
            pixels.as_ptr(),
            width,
            height,
            stride,
            space as i32,
            i32::from(options.quality.clamp(1, 100)),
            flags,
            max_out,
            &mut out,
            &mut out_len,
            message.as_mut_ptr(),
            message.len(),
        )
    };
    if rc != 0 || out.is_null() {
        // SAFETY: NUL-terminated by snprintf in the shim (or all zeros).
        let msg = unsafe { CStr::from_ptr(message.as_ptr()) };
        return Err(Error(msg.to_string_lossy().into_owned()));
    }
    // SAFETY: the shim's destination wrote `out_len` bytes at `out` (malloc'd), which we copy
    // once and free.
    let bytes = unsafe { std::slice::from_raw_parts(out, out_len) }.to_vec();
    // SAFETY: `out` came from malloc inside the shim and is freed once.
    unsafe { tofu_jpeg_free_buffer(out) };
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pixels no encoder can squeeze much: a JPEG of them is large.
    fn noise(width: u32, height: u32) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        (0..width * height * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect()
    }

    const BEST: EncodeOptions = EncodeOptions {
        quality: 100,
        progressive: false,
        optimize: false,
    };

    #[test]
    fn output_grows_past_its_first_buffer() {
        let pixels = noise(600, 400);
        let jpeg = encode(&pixels, 600, 400, 3, BEST).unwrap();
        assert!(
            jpeg.len() > 4 * 65536,
            "{} bytes: the buffer grew twice",
            jpeg.len()
        );
        assert_eq!(&jpeg[..2], b"\xff\xd8");
        assert_eq!(&jpeg[jpeg.len() - 2..], b"\xff\xd9");
        let header = Decoder::new(&jpeg).unwrap().header();
        assert_eq!((header.width, header.height), (600, 400));
    }

    /// The error path after the output buffer has grown: libjpeg's jpeg_mem_dest freed its
    /// first buffer twice there. Each failure below happens after one or more growths; a
    /// double free aborts the test process (and ASan reports it under scripts/asan).
    #[test]
    fn an_error_after_the_buffer_grew_frees_it_once() {
        let pixels = noise(600, 400);
        for limit in [65_536 + 1, 200_000, 300_000] {
            let err = encode_at_most(&pixels, 600, 400, 3, BEST, limit).unwrap_err();
            assert!(err.0.contains("memory"), "{err}");
        }
        // And the encoder still works afterwards.
        assert!(encode(&pixels[..30 * 20 * 3], 30, 20, 3, BEST).is_ok());
    }
}
