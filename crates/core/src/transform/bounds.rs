//! Bounds on a transform's time and work beyond the pixel limit: a crafted original can stay
//! under TofuMaxSourcePixels and TofuMaxSourceBytes and still ask for minutes of CPU (a
//! progressive JPEG with thousands of scans) or for memory its pixels do not explain (a PNG
//! colour profile that inflates to hundreds of MB).
//!
//! - [`Deadline`]: every transform must finish within [`PROCESSING_DEADLINE`]. It is checked
//!   between the pipeline's steps and, through [`DeadlineReader`], on every 64 KiB that the PNG,
//!   GIF and WebP decoders read, so a decoder stuck on crafted input stops at its next read.
//! - [`check_scans`]: a progressive JPEG may have at most [`scan_limit`] scans for its size, so
//!   that scans × pixels (what libjpeg's work grows with) stays bounded; libjpeg's decode itself
//!   cannot be interrupted, this keeps it short.
//! - [`alloc_budget`]: the image crate's decoders may allocate what the declared image needs
//!   plus [`ALLOC_SLACK`], not what the largest allowed image would.

use std::io::{BufRead, Cursor, Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use crate::error::TofuError;

/// How long one transform (decode, orient, resize, encode) may take before it is abandoned with
/// a 422. A 50-megapixel original takes about 1 s on one core of a 2020s server; the margin is
/// for a loaded machine.
pub const PROCESSING_DEADLINE: Duration = Duration::from_secs(10);

/// The most scans × pixels a progressive JPEG may ask libjpeg for. libjpeg-turbo spends about
/// 15 ns per 8×8 block and scan even on an empty scan (measured: 500 scans of a 7000×7000 gray
/// image, 6.1 s), so this is about 0.6 s of decoding at 49 megapixels.
pub const SCAN_PIXEL_BUDGET: u64 = 2_500_000_000;

/// Scans always allowed, whatever the size: real encoders write about 10 (mozjpeg up to ~20).
pub const MIN_SCAN_LIMIT: u32 = 64;

/// Scans never allowed, however small the image.
pub const MAX_SCAN_LIMIT: u32 = 500;

/// Bytes a decoder may allocate beyond 8 per declared pixel (16-bit RGBA): palettes, row buffers,
/// zlib state, metadata chunks (a colour profile, text).
pub const ALLOC_SLACK: u64 = 32 << 20;

/// How much a [`DeadlineReader`] hands out at once, i.e. how often the deadline is looked at.
const READ_SLICE: usize = 64 << 10;

/// The instant a transform must be done by.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + budget,
            budget,
        }
    }

    /// True once the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.at
    }

    /// `Ok` while there is time left; a 422 naming the step otherwise.
    pub fn check(&self, step: &str) -> Result<(), TofuError> {
        if self.expired() {
            Err(self.error(step))
        } else {
            Ok(())
        }
    }

    /// The 422 of a transform that ran out of time in `step`.
    pub fn error(&self, step: &str) -> TofuError {
        TofuError::Unprocessable(format!(
            "processing the source took longer than {} s ({step})",
            self.budget.as_secs_f64()
        ))
    }
}

/// The source bytes as the image crate's decoders read them (`BufRead + Seek`), at most
/// 64 KiB at a time, failing with an I/O error once the deadline has passed.
pub struct DeadlineReader<'a> {
    inner: Cursor<&'a [u8]>,
    deadline: Deadline,
}

impl<'a> DeadlineReader<'a> {
    /// Reads `source` until `deadline`.
    pub fn new(source: &'a [u8], deadline: Deadline) -> Self {
        DeadlineReader {
            inner: Cursor::new(source),
            deadline,
        }
    }

    fn on_time(&self) -> std::io::Result<()> {
        if self.deadline.expired() {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "processing deadline passed",
            ))
        } else {
            Ok(())
        }
    }
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.on_time()?;
        let n = buf.len().min(READ_SLICE);
        self.inner.read(&mut buf[..n])
    }
}

impl BufRead for DeadlineReader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.on_time()?;
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(READ_SLICE)])
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

impl Seek for DeadlineReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

/// What the image crate's decoders may allocate for an image of `width` × `height`.
pub fn alloc_budget(width: u64, height: u64) -> u64 {
    width
        .saturating_mul(height)
        .saturating_mul(8)
        .saturating_add(ALLOC_SLACK)
}

/// The most scans a progressive JPEG of `pixels` pixels may have.
pub fn scan_limit(pixels: u64) -> u32 {
    let fit = SCAN_PIXEL_BUDGET / pixels.max(1);
    u32::try_from(fit)
        .unwrap_or(u32::MAX)
        .clamp(MIN_SCAN_LIMIT, MAX_SCAN_LIMIT)
}

/// Refuses (422) a JPEG with more scans than [`scan_limit`] allows for its size.
pub fn check_scans(source: &[u8], pixels: u64) -> Result<(), TofuError> {
    let limit = scan_limit(pixels);
    let scans = count_scans(source, limit);
    if scans > limit {
        return Err(TofuError::Unprocessable(format!(
            "the JPEG source has more than {limit} scans (the most allowed at {pixels} pixels)"
        )));
    }
    Ok(())
}

/// Counts the SOS markers of a JPEG, stopping once past `stop_after`. The segments before the
/// first scan are jumped over by their lengths (an EXIF thumbnail there has scans of its own);
/// from the first scan on, `FF DA` can only be a marker, since entropy-coded data stuffs every
/// `FF` byte with `00`.
pub fn count_scans(source: &[u8], stop_after: u32) -> u32 {
    let mut pos = 2;
    while let (Some(&0xFF), Some(&marker)) = (source.get(pos), source.get(pos + 1)) {
        if marker == 0xDA {
            break;
        }
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        let Some(len) = source.get(pos + 2..pos + 4) else {
            return 0;
        };
        pos += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
    }
    let mut scans = 0;
    let mut rest = source.get(pos..).unwrap_or_default();
    while let Some(at) = memchr::memmem::find(rest, &[0xFF, 0xDA]) {
        scans += 1;
        if scans > stop_after {
            break;
        }
        rest = &rest[at + 2..];
    }
    scans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_limit_shrinks_as_the_image_grows() {
        assert_eq!(scan_limit(0), MAX_SCAN_LIMIT);
        assert_eq!(scan_limit(600 * 400), MAX_SCAN_LIMIT);
        assert_eq!(scan_limit(5_000_000), MAX_SCAN_LIMIT);
        assert_eq!(scan_limit(25_000_000), 100);
        assert_eq!(scan_limit(49_000_000), MIN_SCAN_LIMIT);
        assert_eq!(scan_limit(u64::MAX), MIN_SCAN_LIMIT);
    }

    #[test]
    fn scans_are_counted_from_the_first_sos_on() {
        // SOI, an APP1 whose body holds FF DA (a thumbnail), then two scans.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0, 6, 0xFF, 0xDA, 0xFF, 0xDA];
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0x12, 0xFF, 0x00, 0x34]);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0x56, 0xFF, 0xD9]);
        assert_eq!(count_scans(&jpeg, 500), 2);
        assert_eq!(count_scans(&jpeg, 1), 2, "stops once past the limit");
        assert_eq!(count_scans(&jpeg, 0), 1);
        // Truncated or absurd lengths do not panic.
        for n in 0..jpeg.len() {
            count_scans(&jpeg[..n], 500);
        }
        assert_eq!(count_scans(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF], 500), 0);
    }

    #[test]
    fn too_many_scans_for_the_size_is_a_422() {
        let mut jpeg = vec![0xFF, 0xD8];
        for _ in 0..100 {
            jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0]);
        }
        assert!(check_scans(&jpeg, 1_000_000).is_ok());
        let e = check_scans(&jpeg, 49_000_000).unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(e.to_string().contains("more than 64 scans"), "{e}");
    }

    #[test]
    fn the_reader_fails_once_the_deadline_has_passed() {
        let bytes = vec![7u8; 200_000];
        let mut on_time = DeadlineReader::new(&bytes, Deadline::after(Duration::from_secs(60)));
        assert_eq!(on_time.fill_buf().unwrap().len(), READ_SLICE);
        let mut all = Vec::new();
        on_time.seek(SeekFrom::Start(0)).unwrap();
        on_time.read_to_end(&mut all).unwrap();
        assert_eq!(all, bytes);

        let late = Deadline::after(Duration::ZERO);
        assert!(late.expired());
        let mut reader = DeadlineReader::new(&bytes, late);
        let e = reader.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(reader.fill_buf().is_err());
        let e = late.check("decode").unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(e.to_string().contains("longer than 0 s (decode)"), "{e}");
        assert!(Deadline::after(PROCESSING_DEADLINE).check("decode").is_ok());
    }

    #[test]
    fn decoders_may_allocate_for_the_declared_image_only() {
        assert_eq!(alloc_budget(8, 8), 512 + ALLOC_SLACK);
        assert_eq!(alloc_budget(7000, 7000), 392_000_000 + ALLOC_SLACK);
        assert_eq!(alloc_budget(u64::MAX, 2), u64::MAX);
    }
}
