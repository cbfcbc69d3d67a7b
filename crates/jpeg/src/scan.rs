//! One scan's entropy-coded data into the components' reduced stores: the walk over blocks
//! (interleaved MCUs or one component's blocks), restart intervals and the deadline check.
//!
//! Each kind of scan gets a loop of its own (the block decoder is a closure the loop is
//! compiled with), and where a block's values and history go is worked out once per row of
//! blocks: a progressive file's DC refinement reads one bit per block, so a per-block
//! dispatch or address computation would cost more than the decoding.

use crate::entropy::{self, Band, Slot};
use crate::header::{self, Frame, ScanHeader, Tables};
use crate::huffman::{Bits, Table};
use crate::{Error, Plan};

/// The running state of one scan.
struct State<'a> {
    bits: Bits<'a>,
    /// DC predictions, per component of the scan.
    preds: [i32; 4],
    /// Blocks left in the current end-of-band run (progressive AC scans).
    eobrun: u32,
    /// MCUs per restart interval (0: no restarts) and MCUs left in the current one.
    interval: usize,
    left: usize,
    next_rst: u8,
}

impl State<'_> {
    /// Called before each MCU: at the end of a restart interval, reads the marker and resets
    /// the predictions and the run.
    #[inline]
    fn next_mcu(&mut self) -> Result<(), Error> {
        if self.interval == 0 {
            return Ok(());
        }
        if self.left == 0 {
            self.bits.restart(self.next_rst)?;
            self.next_rst = (self.next_rst + 1) & 7;
            self.preds = [0; 4];
            self.eobrun = 0;
            self.left = self.interval;
        }
        self.left -= 1;
        Ok(())
    }
}

/// One row of blocks of a component: its slice of the kept values (if the row is kept) and of
/// the non-zero history (if tracked).
struct Row<'p> {
    values: Option<&'p mut [i16]>,
    nonzero: Option<&'p mut [u64]>,
    bx0: usize,
    bx1: usize,
    kk: usize,
}

impl<'p> Row<'p> {
    /// Rows `by..by + count` of a plan's blocks, each borrowing its own part of the stores.
    fn rows(plan: &'p mut Plan, by: usize, count: usize) -> Vec<Row<'p>> {
        let kk = plan.k * plan.k;
        let per_row = (plan.bx1 - plan.bx0) * kk;
        let (bx0, bx1, by0, by1, gw) = (plan.bx0, plan.bx1, plan.by0, plan.by1, plan.gw);
        // What is left of each store, and the row of blocks its first element belongs to.
        let (mut values, mut values_row) = (plan.values.as_mut_slice(), by0);
        let (mut nonzero, mut nonzero_row) = (plan.nonzero.as_mut_slice(), 0);
        let mut found = Vec::with_capacity(count);
        for r in by..by + count {
            let mine = if r >= by0 && r < by1 && r >= values_row {
                take(&mut values, (r - values_row) * per_row, per_row)
            } else {
                None
            };
            if mine.is_some() {
                values_row = r + 1;
            }
            let history = if r >= nonzero_row && r < by1 {
                take(&mut nonzero, (r - nonzero_row) * gw, gw)
            } else {
                None
            };
            if history.is_some() {
                nonzero_row = r + 1;
            }
            found.push(Row {
                values: mine,
                nonzero: history,
                bx0,
                bx1,
                kk,
            });
        }
        found
    }

    fn of(plan: &'p mut Plan, by: usize) -> Row<'p> {
        let mut rows = Row::rows(plan, by, 1);
        rows.pop().unwrap_or(Row {
            values: None,
            nonzero: None,
            bx0: 0,
            bx1: 0,
            kk: 0,
        })
    }

    #[inline(always)]
    fn slot(&mut self, bx: usize) -> Slot<'_> {
        let values = match self.values.as_deref_mut() {
            Some(v) if bx >= self.bx0 && bx < self.bx1 => {
                let at = (bx - self.bx0) * self.kk;
                v.get_mut(at..at + self.kk)
            }
            _ => None,
        };
        let nonzero = self.nonzero.as_deref_mut().and_then(|n| n.get_mut(bx));
        Slot { values, nonzero }
    }
}

/// `len` elements of `store` after the first `skip`; what follows stays in `store`. `None` (and
/// `store` left as it was) when the store is shorter (an untracked history is empty).
fn take<'s, T>(store: &mut &'s mut [T], skip: usize, len: usize) -> Option<&'s mut [T]> {
    if store.len() < skip + len {
        return None;
    }
    let rest = std::mem::take(store);
    let (mine, rest) = rest[skip..].split_at_mut(len);
    *store = rest;
    Some(mine)
}

/// The blocks of a one-component scan, row by row down to the last kept row.
fn single<F>(
    st: &mut State<'_>,
    plan: &mut Plan,
    check: &mut dyn FnMut() -> bool,
    mut block: F,
) -> Result<(), Error>
where
    F: FnMut(&mut State<'_>, &mut Slot<'_>) -> Result<(), Error>,
{
    let (wb, rows) = (plan.wb, plan.hb.min(plan.by1));
    for by in 0..rows {
        if !check() {
            return Err(Error::Deadline);
        }
        let mut row = Row::of(plan, by);
        for bx in 0..wb {
            st.next_mcu()?;
            block(st, &mut row.slot(bx))?;
        }
        if st.bits.overrun() {
            return Err(Error::Corrupt("truncated scan"));
        }
    }
    Ok(())
}

/// The MCUs of an interleaved scan, down to the MCU row holding every component's last kept
/// row; `block` gets the index of the component in the scan.
fn interleaved<F>(
    st: &mut State<'_>,
    plans: &mut [Plan],
    components: &[usize],
    frame: &Frame,
    check: &mut dyn FnMut() -> bool,
    mut block: F,
) -> Result<(), Error>
where
    F: FnMut(&mut State<'_>, usize, &mut Slot<'_>) -> Result<(), Error>,
{
    let (max_h, max_v) = (frame.max_h as usize, frame.max_v as usize);
    let mcus_x = (frame.width as usize).div_ceil(8 * max_h);
    let mcus_y = (frame.height as usize).div_ceil(8 * max_v);
    let rows = components
        .iter()
        .map(|&c| plans[c].by1.div_ceil(plans[c].v))
        .max()
        .unwrap_or(0)
        .min(mcus_y);
    for my in 0..rows {
        if !check() {
            return Err(Error::Deadline);
        }
        // This MCU row's rows of blocks of each component of the scan, in scan order.
        let mut by_plan: Vec<Option<&mut Plan>> = plans.iter_mut().map(Some).collect();
        let mut mcu_rows = Vec::with_capacity(components.len());
        for &c in components {
            let plan = by_plan
                .get_mut(c)
                .and_then(Option::take)
                .ok_or(Error::Corrupt("component twice in a scan"))?;
            let (h, v) = (plan.h, plan.v);
            mcu_rows.push((h, Row::rows(plan, my * v, v)));
        }
        for mx in 0..mcus_x {
            st.next_mcu()?;
            for (i, (h, rows)) in mcu_rows.iter_mut().enumerate() {
                for row in rows.iter_mut() {
                    for x in 0..*h {
                        block(st, i, &mut row.slot(mx * *h + x))?;
                    }
                }
            }
        }
        if st.bits.overrun() {
            return Err(Error::Corrupt("truncated scan"));
        }
    }
    Ok(())
}

/// A table the scan reads (checked in [`decode`] to be there before any work).
fn table(t: Option<&Table>) -> Result<&Table, Error> {
    t.ok_or(Error::Corrupt("missing DHT"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sequential,
    DcFirst,
    DcRefine,
    AcFirst,
    AcRefine,
}

/// Decodes one scan starting at `pos` (just after its header) into the stores; returns where
/// its entropy-coded data ends.
pub fn decode(
    data: &[u8],
    pos: usize,
    scan: &ScanHeader,
    tables: &Tables,
    frame: &Frame,
    plans: &mut [Plan],
    check: &mut dyn FnMut() -> bool,
) -> Result<usize, Error> {
    let kind = match (frame.progressive, scan.ss, scan.ah) {
        (false, _, _) => Kind::Sequential,
        (true, 0, 0) => Kind::DcFirst,
        (true, 0, _) => Kind::DcRefine,
        (true, _, 0) => Kind::AcFirst,
        (true, _, _) => Kind::AcRefine,
    };
    // Tables and quantisation latched up front, so that a missing one fails before any work.
    let need_dc = matches!(kind, Kind::Sequential | Kind::DcFirst);
    let need_ac = matches!(kind, Kind::Sequential | Kind::AcFirst | Kind::AcRefine);
    let mut dcs: Vec<Option<&Table>> = Vec::with_capacity(scan.components.len());
    let mut acs: Vec<Option<&Table>> = Vec::with_capacity(scan.components.len());
    let mut slots = Vec::with_capacity(scan.components.len());
    for &(c, td, ta) in &scan.components {
        let plan = &mut plans[c];
        if plan.quant.is_none() {
            plan.quant = Some(tables.quant[plan.tq].ok_or(Error::Corrupt("missing DQT"))?);
        }
        plan.scanned = true;
        let dc = tables.dc.get(td).and_then(Option::as_ref);
        let ac = tables.ac.get(ta).and_then(Option::as_ref);
        if (need_dc && dc.is_none()) || (need_ac && ac.is_none()) {
            return Err(Error::Corrupt("missing DHT"));
        }
        dcs.push(dc);
        acs.push(ac);
        slots.push((plan.slots, plan.kept));
    }
    let interval = tables.restart_interval as usize;
    let mut st = State {
        bits: Bits::new(data, pos),
        preds: [0; 4],
        eobrun: 0,
        interval,
        left: interval,
        next_rst: 0,
    };
    let (ss, se, al) = (usize::from(scan.ss), usize::from(scan.se), scan.al);
    let components: Vec<usize> = scan.components.iter().map(|&(c, _, _)| c).collect();

    if let [c] = components[..] {
        let plan = &mut plans[c];
        let (slots, kept) = slots[0];
        match kind {
            Kind::Sequential => {
                let (dc, ac) = (table(dcs[0])?, table(acs[0])?);
                single(&mut st, plan, check, |st, slot| {
                    entropy::sequential(&mut st.bits, dc, ac, &mut st.preds[0], slot, &slots)
                })?
            }
            Kind::DcFirst => {
                let dc = table(dcs[0])?;
                single(&mut st, plan, check, |st, slot| {
                    entropy::dc_first(&mut st.bits, dc, &mut st.preds[0], al, slot)
                })?
            }
            Kind::DcRefine => single(&mut st, plan, check, |st, slot| {
                entropy::dc_refine(&mut st.bits, al, slot);
                Ok(())
            })?,
            Kind::AcFirst | Kind::AcRefine => {
                let band = Band {
                    table: table(acs[0])?,
                    ss,
                    se,
                    al,
                };
                if kind == Kind::AcFirst {
                    single(&mut st, plan, check, |st, slot| {
                        entropy::ac_first(&mut st.bits, &band, &mut st.eobrun, slot, &slots)
                    })?
                } else {
                    single(&mut st, plan, check, |st, slot| {
                        entropy::ac_refine(&mut st.bits, &band, &mut st.eobrun, slot, &slots, kept)
                    })?
                }
            }
        }
    } else {
        match kind {
            Kind::Sequential => {
                let dcs = dcs
                    .iter()
                    .map(|&t| table(t))
                    .collect::<Result<Vec<_>, _>>()?;
                let acs = acs
                    .iter()
                    .map(|&t| table(t))
                    .collect::<Result<Vec<_>, _>>()?;
                interleaved(&mut st, plans, &components, frame, check, |st, i, slot| {
                    let (dc, ac, slots) = (dcs[i], acs[i], &slots[i].0);
                    entropy::sequential(&mut st.bits, dc, ac, &mut st.preds[i], slot, slots)
                })?
            }
            Kind::DcFirst => {
                let dcs = dcs
                    .iter()
                    .map(|&t| table(t))
                    .collect::<Result<Vec<_>, _>>()?;
                interleaved(&mut st, plans, &components, frame, check, |st, i, slot| {
                    entropy::dc_first(&mut st.bits, dcs[i], &mut st.preds[i], al, slot)
                })?
            }
            Kind::DcRefine => {
                interleaved(&mut st, plans, &components, frame, check, |st, _, slot| {
                    entropy::dc_refine(&mut st.bits, al, slot);
                    Ok(())
                })?
            }
            // The scan header check refuses AC scans of more than one component.
            Kind::AcFirst | Kind::AcRefine => return Err(Error::Corrupt("an interleaved AC scan")),
        }
    }
    Ok(header::entropy_end(data, st.bits.pos))
}
