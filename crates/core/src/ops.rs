//! What a URL asks to be done to an image: the value the URL parser produces and the transform
//! consumes. Kept apart from both so that neither depends on the other.

/// Output encodings mod_tofu writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Jpeg,
    Png,
    WebP,
    Avif,
}

impl OutputFormat {
    /// The URL extension that selects this format (`jpg`, `png`, `webp`, `avif`).
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Png => "png",
            OutputFormat::WebP => "webp",
            OutputFormat::Avif => "avif",
        }
    }

    /// The Content-Type of a response in this format.
    pub fn mime_type(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::WebP => "image/webp",
            OutputFormat::Avif => "image/avif",
        }
    }

    /// The format an extension names; only the four canonical spellings exist.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "jpg" => Some(OutputFormat::Jpeg),
            "png" => Some(OutputFormat::Png),
            "webp" => Some(OutputFormat::WebP),
            "avif" => Some(OutputFormat::Avif),
            _ => None,
        }
    }
}

/// The colour a transparent source is flattened onto when the output has no alpha: the `b`
/// option, white when the URL has none (what every browser shows behind a transparent image
/// on a default page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Background(pub [u8; 3]);

impl Background {
    /// White: the default, and what a URL without `b` gets.
    pub const WHITE: Background = Background([255, 255, 255]);

    /// Parses exactly six lowercase hex digits (the canonical spelling; anything else is `None`).
    pub fn from_code(code: &str) -> Option<Self> {
        if code.len() != 6
            || !code
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let mut rgb = [0u8; 3];
        hex::decode_to_slice(code, &mut rgb).ok()?;
        Some(Background(rgb))
    }
}

impl Default for Background {
    fn default() -> Self {
        Background::WHITE
    }
}

/// Crop anchor for fill ("c") sizes; `Centre` is the default and has no URL spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gravity {
    #[default]
    Centre,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
}

impl Gravity {
    /// The URL spelling after `g` (`n`, `se`, …); `None` for the default centre.
    pub fn code(self) -> Option<&'static str> {
        Some(match self {
            Gravity::Centre => return None,
            Gravity::North => "n",
            Gravity::South => "s",
            Gravity::East => "e",
            Gravity::West => "w",
            Gravity::NorthEast => "ne",
            Gravity::NorthWest => "nw",
            Gravity::SouthEast => "se",
            Gravity::SouthWest => "sw",
        })
    }

    /// Parses a URL spelling; the centre has none (it is the default), so `c` is not accepted.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "n" => Gravity::North,
            "s" => Gravity::South,
            "e" => Gravity::East,
            "w" => Gravity::West,
            "ne" => Gravity::NorthEast,
            "nw" => Gravity::NorthWest,
            "se" => Gravity::SouthEast,
            "sw" => Gravity::SouthWest,
            _ => return None,
        })
    }

    /// Where the crop window sits along each axis, as a fraction of the slack: 0 = left/top,
    /// 0.5 = centre, 1 = right/bottom.
    pub fn anchor(self) -> (f64, f64) {
        match self {
            Gravity::Centre => (0.5, 0.5),
            Gravity::North => (0.5, 0.0),
            Gravity::South => (0.5, 1.0),
            Gravity::East => (1.0, 0.5),
            Gravity::West => (0.0, 0.5),
            Gravity::NorthEast => (1.0, 0.0),
            Gravity::NorthWest => (0.0, 0.0),
            Gravity::SouthEast => (1.0, 1.0),
            Gravity::SouthWest => (0.0, 1.0),
        }
    }
}

/// A rectangle of the (EXIF-oriented) source, in pixels: the `r<x>,<y>,<w>,<h>` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The size box: at least one side is given; `fill` (the `c` flag) covers the box and crops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fill: bool,
}

/// Everything the ops segment of a URL says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ops {
    pub size: Size,
    /// JPEG/WebP quality 1..=100; `None` means the configured default.
    pub quality: Option<u8>,
    pub region: Option<Region>,
    pub gravity: Gravity,
    /// The `b` option: what transparency is flattened onto for JPEG; `None` = white.
    pub background: Option<Background>,
}

impl Ops {
    /// The colour to flatten onto: the `b` option or white.
    pub fn background(&self) -> Background {
        self.background.unwrap_or_default()
    }
}

/// Just a size, centre gravity, no quality or region: the ops most transform tests need.
#[cfg(test)]
pub(crate) fn sized(width: Option<u32>, height: Option<u32>, fill: bool) -> Ops {
    Ops {
        size: Size {
            width,
            height,
            fill,
        },
        quality: None,
        region: None,
        gravity: Gravity::Centre,
        background: None,
    }
}
