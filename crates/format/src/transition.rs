//! Tuple-header transitions shared by the write path and WAL redo.
//!
//! Each WAL record type changes tuple headers in exactly one way; the primary applies the
//! function below and then stores its command id in `aux` (which redo leaves 0 and
//! `rm_mask` ignores). Using one function on both sides is what keeps a standby's pages
//! byte-identical to the primary's under `wal_consistency_checking`.

use crate::records::{DeleteBlock, FreezeEntry, LockBlock, UpdateOld, XmaxFreeze, XmaxInfo};
use crate::tuple::{
    pack_info, TupleFlags, TupleHeader, XmaxMode, NEXT_MOVED_PARTITIONS, NEXT_NONE,
    NEXT_SPECULATIVE, XMIN_FROZEN,
};
use crate::Xid;

const XMAX_STATE: TupleFlags = TupleFlags::XMAX_COMMITTED
    .union(TupleFlags::XMAX_INVALID)
    .union(TupleFlags::XMAX_IS_MULTI);

fn set_xmax(h: &mut TupleHeader, x: &XmaxInfo) {
    h.clear_flags(XMAX_STATE);
    h.xmax = x.xmax;
    h.set_xmax_mode(x.mode);
    if x.is_multi {
        h.set_flags(TupleFlags::XMAX_IS_MULTI);
    }
}

/// Header of a freshly inserted version (INSERT, MULTI_INSERT, UPDATE's new version).
pub fn new_tuple(
    xmin: Xid,
    natts: u16,
    has_nulls: bool,
    heap_only: bool,
    new_xmax: Option<&XmaxInfo>,
    frozen: bool,
) -> TupleHeader {
    let mut flags = TupleFlags::empty();
    if has_nulls {
        flags |= TupleFlags::HAS_NULLS;
    }
    if heap_only {
        flags |= TupleFlags::HEAP_ONLY;
    }
    if frozen {
        flags |= XMIN_FROZEN;
    }
    let (xmax, mode) = match new_xmax {
        None => {
            flags |= TupleFlags::XMAX_INVALID;
            (0, XmaxMode::Update)
        }
        Some(x) => {
            if x.is_multi {
                flags |= TupleFlags::XMAX_IS_MULTI;
            }
            (x.xmax, x.mode)
        }
    };
    TupleHeader {
        xmin,
        xmax,
        aux: 0,
        info: pack_info(NEXT_NONE, natts, mode, flags),
    }
}

/// DELETE (or the cancellation of a speculative insertion).
pub fn delete(h: &mut TupleHeader, d: &DeleteBlock) {
    h.clear_flags(TupleFlags::NEXT_ON_OTHER_PAGE | TupleFlags::COMBO_CID);
    h.aux = 0;
    if d.super_delete {
        // The inserter backs out: xmin invalid makes the row dead to everyone at once.
        h.xmin = 0;
        h.set_next_off(NEXT_NONE);
        return;
    }
    set_xmax(h, &d.xmax);
    h.set_next_off(if d.moved_partitions {
        NEXT_MOVED_PARTITIONS
    } else {
        NEXT_NONE
    });
}

/// The old version of an UPDATE. `new_block` is Some when the new version is on another
/// page: aux then holds that block number.
pub fn update_old(h: &mut TupleHeader, o: &UpdateOld, new_block: Option<u32>) {
    set_xmax(h, &o.xmax);
    h.clear_flags(TupleFlags::NEXT_ON_OTHER_PAGE | TupleFlags::COMBO_CID);
    h.set_next_off(o.new_offnum);
    match new_block {
        Some(b) => {
            h.set_flags(TupleFlags::NEXT_ON_OTHER_PAGE);
            h.aux = b;
        }
        None => h.aux = 0,
    }
}

/// LOCK: a new xmax; a row that is merely locked keeps no forward link (heap resets
/// t_ctid to itself), unless the lock is placed on an older version of an update chain.
pub fn lock(h: &mut TupleHeader, l: &LockBlock) {
    set_xmax(h, &l.xmax);
    if !l.updated_version && l.xmax.mode.is_lock_only() {
        if h.has(TupleFlags::NEXT_ON_OTHER_PAGE) {
            h.clear_flags(TupleFlags::NEXT_ON_OTHER_PAGE);
            h.aux = 0;
        }
        h.set_next_off(NEXT_NONE);
    }
}

/// CONFIRM: a speculative insertion became a regular one.
pub fn confirm(h: &mut TupleHeader) {
    if h.is_speculative() {
        h.set_next_off(NEXT_NONE);
        h.aux = 0;
    }
}

/// FREEZE: xmin becomes "frozen" (both xmin hint bits, the xid itself is kept for
/// forensics, as heap does since 9.4); xmax is invalidated (lockers and aborted updaters
/// that are long gone) or a MultiXact is replaced by its committed updater.
pub fn freeze(h: &mut TupleHeader, e: &FreezeEntry) {
    if e.freeze_xmin {
        h.set_flags(XMIN_FROZEN);
    }
    match &e.xmax {
        XmaxFreeze::Keep => {}
        XmaxFreeze::Invalidate => {
            h.clear_flags(XMAX_STATE | TupleFlags::NEXT_ON_OTHER_PAGE | TupleFlags::COMBO_CID);
            h.set_flags(TupleFlags::XMAX_INVALID);
            h.xmax = 0;
            h.set_xmax_mode(XmaxMode::Update);
            // A forward link without a live updater leads to a dead version whose slot
            // may be reused: drop it.
            h.set_next_off(NEXT_NONE);
            h.aux = 0;
        }
        XmaxFreeze::Replace(x) => set_xmax(h, x),
    }
}

/// What `rm_mask` ignores when comparing a replayed page with the primary's: hint bits
/// (set without WAL; xmin's are kept once frozen, since freezing is logged), the command
/// id (never logged), the combo flag that goes with it, and speculative tokens.
pub fn mask(h: &mut TupleHeader) {
    if h.xmin_frozen() {
        h.clear_flags(TupleFlags::XMAX_COMMITTED | TupleFlags::XMAX_INVALID);
    } else {
        h.clear_flags(crate::tuple::HINT_FLAGS);
    }
    if h.next_off() == NEXT_SPECULATIVE {
        h.set_next_off(NEXT_NONE);
    }
    if h.aux_is_cid() {
        h.aux = 0;
    }
    h.clear_flags(TupleFlags::COMBO_CID);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_mode() -> impl Strategy<Value = XmaxMode> {
        (0u8..6).prop_map(|m| XmaxMode::from_bits(m).unwrap())
    }

    proptest! {
        /// Whatever the primary stores as command id afterwards, its masked header equals
        /// the masked header redo produces from the same record.
        #[test]
        fn primary_and_redo_agree_after_mask(
            xmin in 3u32..100, natts in 0u16..20, nulls: bool, xmax in 3u32..100, mode in any_mode(),
            multi: bool, cid in any::<u32>(), combo: bool, moved: bool, newoff in 1u16..292,
            other_page in proptest::option::of(0u32..1000), hints in 0u16..16, upd: bool,
        ) {
            let mut start = new_tuple(xmin, natts, nulls, false, None, false);
            // hints a tuple may carry before the change: xmin known committed, xmax hints
            start.set_flags(TupleFlags::from_bits_retain(hints) & (TupleFlags::XMIN_COMMITTED | TupleFlags::XMAX_COMMITTED | TupleFlags::XMAX_INVALID));
            let x = XmaxInfo { xmax, mode, is_multi: multi };
            let (mut primary, mut redo) = (start, start);
            if upd {
                let o = UpdateOld { offnum: 1, vm_cleared: false, xmax: x, new_offnum: newoff };
                update_old(&mut primary, &o, other_page);
                update_old(&mut redo, &o, other_page);
                if other_page.is_none() { primary.aux = cid; }
            } else {
                let d = DeleteBlock { offnum: 1, vm_cleared: false, super_delete: false, moved_partitions: moved, xmax: x };
                delete(&mut primary, &d);
                delete(&mut redo, &d);
                primary.aux = cid;
            }
            if combo { primary.set_flags(TupleFlags::COMBO_CID); }
            // a hint bit set later on the primary only
            primary.set_flags(TupleFlags::XMIN_COMMITTED);
            mask(&mut primary);
            mask(&mut redo);
            prop_assert_eq!(primary, redo);
        }
    }

    #[test]
    fn lock_clears_forward_link_only_for_lockers() {
        let mut h = new_tuple(5, 2, false, false, None, false);
        let o = UpdateOld {
            offnum: 1,
            vm_cleared: false,
            xmax: XmaxInfo {
                xmax: 9,
                mode: XmaxMode::Update,
                is_multi: false,
            },
            new_offnum: 7,
        };
        update_old(&mut h, &o, Some(42));
        assert_eq!(h.next_tid(3), Some((42, 7)));
        let mut chain = h;
        lock(
            &mut chain,
            &LockBlock {
                offnum: 1,
                vm_cleared: false,
                updated_version: true,
                xmax: XmaxInfo {
                    xmax: 11,
                    mode: XmaxMode::Update,
                    is_multi: true,
                },
            },
        );
        assert_eq!(chain.next_tid(3), Some((42, 7)));
        lock(
            &mut h,
            &LockBlock {
                offnum: 1,
                vm_cleared: false,
                updated_version: false,
                xmax: XmaxInfo {
                    xmax: 11,
                    mode: XmaxMode::LockShare,
                    is_multi: false,
                },
            },
        );
        assert_eq!(h.next_tid(3), None);
        assert!(h.aux_is_cid());
    }

    #[test]
    fn super_delete_kills_the_row() {
        let mut h = new_tuple(5, 2, false, false, None, false);
        h.set_next_off(NEXT_SPECULATIVE);
        h.aux = 1234;
        delete(
            &mut h,
            &DeleteBlock {
                offnum: 1,
                vm_cleared: false,
                super_delete: true,
                moved_partitions: false,
                xmax: XmaxInfo {
                    xmax: 5,
                    mode: XmaxMode::Update,
                    is_multi: false,
                },
            },
        );
        assert_eq!(h.xmin, 0);
        assert!(!h.is_speculative());
        assert!(h.xmax_invalid());
    }
}
