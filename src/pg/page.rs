//! Page accessors: Rust equivalents of bufpage.h macros over a raw `Page` pointer that
//! points at a pinned buffer (or a page-sized copy). Callers hold the buffer content lock
//! a change needs; these helpers only do the address arithmetic.

use glassheap_format::layout;
use glassheap_format::tuple::TupleHeader;
use pgrx::pg_sys;

pub const LP_UNUSED: u32 = 0;
pub const LP_NORMAL: u32 = 1;
pub const LP_DEAD: u32 = 3;

const PD_HAS_FREE_LINES: u16 = 0x0001;
const PD_ALL_VISIBLE: u16 = 0x0004;

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

    /// The whole page as bytes, for the pure checks of `glassheap_format::pagecheck`.
    #[inline]
    pub fn bytes<'a>(&self) -> &'a [u8] {
        // SAFETY: a page is BLCKSZ bytes of a pinned buffer (or a page-sized copy) that
        // stays valid while the caller uses it.
        unsafe { std::slice::from_raw_parts(self.0 as *const u8, pg_sys::BLCKSZ as usize) }
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
    pub fn lp(&self, off: u16) -> (u32, usize, usize) {
        // One aligned 32-bit load decoded here: bindgen's bitfield getters are generic
        // code that was not inlined into the scan's per-row step.
        // SAFETY: see item_id; line pointers are 4-byte aligned in the page.
        let w = unsafe { (self.item_id(off) as *const u32).read() };
        let lp = glassheap_format::page::LinePointer::from_word(off, w);
        (lp.flags as u32, lp.off as usize, lp.len as usize)
    }
    /// Pointer to the storage of a normal line pointer.
    #[inline]
    pub fn item(&self, off: u16) -> *mut u8 {
        let (_, o, _) = self.lp(off);
        // SAFETY: lp_off is within the page for any line pointer with storage.
        unsafe { (self.0 as *mut u8).add(o) }
    }
    /// The tuple at `off` as a byte slice, if the line pointer is normal and its bounds lie
    /// inside the page (corruption yields None instead of a wild read).
    #[inline]
    pub fn tuple_bytes<'a>(&self, off: u16) -> Option<&'a mut [u8]> {
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
        // SAFETY: bounds checked above; the page is pinned for as long as the caller uses it.
        Some(unsafe { std::slice::from_raw_parts_mut((self.0 as *mut u8).add(o), len) })
    }

    #[inline]
    pub fn set_lsn(&self, lsn: u64) {
        // SAFETY: caller holds an exclusive lock (or is in redo).
        unsafe {
            (*self.hdr()).pd_lsn.xlogid = (lsn >> 32) as u32;
            (*self.hdr()).pd_lsn.xrecoff = lsn as u32;
        }
    }
    #[inline]
    fn flags(&self) -> u16 {
        // SAFETY: header read.
        unsafe { (*self.hdr()).pd_flags }
    }
    #[inline]
    fn set_flag(&self, f: u16, on: bool) {
        // SAFETY: caller holds the lock the change needs.
        unsafe {
            if on {
                (*self.hdr()).pd_flags |= f
            } else {
                (*self.hdr()).pd_flags &= !f
            }
        }
    }
    #[inline]
    pub fn is_all_visible(&self) -> bool {
        self.flags() & PD_ALL_VISIBLE != 0
    }
    /// PageSetAllVisible (VACUUM, under a cleanup or exclusive lock).
    #[inline]
    pub fn set_all_visible(&self) {
        self.set_flag(PD_ALL_VISIBLE, true)
    }
    #[inline]
    pub fn clear_all_visible(&self) {
        self.set_flag(PD_ALL_VISIBLE, false)
    }
    /// PageSetPrunable: remember the oldest xid that might make something prunable.
    #[inline]
    pub fn set_prunable(&self, xid: u32) {
        // SAFETY: caller holds an exclusive lock.
        unsafe {
            let cur = (*self.hdr()).pd_prune_xid.into_inner();
            if cur == 0 || glassheap_format::xid_precedes(xid, cur) {
                (*self.hdr()).pd_prune_xid = xid.into();
            }
        }
    }
    /// Is this page formatted as a glassheap page (in the format version this build reads)?
    pub fn is_glassheap(&self) -> bool {
        self.kind() == layout::PageKind::Glassheap
    }

    /// What the page's special space says it is (a page whose pd_special is not where
    /// glassheap puts it is foreign).
    pub fn kind(&self) -> layout::PageKind {
        // SAFETY: header read.
        let special_at = unsafe { (*self.hdr()).pd_special as usize };
        if special_at != layout::SPECIAL_OFFSET {
            return layout::PageKind::Foreign;
        }
        // SAFETY: reads the last 8 bytes of an 8 kB page.
        let special = unsafe {
            std::slice::from_raw_parts(
                (self.0 as *const u8).add(layout::SPECIAL_OFFSET),
                layout::SPECIAL_SIZE,
            )
        };
        layout::special_kind(special)
    }

    /// PageInit with glassheap's special space.
    pub fn init(&self) {
        // SAFETY: the caller owns the page exclusively (new buffer, or redo of an
        // init-page record); PageInit zeroes and formats BLCKSZ bytes.
        unsafe {
            pg_sys::PageInit(self.0, pg_sys::BLCKSZ as usize, layout::SPECIAL_SIZE);
            let sp = (self.0 as *mut u8).add(layout::SPECIAL_OFFSET);
            std::ptr::copy_nonoverlapping(
                layout::special_bytes().as_ptr(),
                sp,
                layout::SPECIAL_SIZE,
            );
        }
    }

    /// PageGetHeapFreeSpace: room for one more tuple plus its line pointer, honouring the
    /// 291 line pointer limit. Computed here (`layout::heap_free_space`) rather than
    /// through a guarded call into bufpage.c: inserts ask for every row.
    #[inline]
    pub fn free_space(&self) -> usize {
        let nline = self.max_offset() as usize;
        // Only a full line pointer array needs the (rare) search for an unused entry.
        let has_unused = nline >= layout::MAX_TUPLES_PER_PAGE
            && self.flags() & PD_HAS_FREE_LINES != 0
            && (1..=nline as u16).any(|o| self.lp(o).0 == LP_UNUSED);
        layout::heap_free_space(self.lower(), self.upper(), nline, has_unused)
    }

    /// Adds an item; `off` = 0 picks the place exactly as PageAddItemExtended(PAI_IS_HEAP)
    /// does (reusing an unused line pointer), computed by `layout::plan_add_item`;
    /// otherwise the item goes exactly there (redo, through PostgreSQL's function, whose
    /// placement WAL consistency checking compares with ours). Returns the offset, or 0
    /// when it does not fit.
    pub fn add_item(&self, bytes: &[u8], off: u16) -> u16 {
        if off == 0 {
            return self.append_item(bytes);
        }
        let flags = (pg_sys::PAI_IS_HEAP | pg_sys::PAI_OVERWRITE) as i32;
        // SAFETY: the caller holds an exclusive lock (or is in redo) and checked free space.
        unsafe {
            pg_sys::PageAddItemExtended(
                self.0,
                bytes.as_ptr() as pg_sys::Item,
                bytes.len(),
                off,
                flags,
            )
        }
    }

    fn append_item(&self, bytes: &[u8]) -> u16 {
        // SAFETY: header read.
        let special = unsafe { (*self.hdr()).pd_special as usize };
        let plan = layout::plan_add_item(
            self.lower(),
            self.upper(),
            special,
            self.flags() & PD_HAS_FREE_LINES != 0,
            |o| {
                let (flags, _, len) = self.lp(o);
                (flags, len)
            },
            bytes.len(),
        );
        match plan {
            Ok(a) => {
                // SAFETY: the caller holds an exclusive lock; the plan keeps the line
                // pointer below the new pd_lower and the item between the new pd_upper
                // and the old one, inside the page.
                unsafe {
                    // One store of the whole word (bindgen's bitfield setters are three
                    // out-of-line read-modify-writes).
                    (self.item_id(a.off) as *mut u32).write(
                        glassheap_format::page::LinePointer::word(a.upper, LP_NORMAL, bytes.len()),
                    );
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        (self.0 as *mut u8).add(a.upper),
                        bytes.len(),
                    );
                    (*self.hdr()).pd_lower = a.lower as u16;
                    (*self.hdr()).pd_upper = a.upper as u16;
                }
                if a.clear_free_hint {
                    self.set_flag(PD_HAS_FREE_LINES, false);
                }
                a.off
            }
            Err(layout::AddItemError::NoRoom) => 0,
            Err(layout::AddItemError::Corrupted) => {
                pgrx::ereport!(
                    PANIC,
                    pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                    format!(
                        "corrupted page pointers: lower = {}, upper = {}, special = {}",
                        self.lower(),
                        self.upper(),
                        special
                    )
                );
            }
        }
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
