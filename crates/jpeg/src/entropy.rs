//! Entropy decoding of one block, for each kind of scan, into the reduced store: the values of
//! the coefficients inside the k×k window (`slots` maps a zigzag index to its place there, or
//! [`OUT`]) and, when an AC refinement scan will need it, one bit per coefficient saying whether
//! it is non-zero (the "history" a refinement scan is parsed with, for every coefficient of the
//! band, whether its value is kept or not). Mirrors libjpeg's jdhuff.c and jdphuff.c.

use crate::header::NATURAL;
use crate::huffman::{Bits, Table};
use crate::Error;

/// A zigzag index whose coefficient is not kept.
pub const OUT: u8 = 0xFF;

/// Where a block's decoded values go; `None` parts are decoded and dropped.
pub struct Slot<'s> {
    pub values: Option<&'s mut [i16]>,
    pub nonzero: Option<&'s mut u64>,
}

/// The place of zigzag index `z` (≤ 63; libjpeg maps a run past 63 to 63).
#[inline(always)]
fn zz(z: usize) -> usize {
    z.min(63)
}

#[inline(always)]
fn store(slot: &mut Slot<'_>, slots: &[u8; 64], z: usize, v: i16) {
    if let Some(values) = slot.values.as_deref_mut() {
        let i = slots[z];
        if i != OUT {
            if let Some(c) = values.get_mut(usize::from(i)) {
                *c = v;
            }
        }
    }
    if v != 0 {
        if let Some(nz) = slot.nonzero.as_deref_mut() {
            *nz |= 1 << z;
        }
    }
}

/// A block of a sequential scan (DC and all AC terms). Sequential files never need the
/// non-zero history: only the kept values are written.
pub fn sequential(
    bits: &mut Bits<'_>,
    dc: &Table,
    ac: &Table,
    pred: &mut i32,
    slot: &mut Slot<'_>,
    slots: &[u8; 64],
) -> Result<(), Error> {
    let s = bits.decode(dc)?;
    *pred = pred.wrapping_add(bits.receive_extend(u32::from(s)));
    let mut values = slot.values.as_deref_mut();
    if let Some(c) = values.as_deref_mut().and_then(|v| v.first_mut()) {
        *c = *pred as i16;
    }
    let mut k = 1usize;
    while k < 64 {
        let (run, v) = match bits.fast_ac(ac) {
            Some(rv) => rv,
            None => {
                let rs = bits.decode(ac)?;
                let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
                if s == 0 {
                    if r == 15 {
                        k += 16;
                        continue;
                    }
                    break;
                }
                (r, bits.receive_extend(s))
            }
        };
        k += run;
        if let Some(values) = values.as_deref_mut() {
            let i = slots[zz(k)];
            if i != OUT {
                if let Some(c) = values.get_mut(usize::from(i)) {
                    *c = v as i16;
                }
            }
        }
        k += 1;
    }
    Ok(())
}

/// A block of a progressive DC first scan.
pub fn dc_first(
    bits: &mut Bits<'_>,
    dc: &Table,
    pred: &mut i32,
    al: u8,
    slot: &mut Slot<'_>,
) -> Result<(), Error> {
    let s = bits.decode(dc)?;
    *pred = pred.wrapping_add(bits.receive_extend(u32::from(s)));
    if let Some(c) = slot.values.as_deref_mut().and_then(|v| v.first_mut()) {
        *c = pred.wrapping_shl(u32::from(al)) as i16;
    }
    Ok(())
}

/// A block of a progressive DC refinement scan.
pub fn dc_refine(bits: &mut Bits<'_>, al: u8, slot: &mut Slot<'_>) {
    if bits.bit() {
        if let Some(c) = slot.values.as_deref_mut().and_then(|v| v.first_mut()) {
            *c |= 1 << al;
        }
    }
}

/// The parameters of an AC scan.
pub struct Band<'t> {
    pub table: &'t Table,
    pub ss: usize,
    pub se: usize,
    pub al: u8,
}

/// A block of a progressive AC first scan.
pub fn ac_first(
    bits: &mut Bits<'_>,
    band: &Band<'_>,
    eobrun: &mut u32,
    slot: &mut Slot<'_>,
    slots: &[u8; 64],
) -> Result<(), Error> {
    if *eobrun > 0 {
        *eobrun -= 1;
        return Ok(());
    }
    let mut k = band.ss;
    while k <= band.se {
        // Most coefficients: code and value bits in one lookup.
        if let Some((run, v)) = bits.fast_ac(band.table) {
            k += run;
            store(
                slot,
                slots,
                zz(k),
                v.wrapping_shl(u32::from(band.al)) as i16,
            );
            k += 1;
            continue;
        }
        let rs = bits.decode(band.table)?;
        let (r, s) = (u32::from(rs >> 4), u32::from(rs & 15));
        if s != 0 {
            k += r as usize;
            let v = bits.receive_extend(s).wrapping_shl(u32::from(band.al));
            store(slot, slots, zz(k), v as i16);
        } else if r == 15 {
            k += 15;
        } else {
            *eobrun = (1 << r) + bits.get(r) - 1;
            break;
        }
        k += 1;
    }
    Ok(())
}

/// The zigzag indexes `from..=to` as bits (none when `from > to`; `to` ≤ 63), without branches.
#[inline(always)]
fn span(from: usize, to: usize) -> u64 {
    let low = u64::MAX.checked_shl(from as u32).unwrap_or(0);
    let high = u64::MAX >> (63 - to.min(63));
    low & high
}

/// A block of a progressive AC refinement scan. `slot.nonzero` must be there (the caller
/// tracks it for every component with a refinement scan).
///
/// libjpeg walks the band one coefficient at a time, reading a correction bit at each
/// coefficient that is already non-zero and counting down the run at each zero one. Here the
/// history is a bit mask, so each run is found with bit operations and the correction bits of
/// the coefficients it passes are read in one go; only those of kept coefficients are looked at.
pub fn ac_refine(
    bits: &mut Bits<'_>,
    band: &Band<'_>,
    eobrun: &mut u32,
    slot: &mut Slot<'_>,
    slots: &[u8; 64],
    kept: u64,
) -> Result<(), Error> {
    let p1: i16 = 1 << band.al;
    let mut nz = slot.nonzero.as_deref().copied().unwrap_or(0);
    let mut values = slot.values.as_deref_mut();
    // The band's coefficients not yet passed, as a mask.
    let mut left = span(band.ss, band.se);
    if *eobrun == 0 {
        while left != 0 {
            let rs = bits.decode(band.table)?;
            let r = u32::from(rs >> 4);
            let s = rs & 15;
            let mut new = 0i16;
            if s != 0 {
                new = if bits.bit() { p1 } else { -p1 };
            } else if r != 15 {
                *eobrun = 1 << r;
                if r != 0 {
                    *eobrun += bits.get(r);
                }
                break;
            }
            // Stop at the (r+1)-th coefficient left with no history (none: past the band).
            let mut zeros = !nz & left;
            for _ in 0..r {
                zeros &= zeros.wrapping_sub(1);
            }
            let stop = zeros & zeros.wrapping_neg();
            let passed = left & stop.wrapping_sub(1);
            corrections(bits, &mut values, slots, nz & passed, kept, p1);
            left &= !(passed | stop);
            if new != 0 {
                // Past the band (damage): libjpeg writes the coefficient after it.
                let at = if stop == 0 {
                    1u64 << zz(band.se + 1)
                } else {
                    stop
                };
                nz |= at;
                if at & kept != 0 {
                    if let Some(c) = values
                        .as_deref_mut()
                        .and_then(|v| v.get_mut(usize::from(slots[at.trailing_zeros() as usize])))
                    {
                        *c = new;
                    }
                }
            }
        }
    }
    if *eobrun > 0 {
        corrections(bits, &mut values, slots, nz & left, kept, p1);
        *eobrun -= 1;
    }
    if let Some(n) = slot.nonzero.as_deref_mut() {
        *n = nz;
    }
    Ok(())
}

/// Reads the correction bits of the already non-zero coefficients in `passed` (a zigzag mask),
/// in zigzag order, and applies those of kept coefficients to their values.
#[inline(always)]
fn corrections(
    bits: &mut Bits<'_>,
    values: &mut Option<&mut [i16]>,
    slots: &[u8; 64],
    passed: u64,
    kept: u64,
    p1: i16,
) {
    if passed == 0 {
        return;
    }
    let n = passed.count_ones();
    let word = bits.get_wide(n);
    let mut mine = passed & kept;
    let Some(values) = values.as_deref_mut() else {
        return;
    };
    while mine != 0 {
        let z = mine.trailing_zeros() as usize;
        mine &= mine - 1;
        // The bit of coefficient z: the how-manyth of `passed` it is, from the first read.
        let before = (passed & ((1u64 << z) - 1)).count_ones();
        if word >> (n - 1 - before) & 1 == 0 {
            continue;
        }
        let i = slots[z];
        if let Some(c) = values.get_mut(usize::from(i)) {
            if *c & p1 == 0 {
                *c = if *c >= 0 {
                    c.wrapping_add(p1)
                } else {
                    c.wrapping_sub(p1)
                };
            }
        }
    }
}

/// The zigzag-index → kept-slot map for a k×k window.
pub fn slots(k: usize) -> [u8; 64] {
    let mut slots = [OUT; 64];
    for (z, &n) in NATURAL.iter().enumerate() {
        let (row, col) = (usize::from(n) / 8, usize::from(n) % 8);
        if row < k && col < k {
            slots[z] = (row * k + col) as u8;
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_inclusive_and_may_be_empty() {
        assert_eq!(span(3, 5), 0b11_1000);
        assert_eq!(span(6, 5), 0);
        assert_eq!(span(64, 63), 0);
        assert_eq!(span(1, 63), u64::MAX - 1);
        assert_eq!(span(0, 0), 1);
    }
}
