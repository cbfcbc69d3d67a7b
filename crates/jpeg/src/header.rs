//! Marker segments: the frame (SOF0/1/2), quantisation and Huffman tables, the restart interval,
//! scan headers, and the APP0/APP14 markers that decide the colour model. What this decoder does
//! not cover (arithmetic coding, 12-bit, lossless, hierarchical, DNL, CMYK, RGB-coded files,
//! other sampling factors) is [`Error::Unsupported`].

use crate::huffman::Table;
use crate::Error;

/// Zigzag index → natural (row-major) index.
pub const NATURAL: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// One component of the frame.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    pub id: u8,
    pub h: u32,
    pub v: u32,
    pub tq: usize,
}

/// The frame header.
#[derive(Debug, Clone)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub progressive: bool,
    pub components: Vec<Component>,
    pub max_h: u32,
    pub max_v: u32,
}

/// One scan's header: which components (frame indexes, with their DC and AC table numbers),
/// the spectral band and the successive-approximation bits.
#[derive(Debug, Clone)]
pub struct ScanHeader {
    pub components: Vec<(usize, usize, usize)>,
    pub ss: u8,
    pub se: u8,
    pub ah: u8,
    pub al: u8,
}

/// The tables in force at a point of the stream.
#[derive(Clone, Default)]
pub struct Tables {
    /// Natural order.
    pub quant: [Option<[u16; 64]>; 4],
    pub dc: [Option<Table>; 4],
    pub ac: [Option<Table>; 4],
    pub restart_interval: u32,
}

/// Reads marker segments from a position of the file.
pub struct Reader<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    /// The next marker (skipping garbage and fill bytes, as libjpeg does) and its segment body
    /// (empty for markers without one). `None` at the end of the data.
    pub fn next(&mut self) -> Result<Option<(u8, &'a [u8])>, Error> {
        loop {
            let rest = self.data.get(self.pos..).unwrap_or(&[]);
            let Some(i) = rest.iter().position(|&b| b == 0xFF) else {
                self.pos = self.data.len();
                return Ok(None);
            };
            self.pos += i;
            while self.data.get(self.pos + 1) == Some(&0xFF) {
                self.pos += 1;
            }
            let Some(&marker) = self.data.get(self.pos + 1) else {
                self.pos = self.data.len();
                return Ok(None);
            };
            self.pos += 2;
            match marker {
                0x00 => continue, // stray stuffed byte
                0x01 | 0xD0..=0xD9 => return Ok(Some((marker, &[]))),
                _ => {}
            }
            let len = match self.data.get(self.pos..self.pos + 2) {
                Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
                _ => return Err(Error::Corrupt("truncated marker segment")),
            };
            let body = self
                .data
                .get(self.pos + 2..self.pos + len)
                .filter(|_| len >= 2)
                .ok_or(Error::Corrupt("truncated marker segment"))?;
            self.pos += len;
            return Ok(Some((marker, body)));
        }
    }
}

/// Parses a SOF0/1/2 body.
pub fn frame(body: &[u8], progressive: bool) -> Result<Frame, Error> {
    let (&precision, rest) = body.split_first().ok_or(Error::Corrupt("short SOF"))?;
    if precision != 8 {
        return Err(Error::Unsupported("sample precision other than 8 bits"));
    }
    let [h0, h1, w0, w1, n, ref specs @ ..] = *rest else {
        return Err(Error::Corrupt("short SOF"));
    };
    let height = u32::from(u16::from_be_bytes([h0, h1]));
    let width = u32::from(u16::from_be_bytes([w0, w1]));
    if height == 0 {
        return Err(Error::Unsupported("height given by a DNL marker"));
    }
    if width == 0 {
        return Err(Error::Corrupt("zero width"));
    }
    if n != 1 && n != 3 {
        return Err(Error::Unsupported("only grey and three-component files"));
    }
    if specs.len() < 3 * usize::from(n) {
        return Err(Error::Corrupt("short SOF"));
    }
    let mut components = Vec::with_capacity(usize::from(n));
    for s in specs.chunks_exact(3).take(usize::from(n)) {
        let (h, v, tq) = (
            u32::from(s[1] >> 4),
            u32::from(s[1] & 15),
            usize::from(s[2]),
        );
        if h == 0 || v == 0 || h > 4 || v > 4 || tq > 3 {
            return Err(Error::Corrupt("bad component in SOF"));
        }
        if h > 2 || v > 2 {
            return Err(Error::Unsupported("sampling factors above 2"));
        }
        if components.iter().any(|c: &Component| c.id == s[0]) {
            return Err(Error::Corrupt("duplicate component id"));
        }
        components.push(Component { id: s[0], h, v, tq });
    }
    if n == 1 {
        // A single component is never interleaved: its sampling factors do not matter.
        components[0].h = 1;
        components[0].v = 1;
    }
    let max_h = components.iter().map(|c| c.h).max().unwrap_or(1);
    let max_v = components.iter().map(|c| c.v).max().unwrap_or(1);
    Ok(Frame {
        width,
        height,
        progressive,
        components,
        max_h,
        max_v,
    })
}

/// Applies a DQT body.
pub fn quant(body: &[u8], tables: &mut Tables) -> Result<(), Error> {
    let mut rest = body;
    while let Some((&pq_tq, after)) = rest.split_first() {
        let (precision, t) = (pq_tq >> 4, usize::from(pq_tq & 15));
        if t > 3 || precision > 1 {
            return Err(Error::Corrupt("bad DQT"));
        }
        let size = if precision == 0 { 64 } else { 128 };
        let values = after.get(..size).ok_or(Error::Corrupt("short DQT"))?;
        let mut q = [0u16; 64];
        for (z, &n) in NATURAL.iter().enumerate() {
            q[usize::from(n)] = if precision == 0 {
                u16::from(values[z])
            } else {
                u16::from_be_bytes([values[2 * z], values[2 * z + 1]])
            };
        }
        tables.quant[t] = Some(q);
        rest = &after[size..];
    }
    Ok(())
}

/// Applies a DHT body.
pub fn huffman(body: &[u8], tables: &mut Tables) -> Result<(), Error> {
    let mut rest = body;
    while let Some((&tc_th, after)) = rest.split_first() {
        let (class, t) = (tc_th >> 4, usize::from(tc_th & 15));
        if class > 1 || t > 3 {
            return Err(Error::Corrupt("bad DHT"));
        }
        let counts: [u8; 16] = after
            .get(..16)
            .and_then(|c| c.try_into().ok())
            .ok_or(Error::Corrupt("short DHT"))?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = after
            .get(16..16 + total)
            .ok_or(Error::Corrupt("short DHT"))?;
        let table = Table::new(&counts, values, class == 0)?;
        if class == 0 {
            tables.dc[t] = Some(table);
        } else {
            tables.ac[t] = Some(table);
        }
        rest = &after[16 + total..];
    }
    Ok(())
}

/// Parses a SOS body against the frame, with libjpeg's checks of the progression parameters.
pub fn scan(body: &[u8], frame: &Frame) -> Result<ScanHeader, Error> {
    let (&n, rest) = body.split_first().ok_or(Error::Corrupt("short SOS"))?;
    let n = usize::from(n);
    if n == 0 || n > 4 || rest.len() < 2 * n + 3 {
        return Err(Error::Corrupt("bad SOS"));
    }
    let mut components = Vec::with_capacity(n);
    for s in rest.chunks_exact(2).take(n) {
        let index = frame
            .components
            .iter()
            .position(|c| c.id == s[0])
            .ok_or(Error::Corrupt("scan of an unknown component"))?;
        if components.iter().any(|&(i, _, _)| i == index) {
            return Err(Error::Corrupt("component twice in a scan"));
        }
        components.push((index, usize::from(s[1] >> 4), usize::from(s[1] & 15)));
    }
    let p = &rest[2 * n..];
    let (ss, se, ah, al) = (p[0], p[1], p[2] >> 4, p[2] & 15);
    if frame.progressive {
        let bad = if ss == 0 {
            se != 0
        } else {
            se < ss || se > 63 || n != 1
        };
        let bad = bad || (ah != 0 && al + 1 != ah);
        if bad || ah > 13 || al > 13 {
            return Err(Error::Corrupt("bad progression parameters"));
        }
    } else if ss != 0 || se != 63 || ah != 0 || al != 0 {
        // libjpeg only warns here and decodes as if 0, 63, 0, 0.
        return Err(Error::Unsupported("odd sequential scan parameters"));
    }
    // An interleaved scan of more than 10 blocks per MCU is not allowed.
    let blocks: u32 = if n == 1 {
        1
    } else {
        components
            .iter()
            .map(|&(i, _, _)| frame.components[i].h * frame.components[i].v)
            .sum()
    };
    if blocks > 10 {
        return Err(Error::Corrupt("too many blocks in an MCU"));
    }
    Ok(ScanHeader {
        components,
        ss,
        se,
        ah,
        al,
    })
}

/// What an APP14 "Adobe" segment says about the colour transform, if this is one.
pub fn adobe_transform(body: &[u8]) -> Option<u8> {
    if body.len() >= 12 && body.starts_with(b"Adobe") {
        Some(body[11])
    } else {
        None
    }
}

/// Whether this APP0 segment is JFIF's.
pub fn is_jfif(body: &[u8]) -> bool {
    body.len() >= 14 && body.starts_with(b"JFIF\0")
}

/// The offset where the entropy-coded data starting at `from` ends: the first marker that is not
/// a stuffed zero, a restart marker or a fill byte.
pub fn entropy_end(data: &[u8], from: usize) -> usize {
    let mut pos = from;
    loop {
        let Some(at) = data.get(pos..).and_then(|rest| memchr::memchr(0xFF, rest)) else {
            return data.len();
        };
        let at = pos + at;
        match data.get(at + 1) {
            None => return data.len(),
            Some(0x00 | 0xD0..=0xD7) => pos = at + 2,
            Some(0xFF) => pos = at + 1,
            Some(_) => return at,
        }
    }
}
