//! What a page change relies on, checked before the change starts.
//!
//! Page changes happen inside a critical section, where any error is a PANIC: the
//! server restarts. Everything the changing code (and PostgreSQL's
//! `PageRepairFragmentation`, `PageAddItemExtended` and `PageTruncateLinePointerArray`,
//! which it calls) relies on is therefore checked here, on the page's bytes, *before*
//! the critical section is entered, so that a damaged page costs the statement an
//! ERROR and stays as it was. A page that passes:
//!
//! - has `pd_lower`, `pd_upper` and `pd_special` in order, `pd_special` at glassheap's
//!   8-byte special space (with its magic), `pd_upper` MAXALIGNed, a whole number of
//!   line pointers and at most 291 of them;
//! - has every line pointer with storage (`lp_len` > 0) pointing at MAXALIGNed bytes
//!   between `pd_upper` and `pd_special`, no two items' MAXALIGNed extents overlapping
//!   (so their total fits between `pd_lower` and `pd_special`);
//! - has every `LP_NORMAL` item at least a tuple header long, with a header whose xmax
//!   mode, attribute count and version pointer are valid and whose null bitmap fits in
//!   the item; every `LP_REDIRECT` without storage and pointing inside the array.
//!
//! [`check_page_for_change`] checks all of it (pruning, VACUUM and freezing, which
//! touch many items and move storage); [`check_item_for_change`] the header and one
//! tuple (a delete, lock or update of that tuple), [`check_header_for_change`] the
//! header only (adding an item: PageAddItem reads nothing else but the line pointers
//! the header covers).

use crate::layout::{special_is_valid, ITEM_ID_SIZE, MAX_TUPLES_PER_PAGE, SPECIAL_OFFSET};
use crate::page::{u16_at, u32_at, LinePointer, LP_DEAD, LP_NORMAL, LP_REDIRECT, LP_UNUSED};
use crate::tuple::{maxalign, TupleHeader, HEADER_SIZE};
use crate::{BLCKSZ, MAXALIGN, PAGE_HEADER_SIZE};

/// Why a page may not be changed: the line pointer concerned (if any) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageDamage {
    pub offnum: Option<u16>,
    pub problem: String,
}

impl std::fmt::Display for PageDamage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offnum {
            Some(o) => write!(f, "line pointer {o}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}
impl std::error::Error for PageDamage {}

fn damage(offnum: Option<u16>, problem: String) -> PageDamage {
    PageDamage { offnum, problem }
}

/// The page header's pointers: `pd_lower`, `pd_upper` and `pd_special` in order, the
/// special space where glassheap puts it, a whole number of at most 291 line pointers.
/// Returns the number of line pointers.
pub fn check_header_for_change(
    lower: usize,
    upper: usize,
    special: usize,
) -> Result<u16, PageDamage> {
    if lower < PAGE_HEADER_SIZE || lower > upper || upper > special || special > BLCKSZ {
        return Err(damage(
            None,
            format!(
                "corrupted page pointers: lower = {lower}, upper = {upper}, special = {special}"
            ),
        ));
    }
    if special != SPECIAL_OFFSET {
        return Err(damage(
            None,
            format!("pd_special is {special}, not glassheap's {SPECIAL_OFFSET}"),
        ));
    }
    if !upper.is_multiple_of(MAXALIGN) {
        return Err(damage(None, format!("pd_upper {upper} is not MAXALIGNed")));
    }
    if !(lower - PAGE_HEADER_SIZE).is_multiple_of(ITEM_ID_SIZE) {
        return Err(damage(
            None,
            format!("pd_lower {lower} does not end a line pointer"),
        ));
    }
    let nline = (lower - PAGE_HEADER_SIZE) / ITEM_ID_SIZE;
    if nline > MAX_TUPLES_PER_PAGE {
        return Err(damage(
            None,
            format!("{nline} line pointers; at most {MAX_TUPLES_PER_PAGE} fit"),
        ));
    }
    Ok(nline as u16)
}

/// (pd_lower, pd_upper, pd_special) of a page of at least the header's size.
fn header_pointers(page: &[u8]) -> Result<(usize, usize, usize), PageDamage> {
    if page.len() != BLCKSZ {
        return Err(damage(
            None,
            format!("page is {} bytes; expected {BLCKSZ}", page.len()),
        ));
    }
    Ok((
        u16_at(page, 12) as usize,
        u16_at(page, 14) as usize,
        u16_at(page, 16) as usize,
    ))
}

#[inline]
fn line_pointer(page: &[u8], off: u16) -> LinePointer {
    LinePointer::from_word(
        off,
        u32_at(page, PAGE_HEADER_SIZE + (off as usize - 1) * ITEM_ID_SIZE),
    )
}

/// An item with storage lies MAXALIGNed between pd_upper and pd_special.
#[inline]
fn check_extent(lp: &LinePointer, upper: usize) -> Result<(), PageDamage> {
    let (o, l) = (lp.off as usize, lp.len as usize);
    if o < upper || o + l > SPECIAL_OFFSET {
        return Err(damage(
            Some(lp.lp),
            format!(
                "item at offset {o} with length {l} lies outside the tuple space {upper}..{SPECIAL_OFFSET}"
            ),
        ));
    }
    if !o.is_multiple_of(MAXALIGN) {
        return Err(damage(
            Some(lp.lp),
            format!("item offset {o} is not MAXALIGNed"),
        ));
    }
    Ok(())
}

/// A normal item: long enough for a tuple header, which must be valid and whose null
/// bitmap must fit in the item.
fn check_tuple(page: &[u8], lp: &LinePointer) -> Result<(), PageDamage> {
    let len = lp.len as usize;
    if len < HEADER_SIZE {
        return Err(damage(
            Some(lp.lp),
            format!("tuple of {len} bytes is shorter than a tuple header ({HEADER_SIZE} bytes)"),
        ));
    }
    let at = lp.off as usize;
    let h = TupleHeader::read(&page[at..at + HEADER_SIZE]);
    h.validate()
        .map_err(|e| damage(Some(lp.lp), format!("tuple header: {e}")))?;
    if h.hoff() > len {
        return Err(damage(
            Some(lp.lp),
            format!(
                "tuple header with {} attributes needs {} bytes; the tuple has {len}",
                h.natts(),
                h.hoff()
            ),
        ));
    }
    Ok(())
}

/// [`check_extent`] and, for a normal item, [`check_tuple`] as one test that builds no
/// error: the per-item loop of [`check_page_in_use`] runs it for every version of every
/// page pruning or VACUUM visits, and asks the two functions above for the ERROR only
/// when it fails.
#[inline]
fn item_is_sound(page: &[u8], lp: &LinePointer, upper: usize) -> bool {
    let (o, l) = (lp.off as usize, lp.len as usize);
    if o < upper || o + l > SPECIAL_OFFSET || !o.is_multiple_of(MAXALIGN) {
        return false;
    }
    if lp.flags != LP_NORMAL {
        return true;
    }
    if l < HEADER_SIZE {
        return false;
    }
    // o + HEADER_SIZE <= o + l <= SPECIAL_OFFSET: the header lies in the page.
    let h = TupleHeader::read(&page[o..o + HEADER_SIZE]);
    h.is_valid() && h.hoff() <= l
}

/// The ERROR for an item [`item_is_sound`] refused: the first of its checks it fails.
#[cold]
fn item_damage(page: &[u8], lp: &LinePointer, upper: usize) -> PageDamage {
    let checked = check_extent(lp, upper).and_then(|()| match lp.flags {
        LP_NORMAL => check_tuple(page, lp),
        _ => Ok(()),
    });
    checked.err().unwrap_or_else(|| {
        damage(
            Some(lp.lp),
            "item refused by the page check without a reason (a bug)".into(),
        )
    })
}

/// Before changing the tuple at `off` in place (delete, lock, the old version of an
/// update, confirming or cancelling a speculative insertion): the page header, and the
/// tuple's line pointer, extent and header.
pub fn check_item_for_change(page: &[u8], off: u16) -> Result<(), PageDamage> {
    let (lower, upper, special) = header_pointers(page)?;
    let nline = check_header_for_change(lower, upper, special)?;
    if off == 0 || off > nline {
        return Err(damage(
            Some(off),
            format!("beyond the line pointer array ({nline} entries)"),
        ));
    }
    let lp = line_pointer(page, off);
    if lp.flags != LP_NORMAL {
        return Err(damage(
            Some(off),
            format!("is {}, not a tuple", crate::page::lp_flags_name(lp.flags)),
        ));
    }
    check_extent(&lp, upper)?;
    check_tuple(page, &lp)
}

/// Before pruning, defragmenting, vacuuming or freezing: the page header, the special
/// space, and every line pointer (see the module documentation).
pub fn check_page_for_change(page: &[u8]) -> Result<(), PageDamage> {
    check_page_in_use(page).map(|_| ())
}

/// [`check_page_for_change`], saying also whether any line pointer is in use: Ok(false)
/// when every one is `LP_UNUSED` or `LP_DEAD` without storage -- no version, no
/// redirect, nothing for pruning to do.
pub fn check_page_in_use(page: &[u8]) -> Result<bool, PageDamage> {
    let (lower, upper, special) = header_pointers(page)?;
    let nline = check_header_for_change(lower, upper, special)?;
    if let crate::layout::PageKind::OtherVersion(v) =
        crate::layout::special_kind(&page[SPECIAL_OFFSET..])
    {
        return Err(damage(None, crate::layout::other_version_message(v)));
    }
    if !special_is_valid(&page[SPECIAL_OFFSET..]) {
        return Err(damage(
            None,
            "the special space is not glassheap's (bad magic or version)".into(),
        ));
    }
    // Unused line pointers and dead ones without storage have nothing to check. A page
    // of only those -- what pruning leaves of a page whose rows all moved on, most of a
    // table after full-table updates -- is done in one tight pass over the array (the
    // loop below costs about 30 instructions a line pointer); on other pages this pass
    // stops at the first line pointer in use.
    let array = &page[PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + nline as usize * ITEM_ID_SIZE];
    if array.chunks_exact(ITEM_ID_SIZE).all(|c| {
        // one load per line pointer; bits 15.. are lp_flags then lp_len (ItemIdData)
        let flags_and_len = u32::from_ne_bytes(c.try_into().expect("4 bytes")) >> 15;
        flags_and_len & 3 == LP_UNUSED as u32 || flags_and_len == LP_DEAD as u32
    }) {
        return Ok(false);
    }
    // Pages compacted by pruning, and pages filled by inserts and HOT updates, keep their
    // items in descending offset order by line pointer: then only neighbours can
    // overlap, and the first pass, which keeps only the previous extent, has checked it.
    let mut descending = true;
    let mut prev: Option<(usize, usize, u16)> = None;
    let mut highest: Option<(usize, usize, u16)> = None;
    for off in 1..=nline {
        let lp = line_pointer(page, off);
        match lp.flags {
            LP_NORMAL => {
                if !item_is_sound(page, &lp, upper) {
                    return Err(item_damage(page, &lp, upper));
                }
            }
            LP_REDIRECT => {
                if lp.len != 0 {
                    return Err(damage(
                        Some(off),
                        format!("redirect with length {}", lp.len),
                    ));
                }
                if lp.off == 0 || lp.off > nline || lp.off == off {
                    return Err(damage(
                        Some(off),
                        format!("redirect to line pointer {} of {nline}", lp.off),
                    ));
                }
                continue;
            }
            LP_DEAD if lp.has_storage() => {
                if !item_is_sound(page, &lp, upper) {
                    return Err(item_damage(page, &lp, upper));
                }
            }
            // dead without storage, or unused (PageRepairFragmentation resets those)
            _ => continue,
        }
        let e = (lp.off as usize, maxalign(lp.len as usize), off);
        match prev {
            None => highest = Some(e),
            Some(p) => descending &= e.0 + e.1 <= p.0,
        }
        prev = Some(e);
    }
    if descending {
        // sorted and disjoint; the highest item is the first
        return match highest {
            Some((o, l, lp)) if o + l > special => Err(runs_into_special(o, l, lp)),
            _ => Ok(true),
        };
    }
    // Items out of order (an insert reused a line pointer pruning freed): an occupancy
    // map of the tuple space in MAXALIGN units (exact: check_extent made every offset
    // MAXALIGNed and every extent end by SPECIAL_OFFSET, a multiple of MAXALIGN) finds
    // an overlap without sorting; only a page that has one, or an item past
    // `pd_special`, is sorted, to name the two items.
    if extents_disjoint_below(page, nline, special) {
        return Ok(true);
    }
    let mut extents: Vec<(usize, usize, u16)> = stored_extents(page, nline).collect();
    extents.sort_unstable();
    for w in extents.windows(2) {
        let ((o1, l1, lp1), (o2, _, lp2)) = (w[0], w[1]);
        if o1 + l1 > o2 {
            return Err(damage(
                Some(lp2),
                format!(
                    "item at offset {o2} overlaps line pointer {lp1}'s item at {o1} (length {l1})"
                ),
            ));
        }
    }
    if let Some(&(o, l, lp)) = extents.last() {
        if o + l > special {
            return Err(runs_into_special(o, l, lp));
        }
    }
    Ok(true)
}

fn runs_into_special(o: usize, l: usize, lp: u16) -> PageDamage {
    damage(
        Some(lp),
        format!("item at offset {o} (aligned length {l}) runs into the special space"),
    )
}

/// (offset, MAXALIGNed length, line pointer) of every normal or dead item with storage,
/// in line pointer order: the extents that may not overlap.
fn stored_extents(page: &[u8], nline: u16) -> impl Iterator<Item = (usize, usize, u16)> + '_ {
    (1..=nline)
        .map(|off| line_pointer(page, off))
        .filter(|lp| matches!(lp.flags, LP_NORMAL | LP_DEAD) && lp.has_storage())
        .map(|lp| (lp.off as usize, maxalign(lp.len as usize), lp.lp))
}

/// Whether the MAXALIGNed extents of the items with storage on a page whose line
/// pointers passed check_extent are pairwise disjoint and all end by `special`.
fn extents_disjoint_below(page: &[u8], nline: u16, special: usize) -> bool {
    const UNITS: usize = SPECIAL_OFFSET / MAXALIGN;
    let mut used = [0u64; UNITS.div_ceil(64)];
    for (o, l, _) in stored_extents(page, nline) {
        if o + l > special || o + l > SPECIAL_OFFSET {
            return false;
        }
        // units [first, end) of the item, word by word
        let (mut u, end) = (o / MAXALIGN, (o + l) / MAXALIGN);
        while u < end {
            let (w, bit) = (u / 64, u % 64);
            let n = (end - u).min(64 - bit);
            let mask = (u64::MAX >> (64 - n)) << bit;
            if used[w] & mask != 0 {
                return false;
            }
            used[w] |= mask;
            u += n;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hot::{self, Item, Member};
    use crate::layout::{first_unused_line_pointer, plan_add_item, AddItemError};
    use crate::page::{PageHeader, LP_UNUSED};
    use crate::testpages::{glassheap_page, tuple};
    use crate::visibility::Htsv;
    use proptest::prelude::*;

    fn set_lp(p: &mut [u8], off: u16, w: u32) {
        let at = PAGE_HEADER_SIZE + (off as usize - 1) * ITEM_ID_SIZE;
        p[at..at + 4].copy_from_slice(&w.to_ne_bytes());
    }
    fn get_lp(p: &[u8], off: u16) -> LinePointer {
        line_pointer(p, off)
    }

    #[test]
    fn in_use_means_a_version_a_redirect_or_dead_storage() {
        let mut p = glassheap_page(&[tuple(5, &[1, 0, 0, 0, 2, 0, 0, 0])]);
        let lp = get_lp(&p, 1);
        assert_eq!(check_page_in_use(&p), Ok(true));
        let (o, l) = (lp.off as usize, lp.len as usize);
        // dead with its storage still there: in use (pruning defragments it away)
        set_lp(&mut p, 1, LinePointer::word(o, LP_DEAD as u32, l));
        assert_eq!(check_page_in_use(&p), Ok(true));
        // dead without storage, unused with or without: nothing in use
        set_lp(&mut p, 1, LinePointer::word(0, LP_DEAD as u32, 0));
        assert_eq!(check_page_in_use(&p), Ok(false));
        set_lp(&mut p, 1, LinePointer::word(o, LP_UNUSED as u32, l));
        assert_eq!(check_page_in_use(&p), Ok(false));
        set_lp(&mut p, 1, LinePointer::word(0, LP_UNUSED as u32, 0));
        assert_eq!(check_page_in_use(&p), Ok(false));
        set_lp(&mut p, 1, LinePointer::word(1, LP_REDIRECT as u32, 0));
        assert!(check_page_in_use(&p).is_err(), "a redirect to itself");
    }

    /// Three tuples, then line pointer 4 a redirect to 2, 5 dead, 6 unused.
    fn sample() -> Vec<u8> {
        let mut p = glassheap_page(&[
            tuple(5, &[1, 0, 0, 0, 2, 0, 0, 0]),
            tuple(6, &[3, 0, 0, 0, 4, 0, 0, 0]),
            tuple(7, &[5, 0, 0, 0, 6, 0, 0, 0]),
        ]);
        let lower = u16_at(&p, 12) as usize;
        set_lp(&mut p, 4, LinePointer::word(2, LP_REDIRECT as u32, 0));
        set_lp(&mut p, 5, LinePointer::word(0, LP_DEAD as u32, 0));
        set_lp(&mut p, 6, LinePointer::word(0, LP_UNUSED as u32, 0));
        p[12..14].copy_from_slice(&((lower + 12) as u16).to_ne_bytes());
        p
    }

    #[test]
    fn a_page_of_dead_and_unused_items_passes_only_with_sound_storage() {
        let mut p = sample();
        for off in 1..=3 {
            set_lp(&mut p, off, LinePointer::word(0, LP_DEAD as u32, 0));
        }
        // 4 (a redirect in the sample) unused with leftover bits: nothing to check
        set_lp(&mut p, 4, LinePointer::word(7, LP_UNUSED as u32, 9));
        assert_eq!(check_page_in_use(&p), Ok(false));
        assert_eq!(check_page_for_change(&p), Ok(()));
        // a dead item that kept storage is checked: outside the tuple space it fails
        set_lp(&mut p, 2, LinePointer::word(8190, LP_DEAD as u32, 16));
        assert_eq!(check_page_for_change(&p).unwrap_err().offnum, Some(2));
        set_lp(&mut p, 2, LinePointer::word(0, LP_DEAD as u32, 0));
        // the header is checked before the array
        p[12..14].copy_from_slice(&9000u16.to_ne_bytes());
        assert!(check_page_for_change(&p).is_err());
    }

    #[test]
    fn a_healthy_page_passes() {
        let p = sample();
        assert_eq!(check_page_in_use(&p), Ok(true));
        assert_eq!(check_page_for_change(&p), Ok(()));
        for off in 1..=3 {
            assert_eq!(check_item_for_change(&p, off), Ok(()));
        }
        assert!(check_item_for_change(&p, 4).is_err());
        assert!(check_item_for_change(&p, 7).is_err());
        // a new (all-zero) page is not a page to change: it gets formatted first
        assert!(check_page_for_change(&vec![0u8; BLCKSZ]).is_err());
    }

    #[test]
    fn the_damage_behind_corrupted_item_lengths_is_named() {
        // the PANIC this module exists for: item lengths adding up to more than the page
        let mut p = sample();
        let lp = get_lp(&p, 1);
        set_lp(&mut p, 1, LinePointer::word(lp.off as usize, 1, 0x7000));
        let e = check_page_for_change(&p).unwrap_err();
        assert_eq!(e.offnum, Some(1));
        assert!(e.problem.contains("outside the tuple space"), "{e}");
        // two items sharing bytes
        let mut p = sample();
        let lp2 = get_lp(&p, 2);
        set_lp(&mut p, 3, LinePointer::word(lp2.off as usize, 1, 24));
        let e = check_page_for_change(&p).unwrap_err();
        assert!(e.problem.contains("overlaps"), "{e}");
    }

    #[test]
    fn each_kind_of_damage_is_reported() {
        type Damage = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(&str, Damage)> = vec![
            (
                "corrupted page pointers",
                Box::new(|p| p[14..16].copy_from_slice(&8u16.to_ne_bytes())),
            ),
            (
                "pd_special",
                Box::new(|p| p[16..18].copy_from_slice(&8176u16.to_ne_bytes())),
            ),
            (
                "not MAXALIGNed",
                Box::new(|p| {
                    let u = u16_at(p, 14) - 4;
                    p[14..16].copy_from_slice(&u.to_ne_bytes())
                }),
            ),
            (
                "does not end a line pointer",
                Box::new(|p| {
                    let l = u16_at(p, 12) + 2;
                    p[12..14].copy_from_slice(&l.to_ne_bytes())
                }),
            ),
            ("special space", Box::new(|p| p[SPECIAL_OFFSET] ^= 0xff)),
            (
                "shorter than a tuple header",
                Box::new(|p| {
                    let lp = get_lp(p, 2);
                    set_lp(p, 2, LinePointer::word(lp.off as usize, 1, 8))
                }),
            ),
            (
                "not MAXALIGNed",
                Box::new(|p| {
                    let lp = get_lp(p, 2);
                    set_lp(p, 2, LinePointer::word(lp.off as usize + 4, 1, 16))
                }),
            ),
            (
                "invalid xmax mode",
                Box::new(|p| {
                    let lp = get_lp(p, 3);
                    let at = lp.off as usize + 12;
                    let info = u32_at(p, at) | (7 << 20);
                    p[at..at + 4].copy_from_slice(&info.to_ne_bytes())
                }),
            ),
            (
                "needs",
                Box::new(|p| {
                    // has_nulls with 1600 attributes: a 200-byte bitmap in a 24-byte tuple
                    let lp = get_lp(p, 3);
                    let at = lp.off as usize + 12;
                    let info = (u32_at(p, at) & !(0x7ff << 9)) | (1600 << 9) | (1 << 28);
                    p[at..at + 4].copy_from_slice(&info.to_ne_bytes())
                }),
            ),
            (
                "redirect to",
                Box::new(|p| set_lp(p, 4, LinePointer::word(200, 2, 0))),
            ),
            (
                "redirect with length",
                Box::new(|p| set_lp(p, 4, LinePointer::word(2, 2, 8))),
            ),
        ];
        for (want, f) in cases {
            let mut p = sample();
            f(&mut p);
            let e = check_page_for_change(&p).expect_err(want);
            assert!(e.to_string().contains(want), "{want}: {e}");
        }
    }

    /// PostgreSQL 15's PageRepairFragmentation, as far as its checks and the bytes it
    /// moves go: Err where it raises an ERROR (a PANIC in a critical section), else the
    /// compacted page. Every slice index is checked, so a wild item panics here.
    fn repair_fragmentation(page: &[u8]) -> Result<Vec<u8>, String> {
        let h = PageHeader::decode(page).unwrap();
        let (lower, upper, special) = (h.lower as usize, h.upper as usize, h.special as usize);
        if lower < PAGE_HEADER_SIZE
            || lower > upper
            || upper > special
            || special > BLCKSZ
            || special != maxalign(special)
        {
            return Err("corrupted page pointers".into());
        }
        let nline = (lower - PAGE_HEADER_SIZE) / ITEM_ID_SIZE;
        let mut out = page.to_vec();
        let mut items = Vec::new();
        let mut total = 0;
        for off in 1..=nline as u16 {
            let lp = get_lp(page, off);
            if lp.flags == LP_UNUSED {
                set_lp(&mut out, off, 0);
            } else if lp.has_storage() {
                let o = lp.off as usize;
                if o < upper || o >= special {
                    return Err("corrupted line pointer".into());
                }
                total += maxalign(lp.len as usize);
                items.push((o, lp.len as usize, off, lp.flags));
            }
        }
        if total > special - lower {
            return Err(format!(
                "corrupted item lengths: total {total}, available space {}",
                special - lower
            ));
        }
        items.sort_unstable_by_key(|i| std::cmp::Reverse(i.0));
        let mut up = special;
        for (o, l, off, flags) in items {
            let a = maxalign(l);
            up -= a;
            out[up..up + l].copy_from_slice(&page[o..o + l]);
            set_lp(&mut out, off, LinePointer::word(up, flags as u32, l));
        }
        out[14..16].copy_from_slice(&(up as u16).to_ne_bytes());
        Ok(out)
    }

    /// The summary pruning plans from, built from the page alone (status chosen by the
    /// test).
    fn hot_items(page: &[u8], status: &[Htsv]) -> Vec<Item> {
        let nline = (u16_at(page, 12) as usize - PAGE_HEADER_SIZE) / ITEM_ID_SIZE;
        (1..=nline as u16)
            .map(|off| {
                let lp = get_lp(page, off);
                match lp.flags {
                    LP_NORMAL => {
                        let h = TupleHeader::read(lp.item(page).unwrap());
                        Item::Normal(Member {
                            heap_only: h.has(crate::tuple::TupleFlags::HEAP_ONLY),
                            xmin: h.xmin,
                            next: h.has_next().then(|| (h.next_off(), h.xmax)),
                            status: status[off as usize % status.len()],
                        })
                    }
                    LP_REDIRECT => Item::Redirect(lp.off),
                    LP_DEAD => Item::Dead,
                    _ => Item::Unused,
                }
            })
            .collect()
    }

    fn any_status() -> impl Strategy<Value = Htsv> {
        prop_oneof![
            Just(Htsv::Live),
            Just(Htsv::Dead),
            Just(Htsv::RecentlyDead),
            Just(Htsv::InsertInProgress),
            Just(Htsv::DeleteInProgress)
        ]
    }

    proptest! {
        /// The occupancy map agrees with comparing every pair of MAXALIGNed extents
        /// (and their ends with pd_special), whatever order the items lie in.
        #[test]
        fn occupancy_map_finds_what_pairwise_comparison_finds(
            items in proptest::collection::vec((0usize..1023, 1usize..600, any::<bool>()), 1..60),
            special in prop_oneof![Just(SPECIAL_OFFSET), 8000usize..=SPECIAL_OFFSET],
        ) {
            let mut p = vec![0u8; BLCKSZ];
            let mut extents = Vec::new();
            for (i, &(unit, len, dead)) in items.iter().enumerate() {
                let o = unit * MAXALIGN;
                // as check_extent lets through: the item ends by SPECIAL_OFFSET
                let len = len.min(SPECIAL_OFFSET - o).max(1);
                let flags = if dead { LP_DEAD } else { LP_NORMAL };
                set_lp(&mut p, i as u16 + 1, LinePointer::word(o, flags as u32, len));
                extents.push((o, maxalign(len)));
            }
            let disjoint = extents.iter().enumerate().all(|(i, &(o1, l1))| {
                o1 + l1 <= special
                    && extents[i + 1..].iter().all(|&(o2, l2)| o1 + l1 <= o2 || o2 + l2 <= o1)
            });
            prop_assert_eq!(extents_disjoint_below(&p, items.len() as u16, special), disjoint);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Damage anywhere (bytes of the header, line pointers, tuples, special space):
        /// the check answers without panicking, and a page it passes goes through
        /// everything a change does without an error or a wild index -- defragmenting
        /// (never PostgreSQL's "corrupted" errors), planning a prune, adding an item,
        /// reading each tuple's header and null bitmap.
        #[test]
        fn a_page_that_passes_can_be_changed(
            flips in proptest::collection::vec((0usize..BLCKSZ, any::<u8>()), 1..12),
            near in proptest::collection::vec((0usize..64, any::<u8>()), 0..6),
            status in proptest::collection::vec(any_status(), 1..8),
            size in 1usize..9000,
        ) {
            let mut p = sample();
            for (at, v) in flips { p[at] = v; }
            // the header and the first line pointers are where damage matters most
            for (at, v) in near { p[at] = v; }
            let whole = check_page_for_change(&p);
            for off in 0..8u16 {
                let one = check_item_for_change(&p, off);
                if whole.is_ok() && off >= 1 && (off as usize) <= (u16_at(&p, 12) as usize - 24) / 4
                    && get_lp(&p, off).flags == LP_NORMAL {
                    prop_assert!(one.is_ok(), "the page passed but item {} did not: {:?}", off, one);
                }
                if one.is_ok() {
                    let lp = get_lp(&p, off);
                    let item = lp.item(&p).unwrap();
                    let h = TupleHeader::read(item);
                    prop_assert!(h.hoff() <= item.len());
                }
            }
            let header = check_header_for_change(u16_at(&p, 12) as usize, u16_at(&p, 14) as usize, u16_at(&p, 16) as usize);
            if header.is_ok() {
                let lower = u16_at(&p, 12) as usize;
                let upper = u16_at(&p, 14) as usize;
                let nline = (lower - PAGE_HEADER_SIZE) / ITEM_ID_SIZE;
                let first = (1..=nline as u16).find(|&o| { let l = get_lp(&p, o); l.flags == LP_UNUSED && l.len == 0 });
                prop_assert_eq!(first_unused_line_pointer(&p[PAGE_HEADER_SIZE..lower]), first);
                match plan_add_item(lower, upper, SPECIAL_OFFSET, true, || first, size) {
                    Ok(a) => {
                        prop_assert!(a.off as usize >= 1 && a.off as usize <= nline + 1);
                        prop_assert!(a.lower <= a.upper && a.upper + size <= SPECIAL_OFFSET);
                    }
                    Err(e) => prop_assert_eq!(e, AddItemError::NoRoom),
                }
            }
            if whole.is_ok() {
                prop_assert!(header.is_ok());
                let compacted = repair_fragmentation(&p);
                prop_assert!(compacted.is_ok(), "{:?}", compacted.err());
                let compacted = compacted.unwrap();
                // the same tuples, byte for byte, still pass
                prop_assert_eq!(check_page_for_change(&compacted), Ok(()));
                let items = hot_items(&p, &status);
                let plan = hot::plan(&items);
                let n = items.len() as u16;
                for off in plan.dead.iter().chain(plan.unused.iter()).chain(plan.redirected.iter().map(|r| &r.0)) {
                    prop_assert!(*off >= 1 && *off <= n);
                }
            }
        }

        /// A healthy page with any number of tuples and gaps passes.
        #[test]
        fn healthy_pages_pass(lens in proptest::collection::vec(16usize..200, 0..30)) {
            let tuples: Vec<Vec<u8>> = lens.iter().map(|&l| {
                let mut t = tuple(9, &[]);
                t.resize(l, 0);
                t
            }).collect();
            let p = glassheap_page(&tuples);
            prop_assert_eq!(check_page_for_change(&p), Ok(()));
        }

        /// The per-item test without an error agrees with the two checks that word the
        /// ERROR, on any line pointer over any header bytes, and the error it words for
        /// a refused item is theirs.
        #[test]
        fn item_test_agrees_with_the_worded_checks(
            off in 0u16..0x7fff,
            flags in prop_oneof![Just(LP_NORMAL), Just(LP_DEAD)],
            len in 0u16..0x7fff,
            upper in (PAGE_HEADER_SIZE / MAXALIGN..=SPECIAL_OFFSET / MAXALIGN).prop_map(|u| u * MAXALIGN),
            header in any::<[u8; HEADER_SIZE]>(),
            near_hoff in proptest::option::of(-2i32..=2),
        ) {
            // Half the cases: an item in place whose length is within two bytes of what
            // its header needs, where the length test decides.
            let (off, len) = match near_hoff {
                Some(d) => {
                    let need = TupleHeader::read(&header).hoff() as i32;
                    let len = (need + d).clamp(0, 0x7ff) as usize;
                    (((SPECIAL_OFFSET - len) & !(MAXALIGN - 1)) as u16, len as u16)
                }
                None => (off, len),
            };
            let mut page = vec![0u8; BLCKSZ];
            let at = (off as usize).min(BLCKSZ - HEADER_SIZE);
            page[at..at + HEADER_SIZE].copy_from_slice(&header);
            let lp = LinePointer { lp: 7, off, flags, len };
            let worded = check_extent(&lp, upper).and_then(|()| match flags {
                LP_NORMAL => check_tuple(&page, &lp),
                _ => Ok(()),
            });
            prop_assert_eq!(item_is_sound(&page, &lp, upper), worded.is_ok());
            if let Err(e) = worded {
                prop_assert_eq!(item_damage(&page, &lp, upper), e);
            }
        }
    }
}
