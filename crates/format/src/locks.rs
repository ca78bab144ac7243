//! Row-lock strengths and MultiXact member statuses, with the tables heapam.c keeps
//! (tupleLockExtraInfo, MultiXactStatusLock) expressed over glassheap's xmax modes.
//! Values equal PostgreSQL's LockTupleMode and MultiXactStatus enums.

use crate::tuple::XmaxMode;
use crate::Xid;

/// LockTupleMode
pub type LockMode = u32;
pub const KEY_SHARE: LockMode = 0;
pub const SHARE: LockMode = 1;
pub const NO_KEY_EXCLUSIVE: LockMode = 2;
pub const EXCLUSIVE: LockMode = 3;

/// MultiXactStatus
pub type MxStatus = u32;
pub const FOR_KEY_SHARE: MxStatus = 0;
pub const FOR_SHARE: MxStatus = 1;
pub const FOR_NO_KEY_UPDATE: MxStatus = 2;
pub const FOR_UPDATE: MxStatus = 3;
pub const NO_KEY_UPDATE: MxStatus = 4;
pub const UPDATE: MxStatus = 5;

/// get_mxact_status_for_lock; None for "lock modes that cannot update".
pub fn status_for_lock(mode: LockMode, is_update: bool) -> Option<MxStatus> {
    Some(match (mode, is_update) {
        (KEY_SHARE, false) => FOR_KEY_SHARE,
        (SHARE, false) => FOR_SHARE,
        (NO_KEY_EXCLUSIVE, false) => FOR_NO_KEY_UPDATE,
        (EXCLUSIVE, false) => FOR_UPDATE,
        (NO_KEY_EXCLUSIVE, true) => NO_KEY_UPDATE,
        (EXCLUSIVE, true) => UPDATE,
        _ => return None,
    })
}

/// TUPLOCK_from_mxstatus
pub fn lock_of_status(s: MxStatus) -> LockMode {
    match s {
        FOR_KEY_SHARE => KEY_SHARE,
        FOR_SHARE => SHARE,
        FOR_NO_KEY_UPDATE | NO_KEY_UPDATE => NO_KEY_EXCLUSIVE,
        _ => EXCLUSIVE,
    }
}

#[inline]
pub fn is_update_status(s: MxStatus) -> bool {
    s > FOR_UPDATE
}

/// Do two row-lock strengths conflict? The same answer DoLockModesConflict gives for
/// their heavyweight locks (AccessShare, RowShare, Exclusive, AccessExclusive): KEY SHARE
/// only conflicts with FOR UPDATE; SHARE with the two exclusive modes; NO KEY EXCLUSIVE
/// with everything but KEY SHARE; FOR UPDATE with everything.
pub fn modes_conflict(a: LockMode, b: LockMode) -> bool {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    match lo {
        KEY_SHARE => hi == EXCLUSIVE,
        SHARE => hi >= NO_KEY_EXCLUSIVE,
        _ => true,
    }
}

/// The MultiXactStatus a single-xid xmax represents.
pub fn status_of_mode(m: XmaxMode) -> MxStatus {
    match m {
        XmaxMode::LockKeyShare => FOR_KEY_SHARE,
        XmaxMode::LockShare => FOR_SHARE,
        XmaxMode::LockNoKeyExclusive => FOR_NO_KEY_UPDATE,
        XmaxMode::LockExclusive => FOR_UPDATE,
        XmaxMode::NoKeyUpdate => NO_KEY_UPDATE,
        XmaxMode::Update => UPDATE,
    }
}

/// The xmax mode recorded for a single locker or updater.
pub fn mode_for(lock: LockMode, is_update: bool) -> XmaxMode {
    match (lock, is_update) {
        (EXCLUSIVE, true) => XmaxMode::Update,
        (_, true) => XmaxMode::NoKeyUpdate,
        (KEY_SHARE, false) => XmaxMode::LockKeyShare,
        (SHARE, false) => XmaxMode::LockShare,
        (NO_KEY_EXCLUSIVE, false) => XmaxMode::LockNoKeyExclusive,
        _ => XmaxMode::LockExclusive,
    }
}

/// GetMultiXactIdHintBits: the mode summarising a multixact's members. With an updater
/// the mode is its kind -- `Update` also when a member holds FOR UPDATE, so that
/// `keys_updated()` answers what heap's HEAP_KEYS_UPDATED would; without one, the
/// strongest lock held.
pub fn mode_of_members(members: &[(Xid, MxStatus)]) -> XmaxMode {
    let mut strongest = KEY_SHARE;
    let mut has_update = false;
    let mut keys = false;
    for &(_, s) in members {
        strongest = strongest.max(lock_of_status(s));
        has_update |= is_update_status(s);
        keys |= s == UPDATE || s == FOR_UPDATE;
    }
    match (has_update, keys) {
        (true, true) => XmaxMode::Update,
        (true, false) => XmaxMode::NoKeyUpdate,
        _ => mode_for(strongest, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_table_matches_heavyweight_locks() {
        assert!(!modes_conflict(KEY_SHARE, KEY_SHARE));
        assert!(!modes_conflict(KEY_SHARE, SHARE));
        assert!(!modes_conflict(KEY_SHARE, NO_KEY_EXCLUSIVE));
        assert!(modes_conflict(KEY_SHARE, EXCLUSIVE));
        assert!(!modes_conflict(SHARE, SHARE));
        assert!(modes_conflict(SHARE, NO_KEY_EXCLUSIVE));
        assert!(modes_conflict(NO_KEY_EXCLUSIVE, NO_KEY_EXCLUSIVE));
        assert!(modes_conflict(EXCLUSIVE, EXCLUSIVE));
        for a in 0..4 {
            for b in 0..4 {
                assert_eq!(modes_conflict(a, b), modes_conflict(b, a));
            }
        }
    }

    #[test]
    fn modes_round_trip_through_statuses() {
        for (lock, upd) in [
            (KEY_SHARE, false),
            (SHARE, false),
            (NO_KEY_EXCLUSIVE, false),
            (EXCLUSIVE, false),
            (NO_KEY_EXCLUSIVE, true),
            (EXCLUSIVE, true),
        ] {
            let m = mode_for(lock, upd);
            assert_eq!(Some(status_of_mode(m)), status_for_lock(lock, upd));
            assert_eq!(lock_of_status(status_of_mode(m)), lock);
            assert_eq!(m.is_lock_only(), !upd);
        }
        assert_eq!(status_for_lock(SHARE, true), None);
    }

    #[test]
    fn multixact_summaries() {
        assert_eq!(
            mode_of_members(&[(5, FOR_KEY_SHARE), (6, FOR_SHARE)]),
            XmaxMode::LockShare
        );
        assert_eq!(
            mode_of_members(&[(5, FOR_KEY_SHARE), (6, NO_KEY_UPDATE)]),
            XmaxMode::NoKeyUpdate
        );
        assert_eq!(
            mode_of_members(&[(5, FOR_UPDATE), (5, NO_KEY_UPDATE)]),
            XmaxMode::Update
        );
        assert_eq!(mode_of_members(&[(5, FOR_UPDATE)]), XmaxMode::LockExclusive);
        assert!(mode_of_members(&[(5, FOR_UPDATE), (5, NO_KEY_UPDATE)]).keys_updated());
    }
}
