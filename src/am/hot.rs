//! Same-page update chains on a pinned, locked page (the rules are in
//! `glassheap_format::hot`): walking from an index entry's root to the version a
//! snapshot sees (heap_hot_search_buffer), and summarising a page for pruning and for
//! finding each version's root (heap_get_root_tuples).

use super::visibility::{update_xid_of, Oracle, TupleLoc};
use crate::pg::page::{read_header, PageRef, LP_DEAD, LP_NORMAL, LP_REDIRECT};
use glassheap_format::hot::{Item, Member};
use glassheap_format::tuple::{TupleFlags, TupleHeader, HEADER_SIZE};
use glassheap_format::visibility::Htsv;
use glassheap_format::{layout, Xid};
use pgrx::pg_sys;

/// The same-page successor link a version can be followed through, and its updater's
/// xid: heap's HeapTupleHeaderIsHotUpdated (which also ignores versions whose updater or
/// inserter is known to have aborted). Whether the successor really is a heap-only
/// version of that updater is checked when stepping onto it.
pub fn hot_link(h: &TupleHeader, o: &mut Oracle) -> Option<(u16, Xid)> {
    if !h.has_next()
        || h.has(TupleFlags::NEXT_ON_OTHER_PAGE)
        || h.xmax_invalid()
        || (h.xmin_invalid() && !h.xmin_committed())
    {
        return None;
    }
    Some((h.next_off(), update_xid_of(h, o)))
}

/// Walks the chain an index entry stands for.
pub struct ChainWalk {
    off: u16,
    at_start: bool,
    via_redirect: bool,
    prior_xmax: Option<Xid>,
    steps: u16,
    loc: TupleLoc,
}

/// One version of a chain: offset, tuple pointer, length, header.
pub struct ChainMember {
    pub off: u16,
    pub ptr: *mut u8,
    pub len: usize,
    pub header: TupleHeader,
}

impl ChainWalk {
    /// From an index entry's line pointer (the chain's root).
    pub fn from_root(
        rnode: crate::pg::compat::RelFileLocator,
        blk: pg_sys::BlockNumber,
        off: u16,
    ) -> Self {
        ChainWalk {
            off,
            at_start: true,
            via_redirect: false,
            prior_xmax: None,
            steps: 0,
            loc: TupleLoc { rnode, blk, off },
        }
    }

    /// Continuing after `off`, a member returned by an earlier walk (call_again).
    pub fn after_member(
        page: PageRef,
        rnode: crate::pg::compat::RelFileLocator,
        blk: pg_sys::BlockNumber,
        off: u16,
    ) -> Self {
        let mut w = ChainWalk::from_root(rnode, blk, off);
        w.at_start = false;
        w.off = 0;
        if let Some((ptr, _)) = page.tuple_ptr(off) {
            // SAFETY: a bounds-checked tuple on the caller's locked page.
            let h = unsafe { read_header(ptr) };
            w.follow(&h, off);
        }
        w
    }

    fn follow(&mut self, h: &TupleHeader, off: u16) {
        self.loc.off = off;
        let mut o = Oracle::new(std::ptr::null_mut(), self.loc);
        if let Some((next, updater)) = hot_link(h, &mut o) {
            self.off = next;
            self.prior_xmax = Some(updater);
        }
    }

    /// The next member, or None at the chain's end. The caller holds at least a share
    /// lock on the page for as long as it uses the returned pointer.
    pub fn next(&mut self, page: PageRef) -> Option<ChainMember> {
        loop {
            let off = std::mem::take(&mut self.off);
            self.steps += 1;
            if off == 0 || off > page.max_offset() || self.steps > page.max_offset() + 1 {
                return None;
            }
            let (flags, to, len) = page.lp(off);
            if flags == LP_REDIRECT {
                if !self.at_start {
                    return None; // only a root may redirect
                }
                self.at_start = false;
                self.via_redirect = true;
                self.off = to as u16;
                continue;
            }
            if flags != LP_NORMAL || len < HEADER_SIZE || to + len > layout::SPECIAL_OFFSET {
                return None;
            }
            let ptr = page.item(off);
            // SAFETY: bounds checked just above; the page is locked by the caller.
            let h = unsafe { read_header(ptr) };
            let heap_only = h.has(TupleFlags::HEAP_ONLY);
            // An index entry never points at a heap-only version: the slot was reused.
            if self.at_start && heap_only {
                return None;
            }
            if (self.via_redirect || self.prior_xmax.is_some()) && !heap_only {
                return None;
            }
            if self.prior_xmax.is_some_and(|x| x != h.xmin) {
                return None;
            }
            self.at_start = false;
            self.via_redirect = false;
            self.prior_xmax = None;
            self.follow(&h, off);
            return Some(ChainMember {
                off,
                ptr,
                len,
                header: h,
            });
        }
    }
}

/// Summarises a locked page's line pointers for `glassheap_format::hot`. `status` gives
/// each version's vacuum status (and may set hint bits) from its offset and tuple;
/// finding roots passes one that says Live for all. Generic rather than a `dyn`
/// callback, so that pruning's status test is inlined into this loop: it runs for every
/// version of every page pruned.
pub fn page_items(
    page: PageRef,
    rnode: crate::pg::compat::RelFileLocator,
    blk: pg_sys::BlockNumber,
    mut status: impl FnMut(u16, *mut u8) -> Htsv,
) -> Vec<Item> {
    let max = page.max_offset();
    let mut items = Vec::with_capacity(max as usize);
    for off in 1..=max {
        let (flags, to, len) = page.lp(off);
        let item = match flags {
            LP_NORMAL if len < HEADER_SIZE || to + len > layout::SPECIAL_OFFSET => Item::Broken,
            LP_NORMAL => {
                let ptr = page.item(off);
                // SAFETY: bounds checked above; the caller holds the page's lock.
                let st = status(off, ptr);
                // SAFETY: as above; read after any hint bits the status set.
                let h = unsafe { read_header(ptr) };
                let mut o = Oracle::new(std::ptr::null_mut(), TupleLoc { rnode, blk, off });
                Item::Normal(Member {
                    heap_only: h.has(TupleFlags::HEAP_ONLY),
                    xmin: h.xmin,
                    next: hot_link(&h, &mut o),
                    status: st,
                })
            }
            LP_REDIRECT => Item::Redirect(to as u16),
            LP_DEAD => Item::Dead,
            _ => Item::Unused,
        };
        items.push(item);
    }
    items
}

/// The root line pointer of every version on a locked page (0 = none reaches it).
pub fn root_offsets(
    page: PageRef,
    rnode: crate::pg::compat::RelFileLocator,
    blk: pg_sys::BlockNumber,
) -> Vec<u16> {
    glassheap_format::hot::root_offsets(&page_items(page, rnode, blk, |_, _| Htsv::Live))
}

/// heap's HeapTupleIsHotUpdated for the version at `off` on a locked page: updated by a
/// transaction not known to have aborted, and the successor is that updater's heap-only
/// version on this page.
pub fn is_hot_updated(
    page: PageRef,
    rnode: crate::pg::compat::RelFileLocator,
    blk: pg_sys::BlockNumber,
    off: u16,
    h: &TupleHeader,
) -> bool {
    let mut o = Oracle::new(std::ptr::null_mut(), TupleLoc { rnode, blk, off });
    let Some((next, updater)) = hot_link(h, &mut o) else {
        return false;
    };
    page.tuple_ptr(next).is_some_and(|(ptr, _)| {
        // SAFETY: a bounds-checked tuple on the caller's locked page.
        let s = unsafe { read_header(ptr) };
        s.has(TupleFlags::HEAP_ONLY) && s.xmin == updater
    })
}
