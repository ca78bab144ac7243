//! The visibility map, with heap's exact meaning: bit ALL_VISIBLE says every version on
//! the page is visible to every snapshot (index-only scans skip the page), ALL_FROZEN
//! that none will ever need freezing. VACUUM sets them (PostgreSQL's visibilitymap.c
//! logs that with heap2's VISIBLE record, whose redo only touches PD_ALL_VISIBLE and the
//! map, so it serves any table AM); every write clears them in the same critical section
//! as its change, and the WAL record says so (`vm_cleared`), so redo clears them too.

use crate::pg::page::PageRef;
use pgrx::pg_sys;

pub const ALL_VISIBLE: u8 = pg_sys::VISIBILITYMAP_ALL_VISIBLE as u8;
pub const ALL_FROZEN: u8 = pg_sys::VISIBILITYMAP_ALL_FROZEN as u8;
pub const ALL_BITS: u8 = pg_sys::VISIBILITYMAP_VALID_BITS as u8;

const INVALID: pg_sys::Buffer = pg_sys::InvalidBuffer as pg_sys::Buffer;

/// A pinned visibility-map page for a write that may have to clear a bit.
pub struct VmPin(pg_sys::Buffer);

impl VmPin {
    pub const NONE: VmPin = VmPin(INVALID);

    /// Called with `buffer` exclusively locked, before the critical section: pins the
    /// map page when the heap page is marked all-visible (only then can a bit be set).
    /// Unlike heap, which unlocks to pin, this may read the map page while holding the
    /// page lock; it happens once per page per VACUUM cycle, and buffer replacement never
    /// waits for a locked victim, so it cannot deadlock.
    pub fn for_write(relation: pg_sys::Relation, buffer: pg_sys::Buffer) -> VmPin {
        // SAFETY: the caller holds the buffer pinned and locked.
        let page = unsafe { PageRef::of_buffer(buffer) };
        if !page.is_all_visible() {
            return VmPin::NONE;
        }
        let mut vm = INVALID;
        // SAFETY: valid relation and block.
        unsafe {
            pg_sys::visibilitymap_pin(
                relation,
                crate::pg::page::buffer_block_number(buffer),
                &mut vm,
            )
        };
        VmPin(vm)
    }

    /// Inside the critical section: a change that makes the page not all-visible clears
    /// PD_ALL_VISIBLE and both map bits. Returns whether anything was cleared (the WAL
    /// record's `vm_cleared`).
    pub fn clear_all(&self, relation: pg_sys::Relation, buffer: pg_sys::Buffer) -> bool {
        // SAFETY: locked buffer.
        let page = unsafe { PageRef::of_buffer(buffer) };
        if !page.is_all_visible() {
            return false;
        }
        page.clear_all_visible();
        if self.0 != INVALID {
            // SAFETY: the map page for this block is pinned (for_write).
            unsafe {
                pg_sys::visibilitymap_clear(
                    relation,
                    crate::pg::page::buffer_block_number(buffer),
                    self.0,
                    ALL_BITS,
                )
            };
        }
        true
    }

    /// Inside the critical section of a row lock: the page stays all-visible, but a
    /// locker's xmax will need freezing, so ALL_FROZEN goes. Returns whether it was set.
    pub fn clear_frozen(&self, relation: pg_sys::Relation, buffer: pg_sys::Buffer) -> bool {
        if self.0 == INVALID {
            return false;
        }
        // SAFETY: the map page for this block is pinned.
        unsafe {
            pg_sys::visibilitymap_clear(
                relation,
                crate::pg::page::buffer_block_number(buffer),
                self.0,
                ALL_FROZEN,
            )
        }
    }
}

impl Drop for VmPin {
    fn drop(&mut self) {
        if self.0 != INVALID {
            // SAFETY: pinned by visibilitymap_pin.
            unsafe { crate::pg::bufmgr::release(self.0) };
        }
    }
}

/// Redo: clear map bits of the block a record changed, as heap's redo does before
/// touching the page (the map must be fixed even when the page is already up to date).
/// `certain` is false when the record's block data was replaced by a full-page image
/// and the `vm_cleared` flag is unknown: then bits are cleared only if set, without
/// creating the map fork.
pub fn redo_clear(
    rnode: crate::pg::compat::RelFileLocator,
    blk: pg_sys::BlockNumber,
    flags: u8,
    certain: bool,
) {
    // SAFETY: redo-time fake relcache entry and map page access, as heap's redo.
    unsafe {
        let reln = pg_sys::CreateFakeRelcacheEntry(rnode);
        let mut vm = INVALID;
        let set = if certain {
            true
        } else {
            pg_sys::visibilitymap_get_status(reln, blk, &mut vm) & flags != 0
        };
        if set {
            pg_sys::visibilitymap_pin(reln, blk, &mut vm);
            pg_sys::visibilitymap_clear(reln, blk, vm, flags);
        }
        if vm != INVALID {
            crate::pg::bufmgr::release(vm);
        }
        pg_sys::FreeFakeRelcacheEntry(reln);
    }
}

/// visibilitymap.c's layout: after the page header, 2 bits per table block.
const MAP_OFFSET: usize = glassheap_format::MAXALIGN * 3; // MAXALIGN(SizeOfPageHeaderData)
const HEAPBLOCKS_PER_PAGE: u32 = ((pg_sys::BLCKSZ as usize - MAP_OFFSET) * 4) as u32;

/// Whether the heap page's LSN must move when a hint-like flag is set (checksums or
/// wal_log_hints): XLogHintBitIsNeeded.
pub fn hint_bits_logged() -> bool {
    // SAFETY: reads backend-global settings.
    unsafe { pg_sys::DataChecksumsEnabled() || pg_sys::wal_log_hints }
}

/// VACUUM: sets `bits` for table block `blk` in the pinned map page and WAL-logs it with
/// glassheap's own VISIBLE record (PostgreSQL's visibilitymap_set would log heap2's,
/// whose consistency check applies heap's page mask to a glassheap page). The caller
/// holds the table page locked and has set PD_ALL_VISIBLE on it.
pub fn set_bits(
    relation: pg_sys::Relation,
    heapbuf: pg_sys::Buffer,
    blk: pg_sys::BlockNumber,
    vmbuf: pg_sys::Buffer,
    cutoff_xid: u32,
    bits: u8,
) {
    // SAFETY: vmbuf is the pinned map page for blk (checked); we lock it for the change,
    // exactly as visibilitymap_set does.
    unsafe {
        if !pg_sys::visibilitymap_pin_ok(blk, vmbuf) {
            pgrx::error!("glassheap: wrong visibility map page pinned for block {blk}");
        }
        let lock = crate::pg::bufmgr::BufferLock::exclusive(vmbuf);
        let vmpage = lock.page_ref();
        let idx = blk % HEAPBLOCKS_PER_PAGE;
        let byte = (vmpage.0 as *mut u8).add(MAP_OFFSET + (idx / 4) as usize);
        let shift = (idx % 4) * 2;
        if (*byte >> shift) & bits != bits {
            let crit = crate::pg::crit::CritSection::enter();
            *byte |= bits << shift;
            crate::pg::fault::point(crate::pg::fault::Kind::Visible);
            crit.mark_dirty(vmbuf);
            if crate::pg::rel::needs_wal(relation) {
                let rec = glassheap_format::records::VisibleBlock {
                    cutoff_xid,
                    all_visible: true,
                    all_frozen: bits & ALL_FROZEN != 0,
                };
                let lsn =
                    crate::rmgr::log::visible(&crit, vmbuf, heapbuf, &rec, hint_bits_logged());
                vmpage.set_lsn(lsn);
                if hint_bits_logged() {
                    PageRef::of_buffer(heapbuf).set_lsn(lsn);
                }
            }
        }
        lock.unlock();
    }
}
