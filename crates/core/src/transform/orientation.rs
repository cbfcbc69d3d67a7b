//! EXIF orientation: reading it, mapping geometry between the oriented (upright) image and the
//! stored one, and turning the small resized result upright.
//!
//! Orientation is applied after resizing, on the output (tens of kilopixels), never on the
//! decoded original (megapixels): the plan, made in oriented coordinates, is mapped back into the
//! stored image, resized there, and only the result is rotated or flipped.

use std::io::Cursor;

use super::geometry::Rect;
use super::pixels::Pixels;

/// An EXIF orientation value, 1..=8 (1 = stored upright).
///
/// | value | to display the stored image |
/// | --- | --- |
/// | 1 | nothing |
/// | 2 | flip left↔right |
/// | 3 | rotate 180° |
/// | 4 | flip top↔bottom |
/// | 5 | transpose (flip over the top-left/bottom-right diagonal) |
/// | 6 | rotate 90° clockwise |
/// | 7 | transverse (flip over the top-right/bottom-left diagonal) |
/// | 8 | rotate 90° counter-clockwise |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Orientation(u8);

impl Orientation {
    /// Stored upright.
    pub const UPRIGHT: Orientation = Orientation(1);

    /// The orientation of an EXIF value; anything outside 1..=8 counts as 1.
    pub fn from_exif(value: u32) -> Orientation {
        match value {
            1..=8 => Orientation(value as u8),
            _ => Orientation::UPRIGHT,
        }
    }

    /// The EXIF value, 1..=8.
    pub fn value(self) -> u8 {
        self.0
    }

    /// Orientations 5..=8 turn the image by a quarter: width and height swap.
    pub fn swaps_axes(self) -> bool {
        self.0 >= 5
    }

    /// The upright size of a stored `width`×`height` image (also the stored size of an upright
    /// one: the swap is its own inverse).
    pub fn swap_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.swaps_axes() {
            (height, width)
        } else {
            (width, height)
        }
    }

    /// Maps a rectangle of the oriented image (`width`×`height`, oriented) to the same pixels of
    /// the stored image.
    pub fn to_stored(self, r: Rect, width: u32, height: u32) -> Rect {
        let (w, h) = (f64::from(width), f64::from(height));
        let rect = |x: f64, y: f64, width: f64, height: f64| Rect {
            x,
            y,
            width,
            height,
        };
        match self.0 {
            2 => rect(w - r.x - r.width, r.y, r.width, r.height),
            3 => rect(w - r.x - r.width, h - r.y - r.height, r.width, r.height),
            4 => rect(r.x, h - r.y - r.height, r.width, r.height),
            5 => rect(r.y, r.x, r.height, r.width),
            6 => rect(r.y, w - r.x - r.width, r.height, r.width),
            7 => rect(h - r.y - r.height, w - r.x - r.width, r.height, r.width),
            8 => rect(h - r.y - r.height, r.x, r.height, r.width),
            _ => r,
        }
    }

    /// Turns a stored-orientation image upright. Orientation 1 returns the image untouched.
    pub fn apply(self, image: Pixels) -> Pixels {
        if self.0 == 1 {
            return image;
        }
        match image.layout.channels() {
            1 => self.apply_n::<1>(image),
            2 => self.apply_n::<2>(image),
            3 => self.apply_n::<3>(image),
            _ => self.apply_n::<4>(image),
        }
    }

    fn apply_n<const N: usize>(self, image: Pixels) -> Pixels {
        let (sw, sh) = (image.width as usize, image.height as usize);
        let (ow, oh) = if self.swaps_axes() {
            (sh, sw)
        } else {
            (sw, sh)
        };
        let mut data = vec![0u8; ow * oh * N];
        let src = &image.data;
        for (yo, row) in data.chunks_exact_mut(ow * N).enumerate() {
            for (xo, dst) in row.chunks_exact_mut(N).enumerate() {
                // The stored pixel that lands at (xo, yo).
                let (xs, ys) = match self.0 {
                    2 => (sw - 1 - xo, yo),
                    3 => (sw - 1 - xo, sh - 1 - yo),
                    4 => (xo, sh - 1 - yo),
                    5 => (yo, xo),
                    6 => (yo, sh - 1 - xo),
                    7 => (sw - 1 - yo, sh - 1 - xo),
                    _ => (sw - 1 - yo, xo),
                };
                let at = (ys * sw + xs) * N;
                dst.copy_from_slice(&src[at..at + N]);
            }
        }
        Pixels {
            data,
            width: ow as u32,
            height: oh as u32,
            layout: image.layout,
        }
    }
}

/// The orientation in raw EXIF (TIFF-structured) data, as found in a JPEG APP1 segment after
/// `Exif\0\0`. Broken or missing EXIF means upright: metadata never fails a request.
pub fn from_exif_data(tiff: &[u8]) -> Orientation {
    exif::Reader::new()
        .read_raw(tiff.to_vec())
        .ok()
        .map_or(Orientation::UPRIGHT, |exif| orientation_of(&exif))
}

/// The orientation recorded in a PNG (`eXIf`) or WebP (`EXIF` chunk) file; upright when there is
/// none or it cannot be read.
pub fn from_container(source: &[u8]) -> Orientation {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(source))
        .ok()
        .map_or(Orientation::UPRIGHT, |exif| orientation_of(&exif))
}

fn orientation_of(exif: &exif::Exif) -> Orientation {
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|field| field.value.get_uint(0))
        .map_or(Orientation::UPRIGHT, Orientation::from_exif)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::pixels::Layout;

    /// A stored image whose every pixel holds its own index (as two bytes), so that where a
    /// pixel went can be read back.
    fn numbered(width: u32, height: u32) -> Pixels {
        let mut data = Vec::new();
        for i in 0..(width * height) as u16 {
            data.extend_from_slice(&i.to_be_bytes());
        }
        Pixels {
            data,
            width,
            height,
            layout: Layout::GrayAlpha,
        }
    }

    fn at(p: &Pixels, x: u32, y: u32) -> u16 {
        let i = ((y * p.width + x) * 2) as usize;
        u16::from_be_bytes([p.data[i], p.data[i + 1]])
    }

    #[test]
    fn rect_mapping_agrees_with_pixel_turning_for_all_eight() {
        let (sw, sh) = (5, 3);
        for value in 1..=8 {
            let o = Orientation::from_exif(value);
            let stored = numbered(sw, sh);
            let upright = o.apply(stored.clone());
            let (ow, oh) = o.swap_size(sw, sh);
            assert_eq!(
                (upright.width, upright.height),
                (ow, oh),
                "orientation {value}"
            );
            for yo in 0..oh {
                for xo in 0..ow {
                    let r = o.to_stored(
                        Rect {
                            x: f64::from(xo),
                            y: f64::from(yo),
                            width: 1.0,
                            height: 1.0,
                        },
                        ow,
                        oh,
                    );
                    assert_eq!((r.width, r.height), (1.0, 1.0));
                    let (xs, ys) = (r.x as u32, r.y as u32);
                    assert_eq!(
                        at(&upright, xo, yo),
                        at(&stored, xs, ys),
                        "orientation {value} at {xo},{yo}"
                    );
                }
            }
        }
    }

    #[test]
    fn each_orientation_turns_the_right_way() {
        // Stored 3×2:  0 1 2
        //              3 4 5
        let stored = numbered(3, 2);
        let rows = |p: &Pixels| -> Vec<Vec<u16>> {
            (0..p.height)
                .map(|y| (0..p.width).map(|x| at(p, x, y)).collect())
                .collect()
        };
        let turned = |v: u32| rows(&Orientation::from_exif(v).apply(stored.clone()));
        assert_eq!(turned(1), vec![vec![0, 1, 2], vec![3, 4, 5]]);
        assert_eq!(turned(2), vec![vec![2, 1, 0], vec![5, 4, 3]]);
        assert_eq!(turned(3), vec![vec![5, 4, 3], vec![2, 1, 0]]);
        assert_eq!(turned(4), vec![vec![3, 4, 5], vec![0, 1, 2]]);
        assert_eq!(turned(5), vec![vec![0, 3], vec![1, 4], vec![2, 5]]);
        // 90° clockwise: the left column (0, 3) becomes the top row, read bottom-up.
        assert_eq!(turned(6), vec![vec![3, 0], vec![4, 1], vec![5, 2]]);
        assert_eq!(turned(7), vec![vec![5, 2], vec![4, 1], vec![3, 0]]);
        // 90° counter-clockwise: the right column (2, 5) becomes the top row.
        assert_eq!(turned(8), vec![vec![2, 5], vec![1, 4], vec![0, 3]]);
    }

    #[test]
    fn rects_map_for_all_eight() {
        // Oriented 30×20 (stored 20×30 for 5..8); the rect (2, 3, 10, 5).
        let r = Rect {
            x: 2.0,
            y: 3.0,
            width: 10.0,
            height: 5.0,
        };
        let got = |v: u32| {
            let s = Orientation::from_exif(v).to_stored(r, 30, 20);
            (s.x, s.y, s.width, s.height)
        };
        assert_eq!(got(1), (2.0, 3.0, 10.0, 5.0));
        assert_eq!(got(2), (18.0, 3.0, 10.0, 5.0));
        assert_eq!(got(3), (18.0, 12.0, 10.0, 5.0));
        assert_eq!(got(4), (2.0, 12.0, 10.0, 5.0));
        assert_eq!(got(5), (3.0, 2.0, 5.0, 10.0));
        assert_eq!(got(6), (3.0, 18.0, 5.0, 10.0));
        assert_eq!(got(7), (12.0, 18.0, 5.0, 10.0));
        assert_eq!(got(8), (12.0, 2.0, 5.0, 10.0));
    }

    #[test]
    fn bad_values_and_broken_exif_mean_upright() {
        assert_eq!(Orientation::from_exif(0), Orientation::UPRIGHT);
        assert_eq!(Orientation::from_exif(9), Orientation::UPRIGHT);
        assert_eq!(from_exif_data(b""), Orientation::UPRIGHT);
        assert_eq!(from_exif_data(b"MM\0*garbage"), Orientation::UPRIGHT);
        assert_eq!(from_container(b"\x89PNG\r\n\x1a\n"), Orientation::UPRIGHT);
        assert_eq!(from_container(b"RIFF\0\0\0\0WEBP"), Orientation::UPRIGHT);
    }

    #[test]
    fn reads_orientation_from_raw_exif() {
        // Big-endian TIFF with one IFD entry: Orientation (0x0112), SHORT, count 1, value 6.
        let tiff: &[u8] = &[
            b'M', b'M', 0, 42, 0, 0, 0, 8, // header, IFD at 8
            0, 1, // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // Orientation = 6
            0, 0, 0, 0, // no next IFD
        ];
        assert_eq!(from_exif_data(tiff).value(), 6);
    }
}
