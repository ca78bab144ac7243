//! Serializable snapshot isolation: whether predicate.c needs to hear about reads and
//! writes at all.

use pgrx::pg_sys;

/// Only a SERIALIZABLE transaction has a serializable transaction record
/// (MySerializableXact is set when such a transaction takes its snapshot, and a parallel
/// worker runs at its leader's level), and every predicate.c entry point glassheap calls
/// (PredicateLockRelation/TID, CheckForSerializableConflictIn/Out/OutNeeded) returns at
/// its first test without one. So outside SERIALIZABLE the calls are skipped, which saves
/// a guarded call into the server per tuple. XactIsoLevel cannot change once the
/// transaction has a snapshot.
#[inline]
pub fn active() -> bool {
    // SAFETY: a plain backend-local global.
    unsafe { pg_sys::XactIsoLevel == pg_sys::XACT_SERIALIZABLE as i32 }
}

/// CheckForSerializableConflictIn for a write to `relation`: at a tuple (`tid`, on block
/// `blk`) or, with `tid` None, to the relation as a whole (an insert). A no-op outside
/// SERIALIZABLE (see [`active`]).
pub fn conflict_in(
    relation: pg_sys::Relation,
    tid: Option<pg_sys::ItemPointerData>,
    blk: pg_sys::BlockNumber,
) {
    if !active() {
        return;
    }
    let mut tid = tid;
    let tidp = tid
        .as_mut()
        .map_or(std::ptr::null_mut(), |t| t as *mut pg_sys::ItemPointerData);
    // SAFETY: predicate.c check; the TID (if any) is a local copy that outlives the call.
    unsafe { super::sys_extra::CheckForSerializableConflictIn(relation, tidp, blk) }
}

/// PredicateLockTID for a version read at `tid` whose inserter is `xmin`. A no-op outside
/// SERIALIZABLE (see [`active`]).
pub fn lock_tid(
    relation: pg_sys::Relation,
    tid: pg_sys::ItemPointerData,
    snapshot: pg_sys::Snapshot,
    xmin: u32,
) {
    if !active() {
        return;
    }
    let mut tid = tid;
    // SAFETY: predicate.c call; the TID is a local copy that outlives it.
    unsafe { super::sys_extra::PredicateLockTID(relation, &mut tid, snapshot, xmin.into()) }
}
