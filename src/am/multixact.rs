//! Row locks and MultiXacts: glassheap's versions of heapam.c's static helpers
//! (compute_new_xmax_infomask, MultiXactIdWait, DoesMultiXactIdConflict,
//! GetMultiXactIdHintBits, ...) expressed over glassheap's 3-bit xmax mode.

use crate::pg::compat;
use crate::pg::rel;
use crate::pg::xact;
use glassheap_format::tuple::{TupleHeader, XmaxMode};
use glassheap_format::Xid;
use pgrx::pg_sys;

pub use glassheap_format::locks::*;

/// The heavyweight lock taken on a tuple to queue for it (tupleLockExtraInfo.hwlock).
pub fn hwlock(mode: LockMode) -> pg_sys::LOCKMODE {
    (match mode {
        KEY_SHARE => pg_sys::AccessShareLock,
        SHARE => pg_sys::RowShareLock,
        NO_KEY_EXCLUSIVE => pg_sys::ExclusiveLock,
        _ => pg_sys::AccessExclusiveLock,
    }) as pg_sys::LOCKMODE
}

/// get_mxact_status_for_lock, erroring for impossible combinations as heap does.
pub fn mx_status(mode: LockMode, is_update: bool) -> MxStatus {
    status_for_lock(mode, is_update).unwrap_or_else(|| {
        pgrx::error!(
            "glassheap: invalid lock mode {} (update: {})",
            mode,
            is_update
        )
    })
}

/// heap's HEAP_XMAX_IS_KEYSHR_LOCKED / SHR / EXCL and HEAP_KEYS_UPDATED, from our mode.
pub fn is_keyshr_locked(h: &TupleHeader) -> bool {
    h.xmax_mode() == XmaxMode::LockKeyShare
}
pub fn is_shr_locked(h: &TupleHeader) -> bool {
    h.xmax_mode() == XmaxMode::LockShare
}
pub fn is_excl_locked(h: &TupleHeader) -> bool {
    match h.xmax_mode() {
        XmaxMode::LockNoKeyExclusive | XmaxMode::LockExclusive => true,
        XmaxMode::Update | XmaxMode::NoKeyUpdate => h.xmax_is_multi(),
        _ => false,
    }
}

/// Members of a multixact as (xid, status).
pub fn members(multi: Xid, lock_only: bool) -> Vec<(Xid, MxStatus)> {
    xact::multi_members(multi, lock_only)
}

/// MultiXactIdGetUpdateXid: the updating member, or 0.
pub fn update_xid(multi: Xid, lock_only: bool) -> Xid {
    if lock_only {
        return 0;
    }
    members(multi, false)
        .into_iter()
        .find(|&(_, s)| is_update_status(s))
        .map(|(x, _)| x)
        .unwrap_or(0)
}

/// GetMultiXactIdHintBits: the xmax mode summarising a multixact.
pub fn mode_of_multi(multi: Xid) -> XmaxMode {
    mode_of_members(&members(multi, false))
}

/// The new xmax for a tuple when `add` acquires `mode` (as updater if `is_update`):
/// compute_new_xmax_infomask. Returns (xmax, mode, is_multi).
pub fn compute_new_xmax(
    old: &TupleHeader,
    add: Xid,
    mut mode: LockMode,
    is_update: bool,
) -> (Xid, XmaxMode, bool) {
    let xmax = old.xmax;
    let mut invalid = old.xmax_invalid();
    let lock_only = old.xmax_mode().is_lock_only();
    let keys_updated = old.xmax_mode().keys_updated();
    loop {
        if invalid {
            return (add, mode_for(mode, is_update), false);
        }
        // SAFETY (all FFI below): multixact.c / procarray.c / clog lookups.
        if old.xmax_is_multi() {
            let running = xact::multi_is_running(xmax, lock_only);
            if !running && (lock_only || !xact::did_commit(update_xid(xmax, lock_only))) {
                invalid = true;
                continue;
            }
            let new = xact::multi_expand(xmax, add, mx_status(mode, is_update));
            return (new, mode_of_multi(new), true);
        }
        if old.xmax_committed() {
            // hinted committed: pg_xact is not asked, so check the xid is real
            xact::check_assigned(xmax);
            let st = if keys_updated { UPDATE } else { NO_KEY_UPDATE };
            let new = xact::multi_create(xmax, st, add, mx_status(mode, is_update));
            return (new, mode_of_multi(new), true);
        }
        if xact::in_progress(xmax) {
            let old_status = status_of_mode(old.xmax_mode());
            if xmax == add {
                // Same transaction: keep only the stronger of the two locks.
                mode = mode.max(lock_of_status(old_status));
                invalid = true;
                continue;
            }
            // a damaged xmax past the latest completed xid, which the proc array calls
            // running, never gets here: xact::in_progress raised the unassigned-xid ERROR
            let new = xact::multi_create(xmax, old_status, add, mx_status(mode, is_update));
            return (new, mode_of_multi(new), true);
        }
        if !lock_only && xact::did_commit(xmax) {
            xact::check_assigned(xmax);
            let st = if keys_updated { UPDATE } else { NO_KEY_UPDATE };
            let new = xact::multi_create(xmax, st, add, mx_status(mode, is_update));
            return (new, mode_of_multi(new), true);
        }
        // The locker/updater ended since we looked: as if there was none.
        invalid = true;
    }
}

/// DoesMultiXactIdConflict: does any live member conflict with `mode`? Also reports
/// whether the current transaction is a member.
pub fn multi_conflicts(multi: Xid, lock_only: bool, mode: LockMode) -> (bool, bool) {
    let mut conflict = false;
    let mut current = false;
    for (xid, s) in members(multi, lock_only) {
        // SAFETY: transaction-state lookups.
        if xact::is_current(xid) {
            current = true;
            continue;
        }
        if conflict || !modes_conflict(lock_of_status(s), mode) {
            continue;
        }
        if is_update_status(s) {
            if xact::did_abort(xid) {
                continue;
            }
        } else if !xact::in_progress(xid) {
            continue;
        }
        conflict = true;
    }
    (conflict, current)
}

/// Do_MultiXactIdWait: waits for every member that conflicts with `status`. With
/// `nowait`, returns false instead of waiting. Also returns how many members remain
/// (ours, or non-conflicting ones still running).
pub fn multi_wait(
    multi: Xid,
    status: MxStatus,
    lock_only: bool,
    relation: pg_sys::Relation,
    tid: &mut pg_sys::ItemPointerData,
    oper: pg_sys::XLTW_Oper::Type,
    nowait: bool,
) -> (bool, usize) {
    let mut remain = 0;
    for (xid, s) in members(multi, lock_only) {
        if xact::is_current(xid) {
            remain += 1;
            continue;
        }
        if !modes_conflict(lock_of_status(s), lock_of_status(status)) {
            if xact::in_progress(xid) {
                remain += 1;
            }
            continue;
        }
        if nowait {
            if !xact::wait_conditional(xid) {
                return (false, remain);
            }
        } else {
            xact::wait(xid, relation, tid, oper);
        }
    }
    (true, remain)
}

/// heap_acquire_tuplock: queue for the tuple with the heavyweight tuple lock. Returns
/// false only for SKIP LOCKED when it is not available; NOWAIT raises the usual error.
pub fn acquire_tuplock(
    relation: pg_sys::Relation,
    tid: &mut pg_sys::ItemPointerData,
    mode: LockMode,
    wait_policy: pg_sys::LockWaitPolicy::Type,
    have: &mut bool,
) -> bool {
    if *have {
        return true;
    }
    // SAFETY: lmgr calls on a valid relation.
    unsafe {
        match wait_policy {
            pg_sys::LockWaitPolicy::LockWaitBlock => pg_sys::LockTuple(relation, tid, hwlock(mode)),
            pg_sys::LockWaitPolicy::LockWaitSkip => {
                if !compat::conditional_lock_tuple(relation, tid, hwlock(mode)) {
                    return false;
                }
            }
            _ => {
                if !compat::conditional_lock_tuple(relation, tid, hwlock(mode)) {
                    lock_not_available(relation);
                }
            }
        }
    }
    *have = true;
    true
}

pub fn release_tuplock(
    relation: pg_sys::Relation,
    tid: &mut pg_sys::ItemPointerData,
    mode: LockMode,
) {
    // SAFETY: we hold this lock.
    unsafe { pg_sys::UnlockTuple(relation, tid, hwlock(mode)) }
}

/// The error NOWAIT raises.
pub fn lock_not_available(relation: pg_sys::Relation) -> ! {
    pgrx::ereport!(
        ERROR,
        pgrx::PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE,
        format!(
            "could not obtain lock on row in relation \"{}\"",
            rel::name(relation)
        )
    );
}

/// Waits for a plain xid according to the wait policy; false means "would block" (SKIP).
pub fn xact_wait(
    xid: Xid,
    relation: pg_sys::Relation,
    tid: &mut pg_sys::ItemPointerData,
    oper: pg_sys::XLTW_Oper::Type,
    wait_policy: pg_sys::LockWaitPolicy::Type,
) -> bool {
    match wait_policy {
        pg_sys::LockWaitPolicy::LockWaitBlock => {
            xact::wait(xid, relation, tid, oper);
            true
        }
        pg_sys::LockWaitPolicy::LockWaitSkip => xact::wait_conditional(xid),
        _ => {
            if !xact::wait_conditional(xid) {
                lock_not_available(relation);
            }
            true
        }
    }
}
