//! Decode → orient → region → resize → encode, on bytes, with no Apache in sight.
//!
//! The order of work is chosen for CPU, which is the product's bill:
//!
//! 1. the format comes from magic bytes ([`sniff`]), the size from the header, and the pixel
//!    limit is checked before any pixel buffer exists;
//! 2. the geometry is planned in the upright (EXIF-oriented) image ([`plan`]), then mapped back
//!    into the stored orientation ([`Orientation::to_stored`]);
//! 3. a JPEG is decoded at the smallest DCT scale (1/8, 1/4, 1/2) that still leaves the Lanczos
//!    pass a reduction of at least 2× ("shrink on load", as libvips does);
//! 4. the crop window is resampled with Lanczos3 in the stored orientation;
//! 5. an embedded colour profile is honoured on the small result ([`colour`]: to sRGB, before
//!    the orientation; CMYK at decode, on the shrunk-on-load window);
//! 6. only the small result is rotated/flipped upright, then encoded.
//!
//! Time and work are bounded too ([`bounds`]): the whole run must finish within
//! [`PROCESSING_DEADLINE`], and a progressive JPEG may not have more scans than its size allows.

mod bounds;
mod colour;
mod encode;
mod geometry;
mod jpeg;
use tofu_libjpeg as libjpeg;
mod image_decode;
mod orientation;
mod pixels;
mod resize;
mod sniff;

pub use bounds::{Deadline, PROCESSING_DEADLINE};
pub use colour::exercise as exercise_colour_profile;
pub use geometry::{plan, Plan, Rect};
pub use orientation::Orientation;
pub use sniff::{sniff, SourceFormat};

use std::time::{Duration, Instant};

use crate::error::TofuError;
use crate::ops::{Background, Ops, OutputFormat};
use colour::{Colour, Embedded};
use image_decode::OtherHeader;
use jpeg::JpegHeader;

/// Security limits checked from the image header before any pixel buffer is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// width × height (all frames) above this is refused (422) before decoding.
    pub max_source_pixels: u64,
}

/// One transform to run: what the URL asked plus the configured default quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub ops: Ops,
    /// Output format from the URL extension; `None` = the source's (GIF and others: PNG).
    pub format: Option<OutputFormat>,
    /// Quality used when `ops.quality` is `None`.
    pub default_quality: u8,
}

/// An encoded result, ready to send.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    /// Where the time went, for the per-request notes and the CLI.
    pub stages: StageTimes,
    /// Why the source's colour profile was ignored, if it was: a debug log line.
    pub colour_note: Option<String>,
}

/// Time spent in each stage of one transform: operators read them in the access log
/// (`%{tofu-decode-ms}n` …) to see what an image costs.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub decode: Duration,
    pub resize: Duration,
    pub encode: Duration,
    /// Which decoder read the original and at what DCT scale (`tofu-decoder` note): "tofu-jpeg
    /// 1/4", "libjpeg 1/8", "PNG". Which photos take which path, and why one costs more.
    pub decoder: Decoder,
}

/// The decoder of one transform (see [`StageTimes::decoder`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decoder {
    /// Not recorded (a result made elsewhere than [`transform`]).
    #[default]
    Unknown,
    /// libjpeg-turbo at 1/`denom`.
    Libjpeg { denom: u32 },
    /// tofu-jpeg's reduced decode at 1/`denom` (progressive JPEGs: `jpeg::reduced_decoder_for`).
    TofuJpeg { denom: u32 },
    /// The image crate's decoder of another format.
    Other(SourceFormat),
}

impl std::fmt::Display for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decoder::Unknown => f.write_str("-"),
            Decoder::Libjpeg { denom } => write!(f, "libjpeg 1/{denom}"),
            Decoder::TofuJpeg { denom } => write!(f, "tofu-jpeg 1/{denom}"),
            Decoder::Other(format) => f.write_str(format.name()),
        }
    }
}

/// What an original is, read from its header alone (no pixel decoded).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: SourceFormat,
    /// Upright width (after EXIF orientation).
    pub width: u32,
    /// Upright height (after EXIF orientation).
    pub height: u32,
    pub orientation: Orientation,
}

/// The output format when the URL has no extension: the source's, except GIF (→ PNG: we write
/// no GIF, and a still PNG is what a first frame is).
pub fn default_output_format(source: SourceFormat) -> OutputFormat {
    match source {
        SourceFormat::Jpeg => OutputFormat::Jpeg,
        SourceFormat::WebP => OutputFormat::WebP,
        SourceFormat::Png | SourceFormat::Gif => OutputFormat::Png,
    }
}

/// Reads format, upright size and orientation from the header, checking the limits, without
/// decoding pixels (what the tests check a transform's input and output with).
#[cfg(test)]
pub fn probe(source: &[u8], limits: &Limits) -> Result<Probe, TofuError> {
    let opened = Opened::read(source, limits, Deadline::after(PROCESSING_DEADLINE))?;
    let (width, height) = opened
        .orientation
        .swap_size(opened.stored.0, opened.stored.1);
    Ok(Probe {
        format: opened.format,
        width,
        height,
        orientation: opened.orientation,
    })
}

/// Runs the whole pipeline on an original's bytes, within [`PROCESSING_DEADLINE`].
pub fn run(source: &[u8], job: &Job, limits: &Limits) -> Result<Encoded, TofuError> {
    run_until(source, job, limits, Deadline::after(PROCESSING_DEADLINE))
}

/// [`run`] with the deadline given: a 422 once it has passed, checked between steps and while
/// the PNG, GIF and WebP decoders read.
pub fn run_until(
    source: &[u8],
    job: &Job,
    limits: &Limits,
    deadline: Deadline,
) -> Result<Encoded, TofuError> {
    let decoding = Instant::now();
    let opened = Opened::read(source, limits, deadline)?;
    let orientation = opened.orientation;
    let (stored_w, stored_h) = opened.stored;
    let (upright_w, upright_h) = orientation.swap_size(stored_w, stored_h);
    let plan = plan(upright_w, upright_h, &job.ops)?;

    // Work in the stored orientation; only the result is turned upright.
    let crop = orientation.to_stored(plan.crop, upright_w, upright_h);
    let (out_w, out_h) = orientation.swap_size(plan.width, plan.height);

    let (pixels, crop, mut colour, decoder) = match opened.header {
        Header::Jpeg { header, adobe } => {
            let mut colour = Colour::new(opened.icc, header.model(adobe));
            let denom = header.choose_scale(crop, out_w, out_h);
            let decoded =
                header.decode(source, denom, crop, out_w, out_h, &mut colour, &deadline)?;
            let decoder = if decoded.reduced {
                Decoder::TofuJpeg { denom }
            } else {
                Decoder::Libjpeg { denom }
            };
            (decoded.pixels, decoded.crop, colour, decoder)
        }
        Header::Other(header) => {
            let colour = Colour::new(opened.icc, header.model());
            let mut pixels = header.decode()?;
            if (pixels.width, pixels.height) != (stored_w, stored_h) {
                return Err(TofuError::Unprocessable(
                    "the source's header and data disagree".to_string(),
                ));
            }
            pixels.drop_opaque_alpha();
            (pixels, crop, colour, Decoder::Other(opened.format))
        }
    };
    deadline.check("decoding")?;
    let resizing = Instant::now();
    let decode = resizing - decoding;
    let mut resized = resize::resize(pixels, crop, out_w, out_h)?;
    colour.apply(&mut resized);
    let upright = orientation.apply(resized);
    deadline.check("resizing")?;
    let encoding = Instant::now();

    let format = job
        .format
        .unwrap_or_else(|| default_output_format(opened.format));
    let quality = job.ops.quality.unwrap_or(job.default_quality);
    let (width, height) = (upright.width, upright.height);
    let bytes = encode::encode(upright, format, quality, job.ops.background())?;
    deadline.check("encoding")?;
    Ok(Encoded {
        bytes,
        format,
        width,
        height,
        stages: StageTimes {
            decode,
            resize: encoding - resizing,
            encode: encoding.elapsed(),
            decoder,
        },
        colour_note: colour.note().map(str::to_string),
    })
}

/// The whole source decoded at full size, converted to sRGB and turned upright, as packed 8-bit
/// RGB (alpha composited on white): the input of careful references in benchmarks and quality checks.
pub fn decode_rgb_upright(
    source: &[u8],
    limits: &Limits,
) -> Result<(Vec<u8>, u32, u32), TofuError> {
    let opened = Opened::read(source, limits, Deadline::after(PROCESSING_DEADLINE))?;
    let (w, h) = opened.stored;
    let (mut pixels, mut colour) = match opened.header {
        Header::Jpeg { header, adobe } => {
            let mut colour = Colour::new(opened.icc, header.model(adobe));
            let decoded = header.decode(
                source,
                1,
                Rect::full(w, h),
                w,
                h,
                &mut colour,
                &Deadline::after(PROCESSING_DEADLINE),
            )?;
            (decoded.pixels, colour)
        }
        Header::Other(header) => {
            let colour = Colour::new(opened.icc, header.model());
            (header.decode()?, colour)
        }
    };
    colour.apply(&mut pixels);
    let upright = opened
        .orientation
        .apply(pixels.flatten_on(Background::WHITE).expand_gray());
    Ok((upright.data, upright.width, upright.height))
}

/// A source whose header has been read and checked against the limits.
struct Opened<'a> {
    format: SourceFormat,
    /// Width and height as stored (before orientation).
    stored: (u32, u32),
    orientation: Orientation,
    header: Header<'a>,
    /// The embedded colour profile, as found.
    icc: Embedded,
}

enum Header<'a> {
    Jpeg {
        header: JpegHeader<'a>,
        /// An Adobe APP14 marker is present: CMYK/YCCK values are stored inverted.
        adobe: bool,
    },
    Other(OtherHeader<'a>),
}

impl<'a> Opened<'a> {
    fn read(
        source: &'a [u8],
        limits: &Limits,
        deadline: Deadline,
    ) -> Result<Opened<'a>, TofuError> {
        let format = sniff(source)
            .ok_or_else(|| TofuError::Unprocessable("not an image format we decode".to_string()))?;
        let (header, orientation, icc) = match format {
            SourceFormat::Jpeg => {
                let markers = jpeg::markers(source);
                let icc = markers.icc_profile();
                let orientation = markers
                    .exif
                    .map_or(Orientation::UPRIGHT, orientation::from_exif_data);
                let header = JpegHeader::read(source)?;
                (
                    Header::Jpeg {
                        header,
                        adobe: markers.adobe,
                    },
                    orientation,
                    icc,
                )
            }
            SourceFormat::Png | SourceFormat::WebP | SourceFormat::Gif => {
                if let Some((w, h)) = image_decode::peek_dimensions(source, format) {
                    check_pixels(w, h, limits)?;
                }
                let mut header =
                    OtherHeader::read(source, format, limits.max_source_pixels, deadline)?;
                let icc = std::mem::replace(&mut header.icc, Embedded::None);
                let orientation = if format == SourceFormat::Gif {
                    Orientation::UPRIGHT
                } else {
                    orientation::from_container(source)
                };
                (Header::Other(header), orientation, icc)
            }
        };
        let (w, h) = match &header {
            Header::Jpeg { header, .. } => header.dimensions(),
            Header::Other(h) => h.dimensions(),
        };
        let stored = check_pixels(w, h, limits)?;
        if format == SourceFormat::Jpeg {
            bounds::check_scans(source, w * h)?;
        }
        Ok(Opened {
            format,
            stored,
            orientation,
            header,
            icc,
        })
    }
}

/// Refuses empty images and images above the pixel limit (from header values).
fn check_pixels(width: u64, height: u64, limits: &Limits) -> Result<(u32, u32), TofuError> {
    if width == 0 || height == 0 {
        return Err(TofuError::Unprocessable(
            "source has no pixels (zero width or height)".to_string(),
        ));
    }
    let pixels = width.saturating_mul(height);
    if pixels > limits.max_source_pixels {
        return Err(TofuError::Unprocessable(format!(
            "source has {pixels} pixels, above the limit {}",
            limits.max_source_pixels
        )));
    }
    match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(TofuError::Unprocessable(format!(
            "source has {pixels} pixels, above the limit {}",
            limits.max_source_pixels
        ))),
    }
}

#[cfg(test)]
mod tests;
