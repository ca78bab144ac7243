//! Everything that differs between the PostgreSQL major versions glassheap builds for
//! (cargo features `pg15`, `pg16`, `pg17`, `pg18`; 17 has never been built here: no
//! PostgreSQL 17 installation is available, so its items are untested). One
//! small item per concern, each with the versions it covers; the rest of the crate calls
//! these and has no version `cfg` of its own. On PostgreSQL 15 every item is the code
//! that was there before the port, so 15's WAL and page bytes are unchanged.
//!
//! | concern | 15 | 16 | 17 | 18 |
//! |---|---|---|---|---|
//! | storage identity | RelFileNode | RelFileLocator | same | same |
//! | tuple_update's index hint | bool | TU_UpdateIndexes | same | same |
//! | ANALYZE block | block number + strategy | same | ReadStream | same |
//! | bitmap scans | next_block(tbmres) + next_tuple | same | same | next_tuple iterates |
//! | VACUUM cutoffs | vacuum_set_xid_limits | vacuum_get_cutoffs | same | same |
//! | pgstat counters | t_counts.t_* | counts.* | same | same |
//! | attribute array | TupleDesc.attrs | same | same | TupleDescAttr, CompactAttribute |
//! | pgstattuple's free space | PageGetHeapFreeSpace | same | same | PageGetExactFreeSpace |
//! | deforming for copy_minimal_tuple | caller's context | same | slot's context (tuplesort's bump context) | same |
//!
//! Smaller ones: index_beginscan's instrumentation argument (18), vacuum_delay_point's
//! is_analyze (18), vac_update_relstats' all-frozen pages and pgstat_report_vacuum's start
//! time (18), ConditionalLockTuple/ConditionalXactLockTableWait's log_lock_failures (18),
//! the slot callbacks is_current_xact_tuple (17) and copy_minimal_tuple's `extra` (18),
//! ResolveRecoveryConflictWithSnapshot's isCatalogRel (16), IndexVacuumInfo.heaprel (16),
//! TID-range bounds in TableScanDesc.st (18), RelidByRelfilenode's rename (16),
//! IsAutoVacuumWorkerProcess (a macro from 17), tuplesort_getdatum's `copy` (16). Last,
//! CREATE EXTENSION's version check (one SQL statement per version), and the WAL
//! formats the toolkit's decoders read (`wal_format_version`).

#![allow(clippy::too_many_arguments, non_snake_case)]

#[allow(unused_imports)]
use crate::pg::error::pg_callback;
use pgrx::pg_sys;
use pgrx::prelude::*;

// ---------------------------------------------------------------------------------
// Storage identity: RelFileNode (15) / RelFileLocator (16+)
// ---------------------------------------------------------------------------------

/// The physical identity of a relation's storage (tablespace, database, file number).
#[cfg(feature = "pg15")]
pub type RelFileLocator = pg_sys::RelFileNode;
#[cfg(not(feature = "pg15"))]
pub type RelFileLocator = pg_sys::RelFileLocator;

/// (tablespace, database, relfilenode) of a locator.
#[inline(always)]
pub fn locator_oids(l: &RelFileLocator) -> (pg_sys::Oid, pg_sys::Oid, pg_sys::Oid) {
    #[cfg(feature = "pg15")]
    {
        (l.spcNode, l.dbNode, l.relNode)
    }
    #[cfg(not(feature = "pg15"))]
    {
        (l.spcOid, l.dbOid, l.relNumber)
    }
}

/// The relation's storage locator (rd_node / rd_locator).
#[inline(always)]
pub fn rel_locator(rel: pg_sys::Relation) -> RelFileLocator {
    // SAFETY: valid relation.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            (*rel).rd_node
        }
        #[cfg(not(feature = "pg15"))]
        {
            (*rel).rd_locator
        }
    }
}

/// rd_firstRelfilenodeSubid (15) / rd_firstRelfilelocatorSubid (16+).
#[inline(always)]
pub fn first_relfilelocator_subid(rel: pg_sys::Relation) -> pg_sys::SubTransactionId {
    // SAFETY: valid relation.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            (*rel).rd_firstRelfilenodeSubid
        }
        #[cfg(not(feature = "pg15"))]
        {
            (*rel).rd_firstRelfilelocatorSubid
        }
    }
}

/// The locator of a decoded WAL block reference.
#[inline(always)]
pub fn bkp_locator(b: &pg_sys::DecodedBkpBlock) -> RelFileLocator {
    #[cfg(feature = "pg15")]
    {
        b.rnode
    }
    #[cfg(not(feature = "pg15"))]
    {
        b.rlocator
    }
}

// utils/relfilenodemap.h (15); pgrx binds it in no version.
#[cfg(feature = "pg15")]
#[pg_guard]
unsafe extern "C-unwind" {
    fn RelidByRelfilenode(reltablespace: pg_sys::Oid, relfilenode: pg_sys::Oid) -> pg_sys::Oid;
}
// utils/relfilenumbermap.h (16+): the same function, renamed.
#[cfg(not(feature = "pg15"))]
#[pg_guard]
unsafe extern "C-unwind" {
    fn RelidByRelfilenumber(reltablespace: pg_sys::Oid, relfilenumber: pg_sys::Oid) -> pg_sys::Oid;
}
#[cfg(not(feature = "pg15"))]
use RelidByRelfilenumber as RelidByRelfilenode;

/// RelidByRelfilenode (15) / RelidByRelfilenumber (16+): the relation of a relfilenode
/// in the current database, or InvalidOid.
pub fn relid_by_locator(l: &RelFileLocator) -> pg_sys::Oid {
    let (spc, _, rel) = locator_oids(l);
    // SAFETY: a catalog lookup in the current transaction.
    unsafe { RelidByRelfilenode(spc, rel) }
}

// postmaster/autovacuum.h (15, 16); a macro over MyBackendType from 17.
#[cfg(any(feature = "pg15", feature = "pg16"))]
#[pg_guard]
unsafe extern "C-unwind" {
    fn IsAutoVacuumWorkerProcess() -> bool;
}

/// Whether this process is an autovacuum worker.
pub fn is_autovacuum_worker() -> bool {
    // SAFETY: reads a backend-global flag.
    unsafe {
        #[cfg(any(feature = "pg15", feature = "pg16"))]
        {
            IsAutoVacuumWorkerProcess()
        }
        #[cfg(not(any(feature = "pg15", feature = "pg16")))]
        {
            pg_sys::MyBackendType == pg_sys::BackendType::B_AUTOVAC_WORKER
        }
    }
}

/// ResolveRecoveryConflictWithSnapshot. 16 added isCatalogRel (for logical slots on a
/// standby); glassheap tables are never catalogs (user_catalog_table tables cannot be
/// decoded from glassheap WAL anyway), so false.
pub fn resolve_recovery_conflict(xid: u32, l: RelFileLocator) {
    // SAFETY: startup-process call during redo.
    unsafe {
        #[cfg(feature = "pg15")]
        pg_sys::ResolveRecoveryConflictWithSnapshot(xid.into(), l);
        #[cfg(not(feature = "pg15"))]
        pg_sys::ResolveRecoveryConflictWithSnapshot(xid.into(), false, l);
    }
}

// ---------------------------------------------------------------------------------
// Attributes: TupleDesc.attrs (15-17) / TupleDescAttr + CompactAttribute (18)
// ---------------------------------------------------------------------------------

/// What the pure crate's attribute walkers need of a column: its length, alignment and
/// by-value flag as pg_attribute records them. One place builds this from pg_attribute
/// (am/tuple.rs's fixed-width former asks for `byval: true` on purpose and builds its own).
#[inline(always)]
pub fn attr_desc(a: &pg_sys::FormData_pg_attribute) -> glassheap_format::attrs::AttrDesc {
    glassheap_format::attrs::AttrDesc {
        len: a.attlen,
        align: a.attalign as u8,
        byval: a.attbyval,
    }
}

/// TupleDescAttr: the i'th pg_attribute entry of a descriptor.
///
/// # Safety
/// `tupdesc` is valid and `i < natts`.
#[inline(always)]
pub unsafe fn attr(tupdesc: pg_sys::TupleDesc, i: usize) -> *mut pg_sys::FormData_pg_attribute {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            (*tupdesc).attrs.as_mut_ptr().add(i)
        }
        // 18: the pg_attribute array follows the natts CompactAttributes (tupdesc.h's
        // TupleDescAttrAddress), computed here rather than through an FFI call per row.
        #[cfg(feature = "pg18")]
        {
            let base = (*tupdesc)
                .compact_attrs
                .as_mut_ptr()
                .add((*tupdesc).natts as usize);
            (base as *mut pg_sys::FormData_pg_attribute).add(i)
        }
    }
}

/// The attribute fields deforming reads: pg_attribute itself before 18, 18's
/// CompactAttribute (where attcacheoff now lives) from 18 on. Both have `attcacheoff`,
/// `attlen` and `attbyval`.
#[cfg(not(feature = "pg18"))]
pub type DeformAttr = pg_sys::FormData_pg_attribute;
#[cfg(feature = "pg18")]
pub type DeformAttr = pg_sys::CompactAttribute;

/// The i'th [`DeformAttr`] of a descriptor.
///
/// # Safety
/// `tupdesc` is valid and `i < natts`.
#[inline(always)]
pub unsafe fn deform_attr(tupdesc: pg_sys::TupleDesc, i: usize) -> *mut DeformAttr {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            attr(tupdesc, i)
        }
        #[cfg(feature = "pg18")]
        {
            (*tupdesc).compact_attrs.as_mut_ptr().add(i)
        }
    }
}

// ---------------------------------------------------------------------------------
// Statistics counters
// ---------------------------------------------------------------------------------

/// The non-transactional per-table counters glassheap adds to in place.
#[derive(Clone, Copy)]
pub enum TableCounter {
    Scans,
    Returned,
    Fetched,
    HotUpdated,
    NewpageUpdated,
}

/// Adds one to a counter of this backend's pending entry. PostgreSQL 15 has no
/// new-page-update counter (its pgstat_count_heap_update takes no `newpage`).
///
/// # Safety
/// `p` is the relation's pgstat_info (non-null).
#[inline(always)]
pub unsafe fn count_table(p: *mut pg_sys::PgStat_TableStatus, c: TableCounter) {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            let t = &mut (*p).t_counts;
            match c {
                TableCounter::Scans => t.t_numscans += 1,
                TableCounter::Returned => t.t_tuples_returned += 1,
                TableCounter::Fetched => t.t_tuples_fetched += 1,
                TableCounter::HotUpdated => t.t_tuples_hot_updated += 1,
                TableCounter::NewpageUpdated => {}
            }
        }
        #[cfg(not(feature = "pg15"))]
        {
            let t = &mut (*p).counts;
            match c {
                TableCounter::Scans => t.numscans += 1,
                TableCounter::Returned => t.tuples_returned += 1,
                TableCounter::Fetched => t.tuples_fetched += 1,
                TableCounter::HotUpdated => t.tuples_hot_updated += 1,
                TableCounter::NewpageUpdated => t.tuples_newpage_updated += 1,
            }
        }
    }
}

/// pgstat_count_heap_update (16 added `newpage`).
///
/// # Safety
/// `rel` is an open relation.
#[inline]
pub unsafe fn pgstat_count_heap_update(rel: pg_sys::Relation, hot: bool, newpage: bool) {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            let _ = newpage;
            pg_sys::pgstat_count_heap_update(rel, hot)
        }
        #[cfg(not(feature = "pg15"))]
        pg_sys::pgstat_count_heap_update(rel, hot, newpage)
    }
}

// ---------------------------------------------------------------------------------
// Locks
// ---------------------------------------------------------------------------------

/// Whether a failed conditional lock is logged (18's log_lock_failures; heap passes it).
#[inline]
fn log_lock_failures() -> bool {
    #[cfg(feature = "pg18")]
    // SAFETY: reads a GUC variable.
    unsafe {
        pg_sys::log_lock_failures
    }
    #[cfg(not(feature = "pg18"))]
    false
}

/// ConditionalLockTuple.
///
/// # Safety
/// `relation` open, `tid` valid.
pub unsafe fn conditional_lock_tuple(
    relation: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    mode: pg_sys::LOCKMODE,
) -> bool {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            let _ = log_lock_failures();
            pg_sys::ConditionalLockTuple(relation, tid, mode)
        }
        #[cfg(feature = "pg18")]
        pg_sys::ConditionalLockTuple(relation, tid, mode, log_lock_failures())
    }
}

/// ConditionalXactLockTableWait.
pub fn conditional_xact_lock_table_wait(xid: pg_sys::TransactionId) -> bool {
    // SAFETY: lock manager.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            pg_sys::ConditionalXactLockTableWait(xid)
        }
        #[cfg(feature = "pg18")]
        pg_sys::ConditionalXactLockTableWait(xid, log_lock_failures())
    }
}

// ---------------------------------------------------------------------------------
// Indexes
// ---------------------------------------------------------------------------------

/// index_beginscan (18 added the instrumentation argument; NULL: none).
///
/// # Safety
/// Open relations; `snapshot` valid for the scan.
pub unsafe fn index_beginscan(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    nkeys: i32,
    norderbys: i32,
) -> pg_sys::IndexScanDesc {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            pg_sys::index_beginscan(heap, index, snapshot, nkeys, norderbys)
        }
        #[cfg(feature = "pg18")]
        pg_sys::index_beginscan(
            heap,
            index,
            snapshot,
            std::ptr::null_mut(),
            nkeys,
            norderbys,
        )
    }
}

/// The index-attribute sets an UPDATE tests: the key columns (for the lock strength) and
/// the columns whose change forbids a same-page (HOT) update, as
/// RelationGetIndexAttrBitmap computes them; NULL is the empty set. `owned`: palloc'd
/// copies, freed on drop.
pub struct IndexAttrs {
    pub keys: *mut pg_sys::Bitmapset,
    pub hot_blocking: *mut pg_sys::Bitmapset,
    pub owned: bool,
}

/// The sets for `relation`.
///
/// 15: the relcache entry's cached sets, read in place. RelationGetIndexAttrBitmap
/// returns a palloc'd copy of them per call (two calls, two copies and two frees per
/// updated row otherwise). It is called only while the cache is empty, to fill it, and
/// before either set is read: it opens the indexes, which can process invalidations and
/// rebuild the entry. Nothing after it until the sets are last read can.
///
/// 16+: heap lets a HOT update change columns of summarizing (BRIN) indexes and then
/// asks for TU_Summarizing index updates; glassheap keeps 15's rule -- any indexed
/// column blocks HOT -- so the set is HOT_BLOCKING plus SUMMARIZED, and a HOT update
/// never needs index entries.
impl IndexAttrs {
    pub fn of(relation: pg_sys::Relation) -> IndexAttrs {
        #[cfg(feature = "pg15")]
        // SAFETY: an open relation; the relcache call fills rd_indexattr/rd_keyattr.
        unsafe {
            if !(*(*relation).rd_rel).relhasindex {
                return IndexAttrs {
                    keys: std::ptr::null_mut(),
                    hot_blocking: std::ptr::null_mut(),
                    owned: false,
                };
            }
            if (*relation).rd_indexattr.is_null() {
                let kind = pg_sys::IndexAttrBitmapKind::INDEX_ATTR_BITMAP_ALL;
                pg_sys::bms_free(pg_sys::RelationGetIndexAttrBitmap(relation, kind));
            }
            IndexAttrs {
                keys: (*relation).rd_keyattr,
                hot_blocking: (*relation).rd_indexattr,
                owned: false,
            }
        }
        #[cfg(not(feature = "pg15"))]
        // SAFETY: relcache calls return palloc'd bitmapset copies (or NULL); bms_add_members
        // recycles its first argument.
        unsafe {
            use pg_sys::IndexAttrBitmapKind::*;
            let keys = pg_sys::RelationGetIndexAttrBitmap(relation, INDEX_ATTR_BITMAP_KEY);
            let hot = pg_sys::RelationGetIndexAttrBitmap(relation, INDEX_ATTR_BITMAP_HOT_BLOCKING);
            let summ = pg_sys::RelationGetIndexAttrBitmap(relation, INDEX_ATTR_BITMAP_SUMMARIZED);
            let hot_blocking = pg_sys::bms_add_members(hot, summ);
            pg_sys::bms_free(summ);
            IndexAttrs {
                keys,
                hot_blocking,
                owned: true,
            }
        }
    }
}

impl Drop for IndexAttrs {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: copies made by `of` for this value alone.
            unsafe {
                pg_sys::bms_free(self.keys);
                pg_sys::bms_free(self.hot_blocking);
            }
        }
    }
}

/// tuplesort_getdatum, the next datum, not copied (16 added the `copy` argument).
///
/// # Safety
/// A datum sort state.
pub unsafe fn tuplesort_getdatum(
    state: *mut pg_sys::Tuplesortstate,
    forward: bool,
    val: *mut pg_sys::Datum,
    is_null: *mut bool,
) -> bool {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            pg_sys::tuplesort_getdatum(state, forward, val, is_null, std::ptr::null_mut())
        }
        #[cfg(not(feature = "pg15"))]
        pg_sys::tuplesort_getdatum(state, forward, false, val, is_null, std::ptr::null_mut())
    }
}

/// IndexVacuumInfo for one index of `heap` (16 added `heaprel`).
pub fn index_vacuum_info(
    index: pg_sys::Relation,
    heap: pg_sys::Relation,
    estimated_count: bool,
    message_level: i32,
    num_heap_tuples: f64,
    strategy: pg_sys::BufferAccessStrategy,
) -> pg_sys::IndexVacuumInfo {
    #[cfg(feature = "pg15")]
    let _ = heap;
    pg_sys::IndexVacuumInfo {
        index,
        #[cfg(not(feature = "pg15"))]
        heaprel: heap,
        analyze_only: false,
        report_progress: false,
        estimated_count,
        message_level,
        num_heap_tuples,
        strategy,
    }
}

// ---------------------------------------------------------------------------------
// VACUUM
// ---------------------------------------------------------------------------------

/// What vacuum.c decides for one VACUUM of a relation.
pub struct VacuumCutoffs {
    pub aggressive: bool,
    pub oldest_xmin: u32,
    pub oldest_mxact: u32,
    pub freeze_limit: u32,
    pub multi_cutoff: u32,
}

/// vacuum_set_xid_limits (15) / vacuum_get_cutoffs (16+).
pub fn vacuum_cutoffs(relation: pg_sys::Relation, params: &pg_sys::VacuumParams) -> VacuumCutoffs {
    // SAFETY: vacuum.c's cutoff computation for this relation.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            let mut ox = pg_sys::TransactionId::from(0);
            let mut om: pg_sys::MultiXactId = 0.into();
            let mut fl = pg_sys::TransactionId::from(0);
            let mut mc: pg_sys::MultiXactId = 0.into();
            let aggressive = pg_sys::vacuum_set_xid_limits(
                relation,
                params.freeze_min_age,
                params.freeze_table_age,
                params.multixact_freeze_min_age,
                params.multixact_freeze_table_age,
                &mut ox,
                &mut om,
                &mut fl,
                &mut mc,
            );
            VacuumCutoffs {
                aggressive,
                oldest_xmin: ox.into_inner(),
                oldest_mxact: om.into_inner(),
                freeze_limit: fl.into_inner(),
                multi_cutoff: mc.into_inner(),
            }
        }
        #[cfg(not(feature = "pg15"))]
        {
            let mut c: pg_sys::VacuumCutoffs = std::mem::zeroed();
            let aggressive = pg_sys::vacuum_get_cutoffs(relation, params, &mut c);
            VacuumCutoffs {
                aggressive,
                oldest_xmin: c.OldestXmin.into_inner(),
                oldest_mxact: c.OldestMxact.into_inner(),
                freeze_limit: c.FreezeLimit.into_inner(),
                multi_cutoff: c.MultiXactCutoff.into_inner(),
            }
        }
    }
}

/// VACUUM's parallel index vacuuming, PostgreSQL's vacuumparallel.c: the leader puts the
/// dead items into the store vacuumparallel.c shares with its workers, and the workers
/// and the leader run each index's ambulkdelete / amvacuumcleanup with vacuum.c's
/// `vac_tid_reaped` over that store (glassheap's TIDs are heap-shaped: block and offset).
/// The store differs by version: a sorted array of TIDs in the DSM segment (`VacDeadItems`,
/// 15 and 16; `parallel_vacuum_init` takes its capacity in items) or a shared `TidStore`
/// (17+; it takes the memory budget in kB and is recreated by each reset).
pub struct ParallelVacuum {
    pvs: *mut pg_sys::ParallelVacuumState,
    /// How many dead items one round may hand over (15/16: the array's capacity).
    #[cfg(any(feature = "pg15", feature = "pg16"))]
    max_items: usize,
}

impl ParallelVacuum {
    /// parallel_vacuum_init: enters parallel mode and sets up the workers' shared state,
    /// or returns None when vacuumparallel.c decides no worker can help (fewer than two
    /// indexes big enough, max_parallel_maintenance_workers = 0, ...), as heap then
    /// vacuums its indexes itself. `indrels` must stay where it is until `end`.
    ///
    /// # Safety
    /// `rel` is the table being vacuumed, `indrels` its open indexes.
    pub unsafe fn begin(
        rel: pg_sys::Relation,
        indrels: &mut [pg_sys::Relation],
        nrequested: i32,
        max_items: usize,
        mem_kb: usize,
        elevel: i32,
        strategy: pg_sys::BufferAccessStrategy,
    ) -> Option<ParallelVacuum> {
        #[cfg(any(feature = "pg15", feature = "pg16"))]
        let (limit, _) = (max_items.min(i32::MAX as usize) as i32, mem_kb);
        #[cfg(not(any(feature = "pg15", feature = "pg16")))]
        let (limit, _) = (mem_kb.min(i32::MAX as usize) as i32, max_items);
        // SAFETY: the caller's promise; vacuumparallel.c keeps the indrels pointer.
        let pvs = unsafe {
            pg_sys::parallel_vacuum_init(
                rel,
                indrels.as_mut_ptr(),
                indrels.len() as i32,
                nrequested,
                limit,
                elevel,
                strategy,
            )
        };
        if pvs.is_null() {
            return None;
        }
        Some(ParallelVacuum {
            pvs,
            #[cfg(any(feature = "pg15", feature = "pg16"))]
            max_items,
        })
    }

    /// The most dead items one round of index vacuuming may take: 15/16, the shared
    /// array's capacity; 17+, `wanted`, glassheap's own limit (the shared TidStore takes
    /// the same memory setting as a budget for sizing its DSA segments, not as a limit
    /// on what it accepts).
    pub fn max_items(&self, wanted: usize) -> usize {
        #[cfg(any(feature = "pg15", feature = "pg16"))]
        {
            wanted.min(self.max_items)
        }
        #[cfg(not(any(feature = "pg15", feature = "pg16")))]
        {
            wanted
        }
    }

    /// One round of index vacuuming: hands `dead` (sorted block/offset pairs, each block
    /// once) to the shared store, runs every index's ambulkdelete in the workers and the
    /// leader (parallel_vacuum_bulkdel_all_indexes, which reports "launched N parallel
    /// vacuum workers for index vacuuming" at the VACUUM's message level), then empties
    /// the store.
    pub fn bulkdel(
        &mut self,
        dead: impl Iterator<Item = (u32, Vec<u16>)>,
        num_table_tuples: f64,
        num_index_scans: i32,
    ) {
        // SAFETY: pvs is live (between init and end); the store is the leader's to fill
        // while no worker runs.
        unsafe {
            #[cfg(any(feature = "pg15", feature = "pg16"))]
            {
                let items = pg_sys::parallel_vacuum_get_dead_items(self.pvs);
                let max = (*items).max_items as usize;
                let arr = (*items).items.as_mut_ptr();
                let mut n = 0usize;
                for (blk, offs) in dead {
                    for off in offs {
                        assert!(
                            n < max,
                            "more dead items than the parallel VACUUM's array holds"
                        );
                        *arr.add(n) = super::tid::make_tid(blk, off);
                        n += 1;
                    }
                }
                (*items).num_items = n as i32;
                pg_sys::parallel_vacuum_bulkdel_all_indexes(
                    self.pvs,
                    num_table_tuples as core::ffi::c_long,
                    num_index_scans,
                );
                (*items).num_items = 0;
            }
            #[cfg(not(any(feature = "pg15", feature = "pg16")))]
            {
                let mut info: *mut pg_sys::VacDeadItemsInfo = std::ptr::null_mut();
                let store = pg_sys::parallel_vacuum_get_dead_items(self.pvs, &mut info);
                for (blk, mut offs) in dead {
                    pg_sys::TidStoreSetBlockOffsets(
                        store,
                        blk,
                        offs.as_mut_ptr(),
                        offs.len() as i32,
                    );
                    (*info).num_items += offs.len() as i64;
                }
                pg_sys::parallel_vacuum_bulkdel_all_indexes(
                    self.pvs,
                    num_table_tuples as core::ffi::c_long,
                    num_index_scans,
                );
                pg_sys::parallel_vacuum_reset_dead_items(self.pvs);
            }
        }
    }

    /// Every index's amvacuumcleanup, in the workers and the leader.
    pub fn cleanup(&mut self, num_table_tuples: f64, num_index_scans: i32, estimated: bool) {
        // SAFETY: pvs is live.
        unsafe {
            pg_sys::parallel_vacuum_cleanup_all_indexes(
                self.pvs,
                num_table_tuples as core::ffi::c_long,
                num_index_scans,
                estimated,
            )
        }
    }

    /// parallel_vacuum_end: the indexes' final statistics into `stats` (palloc'd copies,
    /// NULL where an index was not processed), the DSM segment freed, parallel mode left.
    pub fn end(self, stats: &mut [*mut pg_sys::IndexBulkDeleteResult]) {
        // SAFETY: pvs is live; stats has one slot per index.
        unsafe { pg_sys::parallel_vacuum_end(self.pvs, stats.as_mut_ptr()) }
    }
}

/// vacuum_delay_point (18 added is_analyze).
#[inline]
pub fn vacuum_delay_point() {
    // SAFETY: cost-based delay; may sleep and check interrupts.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        pg_sys::vacuum_delay_point();
        #[cfg(feature = "pg18")]
        pg_sys::vacuum_delay_point(false);
    }
}

/// vac_update_relstats (18 added the all-frozen page count).
///
/// # Safety
/// `relation` is open and locked for VACUUM; the out pointers are NULL or valid.
pub unsafe fn vac_update_relstats(
    relation: pg_sys::Relation,
    num_pages: pg_sys::BlockNumber,
    num_tuples: f64,
    all_visible: pg_sys::BlockNumber,
    all_frozen: pg_sys::BlockNumber,
    hasindex: bool,
    frozenxid: u32,
    minmulti: u32,
    frozenxid_updated: *mut bool,
    minmulti_updated: *mut bool,
) {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            let _ = all_frozen;
            pg_sys::vac_update_relstats(
                relation,
                num_pages,
                num_tuples,
                all_visible,
                hasindex,
                frozenxid.into(),
                minmulti.into(),
                frozenxid_updated,
                minmulti_updated,
                false,
            )
        }
        #[cfg(feature = "pg18")]
        pg_sys::vac_update_relstats(
            relation,
            num_pages,
            num_tuples,
            all_visible,
            all_frozen,
            hasindex,
            frozenxid.into(),
            minmulti.into(),
            frozenxid_updated,
            minmulti_updated,
            false,
        )
    }
}

/// pgstat_report_vacuum (18 added the start time, for total_vacuum_time).
pub fn pgstat_report_vacuum(
    relid: pg_sys::Oid,
    shared: bool,
    live: i64,
    dead: i64,
    started: pg_sys::TimestampTz,
) {
    // SAFETY: reports to the cumulative statistics system.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            let _ = started;
            pg_sys::pgstat_report_vacuum(relid, shared, live, dead)
        }
        #[cfg(feature = "pg18")]
        pg_sys::pgstat_report_vacuum(relid, shared, live, dead, started)
    }
}

/// The free space pgstattuple counts for a page: PageGetHeapFreeSpace up to 17,
/// PageGetExactFreeSpace in 18 (its pgstattuple.c changed), so that `glassheap.stats`
/// stays its counterpart.
///
/// # Safety
/// `page` is a valid page the caller has locked.
pub unsafe fn pgstattuple_free_space(page: pg_sys::Page) -> usize {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            pg_sys::PageGetHeapFreeSpace(page)
        }
        #[cfg(feature = "pg18")]
        pg_sys::PageGetExactFreeSpace(page)
    }
}

// ---------------------------------------------------------------------------------
// Scans
// ---------------------------------------------------------------------------------

/// The TID-range bounds of a scan (TableScanDescData.rs_mintid/rs_maxtid; inside the
/// `st.tidrange` union member from 18).
#[inline]
pub fn tidrange_bounds(
    base: &mut pg_sys::TableScanDescData,
) -> (&mut pg_sys::ItemPointerData, &mut pg_sys::ItemPointerData) {
    #[cfg(not(feature = "pg18"))]
    {
        (&mut base.rs_mintid, &mut base.rs_maxtid)
    }
    #[cfg(feature = "pg18")]
    // SAFETY: a TID-range scan uses the tidrange member of the union.
    unsafe {
        let t = &mut base.st.tidrange;
        (&mut t.rs_mintid, &mut t.rs_maxtid)
    }
}

// ---------------------------------------------------------------------------------
// TableAmRoutine members whose signatures differ
// ---------------------------------------------------------------------------------

pub mod callbacks {
    //! The TableAmRoutine members whose C signatures differ between versions, as thin
    //! shims over the version-neutral implementations in `crate::am`;
    //! [`with_versioned`] puts them into the routine table.
    use super::*;
    use crate::am::{ddl, modify, scan};

    /// Adds the version-dependent members to `base` (which leaves them unset).
    pub const fn with_versioned(base: pg_sys::TableAmRoutine) -> pg_sys::TableAmRoutine {
        pg_sys::TableAmRoutine {
            tuple_update: Some(tuple_update),
            #[cfg(feature = "pg15")]
            relation_set_new_filenode: Some(relation_set_new_filelocator),
            #[cfg(not(feature = "pg15"))]
            relation_set_new_filelocator: Some(relation_set_new_filelocator),
            relation_copy_data: Some(relation_copy_data),
            scan_analyze_next_block: Some(scan_analyze_next_block),
            #[cfg(not(feature = "pg18"))]
            scan_bitmap_next_block: Some(scan_bitmap_next_block),
            scan_bitmap_next_tuple: Some(scan_bitmap_next_tuple),
            ..base
        }
    }

    #[pg_callback]
    unsafe extern "C-unwind" fn relation_set_new_filelocator(
        rel_: pg_sys::Relation,
        newrlocator: *const RelFileLocator,
        persistence: core::ffi::c_char,
        freeze_xid: *mut pg_sys::TransactionId,
        minmulti: *mut pg_sys::MultiXactId,
    ) {
        ddl::set_new_filenode(rel_, newrlocator, persistence, freeze_xid, minmulti)
    }

    #[pg_callback]
    unsafe extern "C-unwind" fn relation_copy_data(
        rel_: pg_sys::Relation,
        newrlocator: *const RelFileLocator,
    ) {
        ddl::copy_data(rel_, newrlocator)
    }

    /// 15: `bool *update_indexes`; 16+: `TU_UpdateIndexes *` (TU_None after a HOT
    /// update, TU_All otherwise: see [`IndexAttrs::of`] for why never TU_Summarizing).
    #[cfg(feature = "pg15")]
    type UpdateIndexes = bool;
    #[cfg(not(feature = "pg15"))]
    type UpdateIndexes = pg_sys::TU_UpdateIndexes::Type;

    #[pg_callback]
    unsafe extern "C-unwind" fn tuple_update(
        rel_: pg_sys::Relation,
        otid: pg_sys::ItemPointer,
        slot: *mut pg_sys::TupleTableSlot,
        cid: pg_sys::CommandId,
        _snapshot: pg_sys::Snapshot,
        crosscheck: pg_sys::Snapshot,
        wait: bool,
        tmfd: *mut pg_sys::TM_FailureData,
        lockmode: *mut pg_sys::LockTupleMode::Type,
        update_indexes: *mut UpdateIndexes,
    ) -> pg_sys::TM_Result::Type {
        #[cfg(feature = "pg15")]
        let flag = update_indexes;
        #[cfg(not(feature = "pg15"))]
        let mut index_all = false;
        #[cfg(not(feature = "pg15"))]
        let flag: *mut bool = &mut index_all;
        // SAFETY: otid valid for the call.
        let r = modify::update(
            rel_,
            unsafe { &*otid },
            slot,
            cid,
            crosscheck,
            wait,
            tmfd,
            lockmode,
            flag,
        );
        #[cfg(not(feature = "pg15"))]
        // SAFETY: the executor's out parameter.
        unsafe {
            *update_indexes = if index_all {
                pg_sys::TU_UpdateIndexes::TU_All
            } else {
                pg_sys::TU_UpdateIndexes::TU_None
            };
        }
        r
    }

    /// 15-16: the block number and strategy; 17+: the next buffer of ANALYZE's read
    /// stream (heapam_scan_analyze_next_block).
    #[cfg(any(feature = "pg15", feature = "pg16"))]
    #[pg_callback]
    unsafe extern "C-unwind" fn scan_analyze_next_block(
        s: pg_sys::TableScanDesc,
        blk: pg_sys::BlockNumber,
        strategy: pg_sys::BufferAccessStrategy,
    ) -> bool {
        // SAFETY: reads the sampled block of an open relation.
        let buf = unsafe {
            pg_sys::ReadBufferExtended(
                (*s).rs_rd,
                pg_sys::ForkNumber::MAIN_FORKNUM,
                blk,
                pg_sys::ReadBufferMode::RBM_NORMAL,
                strategy,
            )
        };
        scan::analyze_take_block(s, buf, blk);
        true
    }

    #[cfg(not(any(feature = "pg15", feature = "pg16")))]
    #[pg_callback]
    unsafe extern "C-unwind" fn scan_analyze_next_block(
        s: pg_sys::TableScanDesc,
        stream: *mut pg_sys::ReadStream,
    ) -> bool {
        // SAFETY: ANALYZE's stream over this relation.
        let buf = unsafe { pg_sys::read_stream_next_buffer(stream, std::ptr::null_mut()) };
        if buf == pg_sys::InvalidBuffer as pg_sys::Buffer {
            return false;
        }
        // SAFETY: a pinned buffer.
        let blk = unsafe { pg_sys::BufferGetBlockNumber(buf) };
        scan::analyze_take_block(s, buf, blk);
        true
    }

    /// 15-17: the executor iterates the bitmap and hands each page to next_block.
    #[cfg(not(feature = "pg18"))]
    #[pg_callback]
    unsafe extern "C-unwind" fn scan_bitmap_next_block(
        s: pg_sys::TableScanDesc,
        tbmres: *mut pg_sys::TBMIterateResult,
    ) -> bool {
        // SAFETY: the bitmap iterator's result for this page.
        unsafe {
            let offsets = ((*tbmres).ntuples >= 0).then(|| {
                std::slice::from_raw_parts((*tbmres).offsets.as_ptr(), (*tbmres).ntuples as usize)
            });
            scan::bitmap_load_block(s, (*tbmres).blockno, offsets)
        }
    }

    #[cfg(not(feature = "pg18"))]
    #[pg_callback]
    unsafe extern "C-unwind" fn scan_bitmap_next_tuple(
        s: pg_sys::TableScanDesc,
        _tbmres: *mut pg_sys::TBMIterateResult,
        slot: *mut pg_sys::TupleTableSlot,
    ) -> bool {
        scan::bitmap_next_tuple(s, slot)
    }

    /// 18: next_tuple iterates the bitmap itself (scan->st.rs_tbmiterator, begun and
    /// ended by the executor), loading pages until one has a visible tuple, and counts
    /// exact and lossy pages for EXPLAIN (heapam_scan_bitmap_next_tuple). Pages past the
    /// relation's end as of the scan's start have no tuples for its snapshot.
    #[cfg(feature = "pg18")]
    #[pg_callback]
    unsafe extern "C-unwind" fn scan_bitmap_next_tuple(
        s: pg_sys::TableScanDesc,
        slot: *mut pg_sys::TupleTableSlot,
        recheck: *mut bool,
        lossy_pages: *mut u64,
        exact_pages: *mut u64,
    ) -> bool {
        use glassheap_format::layout::MAX_TUPLES_PER_PAGE;
        // SAFETY: our scan; the executor's out parameters; the iterator is the scan's.
        unsafe {
            while !scan::bitmap_has_tuple(s) {
                let mut res: pg_sys::TBMIterateResult = std::mem::zeroed();
                if !pg_sys::tbm_iterate(&mut (*s).st.rs_tbmiterator, &mut res) {
                    return false;
                }
                *recheck = res.recheck;
                let mut offs = [0u16; MAX_TUPLES_PER_PAGE];
                let offsets = if res.lossy {
                    *lossy_pages += 1;
                    None
                } else {
                    *exact_pages += 1;
                    let n = pg_sys::tbm_extract_page_tuple(
                        &mut res,
                        offs.as_mut_ptr(),
                        MAX_TUPLES_PER_PAGE as u32,
                    );
                    Some(&offs[..n.max(0) as usize])
                };
                scan::bitmap_load_block(s, res.blockno, offsets);
            }
            scan::bitmap_next_tuple(s, slot)
        }
    }
}

// ---------------------------------------------------------------------------------
// Tuple table slot callbacks whose signatures differ
// ---------------------------------------------------------------------------------

pub mod slot_callbacks {
    //! The TupleTableSlotOps members that differ: is_current_xact_tuple (17+) and
    //! copy_minimal_tuple's `extra` (18).
    use super::*;
    use crate::am::slot;

    /// Adds the version-dependent members to `base`.
    pub const fn with_versioned(base: pg_sys::TupleTableSlotOps) -> pg_sys::TupleTableSlotOps {
        pg_sys::TupleTableSlotOps {
            #[cfg(not(any(feature = "pg15", feature = "pg16")))]
            is_current_xact_tuple: Some(is_current_xact_tuple),
            copy_minimal_tuple: Some(copy_minimal_tuple),
            ..base
        }
    }

    #[cfg(not(feature = "pg18"))]
    #[pg_callback]
    unsafe extern "C-unwind" fn copy_minimal_tuple(
        s: *mut pg_sys::TupleTableSlot,
    ) -> pg_sys::MinimalTuple {
        slot::copy_minimal_tuple(s, 0)
    }

    /// 18: `extra` bytes are reserved before the tuple (heap_form_minimal_tuple's).
    #[cfg(feature = "pg18")]
    #[pg_callback]
    unsafe extern "C-unwind" fn copy_minimal_tuple(
        s: *mut pg_sys::TupleTableSlot,
        extra: pg_sys::Size,
    ) -> pg_sys::MinimalTuple {
        slot::copy_minimal_tuple(s, extra)
    }

    /// 17+: whether the slot's stored tuple was inserted by the current transaction
    /// (heap: TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin)).
    #[cfg(not(any(feature = "pg15", feature = "pg16")))]
    #[pg_callback]
    unsafe extern "C-unwind" fn is_current_xact_tuple(s: *mut pg_sys::TupleTableSlot) -> bool {
        slot::is_current_xact_tuple(s)
    }
}

/// Runs `f` (deforming a slot's row) in the slot's own memory context from PostgreSQL 17
/// on; before 17 in the caller's, as always. 17's tuplesort calls copy_minimal_tuple
/// with a bump context current (unbounded sorts), which cannot pfree: an ERROR raised
/// while deforming there (a corrupt row) ended in PANIC "ERRORDATA_STACK_SIZE exceeded"
/// on 18 (the error path itself failing in that context, as far as can be told without
/// a debugger; in the slot's context the ERROR is reported as on 15). The minimal tuple
/// is still formed in the caller's context.
///
/// # Safety
/// `slot` is a valid slot.
#[inline]
pub unsafe fn in_slot_context<R>(slot: *mut pg_sys::TupleTableSlot, f: impl FnOnce() -> R) -> R {
    #[cfg(any(feature = "pg15", feature = "pg16"))]
    {
        let _ = slot;
        f()
    }
    #[cfg(not(any(feature = "pg15", feature = "pg16")))]
    // SAFETY: per the contract; the previous context is restored on return (an ERROR
    // leaves it to PostgreSQL's error recovery, which resets the current context).
    unsafe {
        let old = pg_sys::MemoryContextSwitchTo((*slot).tts_mcxt);
        let r = f();
        pg_sys::MemoryContextSwitchTo(old);
        r
    }
}

/// heap_form_minimal_tuple (18 added `extra`).
///
/// # Safety
/// `values`/`isnull` have the descriptor's natts entries.
pub unsafe fn heap_form_minimal_tuple(
    tupdesc: pg_sys::TupleDesc,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    extra: usize,
) -> pg_sys::MinimalTuple {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        {
            debug_assert_eq!(extra, 0);
            pg_sys::heap_form_minimal_tuple(tupdesc, values, isnull)
        }
        #[cfg(feature = "pg18")]
        pg_sys::heap_form_minimal_tuple(tupdesc, values, isnull, extra)
    }
}

// ---------------------------------------------------------------------------------
// Logical decoding: the reorder buffer (replication/reorderbuffer.h)
// ---------------------------------------------------------------------------------

/// A change's tuple: a ReorderBufferTupleBuf (15, 16), a plain HeapTuple from 17.
#[cfg(any(feature = "pg15", feature = "pg16"))]
pub type ChangeTuple = *mut pg_sys::ReorderBufferTupleBuf;
#[cfg(not(any(feature = "pg15", feature = "pg16")))]
pub type ChangeTuple = pg_sys::HeapTuple;

/// A row change's relation and tuples (`data.tp`; `relnode` in 15, `rlocator` from 16).
///
/// # Safety
/// `change` is a fresh INSERT/UPDATE/DELETE/speculative change of the reorder buffer.
pub unsafe fn rb_set_tuples(
    change: *mut pg_sys::ReorderBufferChange,
    rel: RelFileLocator,
    old: Option<ChangeTuple>,
    new: Option<ChangeTuple>,
    clear_toast_afterwards: bool,
) {
    // SAFETY: per the contract; `tp` is the union member of row changes.
    unsafe {
        let tp = &mut (*change).data.tp;
        #[cfg(feature = "pg15")]
        {
            tp.relnode = rel;
        }
        #[cfg(not(feature = "pg15"))]
        {
            tp.rlocator = rel;
        }
        tp.oldtuple = old.unwrap_or(std::ptr::null_mut());
        tp.newtuple = new.unwrap_or(std::ptr::null_mut());
        tp.clear_toast_afterwards = clear_toast_afterwards;
    }
}

// ---------------------------------------------------------------------------------
// The server version the library was built for
// ---------------------------------------------------------------------------------

/// The WAL record formats of the server this library was built for, for the pure
/// decoders of PostgreSQL's Heap, Heap2, Btree, Transaction and XLOG records
/// (`glassheap_decode::waldecode`), which take the version as a runtime value. The
/// library can only be loaded by a server of this major version (see below).
pub fn wal_format_version() -> glassheap_decode::waldecode::PgVersion {
    use glassheap_decode::waldecode::PgVersion;
    #[cfg(feature = "pg15")]
    let v = PgVersion::V15;
    #[cfg(feature = "pg16")]
    let v = PgVersion::V16;
    #[cfg(feature = "pg17")]
    let v = PgVersion::V17;
    #[cfg(feature = "pg18")]
    let v = PgVersion::V18;
    debug_assert_eq!(v.major(), pg_sys::PG_MAJORVERSION_NUM);
    v
}

// CREATE EXTENSION's first statement: refuse a server of another major version with an
// error naming both, before any function of the library is created (creating one loads
// the library). A library built for another version usually cannot even be loaded --
// dlopen fails on a PostgreSQL function the server lacks -- and when it can, the module
// magic block PostgreSQL checks names both versions (README, "A library built for another version").
#[cfg(feature = "pg15")]
pgrx::extension_sql!(
    r#"DO $$ BEGIN IF current_setting('server_version_num')::int / 10000 <> 15 THEN
  RAISE EXCEPTION 'glassheap was built for PostgreSQL 15, but this server is PostgreSQL %',
    current_setting('server_version')
    USING HINT = 'Build and install glassheap for this server''s major version (README).';
END IF; END $$;"#,
    name = "server_version_check",
    bootstrap
);
#[cfg(feature = "pg16")]
pgrx::extension_sql!(
    r#"DO $$ BEGIN IF current_setting('server_version_num')::int / 10000 <> 16 THEN
  RAISE EXCEPTION 'glassheap was built for PostgreSQL 16, but this server is PostgreSQL %',
    current_setting('server_version')
    USING HINT = 'Build and install glassheap for this server''s major version (README).';
END IF; END $$;"#,
    name = "server_version_check",
    bootstrap
);
#[cfg(feature = "pg17")]
pgrx::extension_sql!(
    r#"DO $$ BEGIN IF current_setting('server_version_num')::int / 10000 <> 17 THEN
  RAISE EXCEPTION 'glassheap was built for PostgreSQL 17, but this server is PostgreSQL %',
    current_setting('server_version')
    USING HINT = 'Build and install glassheap for this server''s major version (README).';
END IF; END $$;"#,
    name = "server_version_check",
    bootstrap
);
#[cfg(feature = "pg18")]
pgrx::extension_sql!(
    r#"DO $$ BEGIN IF current_setting('server_version_num')::int / 10000 <> 18 THEN
  RAISE EXCEPTION 'glassheap was built for PostgreSQL 18, but this server is PostgreSQL %',
    current_setting('server_version')
    USING HINT = 'Build and install glassheap for this server''s major version (README).';
END IF; END $$;"#,
    name = "server_version_check",
    bootstrap
);
