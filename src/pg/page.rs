//! Page accessors: Rust equivalents of bufpage.h macros over a raw `Page` pointer that
//! points at a pinned buffer (or a page-sized copy). Callers hold the buffer content lock
//! a change needs; these helpers only do the address arithmetic.

use glassheap_format::layout;
use glassheap_format::pageview::{Page, PageBytes, PageMut};
use glassheap_format::tuple::TupleHeader;
use pgrx::pg_sys;

pub use glassheap_format::page::{LP_DEAD, LP_NORMAL, LP_REDIRECT, LP_UNUSED};

#[derive(Clone, Copy)]
pub struct PageRef(pub pg_sys::Page);

impl PageRef {
    /// # Safety
    /// `buffer` must be pinned.
    #[inline]
    pub unsafe fn of_buffer(buffer: pg_sys::Buffer) -> PageRef {
        // SAFETY: caller holds a pin, so the buffer's block stays mapped.
        PageRef(unsafe { pg_sys::BufferGetPage(buffer) })
    }

    #[inline]
    fn hdr(&self) -> *mut pg_sys::PageHeaderData {
        self.0 as *mut pg_sys::PageHeaderData
    }

    /// The page as a read-only view borrowing this `PageRef` (not for a lifetime the
    /// caller picks): code that holds the lock in a guard takes the view from the guard
    /// instead (`BufferLock::page`, `LockedBuffer::page`), which ties it to the lock.
    #[inline]
    pub fn view(&self) -> Page<'_> {
        // SAFETY: a PageRef is made from a pinned buffer (`of_buffer`, whose contract
        // is that pin) or a page-sized copy, and the callers of this file's accessors
        // hold the content lock they read under while the PageRef is in use.
        unsafe { self.view_unbounded() }
    }

    /// The page as a read-only view with a lifetime the caller names: for the guards of
    /// `bufmgr.rs`, which tie it to their own.
    ///
    /// # Safety
    /// For all of `'a` the page stays mapped (pinned buffer, or a page-sized copy that
    /// lives that long) and nobody changes it except single-byte hint-bit ORs (a share
    /// or exclusive content lock, or a private copy).
    #[inline]
    pub unsafe fn view_unbounded<'a>(&self) -> Page<'a> {
        // SAFETY: per the contract; BLCKSZ is glassheap_format::BLCKSZ.
        Page::new(unsafe { &*(self.0 as *const PageBytes) })
    }

    /// Runs a change of `glassheap_format::pageview` on the page: the one
    /// implementation of page changes that the write path, pruning, VACUUM and redo
    /// share.
    #[inline]
    pub fn change<R>(&self, f: impl FnOnce(&mut PageMut<'_>) -> R) -> R {
        // SAFETY: the caller holds what the change needs (an exclusive or cleanup lock,
        // or the page is being replayed or is a private copy), and the view lives only
        // for this call.
        f(&mut PageMut::new(unsafe {
            &mut *(self.0 as *mut PageBytes)
        }))
    }

    #[inline]
    pub fn lower(&self) -> usize {
        // SAFETY: a page always starts with PageHeaderData.
        unsafe { (*self.hdr()).pd_lower as usize }
    }
    #[inline]
    pub fn upper(&self) -> usize {
        // SAFETY: as above.
        unsafe { (*self.hdr()).pd_upper as usize }
    }
    #[inline]
    pub fn special(&self) -> usize {
        // SAFETY: as above.
        unsafe { (*self.hdr()).pd_special as usize }
    }
    #[inline]
    pub fn is_new(&self) -> bool {
        self.upper() == 0
    }
    #[inline]
    pub fn max_offset(&self) -> u16 {
        let lower = self.lower();
        if lower <= glassheap_format::PAGE_HEADER_SIZE {
            0
        } else {
            ((lower - glassheap_format::PAGE_HEADER_SIZE) / layout::ITEM_ID_SIZE) as u16
        }
    }

    /// The line pointer for `off` (1-based). Caller checks 1 <= off <= max_offset.
    #[inline]
    pub fn item_id(&self, off: u16) -> *mut pg_sys::ItemIdData {
        debug_assert!(off >= 1);
        // SAFETY: pd_linp starts right after the header; the caller keeps off in range.
        unsafe {
            (self.0 as *mut u8)
                .add(glassheap_format::PAGE_HEADER_SIZE + (off as usize - 1) * layout::ITEM_ID_SIZE)
                as *mut pg_sys::ItemIdData
        }
    }
    /// (flags, offset, length) of line pointer `off`.
    #[inline]
    pub fn lp(&self, off: u16) -> (u8, usize, usize) {
        // One aligned 32-bit load decoded here: bindgen's bitfield getters are generic
        // code that was not inlined into the scan's per-row step.
        // SAFETY: see item_id; line pointers are 4-byte aligned in the page.
        let w = unsafe { (self.item_id(off) as *const u32).read() };
        let lp = glassheap_format::page::LinePointer::from_word(off, w);
        (lp.flags, lp.off as usize, lp.len as usize)
    }
    /// Pointer to the storage of a normal line pointer.
    #[inline]
    pub fn item(&self, off: u16) -> *mut u8 {
        let (_, o, _) = self.lp(off);
        // SAFETY: lp_off is within the page for any line pointer with storage.
        unsafe { (self.0 as *mut u8).add(o) }
    }
    /// Where the tuple at `off` lies (its first byte and length), if the line pointer is
    /// normal and its bounds lie inside the page (corruption yields None instead of a
    /// wild read). A raw pointer, not a slice: it is read through `read_header` and
    /// friends under the lock the caller holds, and stored in `Target`s and slots that
    /// keep the pin; a borrowed slice comes from the lock guard (`BufferLock::page`).
    #[inline]
    pub fn tuple_ptr(&self, off: u16) -> Option<(*mut u8, usize)> {
        if off == 0 || off > self.max_offset() {
            return None;
        }
        let (flags, o, len) = self.lp(off);
        if flags != LP_NORMAL
            || len < glassheap_format::tuple::HEADER_SIZE
            || o + len > layout::SPECIAL_OFFSET
        {
            return None;
        }
        // SAFETY: bounds checked above: the address lies inside the page.
        Some((unsafe { (self.0 as *mut u8).add(o) }, len))
    }

    #[inline]
    pub fn set_lsn(&self, lsn: u64) {
        self.change(|p| p.set_lsn(lsn))
    }
    #[inline]
    pub fn is_all_visible(&self) -> bool {
        self.view().is_all_visible()
    }
    /// PageSetAllVisible (VACUUM, under a cleanup or exclusive lock).
    #[inline]
    pub fn set_all_visible(&self) {
        self.change(|p| p.set_all_visible())
    }
    #[inline]
    pub fn clear_all_visible(&self) {
        self.change(|p| p.clear_all_visible())
    }
    /// PageSetPrunable: remember the oldest xid that might make something prunable.
    #[inline]
    pub fn set_prunable(&self, xid: u32) {
        self.change(|p| p.set_prunable(xid))
    }
    #[inline]
    pub fn prune_xid(&self) -> u32 {
        self.view().prune_xid()
    }
    #[inline]
    pub fn set_prune_xid(&self, xid: u32) {
        self.change(|p| p.set_prune_xid(xid))
    }
    /// PD_PAGE_FULL: an UPDATE found no room here (a hint for on-access pruning).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.view().is_full()
    }
    #[inline]
    pub fn clear_full(&self) {
        self.change(|p| p.clear_full())
    }
    /// Is this page formatted as a glassheap page (in the format version this build reads)?
    pub fn is_glassheap(&self) -> bool {
        self.kind() == layout::PageKind::Glassheap
    }

    /// What the page's special space says it is (a page whose pd_special is not where
    /// glassheap puts it is foreign).
    pub fn kind(&self) -> layout::PageKind {
        self.view().kind()
    }

    /// PageInit with glassheap's special space.
    pub fn init(&self) {
        self.change(|p| p.init())
    }

    /// PageGetHeapFreeSpace: room for one more tuple plus its line pointer, honouring
    /// the 291 line pointer limit (computed here rather than through a guarded call into
    /// bufpage.c: inserts ask for every row).
    #[inline]
    pub fn free_space(&self) -> usize {
        self.view().free_space()
    }

    /// Adds an item; `off` = 0 picks the place exactly as PageAddItemExtended(PAI_IS_HEAP)
    /// does (reusing an unused line pointer), otherwise the item goes exactly at `off`
    /// (redo; PageAddItemExtended with PAI_OVERWRITE). Returns the offset, or 0 when it
    /// does not fit. A page whose pointers are inconsistent was checked before the
    /// caller's critical section (`pagecheck`); meeting one here is a PANIC, as in
    /// PageAddItemExtended.
    pub fn add_item(&self, bytes: &[u8], off: u16) -> u16 {
        if off != 0 {
            return match self.change(|p| p.add_item_at(off, bytes)) {
                Ok(()) => off,
                Err(glassheap_format::pageview::PageChangeError::CorruptedPointers { .. }) => {
                    self.corrupted_pointers()
                }
                Err(_) => 0,
            };
        }
        match self.change(|p| p.add_item(bytes)) {
            Ok(off) => off,
            Err(layout::AddItemError::NoRoom) => 0,
            Err(layout::AddItemError::Corrupted) => self.corrupted_pointers(),
        }
    }

    fn corrupted_pointers(&self) -> ! {
        pgrx::ereport!(
            PANIC,
            pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!(
                "corrupted page pointers: lower = {}, upper = {}, special = {}",
                self.lower(),
                self.upper(),
                self.special()
            )
        );
        #[allow(unreachable_code)]
        {
            unreachable!("ereport(PANIC) returned")
        }
    }
}

// ---- Errors about a block of a glassheap relation ----
// They name the relation, so they live here with the page they describe rather than
// in one of the access method's files (every file of src/am raises them).

/// The error for a block of a glassheap relation that is not a glassheap page this build
/// can read: one in another page format version (written by another glassheap release)
/// is refused naming both versions, never misread; anything else is damage.
#[allow(unreachable_code)]
pub fn not_a_glassheap_page(
    relation: pg_sys::Relation,
    blk: pg_sys::BlockNumber,
    page: PageRef,
) -> ! {
    if let glassheap_format::layout::PageKind::OtherVersion(v) = page.kind() {
        pgrx::ereport!(
            ERROR,
            pgrx::PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "glassheap: block {} of relation \"{}\" is in {}",
                blk,
                crate::pg::rel::name(relation),
                glassheap_format::layout::other_version_message(v)
            ),
            format!(
                "This is glassheap {}. Install the glassheap release that wrote the page, or one that reads its format.",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
    pgrx::ereport!(
        ERROR,
        pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!(
            "glassheap: block {} of relation \"{}\" is not a glassheap page",
            blk,
            crate::pg::rel::name(relation)
        )
    );
    unreachable!("ereport(ERROR) returned")
}

/// A block of a glassheap relation must be a glassheap page (or never initialised).
#[inline]
pub fn check_page(relation: pg_sys::Relation, page: PageRef, blk: pg_sys::BlockNumber) {
    if !page.is_new() && !page.is_glassheap() {
        not_a_glassheap_page(relation, blk, page);
    }
}

/// A page whose state a change relies on is damaged (`glassheap_format::pagecheck`):
/// the statement fails with an ERROR naming the relation, the block and the damage,
/// raised before any critical section is entered, so the page stays as it was. (Buffer
/// locks and pins the caller holds are released by the abort.)
pub fn damaged_page(
    relation: pg_sys::Relation,
    blk: pg_sys::BlockNumber,
    damage: &glassheap_format::pagecheck::PageDamage,
) -> ! {
    pgrx::ereport!(
        ERROR,
        pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!(
            "glassheap: block {} of relation \"{}\" is damaged: {}",
            blk,
            crate::pg::rel::name(relation),
            damage
        ),
        "The page was not changed."
    );
    #[allow(unreachable_code)]
    {
        unreachable!("ereport(ERROR) returned")
    }
}

/// Reads the header of a tuple through a raw pointer to its first byte.
///
/// # Safety
/// `p` must point at least 16 readable bytes.
#[inline]
pub unsafe fn read_header(p: *const u8) -> TupleHeader {
    // SAFETY: per the contract.
    TupleHeader::read(unsafe {
        std::slice::from_raw_parts(p, glassheap_format::tuple::HEADER_SIZE)
    })
}

/// Writes a header through a raw pointer.
///
/// # Safety
/// `p` must point at 16 writable bytes the caller may modify (exclusive lock, or a hint-bit
/// change under share lock that only ORs hint bits into `info`).
#[inline]
pub unsafe fn write_header(p: *mut u8, h: &TupleHeader) {
    // SAFETY: per the contract.
    h.write(unsafe { std::slice::from_raw_parts_mut(p, glassheap_format::tuple::HEADER_SIZE) })
}

/// MarkBufferDirtyHint(buffer, true), skipping the call when the shared buffer is
/// already dirty and just-dirtied: that is the function's own first test (nothing to
/// do then), read here from the buffer header without a call into the server. Setting
/// hint bits on every row of a page otherwise makes one guarded call per row.
///
/// # Safety
/// The caller holds a pin (and at least a share lock) on `buffer`.
#[inline]
pub unsafe fn mark_dirty_hint(buffer: pg_sys::Buffer) {
    const DIRTY: u32 = pg_sys::BM_DIRTY | pg_sys::BM_JUST_DIRTIED;
    if buffer > 0 {
        // SAFETY: a pinned shared buffer indexes the descriptor array; its state word is
        // read atomically, as pg_atomic_read_u32 does.
        let state = unsafe {
            let desc = pg_sys::BufferDescriptors.add((buffer - 1) as usize);
            let word = std::ptr::addr_of!((*desc).bufferdesc.state.value);
            (*(word as *const std::sync::atomic::AtomicU32))
                .load(std::sync::atomic::Ordering::Relaxed)
        };
        if state & DIRTY == DIRTY {
            return;
        }
    }
    // SAFETY: per the contract.
    unsafe { pg_sys::MarkBufferDirtyHint(buffer, true) }
}

/// BufferGetBlockNumber, read from the buffer descriptor as bufmgr.c does: a pinned
/// buffer's tag cannot change, and the read needs no call into the server.
///
/// # Safety
/// The caller holds a pin on `buffer`.
#[inline]
pub unsafe fn buffer_block_number(buffer: pg_sys::Buffer) -> pg_sys::BlockNumber {
    debug_assert!(buffer != 0, "invalid buffer");
    // SAFETY: a pinned buffer indexes the shared (1-based, positive) or local (negative)
    // descriptor array, and its tag stays fixed while pinned.
    unsafe {
        if buffer < 0 {
            (*pg_sys::LocalBufferDescriptors.add((-buffer - 1) as usize))
                .tag
                .blockNum
        } else {
            (*pg_sys::BufferDescriptors.add((buffer - 1) as usize))
                .bufferdesc
                .tag
                .blockNum
        }
    }
}

/// In-server comparisons of `glassheap_format::pageview` with the server's own page
/// functions (bufpage.c, bufmask.c) on pseudo-random pages: the byte results must be
/// identical, which is what lets the write path and redo use the pure code.
#[cfg(any(test, feature = "pg_test"))]
pub mod server_comparison {
    use super::*;

    /// xorshift64*: deterministic, so a failure names a reproducible seed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A page with random items, then random line pointers turned unused, dead or
    /// redirected without defragmenting (what pruning sets before it compacts), random
    /// garbage in the free gap and random header hints.
    fn random_page(rng: &mut Rng) -> Box<PageBytes> {
        let mut b = Box::new([0u8; glassheap_format::BLCKSZ]);
        let mut p = PageMut::new(&mut b);
        p.init();
        let n = rng.below(120) as usize;
        for i in 0..n {
            let len = 16 + rng.below(200) as usize;
            let item: Vec<u8> = (0..len).map(|j| (i * 31 + j) as u8).collect();
            if p.add_item(&item).is_err() {
                break;
            }
        }
        let max = p.max_offset();
        for off in 1..=max {
            let at = glassheap_format::PAGE_HEADER_SIZE + (off as usize - 1) * 4;
            let word = match rng.below(6) {
                0 => glassheap_format::page::LinePointer::word(0, LP_UNUSED as u32, 0),
                1 => glassheap_format::page::LinePointer::word(0, LP_DEAD as u32, 0),
                2 if off < max => glassheap_format::page::LinePointer::word(
                    (off + 1) as usize,
                    LP_REDIRECT as u32,
                    0,
                ),
                _ => continue,
            };
            b[at..at + 4].copy_from_slice(&word.to_ne_bytes());
        }
        let (lower, upper) = (Page::new(&b).lower(), Page::new(&b).upper());
        for byte in &mut b[lower..upper] {
            if rng.below(8) == 0 {
                *byte = rng.next() as u8;
            }
        }
        let flags = (rng.below(8) as u16) & 0x7;
        b[10..12].copy_from_slice(&flags.to_ne_bytes());
        b[20..24].copy_from_slice(&(rng.next() as u32).to_ne_bytes());
        b[0..8].copy_from_slice(&rng.next().to_ne_bytes());
        b
    }

    fn first_difference(a: &PageBytes, b: &PageBytes) -> Option<usize> {
        (0..a.len()).find(|&i| a[i] != b[i])
    }

    /// Runs `rounds` comparisons; returns a description of the first mismatch.
    pub fn compare(seed: u64, rounds: usize) -> Result<(), String> {
        let mut rng = Rng(seed | 1);
        for round in 0..rounds {
            let page = random_page(&mut rng);
            let ours_then = |f: &dyn Fn(&mut PageMut<'_>)| {
                let mut c = page.clone();
                f(&mut PageMut::new(&mut c));
                c
            };
            let theirs_then = |f: &dyn Fn(pg_sys::Page)| {
                let mut c = page.clone();
                f(c.as_mut_ptr() as pg_sys::Page);
                c
            };
            let check = |what: &str, ours: &PageBytes, theirs: &PageBytes| {
                match first_difference(ours, theirs) {
                None => Ok(()),
                Some(i) => Err(format!(
                    "{what}, seed {seed}, round {round}: byte {i} is {} here and {} in PostgreSQL's",
                    ours[i], theirs[i]
                )),
            }
            };
            check(
                "PageRepairFragmentation",
                &ours_then(&|p| p.repair_fragmentation().expect("a consistent page")),
                // SAFETY: a private, consistent page-sized copy.
                &theirs_then(&|p| unsafe { pg_sys::PageRepairFragmentation(p) }),
            )?;
            check(
                "PageTruncateLinePointerArray",
                &ours_then(&|p| p.truncate_line_pointer_array()),
                // SAFETY: as above.
                &theirs_then(&|p| unsafe { pg_sys::PageTruncateLinePointerArray(p) }),
            )?;
            let item: Vec<u8> = (0..(16 + rng.below(300) as usize))
                .map(|i| i as u8)
                .collect();
            check(
                "PageAddItemExtended(PAI_IS_HEAP)",
                &ours_then(&|p| {
                    let _ = p.add_item(&item);
                }),
                // SAFETY: as above; the item outlives the call.
                &theirs_then(&|p| unsafe {
                    pg_sys::PageAddItemExtended(
                        p,
                        item.as_ptr() as pg_sys::Item,
                        item.len(),
                        0,
                        pg_sys::PAI_IS_HEAP as i32,
                    );
                }),
            )?;
            let max = Page::new(&page).max_offset();
            let off = 1 + rng.below(max as u64 + 1) as u16;
            let usable = Page::new(&page)
                .lp(off)
                .is_none_or(|lp| lp.flags == LP_UNUSED && lp.len == 0);
            if usable {
                check(
                    "PageAddItemExtended(PAI_OVERWRITE)",
                    &ours_then(&|p| {
                        let _ = p.add_item_at(off, &item);
                    }),
                    // SAFETY: as above.
                    &theirs_then(&|p| unsafe {
                        pg_sys::PageAddItemExtended(
                            p,
                            item.as_ptr() as pg_sys::Item,
                            item.len(),
                            off,
                            (pg_sys::PAI_IS_HEAP | pg_sys::PAI_OVERWRITE) as i32,
                        );
                    }),
                )?;
            }
            // glassheap's mask also masks each version's header hints and padding,
            // which bufmask.c knows nothing of: compare where bufmask reaches (the page
            // header, the line pointers and the gap up to pd_upper).
            let mut ours = ours_then(&|p| p.mask_for_consistency_check().expect("consistent"));
            let mut theirs = theirs_then(&|p| {
                // SAFETY: a private page-sized copy; bufmask writes only inside it.
                unsafe {
                    crate::pg::sys_extra::mask_page_lsn_and_checksum(p);
                    crate::pg::sys_extra::mask_page_hint_bits(p);
                    crate::pg::sys_extra::mask_unused_space(p);
                }
            });
            let upper = Page::new(&page).upper();
            ours[upper..].fill(0);
            theirs[upper..].fill(0);
            check("bufmask", &ours, &theirs)?;
        }
        let mut ours = Box::new([0u8; glassheap_format::BLCKSZ]);
        PageMut::new(&mut ours).init();
        let mut theirs = Box::new([0u8; glassheap_format::BLCKSZ]);
        // SAFETY: a private page-sized buffer.
        unsafe {
            pg_sys::PageInit(
                theirs.as_mut_ptr() as pg_sys::Page,
                glassheap_format::BLCKSZ,
                layout::SPECIAL_SIZE,
            )
        };
        theirs[layout::SPECIAL_OFFSET..].copy_from_slice(&layout::special_bytes());
        match first_difference(&ours, &theirs) {
            None => Ok(()),
            Some(i) => Err(format!("PageInit: byte {i} differs")),
        }
    }
}
