//! PNG, GIF and WebP decoding through the `image` crate: header first, pixels only after the
//! limits were checked, always into 8-bit gray, gray+alpha, RGB or RGBA.
//!
//! The decoders get explicit `image::Limits` (dimensions and an allocation budget sized from
//! the declared size, itself under TofuMaxSourcePixels), so the crate's loose 512 MiB default
//! never applies, and they read the source through a [`DeadlineReader`].

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{ColorType, ImageDecoder, ImageError};

use super::bounds::{alloc_budget, Deadline, DeadlineReader};
use super::colour::{Embedded, Model};
use super::pixels::{narrow_16_to_8, Layout, Pixels};
use super::sniff::SourceFormat;
use crate::error::TofuError;

/// A PNG, GIF or WebP whose header has been read, nothing decoded yet.
pub struct OtherHeader<'a> {
    format: SourceFormat,
    decoder: Box<dyn ImageDecoder + 'a>,
    deadline: Deadline,
    /// The PNG `iCCP` or WebP `ICCP` profile (GIF has none).
    pub icc: Embedded,
}

impl<'a> OtherHeader<'a> {
    /// Reads the header of a PNG, GIF or WebP (`format` comes from the magic bytes). The
    /// decoders may allocate for the size the first header bytes declare (at most `max_pixels`),
    /// not for the largest allowed image: a colour profile that inflates to hundreds of MB in an
    /// 8×8 PNG is cut short.
    pub fn read(
        source: &'a [u8],
        format: SourceFormat,
        max_pixels: u64,
        deadline: Deadline,
    ) -> Result<OtherHeader<'a>, TofuError> {
        let mut limits = image::Limits::default();
        let max_side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
        limits.max_image_width = Some(max_side);
        limits.max_image_height = Some(max_side);
        let declared = peek_dimensions(source, format)
            .map_or(max_pixels, |(w, h)| w.saturating_mul(h).min(max_pixels));
        limits.max_alloc = Some(alloc_budget(declared, 1));
        let cursor = DeadlineReader::new(source, deadline);
        let bad = |e: ImageError| {
            if deadline.expired() {
                deadline.error("reading the header")
            } else {
                classify(e, format)
            }
        };
        let mut decoder: Box<dyn ImageDecoder + 'a> = match format {
            SourceFormat::Png => {
                Box::new(PngDecoder::with_limits(cursor, limits.clone()).map_err(bad)?)
            }
            SourceFormat::Gif => Box::new(GifDecoder::new(cursor).map_err(bad)?),
            SourceFormat::WebP => Box::new(WebPDecoder::new(cursor).map_err(bad)?),
            SourceFormat::Jpeg => {
                return Err(TofuError::Internal(
                    "JPEG sent to the image crate".to_string(),
                ))
            }
        };
        decoder.set_limits(limits).map_err(bad)?;
        let icc = match decoder.icc_profile() {
            Ok(Some(bytes)) => Embedded::Icc(bytes),
            Ok(None) => Embedded::None,
            Err(_) => Embedded::Unreadable(format!("the {} profile is corrupt", format.name())),
        };
        Ok(OtherHeader {
            format,
            decoder,
            deadline,
            icc,
        })
    }

    /// Width and height (for GIF the logical screen, which the first frame is drawn on).
    pub fn dimensions(&self) -> (u64, u64) {
        let (w, h) = self.decoder.dimensions();
        (u64::from(w), u64::from(h))
    }

    /// What the decoded pixels will be, for matching them with a colour profile.
    pub fn model(&self) -> Model {
        match self.decoder.color_type() {
            ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16 => Model::Gray,
            _ => Model::Rgb,
        }
    }

    /// Decodes the (first) image to 8 bits per sample.
    pub fn decode(self) -> Result<Pixels, TofuError> {
        let format = self.format;
        let deadline = self.deadline;
        let (width, height) = self.decoder.dimensions();
        let color = self.decoder.color_type();
        let (layout, wide) = match color {
            ColorType::L8 => (Layout::Gray, false),
            ColorType::La8 => (Layout::GrayAlpha, false),
            ColorType::Rgb8 => (Layout::Rgb, false),
            ColorType::Rgba8 => (Layout::Rgba, false),
            ColorType::L16 => (Layout::Gray, true),
            ColorType::La16 => (Layout::GrayAlpha, true),
            ColorType::Rgb16 => (Layout::Rgb, true),
            ColorType::Rgba16 => (Layout::Rgba, true),
            _ => {
                return Err(TofuError::Unprocessable(format!(
                    "the {} source has a colour type we do not decode",
                    format.name()
                )))
            }
        };
        let bytes = usize::try_from(self.decoder.total_bytes()).map_err(|_| too_big())?;
        let mut data = vec![0u8; bytes];
        self.decoder.read_image_boxed(&mut data).map_err(|e| {
            if deadline.expired() {
                deadline.error("decoding")
            } else {
                classify(e, format)
            }
        })?;
        if wide {
            data = narrow_16_to_8(data);
        }
        Ok(Pixels {
            data,
            width,
            height,
            layout,
        })
    }
}

/// Width and height straight from the first header bytes (PNG IHDR, GIF logical screen, WebP
/// VP8/VP8L/VP8X), without running a decoder, so that an absurd size is refused with the pixel
/// message even when nothing follows the header. `None` when the bytes are too short or
/// unexpected (the decoder then decides).
pub fn peek_dimensions(source: &[u8], format: SourceFormat) -> Option<(u64, u64)> {
    let be32 = |at: usize| -> Option<u64> {
        let b = source.get(at..at + 4)?;
        Some(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    };
    let le16 = |at: usize| -> Option<u64> {
        let b = source.get(at..at + 2)?;
        Some(u64::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let le24 = |at: usize| -> Option<u64> {
        let b = source.get(at..at + 3)?;
        Some(u64::from(u32::from_le_bytes([b[0], b[1], b[2], 0])))
    };
    match format {
        SourceFormat::Png if source.get(12..16)? == b"IHDR" => Some((be32(16)?, be32(20)?)),
        SourceFormat::Gif => Some((le16(6)?, le16(8)?)),
        SourceFormat::WebP => match source.get(12..16)? {
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            b"VP8L" if *source.get(20)? == 0x2F => {
                let bits = le24(21)? | (u64::from(*source.get(24)?) << 24);
                Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
            }
            b"VP8 " if source.get(23..26)? == [0x9D, 0x01, 0x2A] => {
                Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF))
            }
            _ => None,
        },
        _ => None,
    }
}

fn too_big() -> TofuError {
    TofuError::Unprocessable("the source needs more memory than allowed".to_string())
}

/// Maps the image crate's error to a client-safe 422.
fn classify(e: ImageError, format: SourceFormat) -> TofuError {
    match e {
        ImageError::Limits(_) => too_big(),
        ImageError::Unsupported(_) => TofuError::Unprocessable(format!(
            "the {} source uses a feature we do not decode",
            format.name()
        )),
        _ => TofuError::Unprocessable(format!(
            "the {} source is corrupt or truncated",
            format.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::tests::testdata;

    fn later() -> Deadline {
        Deadline::after(super::super::bounds::PROCESSING_DEADLINE)
    }

    #[test]
    fn peeked_dimensions_match_the_decoders() {
        for (path, format, want) in [
            ("pngsuite/basn0g01.png", SourceFormat::Png, (32, 32)),
            ("other/landscape.gif", SourceFormat::Gif, (600, 400)),
            ("other/landscape-lossy.webp", SourceFormat::WebP, (600, 400)),
            ("other/landscape-alpha.webp", SourceFormat::WebP, (600, 400)),
            (
                "other/small-lossless-alpha.webp",
                SourceFormat::WebP,
                (200, 133),
            ),
        ] {
            let bytes = testdata(path);
            assert_eq!(peek_dimensions(&bytes, format), Some(want), "{path}");
            let header = OtherHeader::read(&bytes, format, 50_000_000, later()).unwrap();
            assert_eq!(header.dimensions(), want, "{path}");
        }
        assert_eq!(peek_dimensions(b"GIF89a\x01", SourceFormat::Gif), None);
        assert_eq!(
            peek_dimensions(b"RIFF\0\0\0\0WEBPVP8 ", SourceFormat::WebP),
            None
        );
    }
}
