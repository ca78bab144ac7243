//! Transaction-state calls with plain u32 xids (pgrx wraps TransactionId in a newtype;
//! glassheap's pure code works with u32). Each is a call into PostgreSQL, except where
//! the answer is settled in Rust exactly as PostgreSQL's function would settle it first
//! (every call goes through pgrx's FFI guard, and a first pass over a table's rows asks
//! the same question about the same xid once per row).

use glassheap_format::xid_precedes;
use pgrx::pg_sys;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// The last xid TransactionIdDidCommit said committed: a commit is final, so the answer
/// never changes (transam.c keeps the same one-entry cache, cachedFetchXid, for the
/// same reason; like it, this one lives as long as the backend). A backend is single-
/// threaded: the atomics are only a safe way to hold a static, relaxed loads and stores
/// are plain moves.
static LAST_COMMITTED: AtomicU32 = AtomicU32::new(0);
/// The last xid whose commit record was known flushed when hint bits were set for it:
/// setting its hints is safe from then on (see [`hints_safe`]).
static LAST_FLUSHED_COMMIT: AtomicU32 = AtomicU32::new(0);

#[inline]
fn t(x: u32) -> pg_sys::TransactionId {
    pg_sys::TransactionId::from_inner(x)
}

/// xact.c functions that only read this backend's transaction state: they contain no
/// ereport/elog and call nothing that has one, so no ERROR (and no longjmp) can come out
/// of them, and pgrx's per-call guard (a thread check and a `sigsetjmp`, about a hundred
/// instructions) protects nothing. They are asked once or twice per row written (the
/// visibility rules ask whether an xmin or xmax is ours), so they are declared here
/// without it. Signatures of PG15's access/xact.h.
mod raw {
    use pgrx::pg_sys;

    unsafe extern "C" {
        pub fn TransactionIdIsCurrentTransactionId(xid: pg_sys::TransactionId) -> bool;
        pub fn GetCurrentTransactionIdIfAny() -> pg_sys::TransactionId;
        pub fn GetCurrentTransactionNestLevel() -> core::ffi::c_int;
        // access/multixact.h; see set_oldest_member
        pub fn MultiXactIdSetOldestMember();
        // utils/snapmgr.h; see global_vis_test_for and global_vis_removable
        pub fn GlobalVisTestFor(rel: pg_sys::Relation) -> *mut pg_sys::GlobalVisState;
        pub fn GlobalVisTestIsRemovableXid(
            state: *mut pg_sys::GlobalVisState,
            xid: pg_sys::TransactionId,
        ) -> bool;
    }
}

/// GlobalVisTestFor: the horizons that decide whether a deleted version of `rel` is
/// still needed by anyone. It only picks one of this backend's GlobalVis states by the
/// relation's kind (shared, catalog, data, temp); procarray.c has no error path there.
/// Asked once per unique-check fetch that meets a dead version, so it goes without
/// pgrx's guard, inside a critical section as the buffer calls are: should an ERROR
/// ever come out of it, it becomes a PANIC rather than a longjmp across Rust frames.
#[inline]
pub fn global_vis_test_for(rel: pg_sys::Relation) -> *mut pg_sys::GlobalVisState {
    let _crit = super::crit::CritSection::enter();
    // SAFETY: `rel` is an open relation; see above for the missing guard.
    unsafe { raw::GlobalVisTestFor(rel) }
}

/// GlobalVisTestIsRemovableXid: is a version deleted by `xid` dead to everyone? When
/// the xid falls between the state's two horizons it recomputes them (ComputeXidHorizons,
/// under ProcArrayLock), with no error path but LWLockAcquire's "too many LWLocks
/// taken", an invariant already broken; asked per dead version by pruning, index
/// deletion and unique checks, so unguarded inside a critical section (see above).
///
/// # Safety
/// `state` comes from [`global_vis_test_for`] (or a snapshot's `vistest`).
#[inline]
pub unsafe fn global_vis_removable(state: *mut pg_sys::GlobalVisState, xid: u32) -> bool {
    let _crit = super::crit::CritSection::enter();
    // SAFETY: per the contract; see above for the missing guard.
    unsafe { raw::GlobalVisTestIsRemovableXid(state, t(xid)) }
}

/// TransactionIdIsCurrentTransactionId
#[inline]
/// GetCurrentTransactionIdIfAny: this (sub)transaction's xid, 0 when none is assigned;
/// what XLogInsert stamps on a record as its xid (XLogRecGetXid).
pub fn current_xid_if_any() -> u32 {
    // SAFETY: reads backend-local transaction state (see `raw`).
    unsafe { raw::GetCurrentTransactionIdIfAny() }.into_inner()
}

pub fn is_current(x: u32) -> bool {
    // SAFETY: reads the transaction-state stack (or a parallel worker's copy of its
    // leader's xids); no error path (see `raw`).
    unsafe { raw::TransactionIdIsCurrentTransactionId(t(x)) }
}
/// GetCurrentTransactionNestLevel: 1 in a top-level transaction, +1 per subtransaction.
#[inline]
pub fn nest_level() -> i32 {
    // SAFETY: reads CurrentTransactionState; no error path (see `raw`).
    unsafe { raw::GetCurrentTransactionNestLevel() }
}
/// TransactionIdIsInProgress. Its first test is done here: a transaction older than
/// RecentXmin cannot still be running (this also rejects the special xids, as there).
///
/// A "running" answer is checked against the next xid: TransactionIdIsInProgress calls
/// every xid past latestCompletedXid running, including one this cluster never assigned
/// (a damaged header's), and XactLockTableWait would wait for such an xid forever (its
/// loop ends only when the xid stops being "in progress"). Such an xid is an ERROR
/// (data_corrupted) instead. Only the "running" path pays for the check: a lookup under
/// XidGenLock, cheap beside the proc-array search just made.
#[inline]
pub fn in_progress(x: u32) -> bool {
    // SAFETY: RecentXmin is a backend-local global, set when this backend took its
    // first snapshot (always done before any tuple is tested).
    let recent_xmin = unsafe { pg_sys::RecentXmin.into_inner() };
    if xid_precedes(x, recent_xmin) {
        return false;
    }
    // SAFETY: proc-array lookup.
    let running = unsafe { pg_sys::TransactionIdIsInProgress(t(x)) };
    if running {
        check_assigned_as(x, "xmin or xmax");
    }
    running
}
/// TransactionIdDidCommit, with a one-entry cache of the last committed xid.
#[inline]
pub fn did_commit(x: u32) -> bool {
    if x != 0 && LAST_COMMITTED.load(Relaxed) == x {
        return true;
    }
    // SAFETY: pg_xact lookup.
    let committed = unsafe { pg_sys::TransactionIdDidCommit(t(x)) };
    if committed {
        LAST_COMMITTED.store(x, Relaxed);
    }
    committed
}
/// TransactionIdDidAbort
#[inline]
pub fn did_abort(x: u32) -> bool {
    // SAFETY: pg_xact lookup.
    unsafe { pg_sys::TransactionIdDidAbort(t(x)) }
}
/// GetCurrentTransactionId (assigns one if needed). Once the (sub)transaction has an
/// xid, GetCurrentTransactionIdIfAny returns the same value without the guarded call
/// assigning one needs (it can fail: xid wraparound limits, the lock table).
#[inline]
pub fn current_xid() -> u32 {
    // SAFETY: reads CurrentTransactionState; no error path (see `raw`).
    let assigned = unsafe { raw::GetCurrentTransactionIdIfAny() }.into_inner();
    if assigned != 0 {
        return assigned;
    }
    // SAFETY: xact.c call, guarded: may assign an xid.
    unsafe { pg_sys::GetCurrentTransactionId().into_inner() }
}
/// TransactionIdGetCommitLSN
#[inline]
pub fn commit_lsn(x: u32) -> u64 {
    // SAFETY: clog lookup.
    unsafe { pg_sys::TransactionIdGetCommitLSN(t(x)) }
}

/// Whether a hint bit saying committed xid `x` may be set on `buffer` now (heap's
/// SetHintBits test): not if the page is WAL-logged, the commit record is not flushed
/// yet, and the page's LSN does not already come after it. Once the record was seen
/// flushed that stays true, so the answer for the last such xid is kept: a pass over
/// rows one transaction wrote asks once instead of once per row.
///
/// # Safety
/// `buffer` is pinned; `x` is known committed.
#[inline]
pub unsafe fn hints_safe(x: u32, buffer: pg_sys::Buffer) -> bool {
    if LAST_FLUSHED_COMMIT.load(Relaxed) == x {
        return true;
    }
    let lsn = commit_lsn(x);
    // (A commit LSN is recorded only for asynchronous commits; 0 never needs a flush.)
    // SAFETY: xlog.c flush-pointer test.
    if lsn == 0 || !unsafe { pg_sys::XLogNeedsFlush(lsn) } {
        LAST_FLUSHED_COMMIT.store(x, Relaxed);
        return true;
    }
    // SAFETY: pinned buffer.
    unsafe { !pg_sys::BufferIsPermanent(buffer) || pg_sys::BufferGetLSNAtomic(buffer) >= lsn }
}
/// XactLockTableWait
pub fn wait(
    x: u32,
    relation: pg_sys::Relation,
    tid: &mut pg_sys::ItemPointerData,
    oper: pg_sys::XLTW_Oper::Type,
) {
    // SAFETY: lock manager wait.
    unsafe { pg_sys::XactLockTableWait(t(x), relation, tid, oper) }
}
/// ConditionalXactLockTableWait
pub fn wait_conditional(x: u32) -> bool {
    super::compat::conditional_xact_lock_table_wait(t(x))
}
/// MultiXactIdSetOldestMember, called before every row update or delete, as heap does.
/// It returns at its first test once this transaction has set its oldest member; the
/// first time it takes MultiXactGenLock, whose only ERROR ("too many LWLocks taken")
/// means an invariant is already broken. Like the buffer calls of `bufmgr`, it runs in a
/// critical section of its own, so such an error would become a PANIC instead of a
/// longjmp across the unguarded call; nothing in it allocates memory.
#[inline]
pub fn set_oldest_member() {
    let _crit = super::crit::CritSection::enter();
    // SAFETY: see above.
    unsafe { raw::MultiXactIdSetOldestMember() }
}
/// MultiXactIdIsRunning
pub fn multi_is_running(m: u32, lock_only: bool) -> bool {
    // SAFETY: multixact lookup.
    unsafe { pg_sys::MultiXactIdIsRunning(t(m), lock_only) }
}
/// MultiXactIdCreate
pub fn multi_create(x1: u32, s1: u32, x2: u32, s2: u32) -> u32 {
    // SAFETY: creates a multixact (WAL-logged by multixact.c).
    unsafe { pg_sys::MultiXactIdCreate(t(x1), s1, t(x2), s2).into_inner() }
}
/// Refuses a plain xid that this cluster has not assigned (normal, and before the next
/// xid): a damaged header's xmax must not reach a MultiXact, whose WAL record would carry
/// it -- and redo advances the next xid past every member, so recovery would then ask
/// pg_xact about transactions that never existed and fail to start.
pub fn check_assigned(x: u32) {
    check_assigned_as(x, "xmax");
}
/// [`check_assigned`] for an xid a row names as `what`.
#[cold]
fn check_assigned_as(x: u32, what: &str) {
    // SAFETY: reads the next xid under XidGenLock (varsup.c).
    let next = unsafe { pg_sys::ReadNextFullTransactionId() }.value as u32;
    if !glassheap_format::xid_is_normal(x) || !xid_precedes(x, next) {
        pgrx::ereport!(
            ERROR,
            pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("glassheap: a row's {what} {x} is not a transaction id this cluster has assigned (the next is {next}): the row is damaged")
        );
    }
}
/// MultiXactIdExpand
pub fn multi_expand(m: u32, x: u32, s: u32) -> u32 {
    // SAFETY: as above.
    unsafe { pg_sys::MultiXactIdExpand(t(m), t(x), s).into_inner() }
}
/// GetMultiXactIdMembers as (xid, status) pairs.
pub fn multi_members(m: u32, lock_only: bool) -> Vec<(u32, u32)> {
    let mut p: *mut pg_sys::MultiXactMember = std::ptr::null_mut();
    // SAFETY: the member array is palloc'd by multixact.c; we copy it out and free it.
    unsafe {
        let n = pg_sys::GetMultiXactIdMembers(t(m), &mut p, false, lock_only);
        if n <= 0 || p.is_null() {
            return Vec::new();
        }
        let out = std::slice::from_raw_parts(p, n as usize)
            .iter()
            .map(|mm| (mm.xid.into_inner(), mm.status))
            .collect();
        pg_sys::pfree(p as *mut core::ffi::c_void);
        out
    }
}
/// SubTransGetTopmostTransaction
pub fn topmost(x: u32) -> u32 {
    // SAFETY: pg_subtrans lookup.
    unsafe { pg_sys::SubTransGetTopmostTransaction(t(x)).into_inner() }
}
/// TransactionXmin
pub fn transaction_xmin() -> u32 {
    // SAFETY: backend global.
    unsafe { pg_sys::TransactionXmin.into_inner() }
}
