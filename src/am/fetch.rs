//! Fetching single tuples: by TID (TID scans, triggers, EvalPlanQual), through an index,
//! the latest version of a row, and re-checking a slot against a snapshot.

use super::hot::ChainWalk;
use super::modify::{next_tid_of, Target};
use super::visibility::{surely_dead, update_xid_of, VisCtx};
use super::{scan::GlassScan, slot};
use crate::pg::bufmgr::BufferLock;
use crate::pg::rel;
use glassheap_format::tuple::TupleHeader;
use glassheap_format::visibility as vis;
use pgrx::pg_sys;

/// What heap_fetch found. The Target is pinned and unlocked; the header was read under
/// the share lock.
pub enum Fetch {
    NoTuple,
    Invisible(Target, TupleHeader),
    Visible(Target, TupleHeader),
}

/// heap_fetch: reads `tid` and tests it against `snapshot` (predicate-locks a visible
/// tuple for SERIALIZABLE, and records rw-conflicts).
pub fn fetch(
    relation: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    tid: &pg_sys::ItemPointerData,
) -> Fetch {
    let (blk, off) = rel::tid_parts(tid);
    let mut t = Target::read(relation, tid);
    let lock = BufferLock::share(t.buffer);
    crate::pg::page::check_page(relation, t.page, blk);
    let (ptr, len) = match t.page.tuple_ptr(off) {
        Some(b) => b,
        None => {
            // SAFETY: the pin is Target's, which goes here.
            unsafe { lock.unlock_release() };
            return Fetch::NoTuple;
        }
    };
    t.ptr = ptr;
    t.len = len;
    let mut ctx = VisCtx::new(relation, snapshot);
    ctx.refresh_ssi();
    // SAFETY: locked page, located tuple.
    let visible = unsafe { ctx.check(t.buffer, blk, off, t.ptr) };
    let h = t.header();
    if visible {
        crate::pg::ssi::lock_tid(relation, *tid, snapshot, h.xmin);
    }
    lock.unlock();
    if visible {
        Fetch::Visible(t, h)
    } else {
        Fetch::Invisible(t, h)
    }
}

/// [`fetch`] for a TID taken from a version pointer rather than from the executor: it may
/// name a block past the end of a table VACUUM has truncated, which is "no tuple".
/// (The executor's TIDs need no such check, and asking the size is a system call.)
pub fn fetch_linked(
    relation: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    tid: &pg_sys::ItemPointerData,
) -> Fetch {
    if rel::tid_parts(tid).0 >= rel::nblocks(relation) {
        return Fetch::NoTuple;
    }
    fetch(relation, snapshot, tid)
}

/// table_tuple_fetch_row_version.
pub fn fetch_row_version(
    relation: pg_sys::Relation,
    tid: &pg_sys::ItemPointerData,
    snapshot: pg_sys::Snapshot,
    s: *mut pg_sys::TupleTableSlot,
) -> bool {
    match fetch(relation, snapshot, tid) {
        Fetch::Visible(t, _) => {
            // SAFETY: t pinned; the slot takes its own pin.
            unsafe {
                slot::store_buffer_tuple(s, t.ptr, t.len, t.buffer, *tid, rel::relid(relation));
                crate::pg::bufmgr::release(t.buffer);
            }
            rel::count_fetched(relation);
            true
        }
        Fetch::Invisible(t, _) => {
            // SAFETY: our pin.
            unsafe { crate::pg::bufmgr::release(t.buffer) };
            false
        }
        Fetch::NoTuple => false,
    }
}

/// The index-fetch state: the buffer of the last fetched block stays pinned so a run of
/// index entries pointing into one page reads it once.
#[repr(C)]
pub struct GlassIndexFetch {
    pub base: pg_sys::IndexFetchTableData,
    pub cbuf: pg_sys::Buffer,
    pub vistest: *mut pg_sys::GlobalVisState,
}

pub fn index_fetch_begin(relation: pg_sys::Relation) -> *mut pg_sys::IndexFetchTableData {
    // SAFETY: palloc0 of a plain struct.
    unsafe {
        let f =
            crate::pg::mem::palloc0(std::mem::size_of::<GlassIndexFetch>()) as *mut GlassIndexFetch;
        (*f).base.rel = relation;
        (*f).cbuf = pg_sys::InvalidBuffer as i32;
        (*f).vistest = std::ptr::null_mut();
        f as *mut pg_sys::IndexFetchTableData
    }
}

pub fn index_fetch_reset(scan: *mut pg_sys::IndexFetchTableData) {
    let f = scan as *mut GlassIndexFetch;
    // SAFETY: our struct.
    unsafe {
        if (*f).cbuf != pg_sys::InvalidBuffer as i32 {
            crate::pg::bufmgr::release((*f).cbuf);
            (*f).cbuf = pg_sys::InvalidBuffer as i32;
        }
    }
}

pub fn index_fetch_end(scan: *mut pg_sys::IndexFetchTableData) {
    index_fetch_reset(scan);
    // SAFETY: allocated by index_fetch_begin, not used after index_fetch_end.
    unsafe { crate::pg::mem::pfree(scan as *mut core::ffi::c_void) };
}

/// table_index_fetch_tuple (heapam_index_fetch_tuple + heap_hot_search_buffer): the
/// index entry names a chain's root; walk the same-page update chain to the version the
/// snapshot sees and return it with its own TID (written back to `tid`). A non-MVCC
/// snapshot may see several versions of one chain: `call_again` then asks for the next
/// one after `tid`. `all_dead` tells the index the entry can be killed when every version
/// of the chain is surely dead.
pub fn index_fetch_tuple(
    scan: *mut pg_sys::IndexFetchTableData,
    tid: &mut pg_sys::ItemPointerData,
    snapshot: pg_sys::Snapshot,
    s: *mut pg_sys::TupleTableSlot,
    call_again: *mut bool,
    all_dead: *mut bool,
) -> bool {
    let f = scan as *mut GlassIndexFetch;
    // SAFETY: our fetch struct, executor's outputs.
    unsafe {
        let relation = (*f).base.rel;
        let first_call = !*call_again;
        let mut dead_so_far = first_call;
        let (blk, off) = rel::tid_parts(tid);
        if (*f).cbuf == pg_sys::InvalidBuffer as i32
            || crate::pg::page::buffer_block_number((*f).cbuf) != blk
        {
            (*f).cbuf = pg_sys::ReleaseAndReadBuffer((*f).cbuf, relation, blk);
            if first_call {
                super::prune::prune_opt(relation, (*f).cbuf);
            }
        }
        let buffer = (*f).cbuf;
        let lock = BufferLock::share(buffer);
        let page = lock.page_ref();
        crate::pg::page::check_page(relation, page, blk);
        let mut ctx = VisCtx::new(relation, snapshot);
        ctx.refresh_ssi();
        let mut walk = if first_call {
            ChainWalk::from_root(ctx.rnode, blk, off)
        } else {
            ChainWalk::after_member(page, ctx.rnode, blk, off)
        };
        let mut found = None;
        while let Some(m) = walk.next(page) {
            if ctx.check(buffer, blk, m.off, m.ptr) {
                found = Some(m);
                break;
            }
            if dead_so_far {
                if (*f).vistest.is_null() {
                    (*f).vistest = crate::pg::xact::global_vis_test_for(relation);
                }
                // re-read: the check may have set hint bits
                let h = crate::pg::page::read_header(m.ptr);
                dead_so_far = surely_dead(&h, (*f).vistest);
            }
        }
        let visible = found.is_some();
        if let Some(m) = found {
            *tid = rel::make_tid(blk, m.off);
            crate::pg::ssi::lock_tid(relation, *tid, snapshot, m.header.xmin);
            slot::store_buffer_tuple(s, m.ptr, m.len, buffer, *tid, rel::relid(relation));
            dead_so_far = false;
        }
        lock.unlock();
        *call_again = visible && !super::visibility::is_mvcc(snapshot);
        if !all_dead.is_null() {
            *all_dead = dead_so_far;
        }
        if visible {
            rel::count_fetched(relation);
        }
        visible
    }
}

/// table_tuple_tid_valid.
pub fn tid_valid(scan: *mut pg_sys::TableScanDescData, tid: &pg_sys::ItemPointerData) -> bool {
    let (blk, off) = rel::tid_parts(tid);
    // SAFETY: scan created by our scan_begin.
    let nblocks = unsafe { (*(scan as *mut GlassScan)).nblocks };
    off != 0 && blk != pg_sys::InvalidBlockNumber && blk < nblocks
}

/// table_tuple_get_latest_tid: follow version pointers to the newest version visible to
/// the scan's snapshot (heap_get_latest_tid).
pub fn get_latest_tid(scan: *mut pg_sys::TableScanDescData, tid: *mut pg_sys::ItemPointerData) {
    // SAFETY: scan/tid from the executor.
    unsafe {
        let relation = (*scan).rs_rd;
        let snapshot = (*scan).rs_snapshot;
        let mut ctid = *tid;
        let mut prior_xmax: u32 = 0;
        loop {
            let (blk, off) = rel::tid_parts(&ctid);
            if blk >= rel::nblocks(relation) {
                break;
            }
            let mut t = Target::read(relation, &ctid);
            let lock = BufferLock::share(t.buffer);
            let (ptr, len) = match t.page.tuple_ptr(off) {
                Some(b) => b,
                None => {
                    lock.unlock_release();
                    break;
                }
            };
            t.ptr = ptr;
            t.len = len;
            let h = t.header();
            if prior_xmax != 0 && h.xmin != prior_xmax {
                lock.unlock_release();
                break;
            }
            let mut ctx = VisCtx::new(relation, snapshot);
            ctx.refresh_ssi();
            if ctx.check(t.buffer, blk, off, t.ptr) {
                *tid = ctid;
            }
            let h = t.header();
            let mut o = t.oracle(relation);
            if h.xmax_invalid()
                || vis::is_only_locked(&h, &mut o)
                || h.moved_partitions()
                || !h.has_next()
            {
                lock.unlock_release();
                break;
            }
            ctid = next_tid_of(&h, blk, off);
            prior_xmax = update_xid_of(&h, &mut o);
            lock.unlock_release();
        }
    }
}

/// table_tuple_satisfies_snapshot: re-test the tuple a slot holds.
pub fn satisfies_snapshot(
    relation: pg_sys::Relation,
    s: *mut pg_sys::TupleTableSlot,
    snapshot: pg_sys::Snapshot,
) -> bool {
    let g = slot::cast(s);
    // SAFETY: our slot; buffer pinned by the slot when set.
    unsafe {
        let tid = (*s).tts_tid;
        if (*g).buffer != pg_sys::InvalidBuffer as i32 && !(*g).tuple.is_null() {
            let (blk, off) = rel::tid_parts(&tid);
            let lock = BufferLock::share((*g).buffer);
            let mut ctx = VisCtx::new(relation, snapshot);
            ctx.refresh_ssi();
            let v = ctx.check((*g).buffer, blk, off, (*g).tuple);
            lock.unlock();
            return v;
        }
        // The slot holds a copy: test the stored version by TID.
        match fetch(relation, snapshot, &tid) {
            Fetch::Visible(t, _) => {
                crate::pg::bufmgr::release(t.buffer);
                true
            }
            Fetch::Invisible(t, _) => {
                crate::pg::bufmgr::release(t.buffer);
                false
            }
            Fetch::NoTuple => false,
        }
    }
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn index_fetch_begin(
        rel_: pg_sys::Relation,
    ) -> *mut pg_sys::IndexFetchTableData {
        super::index_fetch_begin(rel_)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn index_fetch_reset(
        s: *mut pg_sys::IndexFetchTableData,
    ) {
        super::index_fetch_reset(s)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn index_fetch_end(
        s: *mut pg_sys::IndexFetchTableData,
    ) {
        super::index_fetch_end(s)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn index_fetch_tuple(
        s: *mut pg_sys::IndexFetchTableData,
        tid: pg_sys::ItemPointer,
        snapshot: pg_sys::Snapshot,
        slot: *mut pg_sys::TupleTableSlot,
        call_again: *mut bool,
        all_dead: *mut bool,
    ) -> bool {
        // SAFETY: tid valid for the call; it is in/out (the chain member's TID comes back).
        super::index_fetch_tuple(
            s,
            unsafe { &mut *tid },
            snapshot,
            slot,
            call_again,
            all_dead,
        )
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_fetch_row_version(
        rel_: pg_sys::Relation,
        tid: pg_sys::ItemPointer,
        snapshot: pg_sys::Snapshot,
        slot: *mut pg_sys::TupleTableSlot,
    ) -> bool {
        // SAFETY: tid valid for the call.
        super::fetch_row_version(rel_, unsafe { &*tid }, snapshot, slot)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_tid_valid(
        s: pg_sys::TableScanDesc,
        tid: pg_sys::ItemPointer,
    ) -> bool {
        // SAFETY: tid valid for the call.
        super::tid_valid(s, unsafe { &*tid })
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_get_latest_tid(
        s: pg_sys::TableScanDesc,
        tid: pg_sys::ItemPointer,
    ) {
        super::get_latest_tid(s, tid)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_satisfies_snapshot(
        rel_: pg_sys::Relation,
        slot: *mut pg_sys::TupleTableSlot,
        snapshot: pg_sys::Snapshot,
    ) -> bool {
        super::satisfies_snapshot(rel_, slot, snapshot)
    }
}
