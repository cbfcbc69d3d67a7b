//! JPEG decoding with libjpeg-turbo's own API ([`super::libjpeg`]): header first, then the
//! pixels of the crop window only, at the smallest DCT scale that still leaves the resampler a
//! real reduction ("shrink on load"), leaving out the progressive scans that scale never reads.
//!
//! libjpeg reports recoverable damage (a truncated file, a few stray bytes before a marker) as a
//! *warning* while still producing a complete image. Like libvips' default (`fail=false`) and
//! every browser, such images are served; only fatal errors refuse the source.

use super::bounds::{Deadline, MAX_SCAN_LIMIT};
use super::colour::{self, Colour, Embedded};
use super::geometry::Rect;
use super::libjpeg::{ColorSpace, Decoder, Output, Scaled};
use super::pixels::{Layout, Pixels};
use crate::error::TofuError;

/// How much larger than the output the DCT-scaled crop window must stay on each axis.
///
/// DCT scaling is nearly free but is a box filter; the Lanczos pass after it must still do some
/// reduction for the result to stay close to a careful reference. libvips keeps a factor of 2;
/// measured on the 28 photos of bench/corpus (bench/quality, DSSIM against a full-decode,
/// linear-light Lanczos3 reference, mean, lower is better; CPU: bench/cpu, mean per image):
///
/// | margin | fill 280x210 q80 | fit 280x280 q80 | fit 1024 q85 | CPU, fill 280x210 (libjpeg only) | CPU, fill / fit 1024 (progressive through tofu-jpeg) |
/// | --- | --- | --- | --- | --- | --- |
/// | 1.0 | 0.00229 | 0.00254 | 0.00116 | 0.51× of margin 2 | 9.8 / 37.3 ms |
/// | 1.15 | 0.00226 | 0.00236 | 0.00113 | | 10.8 / 37.7 ms |
/// | 1.3 | 0.00222 | 0.00234 | 0.00106 | 0.64× | 12.4 / 42.2 ms |
/// | 1.6 | 0.00220 | 0.00231 | 0.00105 | 0.75× | 14.5 / 43.6 ms |
/// | 2.0 | 0.00215 | 0.00230 | 0.00105 | 1 | |
/// | libvips (2.0) | 0.00316 | 0.00242 | 0.00107 | | |
///
/// 1.3 keeps every job at least as close as libvips while decoding at 1/8 (where progressive
/// scans can be skipped) twice as often as 2.0 does. Reviewed when progressive files moved to
/// tofu-jpeg (issue 14): the DSSIM of each margin is unchanged to five places (the reduced
/// decode is as close to the reference as libjpeg's), so a smaller margin would still cost
/// quality on every job (fit 1024: 0.00113 at 1.15), and 1.3 stays.
pub const SHRINK_ON_LOAD_MARGIN: f64 = 1.3;

/// Which scaled decodes (1/2, 1/4, 1/8) go through tofu-jpeg, which keeps per block only the
/// k×k coefficients its k×k IDCT reads (issue 14), rather than libjpeg-turbo.
///
/// Progressive files: libjpeg holds all 64 coefficients of every block of the image until the
/// last scan (150 MB for a 50 MP 4:2:0 file); tofu-jpeg holds k²/64 of that for the crop
/// window, and at 1/8 it leaves out every luma AC scan. Measured on the corpus's 11 progressive
/// photos (crates/jpeg `examples/speed`, whole image): 0.19× libjpeg's time at 1/8, 0.8× at 1/4,
/// 1.1× at 1/2 (there the reduced store costs more than it saves; memory decides).
///
/// Baseline files: libjpeg already streams them (one row of blocks at a time, no coefficient
/// buffer) and its SIMD Huffman, IDCT and colour code is 1.6–2× faster than tofu-jpeg's safe
/// scalar Rust, with libjpeg's own pixels; so they stay with libjpeg.
///
/// Full-scale decodes, CMYK/YCCK/RGB files and whatever tofu-jpeg does not cover (arithmetic
/// coding, 12-bit, unusual sampling, damage it cannot decode past) always go through libjpeg.
pub fn reduced_decoder_for(progressive: bool) -> bool {
    progressive
}

/// What the markers before the first scan say, found without decoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markers<'a> {
    /// An Adobe APP14 segment is present: CMYK values are stored inverted (Photoshop's way).
    pub adobe: bool,
    /// The TIFF data of the first `Exif\0\0` APP1 segment.
    pub exif: Option<&'a [u8]>,
    /// The `ICC_PROFILE` APP2 segments in file order: (sequence number, count, data).
    pub icc: Vec<(u8, u8, &'a [u8])>,
}

/// The signature that starts an APP2 segment holding (a part of) an ICC profile.
const ICC_SIGNATURE: &[u8] = b"ICC_PROFILE\0";

impl Markers<'_> {
    /// The embedded ICC profile, its segments put together by sequence number (1..=count, each
    /// once, all agreeing on the count, as the ICC spec's Annex B says), or why it cannot be.
    /// The bytes are copied only when the total is within [`colour::MAX_PROFILE_BYTES`].
    pub fn icc_profile(&self) -> Embedded {
        let Some(&(_, count, _)) = self.icc.first() else {
            return Embedded::None;
        };
        let mut parts: Vec<Option<&[u8]>> = vec![None; usize::from(count)];
        for &(seq, n, data) in &self.icc {
            let slot = usize::from(seq)
                .checked_sub(1)
                .and_then(|i| parts.get_mut(i));
            match slot {
                Some(slot @ None) if n == count => *slot = Some(data),
                _ => {
                    return Embedded::Unreadable(format!(
                        "ICC_PROFILE segment {seq} of {n} does not fit (count {count})"
                    ))
                }
            }
        }
        if count == 0 || parts.iter().any(Option::is_none) {
            return Embedded::Unreadable(format!(
                "ICC_PROFILE segments missing: {} of {count}",
                self.icc.len()
            ));
        }
        let total: usize = parts.iter().flatten().map(|p| p.len()).sum();
        if total > colour::MAX_PROFILE_BYTES {
            return Embedded::Unreadable(format!(
                "{total} bytes, above the bound of {}",
                colour::MAX_PROFILE_BYTES
            ));
        }
        Embedded::Icc(parts.into_iter().flatten().flatten().copied().collect())
    }
}

/// Walks the marker segments from SOI to the first SOS (never into entropy-coded data), tolerating
/// fill bytes and garbage between segments. Stops quietly at anything malformed: the decoder, not
/// this walk, decides whether the file is corrupt.
pub fn markers(source: &[u8]) -> Markers<'_> {
    let mut found = Markers::default();
    let mut pos = 2; // after SOI
    while pos + 1 < source.len() {
        if source[pos] != 0xFF {
            pos += 1; // garbage between segments
            continue;
        }
        let marker = source[pos + 1];
        match marker {
            0xFF => {
                pos += 1; // fill byte
                continue;
            }
            0x00 | 0x01 | 0xD0..=0xD7 => {
                pos += 2; // no length
                continue;
            }
            0xD9 | 0xDA => break, // EOI, SOS
            _ => {}
        }
        let Some(len_bytes) = source.get(pos + 2..pos + 4) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            break;
        }
        let Some(body) = source.get(pos + 4..pos + 2 + len) else {
            break;
        };
        if marker == 0xEE && body.starts_with(b"Adobe") {
            found.adobe = true;
        } else if marker == 0xE1 && found.exif.is_none() && body.starts_with(b"Exif\0\0") {
            found.exif = Some(&body[6..]);
        } else if marker == 0xE2 && body.len() >= 14 && body.starts_with(ICC_SIGNATURE) {
            found.icc.push((body[12], body[13], &body[14..]));
        }
        pos += 2 + len;
    }
    found
}

/// A JPEG whose header has been read: size and colour model known, nothing decoded yet.
pub struct JpegHeader<'a> {
    decoder: Decoder<'a>,
}

/// The decoded window and where the crop lies in it.
pub struct Decoded {
    pub pixels: Pixels,
    /// The crop, in the decoded window's pixels.
    pub crop: Rect,
    /// Made by tofu-jpeg's reduced decode ([`reduced_decoder_for`]), not by libjpeg: what the
    /// tests of the choice look at.
    pub reduced: bool,
}

impl<'a> JpegHeader<'a> {
    /// Reads the header (dimensions, colour space). Allocates no pixel buffer.
    pub fn read(source: &'a [u8]) -> Result<JpegHeader<'a>, TofuError> {
        let decoder = Decoder::new(source).map_err(corrupt)?;
        Ok(JpegHeader { decoder })
    }

    /// Stored (not EXIF-oriented) width and height.
    pub fn dimensions(&self) -> (u64, u64) {
        let h = self.decoder.header();
        (u64::from(h.width), u64::from(h.height))
    }

    /// The denominator of the largest reduction among 1/8, 1/4, 1/2 (else 1) for which the crop
    /// window, in stored pixels, still has at least [`SHRINK_ON_LOAD_MARGIN`] × the output size on
    /// both axes.
    pub fn choose_scale(&self, crop: Rect, out_width: u32, out_height: u32) -> u32 {
        choose_denominator(crop, out_width, out_height, SHRINK_ON_LOAD_MARGIN)
    }

    /// What the decoded pixels will be, for matching them with a colour profile; `adobe`: an
    /// Adobe APP14 marker is present (CMYK stored inverted).
    pub fn model(&self, adobe: bool) -> colour::Model {
        match self.decoder.header().color_space {
            ColorSpace::Gray => colour::Model::Gray,
            ColorSpace::Cmyk | ColorSpace::Ycck => colour::Model::Cmyk { inverted: adobe },
            _ => colour::Model::Rgb,
        }
    }

    /// Decodes, at `1/denom` scale, the part of the image that `crop` (in stored pixels) and
    /// the resampler's reach around it (Lanczos3: 3 output pixels) need: gray stays gray,
    /// CMYK/YCCK becomes sRGB through `colour` (its profile, else the default CMYK one),
    /// everything else RGB. Rows below the window are never decoded; rows above and columns
    /// outside skip the IDCT and colour conversion. Scaled decodes of progressive files go through
    /// tofu-jpeg where it covers the file ([`reduced_decoder_for`]).
    #[allow(clippy::too_many_arguments)]
    pub fn decode(
        self,
        source: &[u8],
        denom: u32,
        crop: Rect,
        out_width: u32,
        out_height: u32,
        colour: &mut Colour,
        deadline: &Deadline,
    ) -> Result<Decoded, TofuError> {
        let reduced = reduced_decoder_for(self.decoder.header().progressive);
        self.decode_with(
            source, denom, crop, out_width, out_height, colour, deadline, reduced,
        )
    }

    /// [`JpegHeader::decode`], choosing the decoder of scaled decodes (`reduced`: tofu-jpeg
    /// first).
    #[allow(clippy::too_many_arguments)]
    fn decode_with(
        mut self,
        source: &[u8],
        denom: u32,
        crop: Rect,
        out_width: u32,
        out_height: u32,
        colour: &mut Colour,
        deadline: &Deadline,
        reduced: bool,
    ) -> Result<Decoded, TofuError> {
        let header = self.decoder.header();
        let (output, layout) = match header.color_space {
            ColorSpace::Gray => (Output::Gray, Layout::Gray),
            ColorSpace::Cmyk | ColorSpace::Ycck => (Output::Cmyk, Layout::Rgb),
            _ => (Output::Rgb, Layout::Rgb),
        };
        let scaled = self.decoder.scale(denom, output).map_err(corrupt)?;
        let crop = crop
            .scaled(1.0 / f64::from(denom))
            .clamped(scaled.width, scaled.height);
        let (x0, x1) = reach(crop.x, crop.width, out_width, scaled.width);
        let (y0, y1) = reach(crop.y, crop.height, out_height, scaled.height);
        if reduced
            && denom > 1
            && matches!(header.color_space, ColorSpace::YCbCr | ColorSpace::Gray)
        {
            let window = tofu_jpeg::Window {
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
            };
            if let Some(decoded) = decode_reduced(source, denom, window, crop, deadline)? {
                return Ok(decoded);
            }
        }
        let skips = if header.progressive {
            skippable(&scans(source), &scaled)
        } else {
            Vec::new()
        };
        let window = self
            .decoder
            .decode(&skips, x0, x1 - x0, y0, y1 - y0)
            .map_err(corrupt)?;
        let mut data = window.data;
        if output == Output::Cmyk {
            colour.cmyk_to_rgb(&mut data, window.width);
        }
        let pixels = Pixels {
            data,
            width: window.width,
            height: window.height,
            layout,
        };
        let crop = within(crop, window.x, window.y, window.width, window.height);
        Ok(Decoded {
            pixels,
            crop,
            reduced: false,
        })
    }
}

/// `crop` (in scaled pixels) as seen from a decoded window whose top-left is at `x`, `y`.
fn within(crop: Rect, x: u32, y: u32, width: u32, height: u32) -> Rect {
    Rect {
        x: crop.x - f64::from(x),
        y: crop.y - f64::from(y),
        ..crop
    }
    .clamped(width, height)
}

/// The reduced decode of the `window` (in scaled pixels) [`JpegHeader::decode`] would ask
/// libjpeg for, `crop` being the scaled crop; `None` when tofu-jpeg does not cover the file (or
/// finds damage libjpeg may decode past): libjpeg then decodes it.
fn decode_reduced(
    source: &[u8],
    denom: u32,
    window: tofu_jpeg::Window,
    crop: Rect,
    deadline: &Deadline,
) -> Result<Option<Decoded>, TofuError> {
    // The pixel and scan limits have been checked (bounds.rs) before a decoder is chosen.
    let limits = tofu_jpeg::Limits {
        max_pixels: u64::MAX,
        max_scans: MAX_SCAN_LIMIT as usize,
    };
    let image = match tofu_jpeg::decode(source, denom, window, limits, &mut || !deadline.expired())
    {
        Ok(image) => image,
        Err(tofu_jpeg::Error::Deadline) => return Err(deadline.error("decoding")),
        Err(_) => return Ok(None),
    };
    let layout = if image.channels == 1 {
        Layout::Gray
    } else {
        Layout::Rgb
    };
    let pixels = Pixels {
        data: image.data,
        width: image.width,
        height: image.height,
        layout,
    };
    let crop = within(crop, window.x, window.y, image.width, image.height);
    Ok(Some(Decoded {
        pixels,
        crop,
        reduced: true,
    }))
}

/// The whole pixels `[start, end)` on one axis that a Lanczos3 resampling of `offset..offset +
/// size` to `out` pixels reads (3 output pixels of reach on each side, plus one for rounding),
/// inside `0..limit`.
fn reach(offset: f64, size: f64, out: u32, limit: u32) -> (u32, u32) {
    let scale = (size / f64::from(out.max(1))).max(1.0);
    let pad = 3.0 * scale + 1.0;
    let start = (offset - pad).floor().clamp(0.0, f64::from(limit)) as u32;
    let end = (offset + size + pad).ceil().clamp(0.0, f64::from(limit)) as u32;
    if end <= start {
        (0, limit)
    } else {
        (start, end)
    }
}

/// One scan of a JPEG: where its SOS marker starts and its entropy-coded data ends (the next
/// marker), and what it codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    pub start: usize,
    pub end: usize,
    /// Spectral selection start (0 = DC).
    pub ss: u8,
    pub components: [u8; 4],
    pub count: usize,
}

/// Finds every scan of the stream (SOS segment and entropy-coded data), in order (their number
/// is bounded before decoding: `bounds::check_scans`). Stops quietly at anything malformed: the
/// decoder, not this walk, decides whether the file is corrupt.
pub fn scans(source: &[u8]) -> Vec<Scan> {
    let mut found = Vec::new();
    let mut pos = 2;
    while pos + 1 < source.len() {
        if source[pos] != 0xFF {
            pos += 1;
            continue;
        }
        let marker = source[pos + 1];
        match marker {
            0xFF => {
                pos += 1;
                continue;
            }
            0x00 | 0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            0xD9 => break,
            _ => {}
        }
        let Some(len_bytes) = source.get(pos + 2..pos + 4) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 || pos + 2 + len > source.len() {
            break;
        }
        if marker != 0xDA {
            pos += 2 + len;
            continue;
        }
        let body = &source[pos + 4..pos + 2 + len];
        let n = usize::from(*body.first().unwrap_or(&0));
        if n == 0 || n > 4 || body.len() < 1 + 2 * n + 3 {
            break;
        }
        let mut components = [0u8; 4];
        for (i, c) in components.iter_mut().enumerate().take(n) {
            *c = body[1 + 2 * i];
        }
        let ss = body[1 + 2 * n];
        let end = tofu_jpeg::entropy_end(source, pos + 2 + len);
        found.push(Scan {
            start: pos,
            end,
            ss,
            components,
            count: n,
        });
        pos = end;
    }
    found
}

/// The scans (after the first) that the scaled decode never reads, as byte ranges to jump over.
///
/// A component whose scaled IDCT is 1×1 (every component at 1/8 scale, except the chroma of
/// 4:2:0 files, which libjpeg decodes with a 2×2 IDCT to save the upsampling) reads only the DC
/// coefficient: a scan with spectral start Ss ≥ 1 whose every component is such is not needed.
/// libjpeg-turbo's 2×2 and 4×4 IDCTs (jidctred.c) read coefficients up to 7 in each direction
/// (they average the outputs of the full 8-point IDCT), so no AC scan is ever skipped for them.
/// With block smoothing off (the shim's setting) the pixels are the same as when every scan is
/// decoded.
pub fn skippable(scans: &[Scan], scaled: &Scaled) -> Vec<(usize, usize)> {
    let dc_only = |id: u8| {
        scaled.components[..scaled.component_count]
            .iter()
            .any(|&(cid, size)| cid == i32::from(id) && size == 1)
    };
    let mut skips: Vec<(usize, usize)> = Vec::new();
    for scan in scans.iter().skip(1) {
        if scan.ss >= 1 && scan.components[..scan.count].iter().all(|&c| dc_only(c)) {
            match skips.last_mut() {
                Some(last) if last.1 == scan.start => last.1 = scan.end,
                _ => skips.push((scan.start, scan.end)),
            }
        }
    }
    skips
}

/// See [`JpegHeader::choose_scale`].
fn choose_denominator(crop: Rect, out_width: u32, out_height: u32, margin: f64) -> u32 {
    let need_w = f64::from(out_width) * margin;
    let need_h = f64::from(out_height) * margin;
    [8, 4, 2]
        .into_iter()
        .find(|&d| crop.width / f64::from(d) >= need_w && crop.height / f64::from(d) >= need_h)
        .unwrap_or(1)
}

fn corrupt(e: super::libjpeg::Error) -> TofuError {
    let _ = e; // the decoder's wording is not for clients
    TofuError::Unprocessable("the JPEG source is corrupt or unsupported".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(width: f64, height: f64) -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            width,
            height,
        }
    }

    #[test]
    fn shrink_on_load_picks_the_smallest_covering_scale() {
        let pick = |w, h, ow, oh| choose_denominator(rect(w, h), ow, oh, 1.0);
        assert_eq!(pick(1800.0, 1200.0, 280, 187), 4); // 450×300
        assert_eq!(pick(1800.0, 1200.0, 225, 150), 8); // exactly 225×150
        assert_eq!(pick(1800.0, 1200.0, 226, 150), 4);
        assert_eq!(pick(1800.0, 1200.0, 900, 600), 2);
        assert_eq!(pick(1800.0, 1200.0, 901, 600), 1);
        assert_eq!(pick(1800.0, 1200.0, 1800, 1200), 1);
        // Fill windows: the cut-down side decides.
        assert_eq!(pick(1600.0, 1200.0, 280, 210), 4);
        assert_eq!(pick(100.0, 100.0, 10, 10), 8);
    }

    #[test]
    fn shrink_on_load_leaves_a_margin_to_lanczos() {
        let pick = |w, h, ow, oh| choose_denominator(rect(w, h), ow, oh, SHRINK_ON_LOAD_MARGIN);
        assert_eq!(pick(1800.0, 1200.0, 100, 67), 8); // 225×150 ≥ 130×87.1
        assert_eq!(pick(1800.0, 1200.0, 173, 115), 8); // 225×150 ≥ 224.9×149.5
        assert_eq!(pick(1800.0, 1200.0, 225, 150), 4);
        assert_eq!(pick(1800.0, 1200.0, 280, 187), 4); // 450×300 ≥ 364×243.1
        assert_eq!(pick(1800.0, 1200.0, 450, 300), 2);
        assert_eq!(pick(1800.0, 1200.0, 692, 461), 2);
        assert_eq!(pick(1800.0, 1200.0, 693, 462), 1);
        assert_eq!(pick(1600.0, 1200.0, 280, 210), 4); // 400×300 ≥ 364×273
        assert_eq!(pick(2560.0, 1600.0, 280, 175), 4); // 320×200 < 364×227.5
    }

    #[test]
    fn markers_find_adobe_and_exif_before_the_scan() {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend_from_slice(&[0xFF, 0xE0, 0, 4, 0, 0]); // APP0, 2 bytes
        jpeg.extend_from_slice(&[0x12, 0x34]); // garbage
        jpeg.extend_from_slice(&[0xFF, 0xFF]); // fill
        jpeg.extend_from_slice(&[0xFF, 0xE1, 0, 12]);
        jpeg.extend_from_slice(b"Exif\0\0MM\0*");
        jpeg.extend_from_slice(&[0xFF, 0xEE, 0, 14]);
        jpeg.extend_from_slice(b"Adobe\0d\0\0\0\0\x01");
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xEE]); // SOS: the walk stops
        let m = markers(&jpeg);
        assert!(m.adobe);
        assert_eq!(m.exif, Some(&b"MM\0*"[..]));

        let plain = [
            0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xEE, 0, 8, b'A', b'd', b'o', b'b', b'e',
        ];
        assert_eq!(markers(&plain), Markers::default());
        // Truncated or absurd lengths do not panic.
        assert_eq!(markers(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF]), Markers::default());
        assert_eq!(
            markers(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 1]),
            Markers::default()
        );
        assert_eq!(markers(&[0xFF, 0xD8, 0xFF, 0xE1, 0, 0]), Markers::default());
        assert_eq!(markers(&[0xFF, 0xD8]), Markers::default());
    }

    /// A JPEG whose APP2 segments carry `parts` as (sequence number, count, data).
    fn with_icc(parts: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8];
        for &(seq, count, data) in parts {
            let len = u16::try_from(2 + ICC_SIGNATURE.len() + 2 + data.len()).unwrap();
            jpeg.extend_from_slice(&[0xFF, 0xE2]);
            jpeg.extend_from_slice(&len.to_be_bytes());
            jpeg.extend_from_slice(ICC_SIGNATURE);
            jpeg.extend_from_slice(&[seq, count]);
            jpeg.extend_from_slice(data);
        }
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        jpeg
    }

    #[test]
    fn icc_segments_are_put_together_by_sequence_number() {
        let icc = |parts: &[(u8, u8, &[u8])]| markers(&with_icc(parts)).icc_profile();
        assert_eq!(icc(&[]), Embedded::None);
        assert_eq!(icc(&[(1, 1, b"whole")]), Embedded::Icc(b"whole".to_vec()));
        // Out of order in the file: the sequence numbers decide.
        assert_eq!(
            icc(&[(3, 3, b"C"), (1, 3, b"A"), (2, 3, b"B")]),
            Embedded::Icc(b"ABC".to_vec())
        );
        for bad in [
            &[(1, 2, &b"A"[..])][..],      // one missing
            &[(1, 2, b"A"), (1, 2, b"A")], // twice the same
            &[(1, 2, b"A"), (2, 3, b"B")], // counts disagree
            &[(0, 1, b"A")],               // sequence numbers start at 1
            &[(2, 1, b"A")],               // past the count
            &[(1, 0, b"A")],               // no count
        ] {
            assert!(matches!(icc(bad), Embedded::Unreadable(_)), "{bad:?}");
        }
        // A segment too short for its header is not a profile part.
        let mut short = vec![0xFF, 0xD8, 0xFF, 0xE2, 0, 14];
        short.extend_from_slice(ICC_SIGNATURE);
        assert_eq!(markers(&short).icc_profile(), Embedded::None);
        // Above the bound: refused before any copy (255 segments of 65519 bytes is the most a
        // JPEG holds; 70 of them pass 4 MiB).
        let big = vec![0u8; 65519];
        let parts: Vec<(u8, u8, &[u8])> = (1..=70).map(|i| (i, 70, &big[..])).collect();
        match icc(&parts) {
            Embedded::Unreadable(why) => assert!(why.contains("above the bound"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    /// 1/8-scale pixels with the skippable scans left out are the pixels of the full decode,
    /// on testdata's progressive JPEG and on every progressive photo of bench/corpus when it has
    /// been built.
    #[test]
    fn skipping_unread_scans_changes_no_pixel() {
        let top = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut files = vec![format!("{top}/testdata/jpeg/progressive.jpg")];
        if let Ok(dir) = std::fs::read_dir(format!("{top}/target/bench/corpus")) {
            files.extend(dir.flatten().map(|e| e.path().display().to_string()));
        }
        let mut checked = 0;
        for file in files.iter().filter(|f| f.ends_with(".jpg")) {
            let source = std::fs::read(file).unwrap();
            let decode = |skip: bool| {
                let mut d = Decoder::new(&source).unwrap();
                let progressive = d.header().progressive;
                let scaled = d.scale(8, Output::Rgb).unwrap();
                let skips = if skip {
                    skippable(&scans(&source), &scaled)
                } else {
                    Vec::new()
                };
                let w = d.decode(&skips, 0, scaled.width, 0, scaled.height).unwrap();
                (progressive, skips.len(), w.data)
            };
            let (progressive, skipped, fast) = decode(true);
            if !progressive {
                continue;
            }
            assert!(skipped > 0, "{file}: no scan skipped");
            assert!(fast == decode(false).2, "{file}: pixels differ");
            checked += 1;
        }
        assert!(checked >= 1);
    }

    #[test]
    fn scans_are_found_with_their_spectral_start() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        // DC scan of 3 components, data with a stuffed zero and a restart marker.
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0, 3, 0, 0, 0, 0]);
        jpeg.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        let second = jpeg.len();
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 1, 5, 0x02, 0x77, 0xFF, 0xFF]);
        let end = jpeg.len() - 1;
        jpeg.extend_from_slice(&[0xD9]);
        let found = scans(&jpeg);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].ss, found[0].count), (0, 3));
        assert_eq!(found[0].end, second);
        assert_eq!(
            (found[1].start, found[1].ss, found[1].count),
            (second, 1, 1)
        );
        assert_eq!(found[1].end, end);
        for n in 0..jpeg.len() {
            scans(&jpeg[..n]); // truncated input never panics
        }
    }

    #[test]
    fn a_header_with_stray_bytes_still_decodes() {
        let good = crate::transform::tests::testdata("jpeg/baseline.jpg");
        // Two stray bytes before the first DQT segment: libjpeg warns while reading the header.
        let dqt = good.windows(2).position(|m| m == [0xFF, 0xDB]).unwrap();
        let mut bad = good[..dqt].to_vec();
        bad.extend_from_slice(&[0x00, 0x00]);
        bad.extend_from_slice(&good[dqt..]);
        let header = JpegHeader::read(&bad).unwrap();
        assert_eq!(header.dimensions(), (600, 400));
        let decoded = header
            .decode(
                &bad,
                4,
                Rect::full(600, 400),
                75,
                50,
                &mut Colour::new(Embedded::None, colour::Model::Rgb),
                &later(),
            )
            .unwrap();
        assert_eq!((decoded.pixels.width, decoded.pixels.height), (150, 100));
    }

    fn later() -> Deadline {
        Deadline::after(std::time::Duration::from_secs(60))
    }

    /// Which decoder decodes what (issue 14): progressive files at 1/2–1/8 through tofu-jpeg,
    /// baseline files, full scale and what tofu-jpeg does not cover (CMYK) through libjpeg.
    #[test]
    fn progressive_scaled_decodes_take_the_reduced_decoder() {
        for (name, denom, reduced) in [
            ("progressive", 2, true),
            ("progressive", 4, true),
            ("progressive", 8, true),
            ("progressive", 1, false),
            ("baseline", 4, false),
            ("grayscale", 4, false),
            ("cmyk", 4, false),
        ] {
            let source = crate::transform::tests::testdata(&format!("jpeg/{name}.jpg"));
            let header = JpegHeader::read(&source).unwrap();
            let (w, h) = header.dimensions();
            let crop = Rect {
                x: 0.0,
                y: 0.0,
                width: w as f64,
                height: h as f64,
            };
            let mut colour = Colour::new(Embedded::None, header.model(false));
            let decoded = header
                .decode(&source, denom, crop, 40, 30, &mut colour, &later())
                .unwrap();
            assert_eq!(decoded.reduced, reduced, "{name} 1/{denom}");
        }
    }

    /// The reduced path (tofu-jpeg) and libjpeg give the same window and crop, with pixels
    /// within the differential bound (crates/jpeg/tests), whichever the build's default is;
    /// files it does not cover (CMYK) still decode, through libjpeg.
    #[test]
    fn reduced_and_libjpeg_paths_agree_on_the_window() {
        for name in ["baseline", "progressive", "grayscale", "cmyk"] {
            let source = crate::transform::tests::testdata(&format!("jpeg/{name}.jpg"));
            let (w, h) = JpegHeader::read(&source).unwrap().dimensions();
            let crop = Rect {
                x: 100.0,
                y: 50.0,
                width: w as f64 - 220.0,
                height: h as f64 - 90.0,
            };
            for denom in [2, 4, 8] {
                let decode = |reduced: bool| {
                    let header = JpegHeader::read(&source).unwrap();
                    let mut colour = Colour::new(Embedded::None, header.model(false));
                    header
                        .decode_with(&source, denom, crop, 40, 30, &mut colour, &later(), reduced)
                        .unwrap()
                };
                let (a, b) = (decode(true), decode(false));
                assert_eq!(a.pixels.layout, b.pixels.layout, "{name} 1/{denom}");
                assert_eq!(a.pixels.height, b.pixels.height, "{name} 1/{denom}");
                // libjpeg widens the columns to whole iMCUs; tofu-jpeg decodes just the window.
                assert!(a.pixels.width <= b.pixels.width, "{name} 1/{denom}");
                let (ax, bx) = (a.crop.x.round() as usize, b.crop.x.round() as usize);
                assert!((a.crop.width - b.crop.width).abs() < 1e-9);
                assert!((a.crop.y - b.crop.y).abs() < 1e-9);
                let c = a.pixels.layout.channels();
                let (mut sum, mut n) = (0u64, 0u64);
                for y in 0..a.pixels.height as usize {
                    for x in 0..a.crop.width as usize {
                        for ch in 0..c {
                            let pa = a.pixels.data[(y * a.pixels.width as usize + ax + x) * c + ch];
                            let pb = b.pixels.data[(y * b.pixels.width as usize + bx + x) * c + ch];
                            sum += u64::from(pa.abs_diff(pb));
                            n += 1;
                        }
                    }
                }
                let mean = sum as f64 / n as f64;
                let bound = if name == "cmyk" {
                    0.0
                } else if denom == 8 {
                    1.0
                } else {
                    2.0
                };
                assert!(mean <= bound, "{name} 1/{denom}: mean difference {mean:.3}");
            }
        }
    }
}
