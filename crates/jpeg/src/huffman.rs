//! Huffman tables (built as libjpeg's `jpeg_make_d_derived_tbl` does, with the same checks) and
//! the bit reader over entropy-coded data (byte stuffing, restart markers).
//!
//! Anything libjpeg would only *warn* about (a code that is in no table, data running into a
//! marker or the end of the file) is an error here: the caller then decodes with libjpeg, whose
//! recovery is the reference.

use crate::Error;

/// Bits looked up at once.
const LOOKUP_BITS: u32 = 9;

/// One decoding table.
#[derive(Clone)]
pub struct Table {
    /// Indexed by the next [`LOOKUP_BITS`] bits: `length << 8 | symbol`, 0 when the code is longer.
    lookup: Vec<u16>,
    /// Indexed like `lookup`, for AC tables: when a code and its value bits both fit in the
    /// lookup bits, `value << 16 | run << 8 | bits used`; 0 otherwise.
    fast_ac: Vec<i32>,
    /// Largest code of each length (-1: none), index 1..=16; 17 is a sentinel.
    maxcode: [i32; 18],
    /// What to add to a code of each length to index `values`.
    valoffset: [i32; 17],
    values: Vec<u8>,
}

impl Table {
    /// Builds a table from a DHT segment's 16 counts and its symbols. `dc`: symbols must be ≤ 15.
    pub fn new(counts: &[u8; 16], values: &[u8], dc: bool) -> Result<Table, Error> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total > 256 || values.len() != total {
            return Err(Error::Corrupt("bad Huffman table"));
        }
        if dc && values.iter().any(|&v| v > 15) {
            return Err(Error::Corrupt("bad DC Huffman table"));
        }
        let mut sizes = Vec::with_capacity(total);
        for (l, &c) in counts.iter().enumerate() {
            sizes.extend(std::iter::repeat_n(l as u32 + 1, usize::from(c)));
        }
        let mut codes = Vec::with_capacity(total);
        let mut code: u32 = 0;
        let mut si = sizes.first().copied().unwrap_or(1);
        let mut p = 0;
        while p < sizes.len() {
            while p < sizes.len() && sizes[p] == si {
                codes.push(code);
                code += 1;
                p += 1;
            }
            if code >= 1 << si {
                return Err(Error::Corrupt("bad Huffman table"));
            }
            code <<= 1;
            si += 1;
        }
        let mut maxcode = [-1i32; 18];
        let mut valoffset = [0i32; 17];
        let mut p = 0usize;
        for l in 1..=16usize {
            let n = usize::from(counts[l - 1]);
            if n > 0 {
                valoffset[l] = p as i32 - codes[p] as i32;
                p += n;
                maxcode[l] = codes[p - 1] as i32;
            }
        }
        maxcode[17] = 0xF_FFFF;
        let mut lookup = vec![0u16; 1 << LOOKUP_BITS];
        for (i, (&size, &code)) in sizes.iter().zip(&codes).enumerate() {
            if size > LOOKUP_BITS {
                break;
            }
            let shift = LOOKUP_BITS - size;
            let first = (code << shift) as usize;
            for slot in lookup.iter_mut().skip(first).take(1 << shift) {
                *slot = (size as u16) << 8 | u16::from(values[i]);
            }
        }
        let mut fast_ac = vec![0i32; 1 << LOOKUP_BITS];
        for (look, slot) in fast_ac.iter_mut().enumerate() {
            let e = lookup[look];
            if e == 0 {
                continue;
            }
            let (len, rs) = (u32::from(e >> 8), e & 0xFF);
            let (run, size) = (i32::from(rs >> 4), u32::from(rs & 15));
            if size == 0 || len + size > LOOKUP_BITS {
                continue;
            }
            let extra = (look as i32 >> (LOOKUP_BITS - len - size)) & ((1 << size) - 1);
            let value = if extra < 1 << (size - 1) {
                extra - (1 << size) + 1
            } else {
                extra
            };
            *slot = value << 16 | run << 8 | (len + size) as i32;
        }
        Ok(Table {
            lookup,
            fast_ac,
            maxcode,
            valoffset,
            values: values.to_vec(),
        })
    }
}

/// Reads the entropy-coded bits of one scan, starting at a byte offset of the file.
pub struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to read.
    pub pos: usize,
    /// The bits not yet used, most significant first.
    acc: u64,
    /// How many bits of `acc` are valid (real or padding).
    n: u32,
    /// How many of those `n` bits, at the bottom of `acc`, are zeros added past a marker or the
    /// end of the data. Real bits always come first, so padding was used iff `n` fell below
    /// this: checked at each refill and by [`Bits::overrun`], never per symbol.
    pad: u32,
    /// A marker (or the end of the data) has been reached: only zeros follow.
    at_marker: bool,
    /// Bits past the data were used: the scan is truncated or corrupt.
    overrun: bool,
}

impl<'a> Bits<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Bits<'a> {
        Bits {
            data,
            pos,
            acc: 0,
            n: 0,
            pad: 0,
            at_marker: false,
            overrun: false,
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        // Fast path: the next 8 bytes hold no 0xFF (so no stuffing and no marker).
        if !self.at_marker && self.n <= 56 {
            if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let w = u64::from_be_bytes(word);
                let x = !w;
                if x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080 == 0 {
                    let take = (64 - self.n) / 8;
                    let bits = take * 8;
                    self.acc |= (w >> (64 - bits)) << (64 - bits - self.n);
                    self.pos += take as usize;
                    self.n += bits;
                    return;
                }
            }
        }
        self.refill_slow();
    }

    #[cold]
    fn refill_slow(&mut self) {
        if self.n < self.pad {
            self.overrun = true;
            self.pad = self.n;
        }
        while self.n <= 56 {
            let mut byte = 0u8;
            if self.at_marker {
                self.pad += 8;
            } else {
                match self.data.get(self.pos) {
                    Some(0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                        self.pos += 2;
                        byte = 0xFF;
                    }
                    Some(0xFF) => {
                        self.at_marker = true;
                        self.pad += 8;
                    }
                    Some(&b) => {
                        self.pos += 1;
                        byte = b;
                    }
                    None => {
                        self.at_marker = true;
                        self.pad += 8;
                    }
                }
            }
            self.acc |= u64::from(byte) << (56 - self.n);
            self.n += 8;
        }
    }

    #[inline(always)]
    fn consume(&mut self, k: u32) {
        self.acc <<= k;
        self.n -= k;
    }

    /// `k` (≤ 32) bits as an unsigned number.
    #[inline(always)]
    pub fn get(&mut self, k: u32) -> u32 {
        if k == 0 {
            return 0;
        }
        if self.n < k {
            self.refill();
        }
        let v = (self.acc >> (64 - k)) as u32;
        self.consume(k);
        v
    }

    /// One bit.
    #[inline(always)]
    pub fn bit(&mut self) -> bool {
        self.get(1) != 0
    }

    /// `k` bits as a signed DCT value (JPEG's EXTEND).
    #[inline(always)]
    pub fn receive_extend(&mut self, k: u32) -> i32 {
        if k == 0 {
            return 0;
        }
        let v = self.get(k) as i32;
        if v < 1 << (k - 1) {
            v - (1 << k) + 1
        } else {
            v
        }
    }

    /// The next Huffman-coded symbol.
    #[inline(always)]
    pub fn decode(&mut self, t: &Table) -> Result<u8, Error> {
        if self.n < 16 {
            self.refill();
        }
        let look = (self.acc >> (64 - LOOKUP_BITS)) as usize;
        let e = t.lookup.get(look).copied().unwrap_or(0);
        if e != 0 {
            self.consume(u32::from(e >> 8));
            return Ok(e as u8);
        }
        self.decode_long(t)
    }

    /// A code longer than the lookup bits (rare: the lookup covers the common codes).
    #[cold]
    #[inline(never)]
    fn decode_long(&mut self, t: &Table) -> Result<u8, Error> {
        for l in LOOKUP_BITS as usize + 1..=16 {
            let code = (self.acc >> (64 - l)) as i32;
            if code <= t.maxcode[l] {
                self.consume(l as u32);
                let index = (code + t.valoffset[l]) as usize;
                return t
                    .values
                    .get(index)
                    .copied()
                    .ok_or(Error::Corrupt("bad Huffman code"));
            }
        }
        Err(Error::Corrupt("bad Huffman code"))
    }

    /// An AC coefficient whose code and value bits fit the lookup: `(run, value)`.
    #[inline(always)]
    pub fn fast_ac(&mut self, t: &Table) -> Option<(usize, i32)> {
        if self.n < 16 {
            self.refill();
        }
        let look = (self.acc >> (64 - LOOKUP_BITS)) as usize;
        let f = t.fast_ac.get(look).copied().unwrap_or(0);
        if f == 0 {
            return None;
        }
        self.consume((f & 0xFF) as u32);
        Some((((f >> 8) & 0xF) as usize, f >> 16))
    }

    /// Whether bits past the end of the data were used.
    pub fn overrun(&self) -> bool {
        self.overrun || self.n < self.pad
    }

    /// `n` (≤ 64) bits, the first read in the most significant place of the low `n` bits.
    #[inline(always)]
    pub fn get_wide(&mut self, n: u32) -> u64 {
        if n <= 32 {
            return u64::from(self.get(n));
        }
        let high = u64::from(self.get(32));
        high << (n - 32) | u64::from(self.get(n - 32))
    }

    /// Ends a restart interval: drops the bits left and reads the restart marker `RSTn`.
    pub fn restart(&mut self, n: u8) -> Result<(), Error> {
        if self.overrun() {
            return Err(Error::Corrupt("truncated scan"));
        }
        self.acc = 0;
        self.n = 0;
        self.pad = 0;
        self.at_marker = false;
        // Whole unused bytes before the marker are skipped (libjpeg warns, and skips them too).
        let Some(rest) = self.data.get(self.pos..) else {
            return Err(Error::Corrupt("missing restart marker"));
        };
        let mut i = rest
            .iter()
            .position(|&b| b == 0xFF)
            .ok_or(Error::Corrupt("missing restart marker"))?;
        while rest.get(i) == Some(&0xFF) {
            i += 1;
        }
        if rest.get(i) != Some(&(0xD0 + (n & 7))) {
            return Err(Error::Corrupt("missing restart marker"));
        }
        self.pos += i + 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_a_small_table_decode() {
        // Lengths: one code of 2 bits (00 → 5), two of 3 bits (010 → 6, 011 → 7).
        let mut counts = [0u8; 16];
        counts[1] = 1;
        counts[2] = 2;
        let t = Table::new(&counts, &[5, 6, 7], false).unwrap();
        // 00 010 011 then a stuffed FF (11111111) = 0b0001_0011 0xFF 0x00
        let data = [0b0001_0011, 0xFF, 0x00];
        let mut b = Bits::new(&data, 0);
        assert_eq!(b.decode(&t).unwrap(), 5);
        assert_eq!(b.decode(&t).unwrap(), 6);
        assert_eq!(b.decode(&t).unwrap(), 7);
        assert_eq!(b.get(8), 0xFF);
        assert!(!b.overrun());
        assert_eq!(b.get(1), 0);
        assert!(b.overrun());
    }

    #[test]
    fn oversubscribed_tables_are_refused() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes
        assert!(Table::new(&counts, &[1, 2, 3], false).is_err());
        assert!(Table::new(&[0; 16], &[1], false).is_err());
        let mut one = [0u8; 16];
        one[0] = 1;
        assert!(Table::new(&one, &[16], true).is_err());
    }

    #[test]
    fn extend_makes_negative_values() {
        let data = [0b0100_0000];
        let mut b = Bits::new(&data, 0);
        assert_eq!(b.receive_extend(3), -5); // 010
    }
}
