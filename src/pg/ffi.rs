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
