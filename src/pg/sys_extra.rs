#![allow(non_snake_case)]
//! PostgreSQL functions that pgrx 0.18.1 does not bind (their headers are not in its
//! binding set). Signatures are copied from the PG15 headers named on each group and are
//! the same in 16 and 18 (RelFileNode is `compat::RelFileLocator`); those that differ
//! by version are declared in `compat`.
//! `#[pg_guard]` wraps every call so a PostgreSQL ERROR becomes a Rust panic instead of a
//! longjmp across Rust frames.

use pgrx::pg_guard;
use pgrx::pg_sys;

#[pg_guard]
unsafe extern "C-unwind" {
    // storage/predicate.h
    pub fn CheckForSerializableConflictIn(
        relation: pg_sys::Relation,
        tid: pg_sys::ItemPointer,
        blkno: pg_sys::BlockNumber,
    );
    pub fn CheckForSerializableConflictOut(
        relation: pg_sys::Relation,
        xid: pg_sys::TransactionId,
        snapshot: pg_sys::Snapshot,
    );
    pub fn CheckForSerializableConflictOutNeeded(
        relation: pg_sys::Relation,
        snapshot: pg_sys::Snapshot,
    ) -> bool;
    pub fn PredicateLockRelation(relation: pg_sys::Relation, snapshot: pg_sys::Snapshot);
    pub fn PredicateLockTID(
        relation: pg_sys::Relation,
        tid: pg_sys::ItemPointer,
        snapshot: pg_sys::Snapshot,
        tuple_xid: pg_sys::TransactionId,
    );

    // catalog/storage_xlog.h
    pub fn log_smgrcreate(
        rnode: *const crate::pg::compat::RelFileLocator,
        forknum: pg_sys::ForkNumber::Type,
    );

    // access/bufmask.h (glassheap masks with glassheap_format::pageview; these are the
    // reference the in-server comparison test checks it against)
    #[allow(dead_code)]
    pub fn mask_page_lsn_and_checksum(page: pg_sys::Page);
    #[allow(dead_code)]
    pub fn mask_page_hint_bits(page: pg_sys::Page);
    #[allow(dead_code)]
    pub fn mask_unused_space(page: pg_sys::Page);

    // utils/datum.h
    pub fn datumIsEqual(
        value1: pg_sys::Datum,
        value2: pg_sys::Datum,
        typByVal: bool,
        typLen: core::ffi::c_int,
    ) -> bool;
}

// access/xlogutils.h: the WAL reader callbacks, handed to XLogReaderAllocate as C
// function pointers. pgrx's pg_sys items of the same names are Rust wrappers, so these
// bind the C symbols themselves; they are never called from Rust directly.
unsafe extern "C-unwind" {
    #[link_name = "read_local_xlog_page_no_wait"]
    pub fn c_read_local_xlog_page_no_wait(
        state: *mut pg_sys::XLogReaderState,
        target_page_ptr: pg_sys::XLogRecPtr,
        req_len: core::ffi::c_int,
        target_rec_ptr: pg_sys::XLogRecPtr,
        cur_page: *mut core::ffi::c_char,
    ) -> core::ffi::c_int;
    #[link_name = "wal_segment_open"]
    pub fn c_wal_segment_open(
        state: *mut pg_sys::XLogReaderState,
        next_seg_no: pg_sys::XLogSegNo,
        tli_p: *mut pg_sys::TimeLineID,
    );
    #[link_name = "wal_segment_close"]
    pub fn c_wal_segment_close(state: *mut pg_sys::XLogReaderState);
}

// replication/snapbuild.h's SnapBuildCurrentState and SnapBuildProcessChange are
// declared in pg::reorder, called under its one guard per decoded record.

/// snapbuild.h's SnapBuildState value from which changes are decoded.
pub const SNAPBUILD_FULL_SNAPSHOT: core::ffi::c_int = 1;

// postmaster/autovacuum.h (a GUC variable; not a function, so no guard is needed)
unsafe extern "C" {
    pub static mut autovacuum_work_mem: core::ffi::c_int;
}

// access/toast_helper.h: the table-AM toaster (heaptoast.c is its heap user). The two
// structs are declared here because pgrx does not bind this header; field order and
// types are copied from PostgreSQL 15's toast_helper.h (unchanged in 16 and 18).

/// ToastAttrInfo: the toaster's state for one column of the tuple being toasted.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ToastAttrInfo {
    pub tai_oldexternal: *mut pg_sys::varlena,
    pub tai_size: i32,
    pub tai_colflags: u8,
    pub tai_compression: core::ffi::c_char,
}

/// ToastTupleContext: one tuple being toasted (values, old values for an UPDATE).
#[repr(C)]
pub struct ToastTupleContext {
    pub ttc_rel: pg_sys::Relation,
    pub ttc_values: *mut pg_sys::Datum,
    pub ttc_isnull: *mut bool,
    pub ttc_oldvalues: *mut pg_sys::Datum,
    pub ttc_oldisnull: *mut bool,
    pub ttc_flags: u8,
    pub ttc_attr: *mut ToastAttrInfo,
}

/// ttc_flags: a new tuple must be formed (the toaster changed some value).
pub const TOAST_NEEDS_CHANGE: u8 = 0x0008;
/// ttc_flags: the tuple has NULLs.
pub const TOAST_HAS_NULLS: u8 = 0x0004;
/// tai_colflags: the column is incompressible but may still be moved out of line.
pub const TOASTCOL_INCOMPRESSIBLE: u8 = 0x0020;

#[pg_guard]
unsafe extern "C-unwind" {
    // access/toast_helper.h
    pub fn toast_tuple_init(ttc: *mut ToastTupleContext);
    pub fn toast_tuple_find_biggest_attribute(
        ttc: *mut ToastTupleContext,
        for_compression: bool,
        check_main: bool,
    ) -> core::ffi::c_int;
    pub fn toast_tuple_try_compression(ttc: *mut ToastTupleContext, attribute: core::ffi::c_int);
    pub fn toast_tuple_externalize(
        ttc: *mut ToastTupleContext,
        attribute: core::ffi::c_int,
        options: core::ffi::c_int,
    );
    pub fn toast_tuple_cleanup(ttc: *mut ToastTupleContext);
    pub fn toast_delete_external(
        rel: pg_sys::Relation,
        values: *mut pg_sys::Datum,
        isnull: *mut bool,
        is_speculative: bool,
    );
}

/// Calls C through a function pointer (a callback PostgreSQL handed us: an index build
/// callback, an expression's evaluator, a tablesample method, the previous planner hook,
/// another resource manager's rm_identify/rm_desc), or several unguarded declarations
/// in a row (pg::reorder, which says why that is sound), inside pgrx's guard, as `#[pg_guard]`
/// does for declared functions: an ERROR raised there becomes a Rust panic that unwinds
/// our frames and is raised again at the callback boundary, instead of a longjmp across
/// Rust frames. The crate denies `ffi_unwind_calls`, so each such call says so with an
/// `#[allow]` on its statement.
///
/// # Safety
/// `f` calls C with arguments valid for that function, on the backend's main thread.
#[inline]
pub unsafe fn guarded<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: per the contract; pg_guard_ffi_boundary sets up the sigsetjmp.
    unsafe { pgrx::pg_sys::submodules::ffi::pg_guard_ffi_boundary(f) }
}
