//! Transaction-state calls with plain u32 xids (pgrx wraps TransactionId in a newtype;
//! glassheap's pure code works with u32). Each is a direct call into PostgreSQL.

use pgrx::pg_sys;

#[inline]
fn t(x: u32) -> pg_sys::TransactionId {
    pg_sys::TransactionId::from_inner(x)
}

/// TransactionIdIsCurrentTransactionId
#[inline]
pub fn is_current(x: u32) -> bool {
    // SAFETY: transaction-state lookup.
    unsafe { pg_sys::TransactionIdIsCurrentTransactionId(t(x)) }
}
/// TransactionIdIsInProgress
#[inline]
pub fn in_progress(x: u32) -> bool {
    // SAFETY: proc-array lookup.
    unsafe { pg_sys::TransactionIdIsInProgress(t(x)) }
}
/// TransactionIdDidCommit
#[inline]
pub fn did_commit(x: u32) -> bool {
    // SAFETY: pg_xact lookup.
    unsafe { pg_sys::TransactionIdDidCommit(t(x)) }
}
/// TransactionIdDidAbort
#[inline]
pub fn did_abort(x: u32) -> bool {
    // SAFETY: pg_xact lookup.
    unsafe { pg_sys::TransactionIdDidAbort(t(x)) }
}
/// GetCurrentTransactionId (assigns one if needed)
#[inline]
pub fn current_xid() -> u32 {
    // SAFETY: xact.c call.
    unsafe { pg_sys::GetCurrentTransactionId().into_inner() }
}
/// TransactionIdGetCommitLSN
#[inline]
pub fn commit_lsn(x: u32) -> u64 {
    // SAFETY: clog lookup.
    unsafe { pg_sys::TransactionIdGetCommitLSN(t(x)) }
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
    // SAFETY: lock manager.
    unsafe { pg_sys::ConditionalXactLockTableWait(t(x)) }
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
