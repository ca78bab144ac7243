//! The TableAmRoutine: every callback PostgreSQL (15 to 18) defines is filled in and
//! implemented, each defined with its family (`scan`, `fetch`, `modify`, `lock`,
//! `index`, `vacuum`, `cluster`, `ddl`, `toast`, `slot`: `<family>::callbacks`). The one
//! that cannot apply -- reading TOAST chunks from a glassheap TOAST table, which cannot
//! exist because PostgreSQL's toaster writes TOAST tables with heap_insert -- raises an
//! ERROR that says so (a missing pointer would crash, and a no-op would lie).

use super::{cluster, ddl, fetch, index, lock, modify, scan, slot, toast, vacuum};
use crate::pg::compat::callbacks::with_versioned;
use pgrx::pg_sys;

/// The members whose C signatures differ by PostgreSQL version (tuple_update, the
/// storage and ANALYZE/bitmap-scan members) are added by
/// `compat::callbacks::with_versioned`.
pub static GLASSHEAP_METHODS: pg_sys::TableAmRoutine = with_versioned(pg_sys::TableAmRoutine {
    type_: pg_sys::NodeTag::T_TableAmRoutine,
    slot_callbacks: Some(slot::callbacks::slot_callbacks),
    scan_begin: Some(scan::callbacks::scan_begin),
    scan_end: Some(scan::callbacks::scan_end),
    scan_rescan: Some(scan::callbacks::scan_rescan),
    scan_getnextslot: Some(scan::callbacks::scan_getnextslot),
    scan_set_tidrange: Some(scan::callbacks::scan_set_tidrange),
    scan_getnextslot_tidrange: Some(scan::callbacks::scan_getnextslot_tidrange),
    parallelscan_estimate: Some(scan::callbacks::parallelscan_estimate),
    parallelscan_initialize: Some(scan::callbacks::parallelscan_initialize),
    parallelscan_reinitialize: Some(scan::callbacks::parallelscan_reinitialize),
    index_fetch_begin: Some(fetch::callbacks::index_fetch_begin),
    index_fetch_reset: Some(fetch::callbacks::index_fetch_reset),
    index_fetch_end: Some(fetch::callbacks::index_fetch_end),
    index_fetch_tuple: Some(fetch::callbacks::index_fetch_tuple),
    tuple_fetch_row_version: Some(fetch::callbacks::tuple_fetch_row_version),
    tuple_tid_valid: Some(fetch::callbacks::tuple_tid_valid),
    tuple_get_latest_tid: Some(fetch::callbacks::tuple_get_latest_tid),
    tuple_satisfies_snapshot: Some(fetch::callbacks::tuple_satisfies_snapshot),
    index_delete_tuples: Some(index::callbacks::index_delete_tuples),
    tuple_insert: Some(modify::callbacks::tuple_insert),
    tuple_insert_speculative: Some(modify::callbacks::tuple_insert_speculative),
    tuple_complete_speculative: Some(modify::callbacks::tuple_complete_speculative),
    multi_insert: Some(modify::callbacks::multi_insert),
    tuple_delete: Some(modify::callbacks::tuple_delete),
    tuple_lock: Some(lock::callbacks::tuple_lock),
    // Optional (PostgreSQL checks for NULL): glassheap WAL-logs every page it writes,
    // so a bulk insert has nothing left to flush at the end -- heap leaves it NULL too.
    finish_bulk_insert: None,
    relation_nontransactional_truncate: Some(ddl::callbacks::relation_nontransactional_truncate),
    relation_copy_for_cluster: Some(cluster::callbacks::relation_copy_for_cluster),
    relation_vacuum: Some(vacuum::callbacks::relation_vacuum),
    scan_analyze_next_tuple: Some(scan::callbacks::scan_analyze_next_tuple),
    index_build_range_scan: Some(index::callbacks::index_build_range_scan),
    index_validate_scan: Some(index::callbacks::index_validate_scan),
    relation_size: Some(ddl::callbacks::relation_size),
    relation_needs_toast_table: Some(toast::callbacks::relation_needs_toast_table),
    relation_toast_am: Some(toast::callbacks::relation_toast_am),
    relation_fetch_toast_slice: Some(toast::callbacks::relation_fetch_toast_slice),
    relation_estimate_size: Some(ddl::callbacks::relation_estimate_size),
    scan_sample_next_block: Some(scan::callbacks::scan_sample_next_block),
    scan_sample_next_tuple: Some(scan::callbacks::scan_sample_next_tuple),
    // SAFETY: all-zero is every remaining member unset (None); with_versioned sets the
    // version-dependent ones, which are all of the rest.
    ..unsafe { std::mem::zeroed() }
});
