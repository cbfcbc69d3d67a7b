//! tofu-jpeg: scaled JPEG decoding (1/2, 1/4, 1/8) that keeps only what the output needs.
//!
//! libjpeg-turbo keeps a whole-image buffer of 64 coefficients per block for every progressive
//! file, and its reduced IDCTs read all of them, so a thumbnail of a 50 MP progressive JPEG holds
//! ~150 MB of coefficients and decodes every scan. Here, for scale 1/(8/k), each block keeps only
//! its top-left k×k coefficients (what a k×k IDCT reads): a baseline scan's other coefficients
//! are entropy-decoded and dropped, and a progressive scan whose spectral band lies wholly
//! outside k×k (by zigzag index) is jumped over unread. Only the blocks of the requested crop
//! window are kept, and rows below it are never decoded.
//!
//! An AC refinement scan is parsed with the zero/non-zero history of every coefficient of its
//! band, kept or not: for a component with such a scan, one `u64` per block (of the rows down to
//! the window's last) holds that history. So a component costs `2·k_c²` bytes per kept block
//! plus 8 bytes per block above and inside the window when it has refinement scans.
//!
//! What that skips in practice: libjpeg's standard progression (`jpeg_simple_progression`, what
//! almost every progressive JPEG uses) refines the luma and chroma AC bands 1–63 in one scan
//! each, and a refinement scan cannot be parsed without the history of its whole band; so at 1/4
//! and 1/2 every scan is still read (the win there is memory, and a cheaper IDCT and store), and
//! at 1/8 every luma AC scan is jumped over (about 9× faster than libjpeg-turbo there).
//!
//! Covered: 8-bit Huffman baseline/extended/progressive, 1 (grey) or 3 (YCbCr) components,
//! sampling factors of 1 or 2. The per-component IDCT sizes, upsampling and colour conversion
//! follow libjpeg-turbo's choices for the same scale (chroma of 4:2:0 files is decoded with a
//! 2k×2k IDCT, as libjpeg does, and needs no upsampling). Anything else, and any damage libjpeg
//! would decode past with a warning, is an [`Error`] and the caller decodes with libjpeg.
#![forbid(unsafe_code)]

mod entropy;
mod header;
mod huffman;
mod idct;
mod output;
mod scan;

use header::{Frame, Reader, ScanHeader, Tables};

/// Where a scan's entropy-coded data ends, for callers that walk a JPEG's scans themselves
/// (tofu-core lists them for libjpeg's skips): one implementation of the marker rules.
pub use header::entropy_end;

/// Why a file was not decoded. Every case is one the caller answers by decoding with libjpeg
/// (or, for [`Error::TooLarge`] and [`Error::Deadline`], by refusing the source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A valid JPEG this decoder does not cover.
    Unsupported(&'static str),
    /// Damage (libjpeg may still decode it, with warnings).
    Corrupt(&'static str),
    /// Over [`Limits`].
    TooLarge,
    /// The caller's check said to stop.
    Deadline,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Unsupported(why) => write!(f, "unsupported JPEG: {why}"),
            Error::Corrupt(why) => write!(f, "corrupt JPEG: {why}"),
            Error::TooLarge => f.write_str("JPEG over the limits"),
            Error::Deadline => f.write_str("JPEG decode stopped by its deadline"),
        }
    }
}

impl std::error::Error for Error {}

/// Bounds checked before anything the size of the image is allocated or decoded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Width × height of the stored image.
    pub max_pixels: u64,
    /// Scans of a progressive file.
    pub max_scans: usize,
}

/// A rectangle of the scaled image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Decoded pixels of a [`Window`]: grey (1 channel) or RGB (3), rows packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
}

/// What the header says, for a file this decoder covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub progressive: bool,
}

/// The size of the image decoded at 1/`denom` (libjpeg's: rounded up).
pub fn scaled_size(width: u32, height: u32, denom: u32) -> (u32, u32) {
    let d = denom.max(1);
    (width.div_ceil(d), height.div_ceil(d))
}

/// Reads the markers up to the first scan: `Ok` if this decoder covers the file.
pub fn info(data: &[u8]) -> Result<Info, Error> {
    let h = read_header(data)?;
    Ok(Info {
        width: h.frame.width,
        height: h.frame.height,
        channels: h.frame.components.len() as u8,
        progressive: h.frame.progressive,
    })
}

/// Bytes of coefficient storage [`decode`] allocates for this file, scale and window (the
/// reduced store plus the non-zero history), before decoding anything. For the README's memory
/// bound and for tests.
pub fn coefficient_bytes(
    data: &[u8],
    denom: u32,
    window: Window,
    limits: Limits,
) -> Result<usize, Error> {
    let (_, plans, _) = prepare(data, denom, window, limits)?;
    Ok(plans.iter().map(Plan::bytes).sum())
}

/// Decodes `window` of the image scaled by 1/`denom` (2, 4 or 8). `check` is called once per
/// row of blocks of every scan decoded; when it returns false the decode stops with
/// [`Error::Deadline`].
pub fn decode(
    data: &[u8],
    denom: u32,
    window: Window,
    limits: Limits,
    check: &mut dyn FnMut() -> bool,
) -> Result<Image, Error> {
    let (header, mut plans, k) = prepare(data, denom, window, limits)?;
    for plan in plans.iter_mut() {
        plan.allocate();
    }
    let frame = &header.frame;
    let mut tables = Tables::default();
    let mut reader = Reader { data, pos: 2 };
    let mut frames = 0;
    while let Some((marker, body)) = reader.next()? {
        match marker {
            0xC0..=0xC2 if frames == 0 => frames += 1,
            0xC4 => header::huffman(body, &mut tables)?,
            0xDB => header::quant(body, &mut tables)?,
            0xDD => tables.restart_interval = restart_interval(body)?,
            0xD9 => break,
            0xDA => {
                let scan = header::scan(body, frame)?;
                reader.pos = if wanted(&scan, &plans) {
                    scan::decode(data, reader.pos, &scan, &tables, frame, &mut plans, check)?
                } else {
                    header::entropy_end(data, reader.pos)
                };
                if !frame.progressive && plans.iter().all(|p| p.scanned) {
                    break; // a sequential file: every component has had its one scan
                }
            }
            0xC0..=0xCF if marker != 0xC4 && marker != 0xCC => {
                return Err(Error::Corrupt("a second frame header"))
            }
            0xCC | 0xDC => return Err(Error::Unsupported("DAC or DNL marker")),
            _ => {}
        }
    }
    if plans.iter().any(|p| !p.scanned) {
        return Err(Error::Corrupt("a component without data"));
    }
    let data = output::render(
        &plans,
        k,
        window.x as usize,
        window.y as usize,
        window.width as usize,
        window.height as usize,
    );
    Ok(Image {
        data,
        width: window.width,
        height: window.height,
        channels: plans.len() as u8,
    })
}

/// What the markers before the first scan say.
struct Header {
    frame: Frame,
}

fn restart_interval(body: &[u8]) -> Result<u32, Error> {
    match body {
        [a, b, ..] => Ok(u32::from(u16::from_be_bytes([*a, *b]))),
        _ => Err(Error::Corrupt("short DRI")),
    }
}

fn read_header(data: &[u8]) -> Result<Header, Error> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(Error::Corrupt("no SOI"));
    }
    let mut reader = Reader { data, pos: 2 };
    let mut frame = None;
    let mut jfif = false;
    let mut adobe = None;
    loop {
        let Some((marker, body)) = reader.next()? else {
            return Err(Error::Corrupt("no scan"));
        };
        match marker {
            0xC0..=0xC2 => {
                if frame.is_some() {
                    return Err(Error::Corrupt("a second frame header"));
                }
                frame = Some(header::frame(body, marker == 0xC2)?);
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(Error::Unsupported(
                    "lossless, hierarchical or arithmetic coding",
                ))
            }
            0xCC | 0xDC => return Err(Error::Unsupported("DAC or DNL marker")),
            0xE0 if header::is_jfif(body) => jfif = true,
            0xEE => adobe = adobe.or(header::adobe_transform(body)),
            0xD9 => return Err(Error::Corrupt("no scan")),
            0xDA => break,
            _ => {}
        }
    }
    let frame = frame.ok_or(Error::Corrupt("scan before the frame header"))?;
    if frame.components.len() == 3 && !jfif {
        // libjpeg's guess of the colour space (jdapimin.c): RGB files are not covered here.
        let rgb = match adobe {
            Some(t) => t == 0,
            None => frame.components.iter().map(|c| c.id).eq([82, 71, 66]),
        };
        if rgb {
            return Err(Error::Unsupported("RGB-coded JPEG"));
        }
    }
    Ok(Header { frame })
}

/// One component's decode plan and its reduced coefficient store.
pub(crate) struct Plan {
    /// IDCT size (samples per block side).
    pub(crate) k: usize,
    /// Upsampling to the output (1 or 2 on each axis).
    pub(crate) up_h: usize,
    pub(crate) up_v: usize,
    pub(crate) h: usize,
    pub(crate) v: usize,
    pub(crate) tq: usize,
    /// Blocks of a non-interleaved scan (the component's real extent).
    pub(crate) wb: usize,
    pub(crate) hb: usize,
    /// Blocks per row of the MCU grid (≥ `wb`).
    pub(crate) gw: usize,
    /// Samples at the decoded size (libjpeg's `downsampled_width/height`).
    pub(crate) dw: usize,
    pub(crate) dh: usize,
    /// Kept blocks: columns `bx0..bx1`, rows `by0..by1`. Rows from `by1` on are never decoded.
    pub(crate) bx0: usize,
    pub(crate) bx1: usize,
    pub(crate) by0: usize,
    pub(crate) by1: usize,
    /// k×k values per kept block, row-major.
    pub(crate) values: Vec<i16>,
    /// Non-zero history per block of rows `0..by1` (all columns of the grid), if tracked.
    pub(crate) nonzero: Vec<u64>,
    track_nonzero: bool,
    pub(crate) slots: [u8; 64],
    /// Zigzag indexes kept (those `slots` places).
    pub(crate) kept: u64,
    /// Zigzag indexes whose scans must be decoded.
    needed: u64,
    /// Latched at the component's first scan, as libjpeg does.
    pub(crate) quant: Option<[u16; 64]>,
    pub(crate) scanned: bool,
}

impl Plan {
    fn bytes(&self) -> usize {
        let kept = (self.bx1 - self.bx0) * (self.by1 - self.by0) * self.k * self.k * 2;
        let history = if self.track_nonzero {
            self.gw * self.by1 * 8
        } else {
            0
        };
        kept + history
    }

    fn allocate(&mut self) {
        self.values = vec![0; (self.bx1 - self.bx0) * (self.by1 - self.by0) * self.k * self.k];
        if self.track_nonzero {
            self.nonzero = vec![0; self.gw * self.by1];
        }
    }
}

/// Reads the header, checks the limits and the window, and plans each component's store.
fn prepare(
    data: &[u8],
    denom: u32,
    window: Window,
    limits: Limits,
) -> Result<(Header, Vec<Plan>, usize), Error> {
    let header = read_header(data)?;
    let frame = &header.frame;
    if u64::from(frame.width) * u64::from(frame.height) > limits.max_pixels {
        return Err(Error::TooLarge);
    }
    let k: usize = match denom {
        2 => 4,
        4 => 2,
        8 => 1,
        _ => return Err(Error::Unsupported("scale other than 1/2, 1/4, 1/8")),
    };
    let (ow, oh) = scaled_size(frame.width, frame.height, denom);
    if window.width == 0
        || window.height == 0
        || u64::from(window.x) + u64::from(window.width) > u64::from(ow)
        || u64::from(window.y) + u64::from(window.height) > u64::from(oh)
    {
        return Err(Error::Unsupported("window outside the scaled image"));
    }
    let (width, height) = (frame.width as usize, frame.height as usize);
    let (max_h, max_v) = (frame.max_h as usize, frame.max_v as usize);
    let mcus_x = width.div_ceil(8 * max_h);
    let mut plans = Vec::with_capacity(frame.components.len());
    for c in &frame.components {
        let (h, v) = (c.h as usize, c.v as usize);
        // libjpeg's choice (jdmaster.c): scale chroma up through the IDCT rather than upsample.
        let mut ss = k;
        while ss < 8 && (max_h * k) % (h * ss * 2) == 0 && (max_v * k) % (v * ss * 2) == 0 {
            ss *= 2;
        }
        let (up_h, up_v) = ((max_h * k) / (h * ss), (max_v * k) / (v * ss));
        if (max_h * k) % (h * ss) != 0
            || (max_v * k) % (v * ss) != 0
            || !(1..=2).contains(&up_h)
            || !(1..=2).contains(&up_v)
            || (up_h == 2 && up_v == 2)
        {
            return Err(Error::Unsupported("sampling factors"));
        }
        let dw = (width * h * ss).div_ceil(max_h * 8);
        let dh = (height * v * ss).div_ceil(max_v * 8);
        // The samples the window reads: one more on each side where a triangle filter reaches.
        let span = |start: u32, len: u32, up: usize, limit: usize| {
            let (start, end) = (start as usize, (start + len) as usize);
            if up == 1 {
                (start, end.min(limit))
            } else {
                (
                    (start / 2).saturating_sub(1),
                    ((end - 1) / 2 + 2).min(limit),
                )
            }
        };
        let (sx0, sx1) = span(window.x, window.width, up_h, dw);
        let (sy0, sy1) = span(window.y, window.height, up_v, dh);
        plans.push(Plan {
            k: ss,
            up_h,
            up_v,
            h,
            v,
            tq: c.tq,
            wb: (width * h).div_ceil(max_h * 8),
            hb: (height * v).div_ceil(max_v * 8),
            gw: mcus_x * h,
            dw,
            dh,
            bx0: sx0 / ss,
            bx1: sx1.div_ceil(ss),
            by0: sy0 / ss,
            by1: sy1.div_ceil(ss),
            values: Vec::new(),
            nonzero: Vec::new(),
            track_nonzero: false,
            slots: entropy::slots(ss),
            kept: window_mask(ss),
            needed: window_mask(ss),
            quant: None,
            scanned: false,
        });
    }
    if frame.progressive {
        select_scans(data, frame, limits, &mut plans)?;
    }
    Ok((header, plans, k))
}

/// The zigzag indexes inside the top-left k×k.
fn window_mask(k: usize) -> u64 {
    let slots = entropy::slots(k);
    (0..64)
        .filter(|&z| slots[z] != entropy::OUT)
        .fold(0, |m, z| m | 1 << z)
}

/// The zigzag indexes `ss..=se`.
fn band_mask(ss: u8, se: u8) -> u64 {
    (u32::from(ss)..=u32::from(se.min(63))).fold(0, |m, z| m | 1u64 << z)
}

/// Lists the scans of a progressive file, then decides which coefficients each component needs
/// decoded: those of its k×k window and, because an AC refinement scan is parsed with the
/// history of its whole band, the whole band of every refinement scan that is itself needed
/// (to a fixed point). Marks the components whose history must be tracked.
fn select_scans(
    data: &[u8],
    frame: &Frame,
    limits: Limits,
    plans: &mut [Plan],
) -> Result<(), Error> {
    let mut scans = Vec::new();
    let mut coef_bits = vec![[-1i8; 64]; frame.components.len()];
    let mut reader = Reader { data, pos: 2 };
    while let Some((marker, body)) = reader.next()? {
        match marker {
            0xD9 => break,
            0xDA => {
                if scans.len() >= limits.max_scans {
                    return Err(Error::TooLarge);
                }
                let scan = header::scan(body, frame)?;
                progression(&scan, &mut coef_bits)?;
                scans.push(scan);
                reader.pos = header::entropy_end(data, reader.pos);
            }
            _ => {}
        }
    }
    let refinements: Vec<&ScanHeader> = scans.iter().filter(|s| s.ss > 0 && s.ah > 0).collect();
    loop {
        let mut changed = false;
        for s in &refinements {
            let plan = &mut plans[s.components[0].0];
            let band = band_mask(s.ss, s.se);
            if band & plan.needed != 0 && band & !plan.needed != 0 {
                plan.needed |= band;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for s in &refinements {
        let plan = &mut plans[s.components[0].0];
        if band_mask(s.ss, s.se) & plan.needed != 0 {
            plan.track_nonzero = true;
        }
    }
    Ok(())
}

/// libjpeg's check of the progression (jdphuff.c): an AC scan before the component's DC scan,
/// or a refinement that does not continue from the previous scan's bit position, is a warning
/// there (decoded as best it can) and damage here.
fn progression(scan: &ScanHeader, coef_bits: &mut [[i8; 64]]) -> Result<(), Error> {
    for &(c, _, _) in &scan.components {
        let bits = coef_bits
            .get_mut(c)
            .ok_or(Error::Corrupt("bad component"))?;
        if scan.ss != 0 && bits[0] < 0 {
            return Err(Error::Corrupt("AC scan before the DC scan"));
        }
        for b in bits
            .iter_mut()
            .take(usize::from(scan.se) + 1)
            .skip(usize::from(scan.ss))
        {
            if i16::from(scan.ah) != i16::from(*b).max(0) {
                return Err(Error::Corrupt("inconsistent progression"));
            }
            *b = scan.al as i8;
        }
    }
    Ok(())
}

/// Whether a scan must be decoded (sequential and DC scans always are).
fn wanted(scan: &ScanHeader, plans: &[Plan]) -> bool {
    scan.ss == 0
        || scan
            .components
            .iter()
            .any(|&(c, _, _)| band_mask(scan.ss, scan.se) & plans[c].needed != 0)
}
