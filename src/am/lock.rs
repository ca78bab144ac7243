//! Row locks: table_tuple_lock (SELECT ... FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE,
//! NOWAIT, SKIP LOCKED, and EvalPlanQual's "lock the latest version"), ported from
//! heapam.c's heap_lock_tuple, heap_lock_updated_tuple_rec and heapam_tuple_lock.

use super::fetch::{self, Fetch};
use super::modify::{
    fill_tmfd, next_tid_of, satisfies_update, update_xmax_hint_bits, xmax_changed, Target,
};
use super::visibility::update_xid_of;
use super::vm::VmPin;
use super::{cidmap, multixact as mx, slot};
use crate::pg::bufmgr::BufferLock;
use crate::pg::crit::CritSection;
use crate::pg::rel;
use crate::pg::xact;
use crate::rmgr::log;
use glassheap_format::records::{LockBlock, XmaxInfo};
use glassheap_format::transition;
use glassheap_format::tuple::{TupleFlags, TupleHeader};
use glassheap_format::visibility::{self as vis, TmResult, TxnOracle};
use glassheap_format::Xid;
use pgrx::pg_sys;
use pgrx::prelude::*;

use pg_sys::TM_Result as TM;

fn tm(r: TmResult) -> pg_sys::TM_Result::Type {
    super::modify::to_tm(r)
}

fn is_current(xid: Xid) -> bool {
    // SAFETY: transaction-state lookup.
    xact::is_current(xid)
}

/// Writes a lock into a located tuple (exclusive lock held) and WAL-logs it.
fn apply_lock(relation: pg_sys::Relation, t: &Target, xmax: XmaxInfo, updated_version: bool) {
    let vm = VmPin::for_write(relation, t.buffer);
    let mut h = t.header();
    // A forward link that goes away takes the command id back from the cid map.
    let saved_cid = if h.has(TupleFlags::NEXT_ON_OTHER_PAGE) {
        cidmap::lookup(&rel::relfilenode(relation), t.blk, t.off)
    } else {
        None
    };
    let crit = CritSection::enter();
    // The page stays all-visible, but the locker's xmax will need freezing.
    let l = LockBlock {
        offnum: t.off,
        vm_cleared: vm.clear_frozen(relation, t.buffer),
        updated_version,
        xmax,
    };
    transition::lock(&mut h, &l);
    if let (true, Some(c)) = (h.aux_is_cid(), saved_cid) {
        h.aux = c;
    }
    t.set_header(&h);
    crate::pg::fault::point(crate::pg::fault::Kind::Lock);
    crit.mark_dirty(t.buffer);
    if rel::needs_wal(relation) {
        log::lock(&crit, t.buffer, &l);
    }
}

/// test_lockmode_for_conflict: may we lock a version whose xmax member is (status, xid)?
/// Returns the result and whether we must wait for `xid` first.
fn test_lockmode(
    status: mx::MxStatus,
    xid: Xid,
    mode: mx::LockMode,
    h: &TupleHeader,
) -> (TmResult, bool) {
    if xact::is_current(xid) {
        return (TmResult::SelfModified, false);
    }
    if xact::in_progress(xid) {
        return (
            TmResult::Ok,
            mx::modes_conflict(mx::lock_of_status(status), mode),
        );
    }
    if xact::did_abort(xid) {
        return (TmResult::Ok, false);
    }
    if xact::did_commit(xid) {
        if !mx::is_update_status(status) || !mx::modes_conflict(mx::lock_of_status(status), mode) {
            return (TmResult::Ok, false);
        }
        return (
            if vis::indicates_update(h) {
                TmResult::Updated
            } else {
                TmResult::Deleted
            },
            false,
        );
    }
    (TmResult::Ok, false)
}

/// heap_lock_updated_tuple(_rec): also lock every newer version of an updated row, so a
/// concurrent update of those versions cannot take the key away from a key-share locker.
fn lock_updated_chain(
    relation: pg_sys::Relation,
    first: &TupleHeader,
    self_blk: u32,
    self_off: u16,
    xid: Xid,
    mode: mx::LockMode,
) -> pg_sys::TM_Result::Type {
    if first.moved_partitions() || !first.has_next() {
        return TM::TM_Ok;
    }
    // SAFETY: multixact bookkeeping.
    unsafe { pg_sys::MultiXactIdSetOldestMember() };
    let mut tid = next_tid_of(first, self_blk, self_off);
    let mut prior_xmax: Xid = 0;
    loop {
        // SAFETY: SnapshotAny is a static snapshot.
        let any = &raw mut pg_sys::SnapshotAnyData;
        let mut t = match fetch::fetch_linked(relation, any, &tid) {
            Fetch::Visible(t, _) | Fetch::Invisible(t, _) => t,
            // Pruned after its creator aborted: the chain ends here.
            Fetch::NoTuple => return TM::TM_Ok,
        };
        let result;
        // The exclusive lock on t's page: taken at the top of each round, given up
        // while waiting, held on leaving the loop (its value).
        let lock = 'l4: loop {
            pgrx::check_for_interrupts!();
            let lock = BufferLock::exclusive(t.buffer);
            t.locate(relation);
            let h = t.header();
            if prior_xmax != 0 && h.xmin != prior_xmax {
                result = TM::TM_Ok;
                break 'l4 lock;
            }
            // SAFETY: clog lookup.
            if xact::did_abort(h.xmin) {
                result = TM::TM_Ok;
                break 'l4 lock;
            }
            let mut skip = false;
            if !h.xmax_invalid() {
                let members: Vec<(Xid, mx::MxStatus)> = if h.xmax_is_multi() {
                    mx::members(h.xmax, h.xmax_mode().is_lock_only())
                } else {
                    vec![(h.xmax, mx::status_of_mode(h.xmax_mode()))]
                };
                let mut failed = None;
                for (mxid, status) in members {
                    let (r, needwait) = test_lockmode(status, mxid, mode, &h);
                    if r == TmResult::SelfModified {
                        skip = true;
                        break;
                    }
                    if needwait {
                        lock.unlock();
                        let mut wtid = t.tid();
                        // SAFETY: lmgr wait.
                        xact::wait(
                            mxid,
                            relation,
                            &mut wtid,
                            pg_sys::XLTW_Oper::XLTW_LockUpdated,
                        );
                        continue 'l4;
                    }
                    if r != TmResult::Ok {
                        failed = Some(r);
                        break;
                    }
                }
                if let Some(r) = failed {
                    result = tm(r);
                    break 'l4 lock;
                }
            }
            if !skip {
                let (nx, nmode, nmulti) = mx::compute_new_xmax(&h, xid, mode, false);
                apply_lock(
                    relation,
                    &t,
                    XmaxInfo {
                        xmax: nx,
                        mode: nmode,
                        is_multi: nmulti,
                    },
                    true,
                );
            }
            let h = t.header();
            let mut o = t.oracle(relation);
            if h.xmax_invalid()
                || h.moved_partitions()
                || !h.has_next()
                || vis::is_only_locked(&h, &mut o)
            {
                result = TM::TM_Ok;
                break 'l4 lock;
            }
            prior_xmax = update_xid_of(&h, &mut o);
            tid = next_tid_of(&h, t.blk, t.off);
            result = u32::MAX; // continue with the next version
            break 'l4 lock;
        };
        // SAFETY: Target's pin, not used after this.
        unsafe { lock.unlock_release() };
        if result != u32::MAX {
            return result;
        }
    }
}

/// heap_lock_tuple: returns the result and the tuple's buffer (pinned, unlocked).
fn lock_once(
    relation: pg_sys::Relation,
    tid: pg_sys::ItemPointerData,
    cid: u32,
    mode: mx::LockMode,
    wait_policy: pg_sys::LockWaitPolicy::Type,
    follow_updates: bool,
    tmfd: *mut pg_sys::TM_FailureData,
) -> (pg_sys::TM_Result::Type, Target) {
    let mut t = Target::read(relation, &tid);
    // The exclusive lock on t's page: given up while the rules below wait, and taken
    // again (`relock`) before the header is read again.
    let mut lock = Some(BufferLock::exclusive(t.buffer));
    let relock = |lock: &mut Option<BufferLock>, buffer| {
        debug_assert!(lock.is_none());
        *lock = Some(BufferLock::exclusive(buffer));
    };
    t.locate(relation);
    let mut ptid = t.tid();
    let mut first_time = true;
    let mut skip_tuple_lock = false;
    let mut have_tuple_lock = false;
    // (result, buffer still exclusively locked?)
    let (result, locked): (pg_sys::TM_Result::Type, bool) = 'l3: loop {
        let r = satisfies_update(relation, &t, cid);
        if r == TmResult::Invisible {
            break 'l3 (TM::TM_Invisible, true);
        }
        if !matches!(
            r,
            TmResult::BeingModified | TmResult::Updated | TmResult::Deleted
        ) {
            // Ok or SelfModified
            break 'l3 (tm(r), true);
        }
        let before = t.header();
        let xwait = before.xmax;
        let lock_only = before.xmax_mode().is_lock_only() || before.xmax_invalid();
        lock = None;

        if first_time {
            first_time = false;
            if before.xmax_is_multi() {
                for (mxid, status) in mx::members(xwait, lock_only) {
                    if !is_current(mxid) {
                        continue;
                    }
                    if mx::lock_of_status(status) >= mode {
                        break 'l3 (TM::TM_Ok, false);
                    }
                    skip_tuple_lock = true;
                }
            } else if is_current(xwait) {
                let held = match mode {
                    mx::KEY_SHARE => true,
                    mx::SHARE => mx::is_shr_locked(&before) || mx::is_excl_locked(&before),
                    mx::NO_KEY_EXCLUSIVE => mx::is_excl_locked(&before),
                    _ => mx::is_excl_locked(&before) && before.xmax_mode().keys_updated(),
                };
                if held {
                    break 'l3 (TM::TM_Ok, false);
                }
            }
        }

        let mut require_sleep = true;
        if mode == mx::KEY_SHARE {
            if !before.xmax_mode().keys_updated() {
                let updated = !lock_only;
                if follow_updates && updated {
                    let res =
                        lock_updated_chain(relation, &before, t.blk, t.off, current_xid(), mode);
                    if res != TM::TM_Ok {
                        relock(&mut lock, t.buffer);
                        break 'l3 (res, true);
                    }
                }
                relock(&mut lock, t.buffer);
                let now = t.header();
                let mut o = t.oracle(relation);
                if !vis::is_only_locked(&now, &mut o)
                    && (now.xmax_mode().keys_updated() || !updated)
                {
                    continue 'l3;
                }
                require_sleep = false;
            }
        } else if mode == mx::SHARE {
            if lock_only && !mx::is_excl_locked(&before) {
                relock(&mut lock, t.buffer);
                let now = t.header();
                if !now.xmax_is_locked_only() || mx::is_excl_locked(&now) {
                    continue 'l3;
                }
                require_sleep = false;
            }
        } else if mode == mx::NO_KEY_EXCLUSIVE {
            if before.xmax_is_multi() {
                if !mx::multi_conflicts(xwait, lock_only, mode).0 {
                    relock(&mut lock, t.buffer);
                    if xmax_changed(&t.header(), &before) {
                        continue 'l3;
                    }
                    require_sleep = false;
                }
            } else if mx::is_keyshr_locked(&before) {
                relock(&mut lock, t.buffer);
                if xmax_changed(&t.header(), &before) {
                    continue 'l3;
                }
                require_sleep = false;
            }
        }
        if require_sleep && !before.xmax_is_multi() && is_current(xwait) {
            relock(&mut lock, t.buffer);
            if xmax_changed(&t.header(), &before) {
                continue 'l3;
            }
            require_sleep = false;
        }
        if require_sleep && matches!(r, TmResult::Updated | TmResult::Deleted) {
            // The row was already updated or deleted by a committed transaction:
            // sleeping cannot help.
            relock(&mut lock, t.buffer);
            break 'l3 (tm(r), true);
        } else if require_sleep {
            if !skip_tuple_lock
                && !mx::acquire_tuplock(
                    relation,
                    &mut ptid,
                    mode,
                    wait_policy,
                    &mut have_tuple_lock,
                )
            {
                relock(&mut lock, t.buffer);
                break 'l3 (TM::TM_WouldBlock, true);
            }
            if before.xmax_is_multi() {
                let status = mx::mx_status(mode, false);
                let nowait = wait_policy != pg_sys::LockWaitPolicy::LockWaitBlock;
                let (ok, _) = mx::multi_wait(
                    xwait,
                    status,
                    lock_only,
                    relation,
                    &mut ptid,
                    pg_sys::XLTW_Oper::XLTW_Lock,
                    nowait,
                );
                if !ok {
                    if wait_policy == pg_sys::LockWaitPolicy::LockWaitSkip {
                        relock(&mut lock, t.buffer);
                        break 'l3 (TM::TM_WouldBlock, true);
                    }
                    mx::lock_not_available(relation);
                }
            } else if !mx::xact_wait(
                xwait,
                relation,
                &mut ptid,
                pg_sys::XLTW_Oper::XLTW_Lock,
                wait_policy,
            ) {
                relock(&mut lock, t.buffer);
                break 'l3 (TM::TM_WouldBlock, true);
            }
            if follow_updates && !lock_only {
                let res = lock_updated_chain(relation, &before, t.blk, t.off, current_xid(), mode);
                if res != TM::TM_Ok {
                    relock(&mut lock, t.buffer);
                    break 'l3 (res, true);
                }
            }
            relock(&mut lock, t.buffer);
            if xmax_changed(&t.header(), &before) {
                continue 'l3;
            }
            if !before.xmax_is_multi() {
                update_xmax_hint_bits(&t, xwait);
            }
        }
        let now = t.header();
        let mut o = t.oracle(relation);
        let res = if !require_sleep
            || now.xmax_invalid()
            || now.xmax_is_locked_only()
            || vis::is_only_locked(&now, &mut o)
        {
            TM::TM_Ok
        } else if vis::indicates_update(&now) {
            TM::TM_Updated
        } else {
            TM::TM_Deleted
        };
        break 'l3 (res, true);
    };

    let mut result = result;
    if locked {
        if result != TM::TM_Ok {
            if result != TM::TM_Invisible {
                let r = match result {
                    TM::TM_SelfModified => TmResult::SelfModified,
                    TM::TM_Updated => TmResult::Updated,
                    TM::TM_Deleted => TmResult::Deleted,
                    _ => TmResult::BeingModified,
                };
                fill_tmfd(relation, &t, r, tmfd);
            }
        } else {
            // Lock it: our xid (or a multixact with the remaining lockers) into xmax.
            // SAFETY: multixact bookkeeping.
            unsafe { pg_sys::MultiXactIdSetOldestMember() };
            let h = t.header();
            let (nx, nmode, nmulti) = mx::compute_new_xmax(&h, current_xid(), mode, false);
            apply_lock(
                relation,
                &t,
                XmaxInfo {
                    xmax: nx,
                    mode: nmode,
                    is_multi: nmulti,
                },
                false,
            );
            result = TM::TM_Ok;
        }
    }
    debug_assert_eq!(lock.is_some(), locked);
    drop(lock);
    if have_tuple_lock {
        mx::release_tuplock(relation, &mut ptid, mode);
    }
    (result, t)
}

fn current_xid() -> Xid {
    // SAFETY: assigns an xid if needed.
    xact::current_xid()
}

/// table_tuple_lock.
#[allow(clippy::too_many_arguments)]
pub fn tuple_lock(
    relation: pg_sys::Relation,
    tid: *mut pg_sys::ItemPointerData,
    s: *mut pg_sys::TupleTableSlot,
    cid: u32,
    mode: mx::LockMode,
    wait_policy: pg_sys::LockWaitPolicy::Type,
    flags: u8,
    tmfd: *mut pg_sys::TM_FailureData,
) -> pg_sys::TM_Result::Type {
    let follow_updates = flags as u32 & pg_sys::TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS != 0;
    let find_last = flags as u32 & pg_sys::TUPLE_LOCK_FLAG_FIND_LAST_VERSION != 0;
    // SAFETY: executor-provided pointers valid for the call.
    unsafe { (*tmfd).traversed = false };
    'retry: loop {
        // SAFETY: tid valid.
        let cur = unsafe { *tid };
        let (result, t) = lock_once(relation, cur, cid, mode, wait_policy, follow_updates, tmfd);
        if result == TM::TM_Updated && find_last {
            // SAFETY: our pin.
            unsafe { crate::pg::bufmgr::release(t.buffer) };
            // SAFETY: tmfd filled by lock_once for TM_Updated.
            let (next, mut prior_xmax) = unsafe { ((*tmfd).ctid, (*tmfd).xmax.into_inner()) };
            if rel::tid_parts(&next) == rel::tid_parts(&cur) {
                return TM::TM_Deleted;
            }
            // SAFETY: as above.
            unsafe {
                *tid = next;
                (*tmfd).traversed = true;
            }
            // SAFETY: SnapshotData is plain data; a dirty snapshot needs only its type.
            let mut dirty: pg_sys::SnapshotData = unsafe { std::mem::zeroed() };
            dirty.snapshot_type = pg_sys::SnapshotType::SNAPSHOT_DIRTY;
            loop {
                // SAFETY: tid valid.
                let cur = unsafe { *tid };
                if rel::tid_parts(&cur) == rel::tid_parts(&rel::moved_partitions_tid()) {
                    ereport!(
                        ERROR,
                        PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
                        "tuple to be locked was already moved to another partition due to concurrent update"
                    );
                }
                match fetch::fetch_linked(relation, &mut dirty, &cur) {
                    Fetch::Visible(t2, h2) => {
                        if h2.xmin != prior_xmax {
                            // SAFETY: our pin.
                            unsafe { crate::pg::bufmgr::release(t2.buffer) };
                            return TM::TM_Deleted;
                        }
                        if dirty.xmin.into_inner() != 0 {
                            ereport!(
                                ERROR,
                                PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                                format!(
                                    "t_xmin {} is uncommitted in tuple ({},{}) to be updated in table \"{}\"",
                                    dirty.xmin,
                                    t2.blk,
                                    t2.off,
                                    rel::name(relation)
                                )
                            );
                        }
                        if dirty.xmax.into_inner() != 0 {
                            // SAFETY: our pin.
                            unsafe { crate::pg::bufmgr::release(t2.buffer) };
                            let mut wtid = cur;
                            if !mx::xact_wait(
                                dirty.xmax.into_inner(),
                                relation,
                                &mut wtid,
                                pg_sys::XLTW_Oper::XLTW_FetchUpdated,
                                wait_policy,
                            ) {
                                return TM::TM_WouldBlock;
                            }
                            continue;
                        }
                        if is_current(prior_xmax) {
                            let mut o = t2.oracle(relation);
                            let cmin = o.cmin(&h2);
                            if cmin >= cid {
                                // SAFETY: tmfd output; our pin.
                                unsafe {
                                    (*tmfd).xmax = prior_xmax.into();
                                    (*tmfd).cmax = cmin;
                                    crate::pg::bufmgr::release(t2.buffer);
                                }
                                return TM::TM_SelfModified;
                            }
                        }
                        // SAFETY: our pin.
                        unsafe { crate::pg::bufmgr::release(t2.buffer) };
                        continue 'retry;
                    }
                    Fetch::NoTuple => return TM::TM_Deleted,
                    Fetch::Invisible(t2, h2) => {
                        // SAFETY: our pin.
                        unsafe { crate::pg::bufmgr::release(t2.buffer) };
                        if h2.xmin != prior_xmax {
                            return TM::TM_Deleted;
                        }
                        if !h2.has_next() && !h2.moved_partitions() {
                            return TM::TM_Deleted;
                        }
                        let mut o = t2.oracle(relation);
                        // SAFETY: tid valid.
                        unsafe { *tid = next_tid_of(&h2, t2.blk, t2.off) };
                        prior_xmax = update_xid_of(&h2, &mut o);
                    }
                }
            }
        }
        // Store the tuple we locked (or tried to) in the slot; the slot takes its own pin.
        // SAFETY: t is pinned; the slot is the caller's.
        unsafe {
            slot::store_buffer_tuple(s, t.ptr, t.len, t.buffer, t.tid(), rel::relid(relation));
            crate::pg::bufmgr::release(t.buffer);
        }
        return result;
    }
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_lock(
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
        super::tuple_lock(rel_, tid, slot, cid, mode, wait_policy, flags, tmfd)
    }
}
