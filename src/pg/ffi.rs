#![allow(non_snake_case)]
//! PostgreSQL 15 functions that pgrx 0.18.1 does not bind (their headers are not in its
//! binding set). Signatures are copied from the PG15 headers named on each group.
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

    // postmaster/autovacuum.h
    pub fn IsAutoVacuumWorkerProcess() -> bool;

    // catalog/storage_xlog.h
    pub fn log_smgrcreate(rnode: *const pg_sys::RelFileNode, forknum: pg_sys::ForkNumber::Type);

    // access/bufmask.h
    pub fn mask_page_lsn_and_checksum(page: pg_sys::Page);
    pub fn mask_page_hint_bits(page: pg_sys::Page);
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

#[pg_guard]
unsafe extern "C-unwind" {
    // utils/relfilenodemap.h
    pub fn RelidByRelfilenode(reltablespace: pg_sys::Oid, relfilenode: pg_sys::Oid) -> pg_sys::Oid;
}

// postmaster/autovacuum.h (a GUC variable; not a function, so no guard is needed)
unsafe extern "C" {
    pub static mut autovacuum_work_mem: core::ffi::c_int;
}
