//! CLUSTER and VACUUM FULL (table_relation_copy_for_cluster), after heap's
//! heapam_relation_copy_for_cluster and rewriteheap.c.
//!
//! The old table is read in physical order (VACUUM FULL, and CLUSTER when the planner
//! prefers a sort: then the versions go through tuplesort_begin_cluster first) or in
//! index order, with SnapshotAny. Every version is classified by the vacuum rules with
//! the OldestXmin cluster.c computed: DEAD versions are dropped, RECENTLY_DEAD and
//! in-progress ones are kept so that older snapshots still find them, LIVE ones are
//! kept. A kept version keeps its header -- xmin, xmax, xmax mode and MultiXact flag,
//! hint bits, command id -- and is frozen with the cutoffs given, as VACUUM would
//! (`glassheap_format::vacuum::plan`). Update chains between kept versions are rebuilt
//! through the old-to-new TID bookkeeping of `glassheap_format::rewrite`.
//!
//! The new relation's pages are built in memory and written with smgrextend, each one
//! WAL-logged as a full-page image (`log_newpage`) when the relation needs WAL, then
//! synced -- no glassheap WAL record is involved, and redo is PostgreSQL's own
//! XLOG_FPI replay. PostgreSQL swaps the files and rebuilds the indexes afterwards.

use super::visibility::{update_xid_of, vacuum_status, Oracle, Removable, TupleLoc};
use super::{cidmap, slot, tuple};
use crate::pg::page::read_header;
use crate::pg::{rel, xact};
use glassheap_format::records::{FreezeEntry, XmaxFreeze};
use glassheap_format::rewrite::{self as rw, ChainMap, Kept, PageBuilder, Tid};
use glassheap_format::transition;
use glassheap_format::tuple::{TupleHeader, HEADER_SIZE};
use glassheap_format::vacuum::{self as vplan, FreezeCutoffs, RelHorizons};
use glassheap_format::visibility::{self as vis, Htsv};
use glassheap_format::{xid_is_normal, xid_precedes, Xid};
use pgrx::pg_sys;
use pgrx::prelude::*;

use super::vacuum::PgFreezeOracle;

/// A copy waiting to be placed: its bytes (header without forward link) and what
/// placing it needs.
struct Pending {
    bytes: Vec<u8>,
    /// The command id word must survive in the cid map if `aux` takes a block number
    /// (the version was written by this transaction).
    cid_matters: bool,
    /// The updater or deleter, for the page's pd_prune_xid (0 = none).
    prune_xid: Xid,
}

/// The new relation's pages, written in order.
struct Writer {
    new: pg_sys::Relation,
    new_rnode: crate::pg::compat::RelFileLocator,
    /// Command ids are remembered under the old relation's OID: after the swap it owns
    /// the new relfilenode.
    old_relid: pg_sys::Oid,
    needs_wal: bool,
    /// Free space to leave on each page (fillfactor), as raw_heap_insert.
    reserve: usize,
    page: PageBuilder,
    blkno: pg_sys::BlockNumber,
    written: f64,
}

impl Writer {
    fn place(&mut self, mut p: Pending, forward: Option<Tid>) -> Tid {
        if !self.page.fits(p.bytes.len(), self.reserve) {
            self.flush();
        }
        let blk = self.blkno;
        let off = self.page.next_offset();
        if let Some(next) = forward {
            let mut h = TupleHeader::read(&p.bytes);
            if let Some(cid) = rw::set_forward(&mut h, blk, next) {
                if p.cid_matters {
                    cidmap::remember(self.old_relid, &self.new_rnode, blk, off, cid);
                }
            }
            h.write(&mut p.bytes[..HEADER_SIZE]);
        }
        let placed = self.page.add(&p.bytes);
        debug_assert_eq!(placed, off);
        self.page.set_prunable(p.prune_xid);
        self.written += 1.0;
        // SAFETY: progress reporting of this backend's command.
        unsafe {
            pg_sys::pgstat_progress_update_param(
                pg_sys::PROGRESS_CLUSTER_HEAP_TUPLES_WRITTEN as i32,
                self.written as i64,
            )
        };
        (blk, off)
    }

    /// Writes the page being filled (raw_heap_insert / end_heap_rewrite): full-page
    /// image into the WAL when needed, checksum, smgrextend. smgr is told not to
    /// schedule an fsync; `finish` syncs the whole file once.
    fn flush(&mut self) {
        if self.page.is_empty() {
            return;
        }
        let page = self.page.page_mut().0.as_mut_ptr() as *mut core::ffi::c_char;
        // SAFETY: `page` is a complete, MAXALIGNed glassheap page of BLCKSZ bytes that
        // nothing else references; the new relation is ours alone (AccessExclusiveLock on
        // the old one, and the new one is not visible to anyone yet), and blocks are
        // appended in order starting at 0.
        unsafe {
            if self.needs_wal {
                let mut rnode = self.new_rnode;
                pg_sys::log_newpage(
                    &mut rnode,
                    pg_sys::ForkNumber::MAIN_FORKNUM,
                    self.blkno,
                    page,
                    true,
                );
            }
            pg_sys::PageSetChecksumInplace(page as pg_sys::Page, self.blkno);
            pg_sys::smgrextend(
                pg_sys::RelationGetSmgr(self.new),
                pg_sys::ForkNumber::MAIN_FORKNUM,
                self.blkno,
                page as _,
                true,
            );
        }
        self.blkno += 1;
        self.page.reset();
    }

    fn finish(&mut self) {
        self.flush();
        if self.needs_wal {
            // SAFETY: as heap's end_heap_rewrite: the pages bypassed shared buffers, so a
            // checkpoint during the rewrite did not flush them.
            unsafe {
                pg_sys::smgrimmedsync(
                    pg_sys::RelationGetSmgr(self.new),
                    pg_sys::ForkNumber::MAIN_FORKNUM,
                )
            };
        }
    }
}

struct Rewrite {
    old: pg_sys::Relation,
    new: pg_sys::Relation,
    old_rnode: crate::pg::compat::RelFileLocator,
    oldest_xmin: Xid,
    is_catalog: bool,
    cutoffs: FreezeCutoffs,
    horizons: RelHorizons,
    chains: ChainMap<Pending>,
    w: Writer,
    values: Vec<pg_sys::Datum>,
    isnull: Vec<bool>,
    /// Per-tuple memory for forming copies.
    tmpcxt: pg_sys::MemoryContext,
    num_tuples: f64,
    tups_vacuumed: f64,
    tups_recently_dead: f64,
}

/// What the vacuum rules say about one old version, with the hint bits they allowed
/// already in `h`.
struct Classified {
    status: Htsv,
    h: TupleHeader,
}

impl Rewrite {
    /// HeapTupleSatisfiesVacuum(tuple, OldestXmin, buffer) for the version at (blk, off);
    /// the hints go to the old page under the usual rules and into the copy's header.
    ///
    /// # Safety
    /// `buffer` is pinned and share-locked; `tup` points at the version's first byte.
    unsafe fn classify(
        &self,
        buffer: pg_sys::Buffer,
        blk: u32,
        off: u16,
        tup: *mut u8,
    ) -> Classified {
        // SAFETY: per the contract.
        let mut h = unsafe { read_header(tup) };
        let loc = TupleLoc {
            rnode: self.old_rnode,
            blk,
            off,
        };
        // SAFETY: per the contract.
        let (status, hints) =
            unsafe { vacuum_status(buffer, tup, loc, Removable::Before(self.oldest_xmin)) };
        // The copy gets every hint, even one the old page must wait for (a commit record
        // not yet flushed): the copy only becomes the table when this transaction
        // commits, and its commit record follows those commits.
        for (flag, _) in hints.iter() {
            h.set_flags(flag);
        }
        Classified { status, h }
    }

    fn oracle(&self, blk: u32, off: u16) -> Oracle {
        Oracle::new(
            std::ptr::null_mut(),
            TupleLoc {
                rnode: self.old_rnode,
                blk,
                off,
            },
        )
    }

    /// The switch in heapam_relation_copy_for_cluster: counts, warnings, and whether
    /// the version is copied. Dead versions are handed to the chain bookkeeping.
    fn keep(&mut self, c: &Classified, tid: Tid) -> bool {
        let dead = match c.status {
            Htsv::Dead => true,
            Htsv::RecentlyDead => {
                self.tups_recently_dead += 1.0;
                false
            }
            Htsv::Live => false,
            Htsv::InsertInProgress => {
                // Only this transaction's inserts can be in progress under our
                // AccessExclusiveLock (system catalogs release locks early).
                if !self.is_catalog && !xact::is_current(c.h.xmin) {
                    warning!(
                        "concurrent insert in progress within table \"{}\"",
                        rel::name(self.old)
                    );
                }
                false
            }
            Htsv::DeleteInProgress => {
                let mut o = self.oracle(tid.0, tid.1);
                if !self.is_catalog && !xact::is_current(update_xid_of(&c.h, &mut o)) {
                    warning!(
                        "concurrent delete in progress within table \"{}\"",
                        rel::name(self.old)
                    );
                }
                self.tups_recently_dead += 1.0;
                false
            }
        };
        if dead {
            self.tups_vacuumed += 1.0;
            if self.chains.dead(c.h.xmin, tid) {
                // A recently-dead version waiting for this one is dead as well.
                self.tups_vacuumed += 1.0;
                self.tups_recently_dead -= 1.0;
            }
            return false;
        }
        self.num_tuples += 1.0;
        true
    }

    /// reform_and_rewrite_tuple + rewrite_heap_tuple: forms the copy from the old
    /// version's values (`self.values`/`self.isnull`, every attribute of the old
    /// descriptor), gives it the old header, freezes it and hands it to the chain
    /// bookkeeping, which places it now or once its newer version is placed.
    fn rewrite(&mut self, old_h: &TupleHeader, tid: Tid) {
        // SAFETY: both relations are open; the arrays hold natts entries of the new
        // descriptor (which has the old one's attributes: make_new_heap copies it).
        let (bytes, formed_h) = unsafe {
            let desc = (*self.new).rd_att;
            for i in 0..(*desc).natts as usize {
                if (*crate::pg::compat::attr(desc, i)).attisdropped {
                    self.isnull[i] = true;
                }
            }
            let prev = pg_sys::MemoryContextSwitchTo(self.tmpcxt);
            // As heap's raw_heap_insert: values still pointing into the old table's TOAST
            // table are copied into the new table's, big rows are toasted.
            let f = super::toast::prepare_insert(
                self.new,
                tuple::form(desc, self.values.as_ptr(), self.isnull.as_ptr()),
                (pg_sys::TABLE_INSERT_SKIP_FSM | pg_sys::TABLE_INSERT_NO_LOGICAL) as i32,
            );
            let bytes = f.bytes().to_vec();
            pg_sys::MemoryContextSwitchTo(prev);
            pg_sys::MemoryContextReset(self.tmpcxt);
            let h = TupleHeader::read(&bytes);
            (bytes, h)
        };
        let mut o = self.oracle(tid.0, tid.1);
        let raw_cid = if old_h.aux_is_cid() {
            old_h.aux
        } else {
            cidmap::lookup(&self.old_rnode, tid.0, tid.1).unwrap_or(0)
        };
        let mut h = rw::copy_header(old_h, &formed_h, raw_cid);
        let plan = vplan::plan(&h, &self.cutoffs, &mut PgFreezeOracle, &mut self.horizons);
        if plan.changes_anything() {
            transition::freeze(
                &mut h,
                &FreezeEntry {
                    offnum: 0,
                    freeze_xmin: plan.freeze_xmin,
                    xmax: plan.xmax,
                },
            );
        }
        let has_xmax = !old_h.xmax_invalid() && old_h.xmax != 0;
        let updater = if has_xmax {
            update_xid_of(old_h, &mut o)
        } else {
            0
        };
        // heap: updated (not only locked, not moved to another partition), with a
        // live updater -- then the copy must point at the newer version's copy.
        let successor = if has_xmax
            && plan.xmax != XmaxFreeze::Invalidate
            && old_h.has_next()
            && !vis::is_only_locked(old_h, &mut o)
        {
            old_h.next_tid(tid.0).map(|next| (updater, next))
        } else {
            None
        };
        let cid_matters =
            xact::is_current(old_h.xmin) || (xid_is_normal(updater) && xact::is_current(updater));
        let prune_xid = if !h.xmax_invalid() && !h.xmax_is_locked_only() {
            updater
        } else {
            0
        };
        let mut bytes = bytes;
        h.write(&mut bytes[..HEADER_SIZE]);
        let k = Kept {
            xmin: old_h.xmin,
            old_tid: tid,
            successor,
            may_be_successor: xid_is_normal(old_h.xmin)
                && !xid_precedes(old_h.xmin, self.oldest_xmin),
            payload: Pending {
                bytes,
                cid_matters,
                prune_xid,
            },
        };
        let w = &mut self.w;
        self.chains.keep(k, |p, fwd| w.place(p, fwd));
    }

    /// Copies the deformed attributes of `slot` (a glassheap slot holding the old
    /// version) into the value arrays.
    fn load_slot(&mut self, s: *mut pg_sys::TupleTableSlot) {
        // SAFETY: a valid glassheap slot holding a tuple of the old relation; its arrays
        // have natts entries after slot_getallattrs (missing attributes filled in).
        unsafe {
            pg_sys::slot_getallattrs(s);
            let n = (*(*s).tts_tupleDescriptor).natts as usize;
            self.values[..n].copy_from_slice(std::slice::from_raw_parts((*s).tts_values, n));
            self.isnull[..n].copy_from_slice(std::slice::from_raw_parts((*s).tts_isnull, n));
        }
    }
}

/// The glassheap header travels through the sort in the heap tuple's transaction fields,
/// which tuplesort never reads: xmin, xmax, aux in t_xmin / t_xmax / t_cid, the info
/// word in t_ctid's block number; the old TID in t_self (kept by the cluster sort).
///
/// # Safety
/// `t` is a freshly formed heap tuple.
unsafe fn stash(t: pg_sys::HeapTuple, h: &TupleHeader, tid: Tid) {
    // SAFETY: per the contract; plain field stores into the tuple's own header.
    unsafe {
        let d = (*t).t_data;
        (*d).t_choice.t_heap.t_xmin = h.xmin.into();
        (*d).t_choice.t_heap.t_xmax = h.xmax.into();
        (*d).t_choice.t_heap.t_field3.t_cid = h.aux;
        (*d).t_ctid = rel::make_tid(h.info, 0);
        (*t).t_self = rel::make_tid(tid.0, tid.1);
    }
}

/// # Safety
/// `t` came out of the cluster sort after [`stash`].
unsafe fn unstash(t: pg_sys::HeapTuple) -> (TupleHeader, Tid) {
    // SAFETY: per the contract.
    unsafe {
        let d = (*t).t_data;
        let h = TupleHeader {
            xmin: (*d).t_choice.t_heap.t_xmin.into_inner(),
            xmax: (*d).t_choice.t_heap.t_xmax.into_inner(),
            aux: (*d).t_choice.t_heap.t_field3.t_cid,
            info: rel::tid_parts(&(*d).t_ctid).0,
        };
        (h, rel::tid_parts(&(*t).t_self))
    }
}

fn progress(param: u32, val: i64) {
    // SAFETY: progress reporting of this backend's command.
    unsafe { pg_sys::pgstat_progress_update_param(param as i32, val) };
}

/// table_relation_copy_for_cluster.
#[allow(clippy::too_many_arguments)]
pub fn copy_for_cluster(
    old: pg_sys::Relation,
    new: pg_sys::Relation,
    index: pg_sys::Relation,
    use_sort: bool,
    oldest_xmin: pg_sys::TransactionId,
    xid_cutoff: *mut pg_sys::TransactionId,
    multi_cutoff: *mut pg_sys::MultiXactId,
    num_tuples: *mut f64,
    tups_vacuumed: *mut f64,
    tups_recently_dead: *mut f64,
) {
    // SAFETY: cluster.c's arguments: open relations, valid output pointers.
    let (freeze_limit, multi_limit, natts, is_catalog) = unsafe {
        (
            (*xid_cutoff).into_inner(),
            (*multi_cutoff).into_inner(),
            (*(*new).rd_att).natts as usize,
            pg_sys::IsSystemRelation(old),
        )
    };
    // SAFETY: a child of the caller's context, deleted at the end (or with the caller's
    // context on error).
    let tmpcxt = unsafe {
        pg_sys::AllocSetContextCreateInternal(
            pg_sys::CurrentMemoryContext,
            c"glassheap rewrite".as_ptr(),
            pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
        )
    };
    let mut r = Rewrite {
        old,
        new,
        old_rnode: rel::relfilenode(old),
        oldest_xmin: oldest_xmin.into_inner(),
        is_catalog,
        cutoffs: FreezeCutoffs {
            freeze_limit,
            multi_cutoff: multi_limit,
        },
        horizons: RelHorizons {
            frozen_xid: freeze_limit,
            min_multi: multi_limit,
        },
        chains: ChainMap::new(),
        w: Writer {
            new,
            new_rnode: rel::relfilenode(new),
            old_relid: rel::relid(old),
            needs_wal: rel::needs_wal(new),
            reserve: rel::target_page_free_space(new),
            page: PageBuilder::new(),
            blkno: 0,
            written: 0.0,
        },
        values: vec![pg_sys::Datum::from(0usize); natts.max(1)],
        isnull: vec![true; natts.max(1)],
        tmpcxt,
        num_tuples: 0.0,
        tups_vacuumed: 0.0,
        tups_recently_dead: 0.0,
    };

    // SAFETY: tuplesort over the old descriptor and the clustering index, as heap does.
    let sort = if use_sort {
        unsafe {
            pg_sys::tuplesort_begin_cluster(
                (*old).rd_att,
                index,
                pg_sys::maintenance_work_mem,
                std::ptr::null_mut(),
                pg_sys::TUPLESORT_NONE as i32,
            )
        }
    } else {
        std::ptr::null_mut()
    };
    // SAFETY: a glassheap slot for the old relation.
    let s = unsafe { pg_sys::table_slot_create(old, std::ptr::null_mut()) };

    // Every version of the old table, once: the tuple is in `s` (pinned), classified
    // under the buffer's share lock.
    let handle = |r: &mut Rewrite, c: Classified, tid: Tid| {
        if !r.keep(&c, tid) {
            return;
        }
        progress(
            pg_sys::PROGRESS_CLUSTER_HEAP_TUPLES_SCANNED,
            r.num_tuples as i64,
        );
        if sort.is_null() {
            r.load_slot(s);
            r.rewrite(&c.h, tid);
        } else {
            // SAFETY: the slot holds the old version; the formed heap tuple is copied
            // by tuplesort and freed here.
            unsafe {
                pg_sys::slot_getallattrs(s);
                let t = pg_sys::heap_form_tuple((*old).rd_att, (*s).tts_values, (*s).tts_isnull);
                stash(t, &c.h, tid);
                pg_sys::tuplesort_putheaptuple(sort, t);
                pg_sys::heap_freetuple(t);
            }
        }
    };

    if !index.is_null() && !use_sort {
        // SAFETY: index scan of the old table with SnapshotAny, as heap's CLUSTER.
        unsafe {
            let params = [
                pg_sys::PROGRESS_CLUSTER_PHASE as i32,
                pg_sys::PROGRESS_CLUSTER_INDEX_RELID as i32,
            ];
            let vals = [
                pg_sys::PROGRESS_CLUSTER_PHASE_INDEX_SCAN_HEAP as i64,
                u32::from(rel::relid(index)) as i64,
            ];
            pg_sys::pgstat_progress_update_multi_param(2, params.as_ptr(), vals.as_ptr());
            let snapshot_any = &raw mut pg_sys::SnapshotAnyData;
            let iscan = crate::pg::compat::index_beginscan(old, index, snapshot_any, 0, 0);
            pg_sys::index_rescan(iscan, std::ptr::null_mut(), 0, std::ptr::null_mut(), 0);
            while pg_sys::index_getnext_slot(iscan, pg_sys::ScanDirection::ForwardScanDirection, s)
            {
                pgrx::check_for_interrupts!();
                if (*iscan).xs_recheck {
                    error!("CLUSTER does not support lossy index conditions");
                }
                let gs = slot::cast(s);
                let buffer = (*gs).buffer;
                let tid = rel::tid_parts(&(*s).tts_tid);
                let lock = crate::pg::bufmgr::BufferLock::share(buffer);
                let c = r.classify(buffer, tid.0, tid.1, (*gs).tuple);
                lock.unlock();
                handle(&mut r, c, tid);
            }
            pg_sys::index_endscan(iscan);
        }
    } else {
        let nblocks = rel::nblocks(old);
        progress(
            pg_sys::PROGRESS_CLUSTER_PHASE,
            pg_sys::PROGRESS_CLUSTER_PHASE_SEQ_SCAN_HEAP as i64,
        );
        progress(pg_sys::PROGRESS_CLUSTER_TOTAL_HEAP_BLKS, nblocks as i64);
        // SAFETY: a bulk-read ring, as a sequential scan of a large table uses.
        let strategy =
            unsafe { pg_sys::GetAccessStrategy(pg_sys::BufferAccessStrategyType::BAS_BULKREAD) };
        let relid = rel::relid(old);
        for blk in 0..nblocks {
            pgrx::check_for_interrupts!();
            // SAFETY: a block below the size read above; the table cannot change under
            // our AccessExclusiveLock.
            let buffer = unsafe {
                pg_sys::ReadBufferExtended(
                    old,
                    pg_sys::ForkNumber::MAIN_FORKNUM,
                    blk,
                    pg_sys::ReadBufferMode::RBM_NORMAL,
                    strategy,
                )
            };
            let lock = crate::pg::bufmgr::BufferLock::share(buffer);
            let page = lock.page_ref();
            if !page.is_new() && !page.is_glassheap() {
                // (the abort releases the lock and the pin)
                crate::pg::page::not_a_glassheap_page(old, blk, page);
            }
            let maxoff = if page.is_new() { 0 } else { page.max_offset() };
            lock.unlock();
            for off in 1..=maxoff {
                // SAFETY: pinned buffer; the tuple is read under the share lock and the
                // slot takes its own pin, so its bytes stay put after the unlock
                // (pruning needs a cleanup lock).
                unsafe {
                    let lock = crate::pg::bufmgr::BufferLock::share(buffer);
                    let Some((ptr, len)) = lock.page_ref().tuple_ptr(off) else {
                        continue;
                    };
                    let c = r.classify(buffer, blk, off, ptr);
                    slot::store_buffer_tuple(s, ptr, len, buffer, rel::make_tid(blk, off), relid);
                    lock.unlock();
                    handle(&mut r, c, (blk, off));
                }
            }
            // SAFETY: our pin (the slot may hold another one until its next tuple).
            unsafe { crate::pg::bufmgr::release(buffer) };
            progress(pg_sys::PROGRESS_CLUSTER_HEAP_BLKS_SCANNED, blk as i64 + 1);
        }
        // SAFETY: allocated above.
        unsafe { pg_sys::FreeAccessStrategy(strategy) };
    }
    // SAFETY: created above; releases its buffer pin.
    unsafe { pg_sys::ExecDropSingleTupleTableSlot(s) };

    if !sort.is_null() {
        progress(
            pg_sys::PROGRESS_CLUSTER_PHASE,
            pg_sys::PROGRESS_CLUSTER_PHASE_SORT_TUPLES as i64,
        );
        // SAFETY: the sort set up above; each returned tuple stays valid until the next
        // call, and is deformed with the old descriptor (missing attributes filled in).
        unsafe {
            pg_sys::tuplesort_performsort(sort);
            progress(
                pg_sys::PROGRESS_CLUSTER_PHASE,
                pg_sys::PROGRESS_CLUSTER_PHASE_WRITE_NEW_HEAP as i64,
            );
            loop {
                pgrx::check_for_interrupts!();
                let t = pg_sys::tuplesort_getheaptuple(sort, true);
                if t.is_null() {
                    break;
                }
                let (h, tid) = unstash(t);
                pg_sys::heap_deform_tuple(
                    t,
                    (*old).rd_att,
                    r.values.as_mut_ptr(),
                    r.isnull.as_mut_ptr(),
                );
                r.rewrite(&h, tid);
            }
            pg_sys::tuplesort_end(sort);
        }
    }

    // end_heap_rewrite: versions still waiting for a newer version that was never met
    // are written without a forward link, then the last page, then the sync.
    let left = std::mem::take(&mut r.chains).finish();
    for p in left {
        r.w.place(p, None);
    }
    r.w.finish();

    // SAFETY: output pointers from cluster.c; the context was created above.
    unsafe {
        // Anything left unfrozen older than the cutoffs holds the new relfrozenxid /
        // relminmxid back (cluster.c lets the AM lower them).
        if xid_precedes(r.horizons.frozen_xid, freeze_limit) {
            *xid_cutoff = r.horizons.frozen_xid.into();
        }
        if vplan::multi_precedes(r.horizons.min_multi, multi_limit) {
            *multi_cutoff = r.horizons.min_multi.into();
        }
        *num_tuples += r.num_tuples;
        *tups_vacuumed += r.tups_vacuumed;
        *tups_recently_dead += r.tups_recently_dead;
        pg_sys::MemoryContextDelete(tmpcxt);
    }
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn relation_copy_for_cluster(
        old: pg_sys::Relation,
        new: pg_sys::Relation,
        index: pg_sys::Relation,
        use_sort: bool,
        oldest_xmin: pg_sys::TransactionId,
        xid_cutoff: *mut pg_sys::TransactionId,
        multi_cutoff: *mut pg_sys::MultiXactId,
        num_tuples: *mut f64,
        tups_vacuumed: *mut f64,
        tups_recently_dead: *mut f64,
    ) {
        super::copy_for_cluster(
            old,
            new,
            index,
            use_sort,
            oldest_xmin,
            xid_cutoff,
            multi_cutoff,
            num_tuples,
            tups_vacuumed,
            tups_recently_dead,
        )
    }
}
