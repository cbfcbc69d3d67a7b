//! The one in-memory image type of the pipeline (8-bit, packed, no row padding) and the per-pixel
//! conversions between decoders, resampler and encoders. Conversions that shrink a pixel work in
//! place, so the big decoded buffer is never copied.

use fast_image_resize::PixelType;

use crate::ops::Background;

/// Channel layout of 8-bit packed pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

impl Layout {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::GrayAlpha => 2,
            Layout::Rgb => 3,
            Layout::Rgba => 4,
        }
    }

    /// Whether the last channel is alpha.
    pub fn has_alpha(self) -> bool {
        matches!(self, Layout::GrayAlpha | Layout::Rgba)
    }

    /// The same colours without the alpha channel.
    pub fn without_alpha(self) -> Layout {
        match self {
            Layout::Gray | Layout::GrayAlpha => Layout::Gray,
            Layout::Rgb | Layout::Rgba => Layout::Rgb,
        }
    }

    /// The matching pixel type of the resampler.
    pub(crate) fn pixel_type(self) -> PixelType {
        match self {
            Layout::Gray => PixelType::U8,
            Layout::GrayAlpha => PixelType::U8x2,
            Layout::Rgb => PixelType::U8x3,
            Layout::Rgba => PixelType::U8x4,
        }
    }
}

/// A decoded or resized image: `width × height` pixels of `layout`, rows packed top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
}

impl Pixels {
    /// Bytes in one row.
    pub fn stride(&self) -> usize {
        self.width as usize * self.layout.channels()
    }

    /// Drops an alpha channel that is 255 everywhere (most RGBA PNGs and GIFs are opaque): the
    /// resampler then works on fewer channels with no premultiplication, and PNG output stays
    /// without alpha. In place, one pass; nothing happens when any pixel is not opaque.
    pub fn drop_opaque_alpha(&mut self) {
        if !self.layout.has_alpha() {
            return;
        }
        let n = self.layout.channels();
        if !self.data.chunks_exact(n).all(|p| p[n - 1] == 255) {
            return;
        }
        compact_in_place(&mut self.data, n, n - 1);
        self.layout = self.layout.without_alpha();
    }

    /// Composites pixels with alpha over `background` (for JPEG, which has no alpha): the `b`
    /// option, white by default. Gray+alpha stays gray over a gray background and becomes RGB
    /// over a coloured one. Opaque layouts are returned unchanged.
    pub fn flatten_on(self, background: Background) -> Pixels {
        let [r, g, b] = background.0;
        let mut this = match self.layout {
            Layout::Gray | Layout::Rgb => return self,
            Layout::GrayAlpha if r != g || g != b => self.expand_gray(),
            _ => self,
        };
        let n = this.layout.channels();
        let under = [u32::from(r), u32::from(g), u32::from(b)];
        let pixels = this.data.len() / n;
        for i in 0..pixels {
            let alpha = u32::from(this.data[i * n + n - 1]);
            for (c, under) in under.iter().enumerate().take(n - 1) {
                let v = u32::from(this.data[i * n + c]);
                this.data[i * (n - 1) + c] =
                    ((v * alpha + under * (255 - alpha) + 127) / 255) as u8;
            }
        }
        this.data.truncate(pixels * (n - 1));
        this.layout = this.layout.without_alpha();
        this
    }

    /// Gray becomes RGB and gray+alpha becomes RGBA (for the WebP encoder, which wants one of
    /// those). Colour layouts are returned unchanged.
    pub fn expand_gray(self) -> Pixels {
        let (layout, from) = match self.layout {
            Layout::Gray => (Layout::Rgb, 1),
            Layout::GrayAlpha => (Layout::Rgba, 2),
            Layout::Rgb | Layout::Rgba => return self,
        };
        let mut data = Vec::with_capacity(self.data.len() / from * layout.channels());
        for p in self.data.chunks_exact(from) {
            data.extend_from_slice(&[p[0], p[0], p[0]]);
            if from == 2 {
                data.push(p[1]);
            }
        }
        Pixels {
            data,
            width: self.width,
            height: self.height,
            layout,
        }
    }
}

/// Keeps the first `keep` of every `n` bytes, moving them to the front of `data`, then truncates.
fn compact_in_place(data: &mut Vec<u8>, n: usize, keep: usize) {
    let pixels = data.len() / n;
    for i in 0..pixels {
        data.copy_within(i * n..i * n + keep, i * keep);
    }
    data.truncate(pixels * keep);
}

/// Converts native-endian 16-bit samples to 8 bits (`round(v × 255 / 65535)`) in place: the
/// buffer is reused and halved.
pub fn narrow_16_to_8(mut data: Vec<u8>) -> Vec<u8> {
    let samples = data.len() / 2;
    for i in 0..samples {
        let v = u32::from(u16::from_ne_bytes([data[2 * i], data[2 * i + 1]]));
        data[i] = ((v * 255 + 32767) / 65535) as u8;
    }
    data.truncate(samples);
    data
}

/// Converts CMYK pixels (4 bytes) to RGB (3 bytes) in place with the naive formula
/// `R = 255 × (1 − C) × (1 − K)`. `inverted` is for Adobe JPEGs (an APP14 marker), which store
/// `255 − ink`; without the marker the values are ink amounts. No ICC profile is applied.
pub fn cmyk_to_rgb_in_place(data: &mut Vec<u8>, inverted: bool) {
    let pixels = data.len() / 4;
    for i in 0..pixels {
        let p = &data[i * 4..i * 4 + 4];
        let (c, m, y, k) = if inverted {
            (p[0], p[1], p[2], p[3])
        } else {
            (255 - p[0], 255 - p[1], 255 - p[2], 255 - p[3])
        };
        let k = u32::from(k);
        let mix = |v: u8| ((u32::from(v) * k + 127) / 255) as u8;
        let rgb = [mix(c), mix(m), mix(y)];
        data[i * 3..i * 3 + 3].copy_from_slice(&rgb);
    }
    data.truncate(pixels * 3);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(layout: Layout, data: &[u8]) -> Pixels {
        Pixels {
            width: (data.len() / layout.channels()) as u32,
            height: 1,
            data: data.to_vec(),
            layout,
        }
    }

    #[test]
    fn opaque_alpha_is_dropped_in_place() {
        let mut p = px(Layout::Rgba, &[1, 2, 3, 255, 4, 5, 6, 255]);
        p.drop_opaque_alpha();
        assert_eq!((p.layout, p.data), (Layout::Rgb, vec![1, 2, 3, 4, 5, 6]));
        let mut p = px(Layout::GrayAlpha, &[7, 255, 8, 255]);
        p.drop_opaque_alpha();
        assert_eq!((p.layout, p.data), (Layout::Gray, vec![7, 8]));
        let mut p = px(Layout::Rgba, &[1, 2, 3, 255, 4, 5, 6, 254]);
        p.drop_opaque_alpha();
        assert_eq!(p.layout, Layout::Rgba);
    }

    #[test]
    fn flattening_composites_over_white() {
        let white = Background::WHITE;
        let p = px(Layout::Rgba, &[0, 0, 0, 0, 0, 0, 0, 255, 100, 200, 0, 128]).flatten_on(white);
        assert_eq!(p.layout, Layout::Rgb);
        assert_eq!(&p.data[..6], &[255, 255, 255, 0, 0, 0]);
        // 100×128/255 + 255×127/255 = 177.2, 200×128/255 + 127 = 227.4, 0 + 127 = 127
        assert_eq!(&p.data[6..], &[177, 227, 127]);
        let p = px(Layout::GrayAlpha, &[0, 0, 50, 255]).flatten_on(white);
        assert_eq!((p.layout, p.data), (Layout::Gray, vec![255, 50]));
    }

    #[test]
    fn flattening_composites_over_the_background() {
        let teal = Background([0x00, 0x80, 0x80]);
        let p = px(
            Layout::Rgba,
            &[9, 9, 9, 0, 10, 20, 30, 255, 100, 200, 0, 128],
        )
        .flatten_on(teal);
        assert_eq!(p.layout, Layout::Rgb);
        // 100×128/255 + 0 = 50.2; 200×128/255 + 128×127/255 = 164.2; 0 + 63.75
        assert_eq!(p.data, vec![0, 128, 128, 10, 20, 30, 50, 164, 64]);
        // Gray over a colour becomes colour; over a gray it stays gray.
        let p = px(Layout::GrayAlpha, &[7, 0, 50, 255]).flatten_on(teal);
        assert_eq!(
            (p.layout, p.data),
            (Layout::Rgb, vec![0, 128, 128, 50, 50, 50])
        );
        let p = px(Layout::GrayAlpha, &[7, 0, 50, 255]).flatten_on(Background([9, 9, 9]));
        assert_eq!((p.layout, p.data), (Layout::Gray, vec![9, 50]));
        // Opaque pixels are untouched.
        let p = px(Layout::Rgb, &[1, 2, 3]).flatten_on(teal);
        assert_eq!((p.layout, p.data), (Layout::Rgb, vec![1, 2, 3]));
    }

    #[test]
    fn gray_expands_for_webp() {
        let p = px(Layout::GrayAlpha, &[9, 200]).expand_gray();
        assert_eq!((p.layout, p.data), (Layout::Rgba, vec![9, 9, 9, 200]));
        let p = px(Layout::Gray, &[9]).expand_gray();
        assert_eq!((p.layout, p.data), (Layout::Rgb, vec![9, 9, 9]));
    }

    #[test]
    fn sixteen_bits_round_to_eight() {
        let mut data = Vec::new();
        for v in [0u16, 65535, 257 * 100, 257 * 100 + 128, 32767] {
            data.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(narrow_16_to_8(data), vec![0, 255, 100, 100, 127]);
    }

    #[test]
    fn cmyk_converts_both_ways() {
        // Red: no cyan, full magenta and yellow, no black.
        let mut plain = vec![0, 255, 255, 0];
        cmyk_to_rgb_in_place(&mut plain, false);
        assert_eq!(plain, vec![255, 0, 0]);
        let mut adobe = vec![255, 0, 0, 255];
        cmyk_to_rgb_in_place(&mut adobe, true);
        assert_eq!(adobe, vec![255, 0, 0]);
        // 50% black over white.
        let mut grey = vec![0, 0, 0, 128];
        cmyk_to_rgb_in_place(&mut grey, false);
        assert_eq!(grey, vec![127, 127, 127]);
    }
}
