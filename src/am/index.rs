//! What indexes need from the table: building (table_index_build_range_scan, serial or
//! parallel), and deciding which index entries point at dead versions
//! (table_index_delete_tuples, used by btree's simple and bottom-up deletion).

use super::visibility::{
    advance_horizon, vacuum_status, GlobalVisCutoff, Oracle, Removable, TupleLoc,
};
use super::{hot, scan, slot};
use crate::pg::bufmgr::{BufferLock, LockMode, LockedBuffer};
use crate::pg::page::{read_header, PageRef};
use crate::pg::rel;
use crate::pg::xact;
use glassheap_format::tuple::{TupleFlags, TupleHeader};
use glassheap_format::visibility::{Htsv, TxnOracle};
use glassheap_format::Xid;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// ExecQual for an index predicate (NULL means "no predicate").
unsafe fn exec_qual(state: *mut pg_sys::ExprState, econtext: *mut pg_sys::ExprContext) -> bool {
    if state.is_null() {
        return true;
    }
    // SAFETY: ExecEvalExprSwitchContext, inlined: evaluate in the per-tuple context.
    unsafe {
        let old = pg_sys::MemoryContextSwitchTo((*econtext).ecxt_per_tuple_memory);
        let mut isnull = false;
        let f = (*state).evalfunc.expect("ExprState without evalfunc");
        #[allow(ffi_unwind_calls)] // guarded
        let d = crate::pg::sys_extra::guarded(|| f(state, econtext, &mut isnull));
        pg_sys::MemoryContextSwitchTo(old);
        !isnull && d.value() != 0
    }
}

/// What forming index entries needs: an executor state for index expressions and a
/// partial index's predicate, the slot they read, and the values/isnull arrays.
struct IndexValues {
    index_info: *mut pg_sys::IndexInfo,
    estate: *mut pg_sys::EState,
    econtext: *mut pg_sys::ExprContext,
    predicate: *mut pg_sys::ExprState,
    slot: *mut pg_sys::TupleTableSlot,
    values: Vec<pg_sys::Datum>,
    isnull: Vec<bool>,
}

impl IndexValues {
    /// # Safety
    /// A valid table and IndexInfo; `finish` must be called.
    unsafe fn new(table: pg_sys::Relation, index_info: *mut pg_sys::IndexInfo) -> IndexValues {
        // SAFETY: executor setup as in heapam_index_build_range_scan.
        unsafe {
            let estate = pg_sys::CreateExecutorState();
            let econtext = pg_sys::MakePerTupleExprContext(estate);
            let slot = pg_sys::table_slot_create(table, std::ptr::null_mut());
            (*econtext).ecxt_scantuple = slot;
            let predicate = pg_sys::ExecPrepareQual((*index_info).ii_Predicate, estate);
            let n = pg_sys::INDEX_MAX_KEYS as usize;
            IndexValues {
                index_info,
                estate,
                econtext,
                predicate,
                slot,
                values: vec![pg_sys::Datum::from(0usize); n],
                isnull: vec![false; n],
            }
        }
    }

    /// Forms the index values of the tuple in `self.slot`; false when a partial index's
    /// predicate rejects it.
    ///
    /// # Safety
    /// The slot holds a tuple of the table.
    unsafe fn form(&mut self) -> bool {
        // SAFETY: per-tuple memory of our executor state; FormIndexDatum fills at most
        // INDEX_MAX_KEYS entries.
        unsafe {
            pg_sys::MemoryContextReset((*self.econtext).ecxt_per_tuple_memory);
            if !exec_qual(self.predicate, self.econtext) {
                return false;
            }
            pg_sys::FormIndexDatum(
                self.index_info,
                self.slot,
                self.estate,
                self.values.as_mut_ptr(),
                self.isnull.as_mut_ptr(),
            );
            true
        }
    }

    /// # Safety
    /// Called once, after the last `form`.
    unsafe fn finish(self) {
        // SAFETY: frees what `new` made; the IndexInfo's states pointed into it.
        unsafe {
            pg_sys::ExecDropSingleTupleTableSlot(self.slot);
            pg_sys::FreeExecutorState(self.estate);
            (*self.index_info).ii_ExpressionsState = std::ptr::null_mut();
            (*self.index_info).ii_PredicateState = std::ptr::null_mut();
        }
    }
}

/// The vacuum status of a tuple on a share-locked page (hint bits applied).
fn htsv(
    relation: pg_sys::Relation,
    buffer: pg_sys::Buffer,
    blk: u32,
    off: u16,
    ptr: *mut u8,
    oldest_xmin: Xid,
) -> (Htsv, TupleHeader) {
    // SAFETY: ptr points at a tuple on the locked page.
    let h = unsafe { read_header(ptr) };
    let loc = TupleLoc {
        rnode: rel::relfilenode(relation),
        blk,
        off,
    };
    // SAFETY: as above.
    let (r, _) = unsafe { vacuum_status(buffer, ptr, loc, Removable::Before(oldest_xmin)) };
    (r, h)
}

#[allow(clippy::too_many_arguments)]
pub fn build_range_scan(
    table: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
    allow_sync: bool,
    anyvisible: bool,
    _progress: bool,
    start_blockno: pg_sys::BlockNumber,
    numblocks: pg_sys::BlockNumber,
    callback: pg_sys::IndexBuildCallback,
    callback_state: *mut core::ffi::c_void,
    given_scan: pg_sys::TableScanDesc,
) -> f64 {
    let callback = callback.expect("index build callback");
    // SAFETY: executor/catalog calls as in heapam_index_build_range_scan.
    unsafe {
        let checking_uniqueness =
            (*index_info).ii_Unique || !(*index_info).ii_ExclusionOps.is_null();
        let mut iv = IndexValues::new(table, index_info);
        let concurrent = (*index_info).ii_Concurrent;
        let oldest_xmin: Xid = if concurrent {
            0
        } else {
            pg_sys::GetOldestNonRemovableTransactionId(table).into_inner()
        };
        let mut unregister = std::ptr::null_mut();
        let sscan = if given_scan.is_null() {
            let snapshot = if oldest_xmin == 0 {
                let s = pg_sys::RegisterSnapshot(pg_sys::GetTransactionSnapshot());
                unregister = s;
                s
            } else {
                &raw mut pg_sys::SnapshotAnyData
            };
            let flags = pg_sys::ScanOptions::SO_TYPE_SEQSCAN | pg_sys::ScanOptions::SO_ALLOW_STRAT;
            let sc = scan::scan_begin(
                table,
                snapshot,
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                flags,
            );
            if !allow_sync {
                scan::set_scan_limits(sc, start_blockno, numblocks);
            }
            sc
        } else {
            given_scan
        };
        let snapshot = (*sscan).rs_snapshot;
        let use_any = (*snapshot).snapshot_type == pg_sys::SnapshotType::SNAPSHOT_ANY;
        let mut vctx = super::visibility::VisCtx::new(table, snapshot);
        let mut reltuples = 0f64;
        let relid = rel::relid(table);
        let rnode = rel::relfilenode(table);
        // Root line pointers of the current block, computed when a heap-only version is
        // first met there (an index entry must name the chain's root).
        let mut roots: Option<(pg_sys::BlockNumber, Vec<u16>)> = None;

        while let Some((blk, buffer)) = scan::next_raw_block(sscan) {
            let mut off: u16 = 0;
            loop {
                off += 1;
                pgrx::check_for_interrupts!();
                let lock = BufferLock::share(buffer);
                let page = lock.page_ref();
                if !page.is_new() && !page.is_glassheap() {
                    crate::pg::page::not_a_glassheap_page(table, blk, page);
                }
                if off > page.max_offset() {
                    lock.unlock();
                    break;
                }
                let Some((ptr, len)) = page.tuple_ptr(off) else {
                    lock.unlock();
                    continue;
                };
                let (index_it, alive) = if use_any {
                    let (status, h) = htsv(table, buffer, blk, off, ptr, oldest_xmin);
                    let mut o = Oracle::new(
                        std::ptr::null_mut(),
                        TupleLoc {
                            rnode: rel::relfilenode(table),
                            blk,
                            off,
                        },
                    );
                    match status {
                        Htsv::Dead => (false, false),
                        Htsv::Live => {
                            reltuples += 1.0;
                            (true, true)
                        }
                        // A HOT-updated version that some snapshot may still see: its
                        // chain's root is indexed with the newest version's values, so the
                        // index must not be used by snapshots that old (indcheckxmin).
                        Htsv::RecentlyDead if hot::is_hot_updated(page, rnode, blk, off, &h) => {
                            (*index_info).ii_BrokenHotChain = true;
                            (false, false)
                        }
                        Htsv::RecentlyDead => (true, false),
                        Htsv::InsertInProgress => {
                            if anyvisible {
                                reltuples += 1.0;
                                (true, true)
                            } else {
                                let xwait = h.xmin;
                                if !o.is_current(xwait) {
                                    warning!(
                                        "concurrent insert in progress within table \"{}\"",
                                        rel::name(table)
                                    );
                                    if checking_uniqueness {
                                        lock.unlock();
                                        let mut tid = rel::make_tid(blk, off);
                                        xact::wait(
                                            xwait,
                                            table,
                                            &mut tid,
                                            pg_sys::XLTW_Oper::XLTW_InsertIndexUnique,
                                        );
                                        off -= 1; // recheck this tuple
                                        continue;
                                    }
                                } else {
                                    reltuples += 1.0;
                                }
                                (true, true)
                            }
                        }
                        Htsv::DeleteInProgress => {
                            if anyvisible {
                                reltuples += 1.0;
                                (true, false)
                            } else {
                                let xwait = super::visibility::update_xid_of(&h, &mut o);
                                if !o.is_current(xwait) {
                                    warning!(
                                        "concurrent delete in progress within table \"{}\"",
                                        rel::name(table)
                                    );
                                    if checking_uniqueness {
                                        lock.unlock();
                                        let mut tid = rel::make_tid(blk, off);
                                        xact::wait(
                                            xwait,
                                            table,
                                            &mut tid,
                                            pg_sys::XLTW_Oper::XLTW_InsertIndexUnique,
                                        );
                                        off -= 1;
                                        continue;
                                    }
                                    reltuples += 1.0;
                                } else if hot::is_hot_updated(page, rnode, blk, off, &h) {
                                    // Our own HOT update: as a RECENTLY_DEAD one above.
                                    (*index_info).ii_BrokenHotChain = true;
                                    lock.unlock();
                                    continue;
                                }
                                (true, false)
                            }
                        }
                    }
                } else {
                    vctx.refresh_ssi();
                    let v = vctx.check(buffer, blk, off, ptr);
                    if v {
                        reltuples += 1.0;
                    }
                    (v, v)
                };
                let root = if read_header(ptr).has(TupleFlags::HEAP_ONLY) {
                    let cached = |r: &Option<(pg_sys::BlockNumber, Vec<u16>)>| {
                        r.as_ref()
                            .filter(|r| r.0 == blk)
                            .and_then(|r| r.1.get(off as usize - 1).copied())
                            .unwrap_or(0)
                    };
                    let mut root = cached(&roots);
                    if root == 0 {
                        // Not computed for this block yet, or (in a concurrent build) the
                        // version was added after the map was made.
                        roots = Some((blk, hot::root_offsets(page, rnode, blk)));
                        root = cached(&roots);
                    }
                    if root == 0 && index_it {
                        lock.unlock();
                        no_root(table, blk, off);
                    }
                    root
                } else {
                    off
                };
                lock.unlock();
                if !index_it {
                    continue;
                }
                let tid = rel::make_tid(blk, off);
                slot::store_buffer_tuple(iv.slot, ptr, len, buffer, tid, relid);
                if !iv.form() {
                    continue;
                }
                // The entry names the chain's root; the values are this version's.
                let mut ctid = rel::make_tid(blk, root);
                // The callback may raise an ERROR (a duplicate in a unique index).
                #[allow(ffi_unwind_calls)] // guarded
                crate::pg::sys_extra::guarded(|| {
                    callback(
                        index,
                        &mut ctid,
                        iv.values.as_mut_ptr(),
                        iv.isnull.as_mut_ptr(),
                        alive,
                        callback_state,
                    )
                });
            }
        }
        scan::scan_end(sscan);
        if !unregister.is_null() {
            pg_sys::UnregisterSnapshot(unregister);
        }
        iv.finish();
        reltuples
    }
}

/// table_index_delete_tuples: marks which of the index's TIDs point at versions that are
/// dead to everyone, and returns the conflict horizon for the index's WAL record.
pub fn delete_tuples(
    relation: pg_sys::Relation,
    delstate: *mut pg_sys::TM_IndexDeleteOp,
) -> pg_sys::TransactionId {
    // SAFETY: the index AM's delete-op struct; bufmgr calls on our relation.
    unsafe {
        let d = &mut *delstate;
        let n = d.ndeltids as usize;
        let deltids = std::slice::from_raw_parts_mut(d.deltids, n);
        let mut cutoff = GlobalVisCutoff::new(xact::global_vis_test_for(relation));
        let mut horizon: Xid = 0;
        let mut final_n = 0usize;
        // The heap page being examined, pinned and share-locked.
        let mut current: Option<LockedBuffer> = None;
        let nblocks = rel::nblocks(relation);
        let rnode = rel::relfilenode(relation);
        // Sort by TID so each heap page is visited once (one u64 per TID: a single
        // comparison instead of a tuple's two; the stable sort takes the runs of
        // ascending TIDs the index hands over in key order).
        deltids.sort_by_key(|x| {
            let (blk, off) = rel::tid_parts(&x.tid);
            glassheap_format::deadtids::tid_key(blk, off)
        });
        let mut budget_pages = if d.bottomup { 6 } else { usize::MAX };
        let mut last_blk = pg_sys::InvalidBlockNumber;
        // A bottom-up pass gives up after a block where it found nothing deletable
        // (heapam's rule): when the versions are not dead yet -- the first update of a
        // table's rows, say -- the other blocks will not be either.
        let mut found_on_block = true;
        for (i, dt) in deltids.iter().copied().enumerate() {
            let status = &mut *d.status.add(dt.id as usize);
            let (blk, off) = rel::tid_parts(&dt.tid);
            if blk >= nblocks {
                continue;
            }
            if blk != last_blk {
                if d.bottomup && !status.knowndeletable {
                    if budget_pages == 0 || !found_on_block {
                        break;
                    }
                    budget_pages -= 1;
                    found_on_block = false;
                }
                drop(current.take()); // the previous page first: one page locked at a time
                current = Some(LockedBuffer::read_main(
                    relation,
                    blk,
                    LockMode::Share,
                    std::ptr::null_mut(),
                ));
                last_blk = blk;
            }
            let Some(cur) = current.as_ref() else {
                unreachable!("a page is read before its first TID")
            };
            let (buffer, page) = (cur.buffer(), cur.page_ref());
            // The entry stands for the whole same-page chain from its root: it can go only
            // when no version of the chain is needed by anyone.
            let mut walk = hot::ChainWalk::from_root(rnode, blk, off);
            let mut chain_horizon = horizon;
            let mut deletable = true;
            while let Some(m) = walk.next(page) {
                let loc = TupleLoc {
                    rnode,
                    blk,
                    off: m.off,
                };
                let dead = status.knowndeletable
                    || vacuum_status(buffer, m.ptr, loc, Removable::GlobalVis(&mut cutoff)).0
                        == Htsv::Dead;
                if !dead {
                    deletable = false;
                    break;
                }
                let mut o = Oracle::new(std::ptr::null_mut(), loc);
                advance_horizon(&read_header(m.ptr), &mut o, &mut chain_horizon);
            }
            if deletable {
                horizon = chain_horizon;
            }
            if deletable {
                status.knowndeletable = true;
                final_n = i + 1;
                found_on_block = true;
            }
        }
        drop(current);
        d.ndeltids = final_n as i32;
        horizon.into()
    }
}

/// A heap-only version that no chain root reaches cannot be indexed: corruption.
fn no_root(table: pg_sys::Relation, blk: pg_sys::BlockNumber, off: u16) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!(
            "failed to find parent tuple for heap-only tuple at ({},{}) in table \"{}\"",
            blk,
            off,
            rel::name(table)
        )
    );
}

/// itemptr_encode's inverse (catalog/index.c): the int8 TIDs CREATE INDEX CONCURRENTLY's
/// validation sorts.
fn decode_sorted_tid(v: i64) -> (pg_sys::BlockNumber, u16) {
    ((v >> 16) as pg_sys::BlockNumber, (v & 0xffff) as u16)
}

/// table_index_validate_scan (heapam_index_validate_scan), the last phase of CREATE INDEX
/// CONCURRENTLY / REINDEX CONCURRENTLY: every version the reference snapshot sees whose
/// chain root is missing from the index's sorted TIDs is inserted now.
pub fn validate_scan(
    table: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
    snapshot: pg_sys::Snapshot,
    state: *mut pg_sys::ValidateIndexState,
) {
    // SAFETY: executor/catalog/tuplesort calls as in heapam_index_validate_scan; the
    // slot pins the page whose tuple it holds while we read that page's roots.
    unsafe {
        let state = &mut *state;
        let mut iv = IndexValues::new(table, index_info);
        let tslot = iv.slot;
        // No synchronized scan: the heap must be read from block 0 on, in the sorted
        // TIDs' order.
        let flags = pg_sys::ScanOptions::SO_TYPE_SEQSCAN
            | pg_sys::ScanOptions::SO_ALLOW_STRAT
            | pg_sys::ScanOptions::SO_ALLOW_PAGEMODE;
        let sscan = scan::scan_begin(
            table,
            snapshot,
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            flags,
        );
        let rnode = rel::relfilenode(table);
        let mut roots: Vec<u16> = Vec::new();
        let mut root_blk = pg_sys::InvalidBlockNumber;
        // Index entries already seen on the current heap page, by root offset.
        let mut in_index = [false; glassheap_format::layout::MAX_TUPLES_PER_PAGE + 1];
        let mut sorted_done = false;
        let mut cursor: Option<(pg_sys::BlockNumber, u16)> = None;
        let unique = if (*index_info).ii_Unique {
            pg_sys::IndexUniqueCheck::UNIQUE_CHECK_YES
        } else {
            pg_sys::IndexUniqueCheck::UNIQUE_CHECK_NO
        };
        while scan::scan_getnextslot(sscan, pg_sys::ScanDirection::ForwardScanDirection, tslot) {
            pgrx::check_for_interrupts!();
            state.htups += 1.0;
            let g = slot::cast(tslot);
            let (blk, off) = rel::tid_parts(&(*tslot).tts_tid);
            if blk != root_blk {
                let lock = BufferLock::share((*g).buffer);
                roots = hot::root_offsets(PageRef::of_buffer((*g).buffer), rnode, blk);
                lock.unlock();
                root_blk = blk;
                in_index.fill(false);
            }
            let root = if read_header((*g).tuple).has(TupleFlags::HEAP_ONLY) {
                match roots.get(off as usize - 1).copied().filter(|&r| r != 0) {
                    Some(r) => r,
                    None => no_root(table, blk, off),
                }
            } else {
                off
            };
            // Merge: advance through the sorted index TIDs up to this root.
            while !sorted_done && cursor.is_none_or(|c| c < (blk, root)) {
                if let Some((cb, co)) = cursor {
                    if cb == root_blk && (co as usize) < in_index.len() {
                        in_index[co as usize] = true;
                    }
                }
                let mut v = pg_sys::Datum::from(0usize);
                let mut null = false;
                sorted_done = !crate::pg::compat::tuplesort_getdatum(
                    state.tuplesort,
                    true,
                    &mut v,
                    &mut null,
                );
                cursor = (!sorted_done).then(|| decode_sorted_tid(v.value() as i64));
            }
            let missing = (sorted_done || cursor.is_some_and(|c| c > (blk, root)))
                && !in_index[root as usize];
            if !missing {
                continue;
            }
            if !iv.form() {
                continue;
            }
            // Even a version already dead must be inserted: for a unique index the insert
            // is the uniqueness check for the whole chain (as in heap).
            let mut root_tid = rel::make_tid(blk, root);
            pg_sys::index_insert(
                index,
                iv.values.as_mut_ptr(),
                iv.isnull.as_mut_ptr(),
                &mut root_tid,
                table,
                unique,
                false,
                index_info,
            );
            state.tups_inserted += 1.0;
        }
        scan::scan_end(sscan);
        iv.finish();
    }
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn index_delete_tuples(
        rel_: pg_sys::Relation,
        delstate: *mut pg_sys::TM_IndexDeleteOp,
    ) -> pg_sys::TransactionId {
        super::delete_tuples(rel_, delstate)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn index_build_range_scan(
        table: pg_sys::Relation,
        index: pg_sys::Relation,
        index_info: *mut pg_sys::IndexInfo,
        allow_sync: bool,
        anyvisible: bool,
        progress: bool,
        start_blockno: pg_sys::BlockNumber,
        numblocks: pg_sys::BlockNumber,
        callback: pg_sys::IndexBuildCallback,
        callback_state: *mut core::ffi::c_void,
        scan: pg_sys::TableScanDesc,
    ) -> f64 {
        super::build_range_scan(
            table,
            index,
            index_info,
            allow_sync,
            anyvisible,
            progress,
            start_blockno,
            numblocks,
            callback,
            callback_state,
            scan,
        )
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn index_validate_scan(
        table: pg_sys::Relation,
        index: pg_sys::Relation,
        index_info: *mut pg_sys::IndexInfo,
        snapshot: pg_sys::Snapshot,
        state: *mut pg_sys::ValidateIndexState,
    ) {
        super::validate_scan(table, index, index_info, snapshot, state)
    }
}
