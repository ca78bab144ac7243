//! The TableAmRoutine: every callback PostgreSQL (15 to 18) defines is filled in and
//! implemented. The one that cannot apply -- reading TOAST chunks from a glassheap TOAST
//! table, which cannot exist because PostgreSQL 15's toaster writes TOAST tables with
//! heap_insert -- raises an ERROR that says so (a missing pointer would crash, and a
//! no-op would lie).

// The callback signatures are PostgreSQL's.
#![allow(clippy::too_many_arguments)]

use super::*;
use crate::pg::compat::callbacks::with_versioned;
use crate::pg::error::pg_callback;
use crate::pg::rel;
use pgrx::pg_sys;
use pgrx::prelude::*;

#[pg_callback]
unsafe extern "C-unwind" fn slot_callbacks(
    _rel: pg_sys::Relation,
) -> *const pg_sys::TupleTableSlotOps {
    &slot::GLASS_SLOT_OPS
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_begin(
    rel_: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    nkeys: core::ffi::c_int,
    key: *mut pg_sys::ScanKeyData,
    pscan: pg_sys::ParallelTableScanDesc,
    flags: pg_sys::uint32,
) -> pg_sys::TableScanDesc {
    scan::scan_begin(rel_, snapshot, nkeys, key, pscan, flags)
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_end(s: pg_sys::TableScanDesc) {
    scan::scan_end(s)
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_rescan(
    s: pg_sys::TableScanDesc,
    key: *mut pg_sys::ScanKeyData,
    set_params: bool,
    allow_strat: bool,
    allow_sync: bool,
    allow_pagemode: bool,
) {
    scan::scan_rescan(s, key, set_params, allow_strat, allow_sync, allow_pagemode)
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_getnextslot(
    s: pg_sys::TableScanDesc,
    dir: pg_sys::ScanDirection::Type,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    scan::scan_getnextslot(s, dir, slot)
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_set_tidrange(
    s: pg_sys::TableScanDesc,
    mintid: pg_sys::ItemPointer,
    maxtid: pg_sys::ItemPointer,
) {
    scan::scan_set_tidrange(s, mintid, maxtid)
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_getnextslot_tidrange(
    s: pg_sys::TableScanDesc,
    dir: pg_sys::ScanDirection::Type,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    scan::scan_getnextslot_tidrange(s, dir, slot)
}

#[pg_callback]
unsafe extern "C-unwind" fn parallelscan_estimate(rel_: pg_sys::Relation) -> pg_sys::Size {
    // SAFETY: generic block-based parallel scan.
    unsafe { pg_sys::table_block_parallelscan_estimate(rel_) }
}

#[pg_callback]
unsafe extern "C-unwind" fn parallelscan_initialize(
    rel_: pg_sys::Relation,
    pscan: pg_sys::ParallelTableScanDesc,
) -> pg_sys::Size {
    // SAFETY: as above.
    unsafe { pg_sys::table_block_parallelscan_initialize(rel_, pscan) }
}

#[pg_callback]
unsafe extern "C-unwind" fn parallelscan_reinitialize(
    rel_: pg_sys::Relation,
    pscan: pg_sys::ParallelTableScanDesc,
) {
    // SAFETY: as above.
    unsafe { pg_sys::table_block_parallelscan_reinitialize(rel_, pscan) }
}

#[pg_callback]
unsafe extern "C-unwind" fn index_fetch_begin(
    rel_: pg_sys::Relation,
) -> *mut pg_sys::IndexFetchTableData {
    fetch::index_fetch_begin(rel_)
}

#[pg_callback]
unsafe extern "C-unwind" fn index_fetch_reset(s: *mut pg_sys::IndexFetchTableData) {
    fetch::index_fetch_reset(s)
}

#[pg_callback]
unsafe extern "C-unwind" fn index_fetch_end(s: *mut pg_sys::IndexFetchTableData) {
    fetch::index_fetch_end(s)
}

#[pg_callback]
unsafe extern "C-unwind" fn index_fetch_tuple(
    s: *mut pg_sys::IndexFetchTableData,
    tid: pg_sys::ItemPointer,
    snapshot: pg_sys::Snapshot,
    slot: *mut pg_sys::TupleTableSlot,
    call_again: *mut bool,
    all_dead: *mut bool,
) -> bool {
    // SAFETY: tid valid for the call; it is in/out (the chain member's TID comes back).
    fetch::index_fetch_tuple(
        s,
        unsafe { &mut *tid },
        snapshot,
        slot,
        call_again,
        all_dead,
    )
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_fetch_row_version(
    rel_: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    snapshot: pg_sys::Snapshot,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    // SAFETY: tid valid for the call.
    fetch::fetch_row_version(rel_, unsafe { &*tid }, snapshot, slot)
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_tid_valid(
    s: pg_sys::TableScanDesc,
    tid: pg_sys::ItemPointer,
) -> bool {
    // SAFETY: tid valid for the call.
    fetch::tid_valid(s, unsafe { &*tid })
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_get_latest_tid(
    s: pg_sys::TableScanDesc,
    tid: pg_sys::ItemPointer,
) {
    fetch::get_latest_tid(s, tid)
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_satisfies_snapshot(
    rel_: pg_sys::Relation,
    slot: *mut pg_sys::TupleTableSlot,
    snapshot: pg_sys::Snapshot,
) -> bool {
    fetch::satisfies_snapshot(rel_, slot, snapshot)
}

#[pg_callback]
unsafe extern "C-unwind" fn index_delete_tuples(
    rel_: pg_sys::Relation,
    delstate: *mut pg_sys::TM_IndexDeleteOp,
) -> pg_sys::TransactionId {
    index::delete_tuples(rel_, delstate)
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_insert(
    rel_: pg_sys::Relation,
    slot: *mut pg_sys::TupleTableSlot,
    cid: pg_sys::CommandId,
    options: core::ffi::c_int,
    bistate: pg_sys::BulkInsertState,
) {
    modify::insert(rel_, slot, cid, options, bistate, None)
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_insert_speculative(
    rel_: pg_sys::Relation,
    slot: *mut pg_sys::TupleTableSlot,
    cid: pg_sys::CommandId,
    options: core::ffi::c_int,
    bistate: pg_sys::BulkInsertState,
    spec_token: pg_sys::uint32,
) {
    modify::insert(rel_, slot, cid, options, bistate, Some(spec_token))
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_complete_speculative(
    rel_: pg_sys::Relation,
    slot: *mut pg_sys::TupleTableSlot,
    _spec_token: pg_sys::uint32,
    succeeded: bool,
) {
    modify::complete_speculative(rel_, slot, succeeded)
}

#[pg_callback]
unsafe extern "C-unwind" fn multi_insert(
    rel_: pg_sys::Relation,
    slots: *mut *mut pg_sys::TupleTableSlot,
    ntuples: core::ffi::c_int,
    cid: pg_sys::CommandId,
    options: core::ffi::c_int,
    bistate: pg_sys::BulkInsertState,
) {
    modify::multi_insert(rel_, slots, ntuples as usize, cid, options, bistate)
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_delete(
    rel_: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    cid: pg_sys::CommandId,
    _snapshot: pg_sys::Snapshot,
    crosscheck: pg_sys::Snapshot,
    wait: bool,
    tmfd: *mut pg_sys::TM_FailureData,
    changing_part: bool,
) -> pg_sys::TM_Result::Type {
    // SAFETY: tid valid for the call.
    modify::delete(
        rel_,
        unsafe { &*tid },
        cid,
        crosscheck,
        wait,
        tmfd,
        changing_part,
    )
}

#[pg_callback]
unsafe extern "C-unwind" fn tuple_lock(
    rel_: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    _snapshot: pg_sys::Snapshot,
    slot: *mut pg_sys::TupleTableSlot,
    cid: pg_sys::CommandId,
    mode: pg_sys::LockTupleMode::Type,
    wait_policy: pg_sys::LockWaitPolicy::Type,
    flags: pg_sys::uint8,
    tmfd: *mut pg_sys::TM_FailureData,
) -> pg_sys::TM_Result::Type {
    lock::tuple_lock(rel_, tid, slot, cid, mode, wait_policy, flags, tmfd)
}

#[pg_callback]
unsafe extern "C-unwind" fn relation_nontransactional_truncate(rel_: pg_sys::Relation) {
    ddl::nontransactional_truncate(rel_)
}

#[pg_callback]
unsafe extern "C-unwind" fn relation_copy_for_cluster(
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
    cluster::copy_for_cluster(
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

#[pg_callback]
unsafe extern "C-unwind" fn relation_vacuum(
    rel_: pg_sys::Relation,
    params: *mut pg_sys::VacuumParams,
    strategy: pg_sys::BufferAccessStrategy,
) {
    super::vacuum::relation_vacuum(rel_, params, strategy)
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_analyze_next_tuple(
    s: pg_sys::TableScanDesc,
    oldest_xmin: pg_sys::TransactionId,
    liverows: *mut f64,
    deadrows: *mut f64,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    scan::analyze_next_tuple(s, oldest_xmin, liverows, deadrows, slot)
}

#[pg_callback]
unsafe extern "C-unwind" fn index_build_range_scan(
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
    index::build_range_scan(
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
unsafe extern "C-unwind" fn index_validate_scan(
    table: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
    snapshot: pg_sys::Snapshot,
    state: *mut pg_sys::ValidateIndexState,
) {
    index::validate_scan(table, index, index_info, snapshot, state)
}

#[pg_callback]
unsafe extern "C-unwind" fn relation_size(
    rel_: pg_sys::Relation,
    fork: pg_sys::ForkNumber::Type,
) -> pg_sys::uint64 {
    ddl::relation_size(rel_, fork)
}

/// heapam_relation_needs_toast_table on glassheap's tuple size: a TOAST table is needed
/// when some variable-width column may be toasted (storage other than PLAIN) and the
/// widest possible row is over TOAST_TUPLE_THRESHOLD (or has no maximum).
#[pg_callback]
unsafe extern "C-unwind" fn relation_needs_toast_table(rel_: pg_sys::Relation) -> bool {
    use glassheap_format::attrs::align_nominal;
    use glassheap_format::tuple::{data_offset, maxalign};
    // SAFETY: a valid open relation; attrs has natts entries.
    unsafe {
        let tupdesc = (*rel_).rd_att;
        let natts = (*tupdesc).natts as usize;
        let mut data_length = 0usize;
        let mut maxlength_unknown = false;
        let mut has_toastable_attrs = false;
        for i in 0..natts {
            let att = crate::pg::compat::attr(tupdesc, i);
            if (*att).attisdropped {
                continue;
            }
            data_length = align_nominal(data_length, (*att).attalign as u8);
            if (*att).attlen > 0 {
                // fixed-length types are never toastable
                data_length += (*att).attlen as usize;
            } else {
                let maxlen = pg_sys::type_maximum_size((*att).atttypid, (*att).atttypmod);
                if maxlen < 0 {
                    maxlength_unknown = true;
                } else {
                    data_length += maxlen as usize;
                }
                if (*att).attstorage as u8 != pg_sys::TYPSTORAGE_PLAIN {
                    has_toastable_attrs = true;
                }
            }
        }
        if !has_toastable_attrs {
            return false;
        }
        if maxlength_unknown {
            return true;
        }
        let tuple_length = data_offset(natts as u16, true) + maxalign(data_length);
        tuple_length > toast::TOAST_TUPLE_THRESHOLD
    }
}

/// TOAST tables of glassheap tables are heap tables: PostgreSQL 15's toast_save_datum
/// and toast_delete_datum write them with heap_insert and simple_heap_delete directly.
#[pg_callback]
unsafe extern "C-unwind" fn relation_toast_am(_rel: pg_sys::Relation) -> pg_sys::Oid {
    pg_sys::HEAP_TABLE_AM_OID
}

/// Only reached if a glassheap relation were itself a TOAST table, which cannot happen
/// (see relation_toast_am): detoasting glassheap values reads their heap TOAST table.
#[pg_callback]
unsafe extern "C-unwind" fn relation_fetch_toast_slice(
    toastrel: pg_sys::Relation,
    _valueid: pg_sys::Oid,
    _attrsize: pg_sys::int32,
    _sliceoffset: pg_sys::int32,
    _slicelength: pg_sys::int32,
    _result: *mut pg_sys::varlena,
) {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        format!(
            "glassheap relation \"{}\" cannot be a TOAST table",
            rel::name(toastrel)
        ),
        "TOAST tables of glassheap tables use the heap access method."
    );
}

#[pg_callback]
unsafe extern "C-unwind" fn relation_estimate_size(
    rel_: pg_sys::Relation,
    attr_widths: *mut pg_sys::int32,
    pages: *mut pg_sys::BlockNumber,
    tuples: *mut f64,
    allvisfrac: *mut f64,
) {
    ddl::estimate_size(rel_, attr_widths, pages, tuples, allvisfrac)
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_sample_next_block(
    s: pg_sys::TableScanDesc,
    ss: *mut pg_sys::SampleScanState,
) -> bool {
    scan::sample_next_block(s, ss)
}

#[pg_callback]
unsafe extern "C-unwind" fn scan_sample_next_tuple(
    s: pg_sys::TableScanDesc,
    ss: *mut pg_sys::SampleScanState,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    scan::sample_next_tuple(s, ss, slot)
}

/// The members whose C signatures differ by PostgreSQL version (tuple_update, the
/// storage and ANALYZE/bitmap-scan members) are added by
/// `compat::callbacks::with_versioned`.
pub static GLASSHEAP_METHODS: pg_sys::TableAmRoutine = with_versioned(pg_sys::TableAmRoutine {
    type_: pg_sys::NodeTag::T_TableAmRoutine,
    slot_callbacks: Some(slot_callbacks),
    scan_begin: Some(scan_begin),
    scan_end: Some(scan_end),
    scan_rescan: Some(scan_rescan),
    scan_getnextslot: Some(scan_getnextslot),
    scan_set_tidrange: Some(scan_set_tidrange),
    scan_getnextslot_tidrange: Some(scan_getnextslot_tidrange),
    parallelscan_estimate: Some(parallelscan_estimate),
    parallelscan_initialize: Some(parallelscan_initialize),
    parallelscan_reinitialize: Some(parallelscan_reinitialize),
    index_fetch_begin: Some(index_fetch_begin),
    index_fetch_reset: Some(index_fetch_reset),
    index_fetch_end: Some(index_fetch_end),
    index_fetch_tuple: Some(index_fetch_tuple),
    tuple_fetch_row_version: Some(tuple_fetch_row_version),
    tuple_tid_valid: Some(tuple_tid_valid),
    tuple_get_latest_tid: Some(tuple_get_latest_tid),
    tuple_satisfies_snapshot: Some(tuple_satisfies_snapshot),
    index_delete_tuples: Some(index_delete_tuples),
    tuple_insert: Some(tuple_insert),
    tuple_insert_speculative: Some(tuple_insert_speculative),
    tuple_complete_speculative: Some(tuple_complete_speculative),
    multi_insert: Some(multi_insert),
    tuple_delete: Some(tuple_delete),
    tuple_lock: Some(tuple_lock),
    // Optional (PostgreSQL checks for NULL): glassheap WAL-logs every page it writes,
    // so a bulk insert has nothing left to flush at the end -- heap leaves it NULL too.
    finish_bulk_insert: None,
    relation_nontransactional_truncate: Some(relation_nontransactional_truncate),
    relation_copy_for_cluster: Some(relation_copy_for_cluster),
    relation_vacuum: Some(relation_vacuum),
    scan_analyze_next_tuple: Some(scan_analyze_next_tuple),
    index_build_range_scan: Some(index_build_range_scan),
    index_validate_scan: Some(index_validate_scan),
    relation_size: Some(relation_size),
    relation_needs_toast_table: Some(relation_needs_toast_table),
    relation_toast_am: Some(relation_toast_am),
    relation_fetch_toast_slice: Some(relation_fetch_toast_slice),
    relation_estimate_size: Some(relation_estimate_size),
    scan_sample_next_block: Some(scan_sample_next_block),
    scan_sample_next_tuple: Some(scan_sample_next_tuple),
    // SAFETY: all-zero is every remaining member unset (None); with_versioned sets the
    // version-dependent ones, which are all of the rest.
    ..unsafe { std::mem::zeroed() }
});
