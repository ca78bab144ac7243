//! The pure half of CLUSTER / VACUUM FULL (the table AM's `relation_copy_for_cluster`),
//! after heap's rewriteheap.c:
//!
//! - [`PageBuilder`] fills new glassheap pages in memory, in order, the way heap's
//!   `raw_heap_insert` fills `rs_buffer`: a page is closed when the next tuple plus the
//!   fillfactor reserve does not fit, or when it has 291 line pointers.
//! - [`ChainMap`] keeps update chains intact while the versions of a row land at new
//!   TIDs in whatever order the scan (physical, index or sort order) meets them. A kept
//!   version whose newer version was not written yet waits ("unresolved"); a version
//!   written before its predecessor leaves its new TID behind ("old to new"). Both tables
//!   are keyed by (xmin of the newer version, its old TID), as heap's are.
//! - [`copy_header`] turns the old version's header into the copy's: the transaction
//!   fields and hint bits stay, the forward link and the heap-only flag do not (the copy's
//!   link is set when its newer version's new TID is known; every copy gets index
//!   entries of its own).
//!
//! The AM side (`src/am/cluster.rs`) reads the old table, classifies every version,
//! freezes, and writes the finished pages with `log_newpage`.

use crate::layout::{self, ITEM_ID_SIZE, MAX_TUPLES_PER_PAGE, SPECIAL_OFFSET, SPECIAL_SIZE};
use crate::tuple::{maxalign, TupleFlags, TupleHeader, NEXT_NONE};
use crate::{xid_is_normal, xid_precedes, Xid, BLCKSZ, PAGE_HEADER_SIZE};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// A TID: (block, offset).
pub type Tid = (u32, u16);

/// A page-sized buffer aligned like PostgreSQL's PGAlignedBlock, so checksum and smgr
/// code may read it as words.
#[repr(C, align(8))]
pub struct PageBuf(pub [u8; BLCKSZ]);

/// heap's pd_pagesize_version for 8 kB pages, layout version 4.
const PAGESIZE_VERSION: u16 = BLCKSZ as u16 | 4;

/// An empty glassheap page being filled with tuples.
pub struct PageBuilder {
    page: Box<PageBuf>,
    nitems: u16,
    lower: usize,
    upper: usize,
}

impl Default for PageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PageBuilder {
    pub fn new() -> PageBuilder {
        let mut b = PageBuilder {
            page: Box::new(PageBuf([0u8; BLCKSZ])),
            nitems: 0,
            lower: PAGE_HEADER_SIZE,
            upper: SPECIAL_OFFSET,
        };
        b.reset();
        b
    }

    /// PageInit with glassheap's special space.
    pub fn reset(&mut self) {
        let p = &mut self.page.0;
        p.fill(0);
        self.nitems = 0;
        self.lower = PAGE_HEADER_SIZE;
        self.upper = SPECIAL_OFFSET;
        p[16..18].copy_from_slice(&(SPECIAL_OFFSET as u16).to_ne_bytes());
        p[18..20].copy_from_slice(&PAGESIZE_VERSION.to_ne_bytes());
        p[SPECIAL_OFFSET..SPECIAL_OFFSET + SPECIAL_SIZE].copy_from_slice(&layout::special_bytes());
        self.write_bounds();
    }

    fn write_bounds(&mut self) {
        let p = &mut self.page.0;
        p[12..14].copy_from_slice(&(self.lower as u16).to_ne_bytes());
        p[14..16].copy_from_slice(&(self.upper as u16).to_ne_bytes());
    }

    pub fn is_empty(&self) -> bool {
        self.nitems == 0
    }

    pub fn len(&self) -> usize {
        self.nitems as usize
    }

    /// PageGetHeapFreeSpace of the page as it is now.
    pub fn free_space(&self) -> usize {
        layout::heap_free_space(self.lower, self.upper, self.nitems as usize, false)
    }

    /// raw_heap_insert's test: does a tuple of `len` bytes go on this page, keeping
    /// `reserve` bytes free (the fillfactor)? An empty page takes any tuple that fits on
    /// a page at all, as heap's fresh page does.
    pub fn fits(&self, len: usize, reserve: usize) -> bool {
        if self.is_empty() {
            return len <= layout::MAX_TUPLE_SIZE;
        }
        len + reserve <= self.free_space()
            && maxalign(len) + ITEM_ID_SIZE <= self.upper - self.lower
    }

    /// The offset the next [`PageBuilder::add`] will use.
    pub fn next_offset(&self) -> u16 {
        self.nitems + 1
    }

    /// PageAddItem at the next offset. Panics if it does not fit (callers ask
    /// [`PageBuilder::fits`] first).
    pub fn add(&mut self, tuple: &[u8]) -> u16 {
        let aligned = maxalign(tuple.len());
        assert!(
            (self.nitems as usize) < MAX_TUPLES_PER_PAGE
                && aligned + ITEM_ID_SIZE <= self.upper - self.lower,
            "tuple of {} bytes does not fit on the page",
            tuple.len()
        );
        let upper = self.upper - aligned;
        self.page.0[upper..upper + tuple.len()].copy_from_slice(tuple);
        // ItemIdData: lp_off:15, lp_flags:2 (LP_NORMAL = 1), lp_len:15.
        let word: u32 = (upper as u32 & 0x7FFF) | (1 << 15) | ((tuple.len() as u32) << 17);
        let at = self.lower;
        self.page.0[at..at + ITEM_ID_SIZE].copy_from_slice(&word.to_ne_bytes());
        self.lower += ITEM_ID_SIZE;
        self.upper = upper;
        self.nitems += 1;
        self.write_bounds();
        self.nitems
    }

    /// The tuple bytes at `off` (1-based), for changes after placement.
    pub fn tuple_mut(&mut self, off: u16) -> &mut [u8] {
        assert!(off >= 1 && off <= self.nitems);
        let at = PAGE_HEADER_SIZE + (off as usize - 1) * ITEM_ID_SIZE;
        let w = u32::from_ne_bytes(self.page.0[at..at + 4].try_into().unwrap());
        let (o, l) = ((w & 0x7FFF) as usize, (w >> 17) as usize);
        &mut self.page.0[o..o + l]
    }

    /// PageSetPrunable: remember the oldest xid that deleted or updated a version here.
    pub fn set_prunable(&mut self, xid: Xid) {
        if !xid_is_normal(xid) {
            return;
        }
        let cur = u32::from_ne_bytes(self.page.0[20..24].try_into().unwrap());
        if cur == 0 || xid_precedes(xid, cur) {
            self.page.0[20..24].copy_from_slice(&xid.to_ne_bytes());
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.page.0
    }

    /// The page for smgr / WAL calls (they set the LSN and checksum in place).
    pub fn page_mut(&mut self) -> &mut PageBuf {
        &mut self.page
    }
}

/// The copy's header: the old version's transaction fields (xmin, xmax, command id word,
/// xmax mode, hint bits, multi and combo flags), with `natts` and the null flag of the
/// newly formed tuple (which has every attribute of the new descriptor), no forward link
/// and no heap-only flag. `raw_cid` is the command id word (the old `aux` when it held
/// one, else what the backend's cid map kept, else 0).
pub fn copy_header(old: &TupleHeader, formed: &TupleHeader, raw_cid: u32) -> TupleHeader {
    let mut h = *formed;
    h.xmin = old.xmin;
    h.xmax = old.xmax;
    h.aux = raw_cid;
    h.set_xmax_mode(
        crate::tuple::XmaxMode::from_bits(old.xmax_mode_bits())
            .unwrap_or(crate::tuple::XmaxMode::Update),
    );
    h.set_next_off(NEXT_NONE);
    let keep = old.flags()
        - (TupleFlags::HAS_NULLS | TupleFlags::HEAP_ONLY | TupleFlags::NEXT_ON_OTHER_PAGE);
    h.clear_flags(TupleFlags::all() - TupleFlags::HAS_NULLS);
    h.set_flags(keep);
    h
}

/// Points `h`, placed at block `own_block`, at its newer version `next`. Returns the
/// command id word the header no longer holds (the newer version is on another page, so
/// `aux` takes its block number) -- the caller keeps it in the backend's cid map when it
/// matters.
pub fn set_forward(h: &mut TupleHeader, own_block: u32, next: Tid) -> Option<u32> {
    h.set_next_off(next.1);
    if next.0 == own_block {
        h.clear_flags(TupleFlags::NEXT_ON_OTHER_PAGE);
        None
    } else {
        let cid = h.aux;
        h.set_flags(TupleFlags::NEXT_ON_OTHER_PAGE);
        h.aux = next.0;
        Some(cid)
    }
}

/// Old-to-new TID bookkeeping for update chains (rewriteheap.c's rs_unresolved_tups and
/// rs_old_new_tid_map). `T` is whatever the caller needs to write a version later.
pub struct ChainMap<T> {
    /// (xmin of the newer version, its old TID) -> the version waiting for it.
    unresolved: HashMap<(Xid, Tid), Waiting<T>>,
    /// (xmin, old TID) of a written version that may be some version's successor ->
    /// its new TID.
    old_new: HashMap<(Xid, Tid), Tid>,
}

struct Waiting<T> {
    xmin: Xid,
    old_tid: Tid,
    may_be_successor: bool,
    payload: T,
}

impl<T> Default for ChainMap<T> {
    fn default() -> Self {
        ChainMap {
            unresolved: HashMap::new(),
            old_new: HashMap::new(),
        }
    }
}

/// A kept version handed to [`ChainMap::keep`].
pub struct Kept<T> {
    /// The version's xmin (raw, as on the old page).
    pub xmin: Xid,
    pub old_tid: Tid,
    /// (update xid, old TID of the newer version) when the version was updated and
    /// its updater did not abort.
    pub successor: Option<(Xid, Tid)>,
    /// Can this version be some kept version's successor? heap asks "is it an updated
    /// version whose xmin does not precede OldestXmin" (an older xmin means the
    /// predecessor's deleter committed before OldestXmin: the predecessor is dead).
    /// glassheap has no "updated" flag, so callers pass the xmin test only; a version
    /// that is nobody's successor then just leaves an unused map entry.
    pub may_be_successor: bool,
    pub payload: T,
}

impl<T> ChainMap<T> {
    pub fn new() -> ChainMap<T> {
        Self::default()
    }

    /// rewrite_heap_tuple: writes `k` now (through `write`, which gets the new TID of
    /// the newer version to link to, if known, and returns where the version went) or
    /// holds it until its newer version is written; then writes every held predecessor
    /// that this write resolves, in turn.
    pub fn keep<W>(&mut self, k: Kept<T>, mut write: W)
    where
        W: FnMut(T, Option<Tid>) -> Tid,
    {
        let mut w = Waiting {
            xmin: k.xmin,
            old_tid: k.old_tid,
            may_be_successor: k.may_be_successor,
            payload: k.payload,
        };
        let mut forward = None;
        if let Some(key) = k.successor {
            match self.old_new.remove(&key) {
                Some(new_tid) => forward = Some(new_tid),
                None => match self.unresolved.entry(key) {
                    Entry::Vacant(e) => {
                        e.insert(w);
                        return;
                    }
                    // Two versions naming the same newer version cannot happen on a sound
                    // table; rather than lose one, the second is written unlinked.
                    Entry::Occupied(_) => {}
                },
            }
        }
        loop {
            let key = (w.xmin, w.old_tid);
            let may_be_successor = w.may_be_successor;
            let new_tid = write(w.payload, forward);
            if !may_be_successor {
                return;
            }
            match self.unresolved.remove(&key) {
                Some(pred) => {
                    // The predecessor waited for this version: write it now, pointing
                    // here. It may itself be the newer version another one waits for.
                    w = pred;
                    forward = Some(new_tid);
                }
                None => {
                    self.old_new.insert(key, new_tid);
                    return;
                }
            }
        }
    }

    /// rewrite_heap_dead_tuple: a version that is not copied. If a kept version waits
    /// for it as its successor, that version is dead too (its deleter committed before
    /// this version's, which committed before OldestXmin; the vacuum test just could not
    /// tell) and is dropped: returns true.
    pub fn dead(&mut self, xmin: Xid, old_tid: Tid) -> bool {
        self.unresolved.remove(&(xmin, old_tid)).is_some()
    }

    /// Versions still waiting at the end: their newer version was never met (it was
    /// dead and met first). They are written without a forward link, as heap writes
    /// them with a self-pointing ctid.
    /// In old-TID order, so the result does not depend on hashing.
    pub fn finish(self) -> Vec<T> {
        let mut left: Vec<Waiting<T>> = self.unresolved.into_values().collect();
        left.sort_by_key(|w| w.old_tid);
        left.into_iter().map(|w| w.payload).collect()
    }

    /// Versions waiting for their successor now (for progress and tests).
    pub fn waiting(&self) -> usize {
        self.unresolved.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::{line_pointers, PageHeader, LP_NORMAL};
    use crate::tuple::{XmaxMode, XMIN_FROZEN};

    #[test]
    fn empty_page_is_a_valid_glassheap_page() {
        let b = PageBuilder::new();
        let h = PageHeader::decode(b.bytes()).unwrap();
        assert!(h.problems(BLCKSZ).is_empty());
        assert_eq!((h.lower, h.upper, h.special), (24, 8184, 8184));
        assert!(layout::special_is_valid(&b.bytes()[SPECIAL_OFFSET..]));
        assert!(b.is_empty());
        assert_eq!(b.free_space(), 8184 - 24 - 4);
    }

    #[test]
    fn add_places_tuples_like_page_add_item() {
        let mut b = PageBuilder::new();
        let t1 = [1u8; 20];
        let t2 = [2u8; 33];
        assert_eq!(b.add(&t1), 1);
        assert_eq!(b.add(&t2), 2);
        let lps = line_pointers(b.bytes()).unwrap();
        assert_eq!(lps.len(), 2);
        assert_eq!(
            (lps[0].off, lps[0].flags, lps[0].len),
            (8184 - 24, LP_NORMAL, 20)
        );
        assert_eq!((lps[1].off, lps[1].len), (8184 - 24 - 40, 33));
        assert_eq!(lps[1].item(b.bytes()).unwrap(), &t2[..]);
        assert_eq!(b.tuple_mut(1), &t1[..]);
        let h = PageHeader::decode(b.bytes()).unwrap();
        assert!(h.problems(BLCKSZ).is_empty());
        assert_eq!(h.lower, 24 + 8);
        b.reset();
        assert!(b.is_empty());
        assert_eq!(line_pointers(b.bytes()).unwrap().len(), 0);
    }

    #[test]
    fn narrow_rows_fill_291_per_page_and_fillfactor_is_kept() {
        let mut b = PageBuilder::new();
        let t = [0u8; 24];
        let mut n = 0;
        while b.fits(t.len(), 0) {
            b.add(&t);
            n += 1;
        }
        assert_eq!(n, MAX_TUPLES_PER_PAGE);
        // fillfactor 50: stop once less than half the page would stay free
        let mut b = PageBuilder::new();
        let wide = [0u8; 1000];
        let mut n = 0;
        while b.fits(wide.len(), BLCKSZ / 2) {
            b.add(&wide);
            n += 1;
        }
        assert_eq!(n, 4);
        // an empty page takes the largest tuple whatever the reserve
        let b = PageBuilder::new();
        assert!(b.fits(layout::MAX_TUPLE_SIZE, BLCKSZ / 2));
        assert!(!b.fits(layout::MAX_TUPLE_SIZE + 1, 0));
    }

    #[test]
    fn prunable_keeps_the_oldest() {
        let mut b = PageBuilder::new();
        b.set_prunable(500);
        b.set_prunable(700);
        b.set_prunable(0);
        b.set_prunable(400);
        assert_eq!(PageHeader::decode(b.bytes()).unwrap().prune_xid, 400);
    }

    #[test]
    fn copy_header_keeps_transaction_state_only() {
        let mut old = TupleHeader::new_insert(100, 7, 2, true);
        old.xmax = 200;
        old.clear_flags(TupleFlags::XMAX_INVALID);
        old.set_xmax_mode(XmaxMode::NoKeyUpdate);
        old.set_flags(
            TupleFlags::XMIN_COMMITTED
                | TupleFlags::XMAX_COMMITTED
                | TupleFlags::HEAP_ONLY
                | TupleFlags::NEXT_ON_OTHER_PAGE
                | TupleFlags::COMBO_CID,
        );
        old.set_next_off(9);
        old.aux = 42; // a block number
                      // the new descriptor has three attributes, none null
        let formed = TupleHeader::new_insert(0, 0, 3, false);
        let h = copy_header(&old, &formed, 5);
        assert_eq!((h.xmin, h.xmax, h.aux), (100, 200, 5));
        assert_eq!(h.natts(), 3);
        assert_eq!(h.next_off(), 0);
        assert_eq!(h.xmax_mode(), XmaxMode::NoKeyUpdate);
        assert_eq!(
            h.flags(),
            TupleFlags::XMIN_COMMITTED | TupleFlags::XMAX_COMMITTED | TupleFlags::COMBO_CID
        );
        // nulls follow the formed tuple, frozen state follows the old one
        let mut old = TupleHeader::new_insert(3, 0, 1, false);
        old.set_flags(XMIN_FROZEN);
        let h = copy_header(&old, &TupleHeader::new_insert(0, 0, 2, true), 0);
        assert!(h.xmin_frozen() && h.xmax_invalid() && h.has(TupleFlags::HAS_NULLS));
        assert_eq!(h.hoff(), 24);
    }

    #[test]
    fn forward_link_same_and_other_page() {
        let mut h = TupleHeader::new_insert(10, 3, 1, false);
        assert_eq!(set_forward(&mut h, 4, (4, 17)), None);
        assert_eq!(h.next_tid(4), Some((4, 17)));
        assert_eq!(h.aux, 3);
        assert_eq!(set_forward(&mut h, 4, (6, 2)), Some(3));
        assert_eq!(h.next_tid(4), Some((6, 2)));
        assert!(!h.aux_is_cid());
    }

    /// A toy rewrite: versions are written in call order to consecutive new TIDs; the
    /// result maps each written version's name to (its new TID, its forward TID).
    struct Out {
        next: u16,
        written: Vec<(&'static str, Tid, Option<Tid>)>,
    }
    impl Out {
        fn new() -> Out {
            Out {
                next: 1,
                written: Vec::new(),
            }
        }
        fn keep(&mut self, m: &mut ChainMap<&'static str>, k: Kept<&'static str>) {
            m.keep(k, |p, fwd| {
                let tid = (0, self.next);
                self.next += 1;
                self.written.push((p, tid, fwd));
                tid
            });
        }
        fn get(&self, name: &str) -> (Tid, Option<Tid>) {
            let w = self.written.iter().find(|w| w.0 == name).unwrap();
            (w.1, w.2)
        }
    }

    /// Row versions A (xmin 10) -> B (xmin 20) -> C (xmin 30) at old TIDs (5,1), (5,2),
    /// (3,7); OldestXmin 15, so B and C may be successors.
    fn version(name: &'static str) -> Kept<&'static str> {
        match name {
            "A" => Kept {
                xmin: 10,
                old_tid: (5, 1),
                successor: Some((20, (5, 2))),
                may_be_successor: false,
                payload: "A",
            },
            "B" => Kept {
                xmin: 20,
                old_tid: (5, 2),
                successor: Some((30, (3, 7))),
                may_be_successor: true,
                payload: "B",
            },
            _ => Kept {
                xmin: 30,
                old_tid: (3, 7),
                successor: None,
                may_be_successor: true,
                payload: "C",
            },
        }
    }

    fn check_chain(o: &Out) {
        let (a, af) = o.get("A");
        let (b, bf) = o.get("B");
        let (c, cf) = o.get("C");
        assert_eq!(af, Some(b));
        assert_eq!(bf, Some(c));
        assert_eq!(cf, None);
        assert!(a != b && b != c);
    }

    #[test]
    fn chains_survive_every_order() {
        for order in [
            ["A", "B", "C"],
            ["A", "C", "B"],
            ["B", "A", "C"],
            ["B", "C", "A"],
            ["C", "A", "B"],
            ["C", "B", "A"],
        ] {
            let mut m = ChainMap::new();
            let mut o = Out::new();
            for n in order {
                o.keep(&mut m, version(n));
            }
            assert_eq!(m.waiting(), 0, "{order:?}");
            check_chain(&o);
            // a version is written after the version it points to
            let pos = |n: &str| o.written.iter().position(|w| w.0 == n).unwrap();
            assert!(pos("C") < pos("B") && pos("B") < pos("A"), "{order:?}");
            assert!(m.finish().is_empty());
        }
    }

    #[test]
    fn dead_successor_drops_its_waiting_predecessor() {
        // A waits for B; B turns out dead: A is dropped as dead too
        let mut m = ChainMap::new();
        let mut o = Out::new();
        o.keep(&mut m, version("A"));
        assert_eq!(m.waiting(), 1);
        assert!(m.dead(20, (5, 2)));
        assert!(!m.dead(20, (5, 2)));
        assert!(o.written.is_empty());
        assert!(m.finish().is_empty());
    }

    #[test]
    fn successor_dead_and_met_first_leaves_the_predecessor_unlinked() {
        let mut m = ChainMap::new();
        let mut o = Out::new();
        assert!(!m.dead(20, (5, 2)));
        o.keep(&mut m, version("A"));
        let left = m.finish();
        assert_eq!(left, vec!["A"]);
    }

    #[test]
    fn wrong_xmin_is_not_a_successor() {
        // the TID was reused by an unrelated row (different xmin): no link
        let mut m = ChainMap::new();
        let mut o = Out::new();
        o.keep(
            &mut m,
            Kept {
                xmin: 99,
                old_tid: (5, 2),
                successor: None,
                may_be_successor: true,
                payload: "X",
            },
        );
        o.keep(&mut m, version("A"));
        assert!(o.get("X").1.is_none());
        assert_eq!(m.waiting(), 1);
        assert_eq!(m.finish(), vec!["A"]);
    }

    #[test]
    fn a_second_claim_on_the_same_successor_is_written_unlinked() {
        let mut m = ChainMap::new();
        let mut o = Out::new();
        o.keep(&mut m, version("A"));
        let mut twin = version("A");
        twin.old_tid = (5, 9);
        twin.payload = "A2";
        o.keep(&mut m, twin);
        assert_eq!(o.get("A2"), ((0, 1), None));
        o.keep(&mut m, version("B"));
        o.keep(&mut m, version("C"));
        check_chain(&o);
        assert!(m.finish().is_empty());
    }

    #[test]
    fn leftovers_come_out_in_old_tid_order() {
        let mut m = ChainMap::new();
        let mut o = Out::new();
        for (i, blk) in [(1u16, 9u32), (2, 2), (3, 5)] {
            o.keep(
                &mut m,
                Kept {
                    xmin: 10,
                    old_tid: (blk, i),
                    successor: Some((20, (100, i))),
                    may_be_successor: false,
                    payload: ["p", "q", "r"][i as usize - 1],
                },
            );
        }
        assert_eq!(m.finish(), vec!["q", "r", "p"]);
    }
}
