//! Safe views of one 8 kB glassheap page, and every change glassheap makes to a page's
//! layout: adding an item (anywhere, or at a given offset as redo does), setting line
//! pointers, pruning with defragmentation, VACUUM's second pass, and the page header's
//! flags. The write path (through `src/pg/page.rs`), pruning and redo all call these,
//! so the primary and a standby reach the same bytes by running the same code, and the
//! property tests below run that code without a server.
//!
//! The byte results are PostgreSQL's own: `add_item_at` is PageAddItemExtended with
//! PAI_OVERWRITE | PAI_IS_HEAP, `repair_fragmentation` is PageRepairFragmentation (the
//! survivors packed below the special space in line pointer order, trailing unused line
//! pointers truncated, the free-line-pointer hint set), `truncate_line_pointer_array`
//! is PageTruncateLinePointerArray, `init` is PageInit plus glassheap's special space.
//! Bytes those functions leave alone (a tuple's alignment padding, space below
//! pd_upper) are left alone here too. An in-server test (`pg_test`) compares them with
//! the server's functions on random pages.

use crate::layout::{self, PageKind, ITEM_ID_SIZE, MAX_TUPLES_PER_PAGE, SPECIAL_OFFSET};
use crate::page::{
    LinePointer, LP_DEAD, LP_NORMAL, LP_REDIRECT, LP_UNUSED, PD_ALL_VISIBLE, PD_HAS_FREE_LINES,
    PD_PAGE_FULL,
};
use crate::records::PruneBlock;
use crate::tuple::{TupleHeader, HEADER_SIZE};
use crate::{xid_precedes, Xid, BLCKSZ, MAXALIGN, PAGE_HEADER_SIZE};

/// One page's bytes.
pub type PageBytes = [u8; BLCKSZ];

/// PostgreSQL's PG_PAGE_LAYOUT_VERSION, which PageInit writes into pd_pagesize_version.
pub const PG_PAGE_LAYOUT_VERSION: u16 = 4;

const OFF_LSN_HI: usize = 0;
const OFF_LSN_LO: usize = 4;
const OFF_FLAGS: usize = 10;
const OFF_LOWER: usize = 12;
const OFF_UPPER: usize = 14;
const OFF_SPECIAL: usize = 16;
const OFF_PAGESIZE_VERSION: usize = 18;
const OFF_PRUNE_XID: usize = 20;

#[inline]
fn maxalign(n: usize) -> usize {
    (n + MAXALIGN - 1) & !(MAXALIGN - 1)
}

/// Why a page change was refused. Nothing on the page has changed when one is returned
/// (every check comes before the first write), except where a variant says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageChangeError {
    /// pd_lower/pd_upper/pd_special are inconsistent (bufpage.c's "corrupted page
    /// pointers").
    CorruptedPointers {
        lower: usize,
        upper: usize,
        special: usize,
    },
    /// An item's storage starts outside [pd_upper, pd_special).
    CorruptedLinePointer { off: u16, item_offset: usize },
    /// The items' aligned lengths add up to more than the page can hold.
    CorruptedItemLengths { total: usize, available: usize },
    /// A record names a line pointer past the end of the array.
    OffsetOutOfRange { off: u16, max: u16 },
    /// A line pointer that must be LP_NORMAL (a version whose header changes) is not.
    NotNormal { off: u16 },
    /// VACUUM's second pass found a line pointer that is not LP_DEAD.
    NotDead { off: u16 },
    /// An item is to be placed at a line pointer that is in use.
    InUse { off: u16 },
    /// Placing at an offset beyond the first free position, or past the 291 limit.
    BadOffset { off: u16, max: u16 },
    /// The item does not fit.
    NoRoom { size: usize, free: usize },
}

impl std::fmt::Display for PageChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageChangeError::CorruptedPointers {
                lower,
                upper,
                special,
            } => write!(
                f,
                "corrupted page pointers: lower = {lower}, upper = {upper}, special = {special}"
            ),
            PageChangeError::CorruptedLinePointer { off, item_offset } => {
                write!(f, "corrupted line pointer {off}: item at {item_offset}")
            }
            PageChangeError::CorruptedItemLengths { total, available } => write!(
                f,
                "corrupted item lengths: total {total}, available space {available}"
            ),
            PageChangeError::OffsetOutOfRange { off, max } => write!(
                f,
                "line pointer {off} is beyond the line pointer array ({max})"
            ),
            PageChangeError::NotNormal { off } => {
                write!(f, "line pointer {off} is not a normal line pointer")
            }
            PageChangeError::NotDead { off } => write!(f, "item {off} is not LP_DEAD"),
            PageChangeError::InUse { off } => {
                write!(f, "will not overwrite line pointer {off}: it is in use")
            }
            PageChangeError::BadOffset { off, max } => write!(
                f,
                "cannot place an item at offset {off}: the page has {max} line pointers"
            ),
            PageChangeError::NoRoom { size, free } => write!(
                f,
                "an item of {size} bytes does not fit in {free} bytes of free space"
            ),
        }
    }
}
impl std::error::Error for PageChangeError {}

/// A read-only view of a page.
#[derive(Clone, Copy)]
pub struct Page<'a>(&'a PageBytes);

/// A view of a page its holder may change (an exclusive or cleanup lock on the
/// buffer, a page being replayed, or a private copy).
pub struct PageMut<'a>(&'a mut PageBytes);

macro_rules! read_accessors {
    () => {
        #[inline]
        fn u16_at(&self, at: usize) -> u16 {
            // one bounds check for the whole field (a panic past the end, as indexing)
            u16::from_ne_bytes(self.0[at..at + 2].try_into().expect("two bytes"))
        }
        #[inline]
        fn u32_at(&self, at: usize) -> u32 {
            u32::from_ne_bytes(self.0[at..at + 4].try_into().expect("four bytes"))
        }
        /// pd_lsn.
        #[inline]
        pub fn lsn(&self) -> u64 {
            ((self.u32_at(OFF_LSN_HI) as u64) << 32) | self.u32_at(OFF_LSN_LO) as u64
        }
        #[inline]
        pub fn flags(&self) -> u16 {
            self.u16_at(OFF_FLAGS)
        }
        #[inline]
        pub fn lower(&self) -> usize {
            self.u16_at(OFF_LOWER) as usize
        }
        #[inline]
        pub fn upper(&self) -> usize {
            self.u16_at(OFF_UPPER) as usize
        }
        #[inline]
        pub fn special(&self) -> usize {
            self.u16_at(OFF_SPECIAL) as usize
        }
        #[inline]
        pub fn prune_xid(&self) -> Xid {
            self.u32_at(OFF_PRUNE_XID)
        }
        /// PageIsNew.
        #[inline]
        pub fn is_new(&self) -> bool {
            self.upper() == 0
        }
        #[inline]
        pub fn is_all_visible(&self) -> bool {
            self.flags() & PD_ALL_VISIBLE != 0
        }
        #[inline]
        pub fn is_full(&self) -> bool {
            self.flags() & PD_PAGE_FULL != 0
        }
        /// PageGetMaxOffsetNumber.
        #[inline]
        pub fn max_offset(&self) -> u16 {
            (self.lower().saturating_sub(PAGE_HEADER_SIZE) / ITEM_ID_SIZE) as u16
        }
        /// Line pointer `off` (1-based), or None past the array (or past the page).
        #[inline]
        pub fn lp(&self, off: u16) -> Option<LinePointer> {
            if off == 0 || off > self.max_offset() {
                return None;
            }
            let at = PAGE_HEADER_SIZE + (off as usize - 1) * ITEM_ID_SIZE;
            if at + ITEM_ID_SIZE > BLCKSZ {
                return None;
            }
            Some(LinePointer::from_word(off, self.u32_at(at)))
        }
        /// Where the version at `off` lies, if `off` is a normal line pointer whose
        /// extent holds a tuple header and ends before the special space.
        #[inline]
        fn tuple_extent(&self, off: u16) -> Option<(usize, usize)> {
            let lp = self.lp(off)?;
            let (o, len) = (lp.off as usize, lp.len as usize);
            if lp.flags != LP_NORMAL || len < HEADER_SIZE || o + len > SPECIAL_OFFSET {
                return None;
            }
            Some((o, len))
        }
        /// The version at `off` (see `tuple_extent`).
        #[inline]
        pub fn tuple(&self, off: u16) -> Option<&[u8]> {
            let (o, len) = self.tuple_extent(off)?;
            Some(&self.0[o..o + len])
        }
        /// The header of the version at `off`.
        #[inline]
        pub fn tuple_header(&self, off: u16) -> Option<TupleHeader> {
            self.tuple(off).map(TupleHeader::read)
        }
        /// What the special space says this page is.
        pub fn kind(&self) -> PageKind {
            if self.special() != SPECIAL_OFFSET {
                return PageKind::Foreign;
            }
            layout::special_kind(&self.0[SPECIAL_OFFSET..])
        }
        pub fn is_glassheap(&self) -> bool {
            self.kind() == PageKind::Glassheap
        }
        /// Line pointer `off`'s word; `off` must lie in the array.
        #[inline]
        fn lp_word(&self, off: u16) -> u32 {
            self.u32_at(PAGE_HEADER_SIZE + (off as usize - 1) * ITEM_ID_SIZE)
        }
        /// The state (`LP_UNUSED` .. `LP_DEAD`) of line pointer `off`, which must lie in
        /// the array: one word read, for loops over every line pointer of a page.
        #[inline]
        pub fn lp_flags(&self, off: u16) -> u8 {
            ((self.lp_word(off) >> 15) & 3) as u8
        }
        /// Is there an LP_UNUSED line pointer (PageGetHeapFreeSpace's confirmation of the
        /// page's hint, needed only when the array is at its limit)?
        fn has_unused_line_pointer(&self) -> bool {
            (1..=self.max_offset()).any(|o| self.lp(o).is_some_and(|lp| lp.flags == LP_UNUSED))
        }
        /// PageGetHeapFreeSpace: room for one more tuple and its line pointer, honouring
        /// the 291 line pointer limit.
        pub fn free_space(&self) -> usize {
            let nline = self.max_offset() as usize;
            let has_unused = nline >= MAX_TUPLES_PER_PAGE
                && self.flags() & PD_HAS_FREE_LINES != 0
                && self.has_unused_line_pointer();
            layout::heap_free_space(self.lower(), self.upper(), nline, has_unused)
        }
    };
}

impl<'a> Page<'a> {
    #[inline]
    pub fn new(bytes: &'a PageBytes) -> Page<'a> {
        Page(bytes)
    }
    /// A view of the first BLCKSZ bytes of `bytes`, if it is that long.
    pub fn from_slice(bytes: &'a [u8]) -> Option<Page<'a>> {
        bytes.get(..BLCKSZ)?.try_into().ok().map(Page)
    }
    #[inline]
    pub fn bytes(&self) -> &'a PageBytes {
        self.0
    }
    read_accessors!();
}

impl<'a> PageMut<'a> {
    #[inline]
    pub fn new(bytes: &'a mut PageBytes) -> PageMut<'a> {
        PageMut(bytes)
    }
    #[inline]
    pub fn as_page(&self) -> Page<'_> {
        Page(self.0)
    }
    #[inline]
    pub fn bytes(&self) -> &PageBytes {
        self.0
    }
    read_accessors!();

    /// bufpage.c's paranoia before a page's items move or grow.
    fn check_pointers(&self, special_aligned: bool) -> Result<(), PageChangeError> {
        let (lower, upper, special) = (self.lower(), self.upper(), self.special());
        if lower < PAGE_HEADER_SIZE
            || lower > upper
            || upper > special
            || special > BLCKSZ
            || (special_aligned && special != maxalign(special))
        {
            return Err(PageChangeError::CorruptedPointers {
                lower,
                upper,
                special,
            });
        }
        Ok(())
    }

    #[inline]
    fn put_u16(&mut self, at: usize, v: u16) {
        self.0[at..at + 2].copy_from_slice(&v.to_ne_bytes());
    }
    #[inline]
    fn put_u32(&mut self, at: usize, v: u32) {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }

    /// PageInit(page, BLCKSZ, glassheap's special size), then glassheap's special space.
    pub fn init(&mut self) {
        self.0.fill(0);
        self.put_u16(OFF_LOWER, PAGE_HEADER_SIZE as u16);
        self.put_u16(OFF_UPPER, SPECIAL_OFFSET as u16);
        self.put_u16(OFF_SPECIAL, SPECIAL_OFFSET as u16);
        self.put_u16(OFF_PAGESIZE_VERSION, BLCKSZ as u16 | PG_PAGE_LAYOUT_VERSION);
        self.0[SPECIAL_OFFSET..].copy_from_slice(&layout::special_bytes());
    }

    /// PageSetLSN.
    #[inline]
    pub fn set_lsn(&mut self, lsn: u64) {
        self.put_u32(OFF_LSN_HI, (lsn >> 32) as u32);
        self.put_u32(OFF_LSN_LO, lsn as u32);
    }
    #[inline]
    fn set_flag(&mut self, flag: u16, on: bool) {
        let f = self.flags();
        self.put_u16(OFF_FLAGS, if on { f | flag } else { f & !flag });
    }
    /// PageSetAllVisible.
    #[inline]
    pub fn set_all_visible(&mut self) {
        self.set_flag(PD_ALL_VISIBLE, true)
    }
    /// PageClearAllVisible.
    #[inline]
    pub fn clear_all_visible(&mut self) {
        self.set_flag(PD_ALL_VISIBLE, false)
    }
    /// PageClearFull.
    #[inline]
    pub fn clear_full(&mut self) {
        self.set_flag(PD_PAGE_FULL, false)
    }
    #[inline]
    pub fn set_prune_xid(&mut self, xid: Xid) {
        self.put_u32(OFF_PRUNE_XID, xid)
    }
    /// PageSetPrunable: remember the oldest xid that may make something prunable.
    #[inline]
    pub fn set_prunable(&mut self, xid: Xid) {
        let cur = self.prune_xid();
        if cur == 0 || xid_precedes(xid, cur) {
            self.set_prune_xid(xid);
        }
    }

    /// Writes line pointer `off`'s word; `off` must lie in the array.
    #[inline]
    fn put_lp(&mut self, off: u16, item_offset: usize, flags: u8, len: usize) {
        let at = PAGE_HEADER_SIZE + (off as usize - 1) * ITEM_ID_SIZE;
        self.put_u32(at, LinePointer::word(item_offset, flags as u32, len));
    }

    /// Line pointer `off` (in the array) points at `item_offset`; flags and length stay.
    #[inline]
    fn set_item_offset(&mut self, off: u16, item_offset: usize) {
        let lp = LinePointer::from_word(off, self.lp_word(off));
        self.put_lp(off, item_offset, lp.flags, lp.len as usize);
    }

    /// The version at `off`, writable (see `tuple`).
    #[inline]
    pub fn tuple_mut(&mut self, off: u16) -> Option<&mut [u8]> {
        let (o, len) = self.tuple_extent(off)?;
        Some(&mut self.0[o..o + len])
    }

    /// Rewrites the header of the version at `off` with `change`.
    pub fn change_header(
        &mut self,
        off: u16,
        change: impl FnOnce(&mut TupleHeader),
    ) -> Result<(), PageChangeError> {
        let max = self.max_offset();
        if off == 0 || off > max {
            return Err(PageChangeError::OffsetOutOfRange { off, max });
        }
        let t = self
            .tuple_mut(off)
            .ok_or(PageChangeError::NotNormal { off })?;
        let mut h = TupleHeader::read(t);
        change(&mut h);
        h.write(t);
        Ok(())
    }

    /// PageAddItemExtended(page, item, size, InvalidOffsetNumber, PAI_IS_HEAP): the
    /// first unused line pointer when the hint says there may be one, else a new one at
    /// the end (`layout::plan_add_item`). Returns the offset.
    pub fn add_item(&mut self, item: &[u8]) -> Result<u16, layout::AddItemError> {
        let page: &PageBytes = self.0;
        let lower = self.lower();
        let plan = layout::plan_add_item(
            lower,
            self.upper(),
            self.special(),
            self.flags() & PD_HAS_FREE_LINES != 0,
            // the array up to pd_lower, which plan_add_item checks against the page
            // before asking
            || layout::first_unused_line_pointer(page.get(PAGE_HEADER_SIZE..lower)?),
            item.len(),
        )?;
        self.put_u16(OFF_LOWER, plan.lower as u16);
        self.put_lp(plan.off, plan.upper, LP_NORMAL, item.len());
        self.0[plan.upper..plan.upper + item.len()].copy_from_slice(item);
        self.put_u16(OFF_UPPER, plan.upper as u16);
        if plan.clear_free_hint {
            self.set_flag(PD_HAS_FREE_LINES, false);
        }
        Ok(plan.off)
    }

    /// PageAddItemExtended(page, item, size, off, PAI_OVERWRITE | PAI_IS_HEAP), as redo
    /// places a version exactly where the primary did: `off` is an unused line pointer
    /// without storage, or the next one after the array.
    pub fn add_item_at(&mut self, off: u16, item: &[u8]) -> Result<(), PageChangeError> {
        self.check_pointers(false)?;
        let max = self.max_offset();
        let limit = max + 1;
        if off == 0 || off > limit || off as usize > MAX_TUPLES_PER_PAGE {
            return Err(PageChangeError::BadOffset { off, max });
        }
        if off < limit {
            let lp = self.lp(off).expect("off is within the array");
            if lp.flags != LP_UNUSED || lp.has_storage() {
                return Err(PageChangeError::InUse { off });
            }
        }
        let lower = if off == limit {
            self.lower() + ITEM_ID_SIZE
        } else {
            self.lower()
        };
        let aligned = maxalign(item.len());
        let upper = self.upper();
        if aligned > upper || lower > upper - aligned {
            return Err(PageChangeError::NoRoom {
                size: item.len(),
                free: upper.saturating_sub(lower),
            });
        }
        let at = upper - aligned;
        self.put_u16(OFF_LOWER, lower as u16);
        self.put_lp(off, at, LP_NORMAL, item.len());
        self.0[at..at + item.len()].copy_from_slice(item);
        self.put_u16(OFF_UPPER, at as u16);
        Ok(())
    }

    /// PageRepairFragmentation: the storage of every line pointer that has some is
    /// packed below the special space in line pointer order (each item's MAXALIGNed
    /// extent copied whole), LP_UNUSED line pointers are cleared, trailing ones are cut
    /// off the array, and PD_HAS_FREE_LINES says whether unused ones remain.
    pub fn repair_fragmentation(&mut self) -> Result<(), PageChangeError> {
        self.repair(true)
    }

    /// [`Self::repair_fragmentation`]; `shortcuts` false always copies the items out one
    /// by one, the general way the tests compare the shortcuts with.
    fn repair(&mut self, shortcuts: bool) -> Result<(), PageChangeError> {
        self.check_pointers(true)?;
        let (lower, upper, special) = (self.lower(), self.upper(), self.special());
        let nline = self.max_offset();
        // (offset, item offset, aligned length) of each item with storage
        let mut items: Vec<(u16, usize, usize)> = Vec::with_capacity(nline as usize);
        let mut total = 0usize;
        let mut final_used = 0u16;
        // Whether the items lie in line pointer order from the special space down, each
        // extent ending at or below the start of the one before (what inserts, HOT
        // updates and earlier compactions leave): compact_in_place's condition.
        let mut descending = true;
        let mut floor = special;
        // Whether every item's extent ends by the special space (on any page the checks
        // before a change pass): compact_through_copy's one-piece copy.
        let mut within = true;
        // LP_UNUSED line pointers, and whether any has other bits set (cleared below).
        let mut nunused = 0usize;
        let mut unused_to_clear = false;
        for off in 1..=nline {
            // check_pointers put the array inside the page: one word read each
            let lp = LinePointer::from_word(off, self.lp_word(off));
            if lp.flags == LP_UNUSED {
                nunused += 1;
                unused_to_clear |= lp.off != 0 || lp.len != 0;
                continue;
            }
            if lp.has_storage() {
                let o = lp.off as usize;
                if o < upper || o >= special {
                    return Err(PageChangeError::CorruptedLinePointer {
                        off,
                        item_offset: o,
                    });
                }
                let aligned = maxalign(lp.len as usize);
                total += aligned;
                descending &= o + aligned <= floor;
                within &= o + aligned <= special;
                floor = o;
                items.push((off, o, aligned));
            }
            final_used = off;
        }
        if !items.is_empty() && total > special - lower {
            return Err(PageChangeError::CorruptedItemLengths {
                total,
                available: special - lower,
            });
        }
        // Checks done; the page changes from here on.
        if unused_to_clear {
            for off in 1..=nline {
                if self.lp_flags(off) == LP_UNUSED {
                    self.put_lp(off, 0, LP_UNUSED, 0);
                }
            }
        }
        let new_upper = if descending && shortcuts {
            self.compact_in_place(&items, special)
        } else {
            self.compact_through_copy(&items, upper, special, total, within && shortcuts)
        };
        self.put_u16(OFF_UPPER, new_upper as u16);
        if final_used != nline {
            let cut = (nline - final_used) as usize;
            nunused -= cut;
            self.put_u16(OFF_LOWER, (lower - cut * ITEM_ID_SIZE) as u16);
        }
        self.set_flag(PD_HAS_FREE_LINES, nunused > 0);
        Ok(())
    }

    /// Packs `items` (line pointer, item offset, aligned length; in line pointer order)
    /// below `special` in that order, when every extent ends at or below the start of
    /// the one before it: each item then moves up or stays, onto bytes no later item
    /// occupies, so it is moved where it lies (heap's compactify_tuples, presorted case)
    /// and the items above the first gap are not copied at all. The bytes are those
    /// [`Self::compact_through_copy`] writes. Returns the new `pd_upper`.
    fn compact_in_place(&mut self, items: &[(u16, usize, usize)], special: usize) -> usize {
        let mut new_upper = special;
        for &(off, o, aligned) in items {
            new_upper -= aligned;
            if new_upper != o {
                self.0.copy_within(o..o + aligned, new_upper);
                self.set_item_offset(off, new_upper);
            }
        }
        new_upper
    }

    /// Packs `items` below `special` in line pointer order from a copy of the items
    /// (sources and destinations may overlap in any order): the tuple space
    /// `upper..special` in one piece when `within` (every extent ends by `special`),
    /// else item by item, as an extent may reach past another's start or the special
    /// space only on a page the checks before let through (bytes are then copied as
    /// PostgreSQL would, zeros past the page's end). Returns the new `pd_upper`.
    fn compact_through_copy(
        &mut self,
        items: &[(u16, usize, usize)],
        upper: usize,
        special: usize,
        total: usize,
        within: bool,
    ) -> usize {
        let scratch = if within {
            self.0[upper..special].to_vec()
        } else {
            let mut scratch = Vec::with_capacity(total);
            for &(_, o, aligned) in items {
                let end = (o + aligned).min(BLCKSZ);
                scratch.extend_from_slice(&self.0[o..end]);
                scratch.resize(scratch.len() + (o + aligned - end), 0);
            }
            scratch
        };
        let mut new_upper = special;
        let mut from = 0usize;
        for &(off, o, aligned) in items {
            new_upper -= aligned;
            // where the item's bytes lie in the copy
            let at = if within { o - upper } else { from };
            self.0[new_upper..new_upper + aligned].copy_from_slice(&scratch[at..at + aligned]);
            from += aligned;
            self.set_item_offset(off, new_upper);
        }
        new_upper
    }

    /// PageTruncateLinePointerArray: trailing LP_UNUSED line pointers are cut off (never
    /// the first), and PD_HAS_FREE_LINES says whether unused ones remain before them.
    /// Two passes over the array's words, each a load and a test per line pointer: VACUUM's
    /// second pass runs this on every page it frees line pointers on, most of them whole
    /// arrays of unused ones.
    pub fn truncate_line_pointer_array(&mut self) {
        let nline = self.max_offset() as usize;
        let (lps, _) =
            self.0[PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + nline * ITEM_ID_SIZE].as_chunks::<4>();
        // bits 15..17 of the word are lp_flags (ItemIdData)
        let unused = |lp: &[u8; 4]| (u32::from_ne_bytes(*lp) >> 15) & 3 == LP_UNUSED as u32;
        // The line pointers kept: through the last one in use, and at least the first.
        let keep = lps
            .iter()
            .rposition(|lp| !unused(lp))
            .map_or(nline.min(1), |last| last + 1);
        let hint = lps[..keep].iter().any(unused);
        if keep < nline {
            self.put_u16(OFF_LOWER, (PAGE_HEADER_SIZE + keep * ITEM_ID_SIZE) as u16);
        }
        self.set_flag(PD_HAS_FREE_LINES, hint);
    }

    /// What `wal_consistency_checking` compares (bufmask.c's mask_page_lsn_and_checksum,
    /// mask_page_hint_bits and mask_unused_space, then each version's header hints,
    /// command id and speculative token, and the alignment padding after it, which is
    /// never logged): the primary's page and its replay must be equal after this.
    pub fn mask_for_consistency_check(&mut self) -> Result<(), PageChangeError> {
        let (lower, upper, special) = (self.lower(), self.upper(), self.special());
        if lower > upper || special < upper || lower < PAGE_HEADER_SIZE || special > BLCKSZ {
            return Err(PageChangeError::CorruptedPointers {
                lower,
                upper,
                special,
            });
        }
        self.set_lsn(0);
        self.put_u16(8, 0);
        self.set_prune_xid(0);
        self.set_flag(PD_PAGE_FULL | PD_HAS_FREE_LINES | PD_ALL_VISIBLE, false);
        self.0[lower..upper].fill(0);
        for off in 1..=self.max_offset() {
            let Some(lp) = self.lp(off) else { break };
            let (o, len) = (lp.off as usize, lp.len as usize);
            if lp.flags != LP_NORMAL || len < HEADER_SIZE || o + len > BLCKSZ {
                continue;
            }
            let t = &mut self.0[o..o + len];
            let mut h = TupleHeader::read(t);
            crate::transition::mask(&mut h);
            h.write(t);
            let end = (o + maxalign(len)).min(BLCKSZ);
            self.0[o + len..end].fill(0);
        }
        Ok(())
    }

    /// Sets line pointer states as a PRUNE record says (redirects, dead, unused), then
    /// defragments. Every named offset is checked before anything changes.
    pub fn apply_prune(&mut self, p: &PruneBlock) -> Result<(), PageChangeError> {
        self.check_pointers(true)?;
        let max = self.max_offset();
        let named = p
            .redirected
            .iter()
            .map(|r| r.0)
            .chain(p.dead.iter().copied())
            .chain(p.unused.iter().copied());
        for off in named {
            if off == 0 || off > max {
                return Err(PageChangeError::OffsetOutOfRange { off, max });
            }
        }
        for &(from, to) in &p.redirected {
            self.put_lp(from, to as usize, LP_REDIRECT, 0);
        }
        for &d in &p.dead {
            self.put_lp(d, 0, LP_DEAD, 0);
        }
        for &u in &p.unused {
            self.put_lp(u, 0, LP_UNUSED, 0);
        }
        self.repair_fragmentation()
    }

    /// VACUUM's second pass: LP_DEAD line pointers whose index entries are gone become
    /// LP_UNUSED, then the array's unused tail is cut off.
    pub fn set_unused(&mut self, offs: &[u16]) -> Result<(), PageChangeError> {
        let max = self.max_offset();
        let array = PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + max as usize * ITEM_ID_SIZE;
        // Every named line pointer is checked before the first changes, each with one
        // bounds test and one word read: this runs for every dead item VACUUM frees.
        let (lps, _) = self.0[array.clone()].as_chunks::<4>();
        for &off in offs {
            let Some(lp) = off.checked_sub(1).and_then(|i| lps.get(i as usize)) else {
                return Err(PageChangeError::OffsetOutOfRange { off, max });
            };
            if (u32::from_ne_bytes(*lp) >> 15) & 3 != LP_DEAD as u32 {
                return Err(PageChangeError::NotDead { off });
            }
        }
        // LP_UNUSED with no offset and no length is the all-zero word.
        let (lps, _) = self.0[array].as_chunks_mut::<4>();
        for &off in offs {
            lps[off as usize - 1] = [0; 4];
        }
        self.truncate_line_pointer_array();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) use crate::testpages::{fresh, same_after_mask};

    fn item(len: usize, fill: u8) -> Vec<u8> {
        let mut v = vec![fill; len];
        v[..HEADER_SIZE]
            .copy_from_slice(&TupleHeader::new_insert(fill as u32 + 3, 0, 1, false).to_bytes());
        v
    }

    #[test]
    fn init_matches_page_init_and_special() {
        let b = fresh();
        let p = Page::new(&b);
        assert_eq!((p.lower(), p.upper(), p.special()), (24, 8184, 8184));
        assert_eq!(u16::from_ne_bytes([b[18], b[19]]), 0x2004);
        assert!(p.is_glassheap());
        assert_eq!(p.max_offset(), 0);
        assert_eq!(p.free_space(), 8156);
    }

    #[test]
    fn add_then_read_back() {
        let mut b = fresh();
        let mut p = PageMut::new(&mut b);
        assert_eq!(p.add_item(&item(30, 1)), Ok(1));
        assert_eq!(p.add_item(&item(17, 2)), Ok(2));
        assert_eq!(p.upper(), 8184 - 32 - 24);
        assert_eq!(p.tuple(2).unwrap(), &item(17, 2)[..]);
        assert_eq!(p.tuple_header(1).unwrap().xmin, 4);
        p.change_header(1, |h| h.xmax = 9).unwrap();
        assert_eq!(p.tuple_header(1).unwrap().xmax, 9);
        assert_eq!(
            p.change_header(3, |_| {}),
            Err(PageChangeError::OffsetOutOfRange { off: 3, max: 2 })
        );
    }

    #[test]
    fn add_at_refuses_used_and_far_offsets() {
        let mut b = fresh();
        let mut p = PageMut::new(&mut b);
        p.add_item_at(1, &item(20, 1)).unwrap();
        assert_eq!(
            p.add_item_at(1, &item(20, 1)),
            Err(PageChangeError::InUse { off: 1 })
        );
        assert_eq!(
            p.add_item_at(3, &item(20, 1)),
            Err(PageChangeError::BadOffset { off: 3, max: 1 })
        );
        p.add_item_at(2, &item(20, 2)).unwrap();
        assert_eq!(p.max_offset(), 2);
    }

    #[test]
    fn prune_packs_in_line_pointer_order_and_truncates() {
        let mut b = fresh();
        let mut p = PageMut::new(&mut b);
        for i in 0..5u8 {
            p.add_item(&item(24 + i as usize, i + 1)).unwrap();
        }
        let before: Vec<Vec<u8>> = (1..=5).map(|o| p.tuple(o).unwrap().to_vec()).collect();
        p.apply_prune(&PruneBlock {
            latest_removed_xid: 0,
            redirected: vec![(1, 3)],
            dead: vec![2],
            unused: vec![4, 5],
        })
        .unwrap();
        // 4 and 5 were the tail: cut off; 3 keeps its bytes, packed at the end.
        assert_eq!(p.max_offset(), 3);
        assert_eq!(p.tuple(3).unwrap(), &before[2][..]);
        assert_eq!(p.lp(3).unwrap().off as usize, 8184 - 32);
        assert_eq!(p.upper(), 8184 - 32);
        assert_eq!(p.flags() & PD_HAS_FREE_LINES, 0);
        assert_eq!(p.lp(1).unwrap().flags, LP_REDIRECT);
        assert_eq!(p.lp(2).unwrap().flags, LP_DEAD);
        // VACUUM: 2 becomes unused, and stays (3 is used after it).
        p.set_unused(&[2]).unwrap();
        assert_eq!(p.max_offset(), 3);
        assert_ne!(p.flags() & PD_HAS_FREE_LINES, 0);
        assert_eq!(p.set_unused(&[3]), Err(PageChangeError::NotDead { off: 3 }));
    }

    #[test]
    fn defragmenting_clears_stray_bits_of_unused_line_pointers() {
        let mut b = fresh();
        let mut p = PageMut::new(&mut b);
        for i in 0..3u8 {
            p.add_item(&item(24, i + 1)).unwrap();
        }
        // line pointer 2 unused, but with an offset and a length left in it
        p.put_u32(
            PAGE_HEADER_SIZE + ITEM_ID_SIZE,
            LinePointer::word(8000, 0, 24),
        );
        p.repair_fragmentation().unwrap();
        assert_eq!(p.lp_word(2), 0);
        assert_ne!(p.flags() & PD_HAS_FREE_LINES, 0);
        assert_eq!(p.max_offset(), 3);
        // and an all-zero one is left as it is, with the hint set the same way
        p.repair_fragmentation().unwrap();
        assert_eq!(p.lp_word(2), 0);
        assert_ne!(p.flags() & PD_HAS_FREE_LINES, 0);
    }

    #[test]
    fn pruning_leaves_dead_items_then_pagecheck_finds_none_in_use() {
        let mut b = fresh();
        let mut p = PageMut::new(&mut b);
        assert_eq!(crate::pagecheck::check_page_in_use(&p.0[..]), Ok(false));
        for i in 0..4u8 {
            p.add_item(&item(24, i + 1)).unwrap();
        }
        assert_eq!(crate::pagecheck::check_page_in_use(&p.0[..]), Ok(true));
        assert_eq!(p.lp_flags(1), LP_NORMAL);
        // 1 redirects to 2, 3 and 4 dead: the redirect and its target remain
        p.apply_prune(&PruneBlock {
            latest_removed_xid: 0,
            redirected: vec![(1, 2)],
            dead: vec![3, 4],
            unused: vec![],
        })
        .unwrap();
        assert_eq!(
            (1..=4).map(|o| p.lp_flags(o)).collect::<Vec<_>>(),
            vec![LP_REDIRECT, LP_NORMAL, LP_DEAD, LP_DEAD]
        );
        assert_eq!(crate::pagecheck::check_page_in_use(&p.0[..]), Ok(true));
        // the redirect's chain dies: only LP_DEAD items are left
        p.apply_prune(&PruneBlock {
            latest_removed_xid: 0,
            redirected: vec![],
            dead: vec![1],
            unused: vec![2],
        })
        .unwrap();
        assert_eq!(
            (1..=p.max_offset())
                .map(|o| p.lp_flags(o))
                .collect::<Vec<_>>(),
            vec![LP_DEAD, LP_UNUSED, LP_DEAD, LP_DEAD]
        );
        assert_eq!(crate::pagecheck::check_page_in_use(&b[..]), Ok(false));
    }

    #[test]
    fn damaged_pointers_change_nothing() {
        let mut b = fresh();
        let mut p = PageMut::new(&mut b);
        p.add_item(&item(40, 1)).unwrap();
        p.put_u16(OFF_UPPER, 8190);
        let copy = *p.bytes();
        assert!(matches!(
            p.repair_fragmentation(),
            Err(PageChangeError::CorruptedPointers { .. })
        ));
        assert!(p.add_item_at(2, &item(20, 1)).is_err());
        assert_eq!(&copy[..], &p.bytes()[..]);
    }

    /// One randomly chosen change to a page.
    #[derive(Debug, Clone)]
    pub(crate) enum Op {
        Add(usize, u8),
        Prune(Vec<u8>),
        Vacuum,
    }

    pub(crate) fn ops() -> impl Strategy<Value = Vec<Op>> {
        proptest::collection::vec(
            prop_oneof![
                6 => (16usize..400, any::<u8>()).prop_map(|(l, f)| Op::Add(l, f)),
                1 => proptest::collection::vec(0u8..4, 0..64).prop_map(Op::Prune),
                1 => Just(Op::Vacuum),
            ],
            1..80,
        )
    }

    /// Applies `op` to `p` the way the write path would, returning the redo-level
    /// description: (offset, item) for adds, a PRUNE plan, a VACUUM list.
    pub(crate) enum Logged {
        Add(u16, Vec<u8>),
        Prune(PruneBlock),
        Vacuum(Vec<u16>),
        Nothing,
    }

    pub(crate) fn apply_op(p: &mut PageMut<'_>, op: &Op) -> Logged {
        match op {
            Op::Add(len, fill) => {
                let it = item(*len, *fill);
                match p.add_item(&it) {
                    Ok(off) => Logged::Add(off, it),
                    Err(_) => Logged::Nothing,
                }
            }
            Op::Prune(choices) => {
                // Only normal items are pruned; a choice per offset: keep, dead,
                // unused, or redirect to the next normal item.
                let max = p.max_offset();
                let mut plan = PruneBlock {
                    latest_removed_xid: 0,
                    redirected: vec![],
                    dead: vec![],
                    unused: vec![],
                };
                let choice = |off: u16| choices.get(off as usize - 1).copied().unwrap_or(0);
                // As in a real HOT chain, a redirect's target stays a normal item:
                // targets (old and new) are never pruned.
                let mut targets: Vec<u16> = (1..=max)
                    .filter_map(|o| {
                        p.lp(o)
                            .filter(|lp| lp.flags == LP_REDIRECT)
                            .map(|lp| lp.off)
                    })
                    .collect();
                let normal = |o: u16| p.lp(o).unwrap().flags == LP_NORMAL;
                for off in 1..=max {
                    if !normal(off) || targets.contains(&off) {
                        continue;
                    }
                    match choice(off) {
                        1 => plan.dead.push(off),
                        2 => plan.unused.push(off),
                        3 => {
                            if let Some(t) = (off + 1..=max).find(|&o| normal(o) && choice(o) == 0)
                            {
                                plan.redirected.push((off, t));
                                targets.push(t);
                            }
                        }
                        _ => {}
                    }
                }
                if plan.is_empty() {
                    return Logged::Nothing;
                }
                p.apply_prune(&plan).unwrap();
                Logged::Prune(plan)
            }
            Op::Vacuum => {
                let dead: Vec<u16> = (1..=p.max_offset())
                    .filter(|&o| p.lp(o).unwrap().flags == LP_DEAD)
                    .collect();
                if dead.is_empty() {
                    return Logged::Nothing;
                }
                p.set_unused(&dead).unwrap();
                Logged::Vacuum(dead)
            }
        }
    }

    proptest! {
        /// Replaying what the write path did (items at their offsets, the prune plans,
        /// VACUUM's lists) on a page that started equal gives the same bytes, and the
        /// page stays consistent throughout.
        #[test]
        fn write_then_replay_is_identical(ops in ops()) {
            let mut primary = fresh();
            let mut standby = fresh();
            for op in &ops {
                let logged = apply_op(&mut PageMut::new(&mut primary), op);
                let mut s = PageMut::new(&mut standby);
                match logged {
                    Logged::Add(off, it) => s.add_item_at(off, &it).unwrap(),
                    Logged::Prune(plan) => s.apply_prune(&plan).unwrap(),
                    Logged::Vacuum(offs) => s.set_unused(&offs).unwrap(),
                    Logged::Nothing => {}
                }
                let p = Page::new(&primary);
                prop_assert!(crate::pagecheck::check_page_for_change(&primary[..]).is_ok());
                prop_assert!(p.lower() <= p.upper());
                prop_assert_eq!(same_after_mask(&primary, &standby), Ok(()));
            }
        }

        /// Defragmenting keeps every item's bytes, leaves no gap between them, and never
        /// touches the header's other fields or the special space.
        #[test]
        fn repair_keeps_items(ops in ops()) {
            let mut b = fresh();
            let mut p = PageMut::new(&mut b);
            for op in &ops { apply_op(&mut p, op); }
            let before: Vec<(u16, Option<Vec<u8>>)> =
                (1..=p.max_offset()).map(|o| (o, p.tuple(o).map(|t| t.to_vec()))).collect();
            let special = p.bytes()[SPECIAL_OFFSET..].to_vec();
            p.repair_fragmentation().unwrap();
            let mut expect_upper = SPECIAL_OFFSET;
            for (o, t) in before {
                if let Some(t) = t {
                    prop_assert_eq!(p.tuple(o).unwrap(), &t[..]);
                    expect_upper -= maxalign(t.len());
                    prop_assert_eq!(p.lp(o).unwrap().off as usize, expect_upper);
                }
            }
            prop_assert_eq!(p.upper(), expect_upper);
            prop_assert_eq!(&p.bytes()[SPECIAL_OFFSET..], &special[..]);
        }

        /// Moving the items where they lie (pages whose items descend in line pointer
        /// order) and copying the tuple space out in one piece (the others) write the
        /// same bytes as copying the items out one by one, on every page the write path
        /// makes and after each of its prunes.
        #[test]
        fn compaction_shortcuts_write_what_copying_writes(ops in ops()) {
            let mut b = fresh();
            for op in &ops {
                apply_op(&mut PageMut::new(&mut b), op);
                let mut in_place = b.clone();
                let mut copied = b.clone();
                PageMut::new(&mut in_place).repair(true).unwrap();
                PageMut::new(&mut copied).repair(false).unwrap();
                prop_assert!(in_place[..] == copied[..]);
            }
        }

        /// VACUUM's second pass (`set_unused`, with its truncation of the array) does
        /// what the loops it replaced did, byte for byte and error for error, on any
        /// line pointer array and any list of offsets: valid lists of dead ones, and
        /// lists naming offset 0, offsets past the array or line pointers in use.
        #[test]
        fn set_unused_matches_line_pointer_loops(
            words in proptest::collection::vec((0u32..4, any::<bool>(), any::<u16>()), 0..=40),
            picks in proptest::collection::vec(0u16..48, 0..12),
            only_dead in any::<bool>(),
            free_hint in any::<bool>(),
        ) {
            let mut b = fresh();
            let n = words.len();
            for (i, &(flags, stray, bits)) in words.iter().enumerate() {
                // offset and length are free: only the flags matter here, and stray
                // bits on unused line pointers must survive unless the line is cut
                let w = LinePointer::word(
                    if stray || flags != LP_UNUSED as u32 { (bits & 0x7fff) as usize } else { 0 },
                    flags,
                    if stray { (bits >> 1) as usize } else { 0 },
                );
                let at = PAGE_HEADER_SIZE + i * ITEM_ID_SIZE;
                b[at..at + ITEM_ID_SIZE].copy_from_slice(&w.to_ne_bytes());
            }
            b[12..14].copy_from_slice(&((PAGE_HEADER_SIZE + n * ITEM_ID_SIZE) as u16).to_ne_bytes());
            PageMut::new(&mut b).set_flag(PD_HAS_FREE_LINES, free_hint);
            let offs: Vec<u16> = if only_dead {
                (1..=n as u16).filter(|&o| words[o as usize - 1].0 == LP_DEAD as u32).collect()
            } else {
                picks
            };
            let mut reference = b.clone();
            let got = PageMut::new(&mut b).set_unused(&offs);
            let want = set_unused_reference(&mut PageMut::new(&mut reference), &offs);
            prop_assert_eq!(got, want);
            prop_assert!(b[..] == reference[..]);
        }
    }

    /// `set_unused` and `truncate_line_pointer_array` as they were written first, one
    /// line pointer at a time: the reference for the property test above.
    fn set_unused_reference(p: &mut PageMut, offs: &[u16]) -> Result<(), PageChangeError> {
        let max = p.max_offset();
        for &off in offs {
            if off == 0 || off > max {
                return Err(PageChangeError::OffsetOutOfRange { off, max });
            }
            if (p.lp_word(off) >> 15) & 3 != LP_DEAD as u32 {
                return Err(PageChangeError::NotDead { off });
            }
        }
        let unused = LinePointer::word(0, LP_UNUSED as u32, 0);
        for &off in offs {
            let at = PAGE_HEADER_SIZE + (off as usize - 1) * ITEM_ID_SIZE;
            p.put_u32(at, unused);
        }
        let nline = p.max_offset();
        let mut cut = 0usize;
        let mut counting = true;
        let mut hint = false;
        for off in (1..=nline).rev() {
            let unused = (p.lp_word(off) >> 15) & 3 == LP_UNUSED as u32;
            if counting && off > 1 {
                if unused {
                    cut += 1;
                } else {
                    counting = false;
                }
            } else if unused {
                hint = true;
                break;
            }
        }
        if cut > 0 {
            let lower = p.lower() - cut * ITEM_ID_SIZE;
            p.put_u16(OFF_LOWER, lower as u16);
        }
        p.set_flag(PD_HAS_FREE_LINES, hint);
        Ok(())
    }
}
