//! What VACUUM decides for each version it keeps: whether to freeze its xmin, what to do
//! with its xmax, and which xids and MultiXacts stay behind unfrozen (they bound the
//! table's new `relfrozenxid` / `relminmxid`). heapam.c's heap_prepare_freeze_tuple and
//! FreezeMultiXactId, over glassheap's header. Pure: the transaction states come from a
//! [`FreezeOracle`], so the rules are unit-tested without a server.

use crate::locks::{is_update_status, MxStatus, UPDATE};
use crate::records::{XmaxFreeze, XmaxInfo};
use crate::tuple::{TupleHeader, XmaxMode};
use crate::{xid_is_normal, xid_precedes, Xid};

/// MultiXactIdPrecedes (multis wrap like xids; 0 is invalid).
pub fn multi_precedes(a: Xid, b: Xid) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The cutoffs vacuum_set_xid_limits computes.
#[derive(Debug, Clone, Copy)]
pub struct FreezeCutoffs {
    /// Xids older than this are frozen (vacuum_freeze_min_age before OldestXmin).
    pub freeze_limit: Xid,
    /// MultiXacts older than this are removed from xmax.
    pub multi_cutoff: Xid,
}

/// The oldest xid and MultiXact left in the table, lowered as versions are kept
/// unfrozen. Start from OldestXmin / OldestMxact, as heap does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelHorizons {
    pub frozen_xid: Xid,
    pub min_multi: Xid,
}

impl RelHorizons {
    fn keep_xid(&mut self, x: Xid) {
        if xid_is_normal(x) && xid_precedes(x, self.frozen_xid) {
            self.frozen_xid = x;
        }
    }
    fn keep_multi(&mut self, m: Xid) {
        if m != 0 && multi_precedes(m, self.min_multi) {
            self.min_multi = m;
        }
    }
}

/// Transaction state for freezing decisions.
pub trait FreezeOracle {
    fn did_commit(&mut self, xid: Xid) -> bool;
    /// Members of a MultiXact (with the lock-only hint, as GetMultiXactIdMembers takes).
    fn members(&mut self, multi: Xid, lock_only: bool) -> Vec<(Xid, MxStatus)>;
}

/// The decision for one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreezePlan {
    pub freeze_xmin: bool,
    pub xmax: XmaxFreeze,
    /// After the change the version has a frozen xmin and no xmax: the page may be
    /// marked all-frozen if every version on it is.
    pub totally_frozen: bool,
}

impl FreezePlan {
    pub fn changes_anything(&self) -> bool {
        self.freeze_xmin || self.xmax != XmaxFreeze::Keep
    }
}

/// Plans freezing of a version VACUUM keeps (its status is LIVE, RECENTLY_DEAD or in
/// progress, so an xmin older than the freeze limit is known committed).
pub fn plan<O: FreezeOracle>(
    h: &TupleHeader,
    c: &FreezeCutoffs,
    o: &mut O,
    track: &mut RelHorizons,
) -> FreezePlan {
    let mut freeze_xmin = false;
    let mut xmin_frozen = h.xmin_frozen() || !xid_is_normal(h.xmin);
    if !xmin_frozen {
        if xid_precedes(h.xmin, c.freeze_limit) && h.xmin_committed() {
            freeze_xmin = true;
            xmin_frozen = true;
        } else {
            track.keep_xid(h.xmin);
        }
    }

    let mut xmax = XmaxFreeze::Keep;
    let mut xmax_gone = h.xmax_invalid() || h.xmax == 0;
    if !xmax_gone && h.xmax_is_multi() {
        let lock_only = h.xmax_is_locked_only();
        if multi_precedes(h.xmax, c.multi_cutoff) {
            // Every member has finished (the cutoff is older than any running multi).
            let members = if lock_only {
                Vec::new()
            } else {
                o.members(h.xmax, false)
            };
            match members.iter().find(|(_, s)| is_update_status(*s)) {
                Some(&(up, s)) if o.did_commit(up) => {
                    let mode = if s == UPDATE {
                        XmaxMode::Update
                    } else {
                        XmaxMode::NoKeyUpdate
                    };
                    xmax = XmaxFreeze::Replace(XmaxInfo {
                        xmax: up,
                        mode,
                        is_multi: false,
                    });
                    track.keep_xid(up);
                }
                _ => {
                    xmax = XmaxFreeze::Invalidate;
                    xmax_gone = true;
                }
            }
        } else {
            track.keep_multi(h.xmax);
            for (x, _) in o.members(h.xmax, lock_only) {
                track.keep_xid(x);
            }
        }
    } else if !xmax_gone {
        let lock_only = h.xmax_is_locked_only();
        if xid_precedes(h.xmax, c.freeze_limit) && (lock_only || !o.did_commit(h.xmax)) {
            xmax = XmaxFreeze::Invalidate;
            xmax_gone = true;
        } else {
            track.keep_xid(h.xmax);
        }
    }
    FreezePlan {
        freeze_xmin,
        xmax,
        totally_frozen: xmin_frozen && xmax_gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locks::{FOR_KEY_SHARE, FOR_SHARE, NO_KEY_UPDATE};
    use crate::tuple::TupleFlags;
    use std::collections::HashMap;

    #[derive(Default)]
    struct O {
        committed: Vec<Xid>,
        multis: HashMap<Xid, Vec<(Xid, MxStatus)>>,
    }
    impl FreezeOracle for O {
        fn did_commit(&mut self, xid: Xid) -> bool {
            self.committed.contains(&xid)
        }
        fn members(&mut self, multi: Xid, _lock_only: bool) -> Vec<(Xid, MxStatus)> {
            self.multis.get(&multi).cloned().unwrap_or_default()
        }
    }

    fn tup(xmin: Xid, xmax: Xid, mode: XmaxMode, multi: bool) -> TupleHeader {
        let mut h = TupleHeader::new_insert(xmin, 0, 2, false);
        h.set_flags(TupleFlags::XMIN_COMMITTED);
        if xmax != 0 {
            h.clear_flags(TupleFlags::XMAX_INVALID);
            h.xmax = xmax;
            h.set_xmax_mode(mode);
            if multi {
                h.set_flags(TupleFlags::XMAX_IS_MULTI);
            }
        }
        h
    }

    const C: FreezeCutoffs = FreezeCutoffs {
        freeze_limit: 1000,
        multi_cutoff: 50,
    };

    fn start() -> RelHorizons {
        RelHorizons {
            frozen_xid: 2000,
            min_multi: 100,
        }
    }

    #[test]
    fn old_committed_xmin_is_frozen_new_one_is_tracked() {
        let mut o = O::default();
        let mut t = start();
        let p = plan(&tup(500, 0, XmaxMode::Update, false), &C, &mut o, &mut t);
        assert!(p.freeze_xmin && p.totally_frozen);
        assert_eq!(t, start());
        let p = plan(&tup(1500, 0, XmaxMode::Update, false), &C, &mut o, &mut t);
        assert!(!p.changes_anything() && !p.totally_frozen);
        assert_eq!(t.frozen_xid, 1500);
    }

    #[test]
    fn already_frozen_stays_and_tracks_nothing() {
        let mut h = tup(5, 0, XmaxMode::Update, false);
        h.set_flags(crate::tuple::XMIN_FROZEN);
        let mut t = start();
        let p = plan(&h, &C, &mut O::default(), &mut t);
        assert!(!p.changes_anything() && p.totally_frozen);
        assert_eq!(t, start());
    }

    #[test]
    fn old_locker_and_aborted_updater_are_invalidated() {
        let mut o = O::default();
        let mut t = start();
        let p = plan(
            &tup(500, 700, XmaxMode::LockShare, false),
            &C,
            &mut o,
            &mut t,
        );
        assert_eq!(p.xmax, XmaxFreeze::Invalidate);
        assert!(p.totally_frozen);
        let p = plan(&tup(500, 800, XmaxMode::Update, false), &C, &mut o, &mut t);
        assert_eq!(p.xmax, XmaxFreeze::Invalidate);
        // a recent locker stays and holds relfrozenxid back
        let p = plan(
            &tup(500, 1200, XmaxMode::LockShare, false),
            &C,
            &mut o,
            &mut t,
        );
        assert_eq!(p.xmax, XmaxFreeze::Keep);
        assert!(p.freeze_xmin && !p.totally_frozen);
        assert_eq!(t.frozen_xid, 1200);
    }

    #[test]
    fn committed_updater_is_never_invalidated() {
        let mut o = O {
            committed: vec![800],
            ..Default::default()
        };
        let mut t = start();
        let p = plan(&tup(500, 800, XmaxMode::Update, false), &C, &mut o, &mut t);
        assert_eq!(p.xmax, XmaxFreeze::Keep);
        assert_eq!(t.frozen_xid, 800);
    }

    #[test]
    fn old_multi_becomes_its_updater_or_nothing() {
        let mut o = O {
            committed: vec![1500],
            ..Default::default()
        };
        o.multis
            .insert(40, vec![(900, FOR_KEY_SHARE), (1500, NO_KEY_UPDATE)]);
        o.multis
            .insert(41, vec![(900, FOR_KEY_SHARE), (950, FOR_SHARE)]);
        o.multis
            .insert(42, vec![(900, FOR_KEY_SHARE), (960, UPDATE)]); // 960 aborted
        let mut t = start();
        let p = plan(
            &tup(500, 40, XmaxMode::NoKeyUpdate, true),
            &C,
            &mut o,
            &mut t,
        );
        assert_eq!(
            p.xmax,
            XmaxFreeze::Replace(XmaxInfo {
                xmax: 1500,
                mode: XmaxMode::NoKeyUpdate,
                is_multi: false
            })
        );
        assert_eq!(t.frozen_xid, 1500);
        assert_eq!(t.min_multi, 100);
        let p = plan(&tup(500, 41, XmaxMode::LockShare, true), &C, &mut o, &mut t);
        assert_eq!(p.xmax, XmaxFreeze::Invalidate);
        let p = plan(&tup(500, 42, XmaxMode::Update, true), &C, &mut o, &mut t);
        assert_eq!(p.xmax, XmaxFreeze::Invalidate);
    }

    #[test]
    fn recent_multi_is_kept_and_bounds_both_horizons() {
        let mut o = O::default();
        o.multis
            .insert(70, vec![(1100, FOR_KEY_SHARE), (1300, FOR_SHARE)]);
        let mut t = start();
        let p = plan(
            &tup(1400, 70, XmaxMode::LockShare, true),
            &C,
            &mut o,
            &mut t,
        );
        assert_eq!(p.xmax, XmaxFreeze::Keep);
        assert_eq!(t.min_multi, 70);
        assert_eq!(t.frozen_xid, 1100);
    }

    #[test]
    fn wraparound_comparisons() {
        assert!(multi_precedes(u32::MAX - 5, 10));
        assert!(!multi_precedes(10, u32::MAX - 5));
        let c = FreezeCutoffs {
            freeze_limit: 100,
            multi_cutoff: 1,
        };
        let mut t = RelHorizons {
            frozen_xid: 200,
            min_multi: 1,
        };
        // xmin just before the wrap point precedes a limit after it
        let p = plan(
            &tup(u32::MAX - 10, 0, XmaxMode::Update, false),
            &c,
            &mut O::default(),
            &mut t,
        );
        assert!(p.freeze_xmin);
    }
}

/// heap's SKIP_PAGES_THRESHOLD: VACUUM skips pages the visibility map says need nothing
/// only in runs of at least this many (reading sequentially, the OS reads ahead anyway,
/// and scanning short runs lets relfrozenxid advance more often).
pub const SKIP_PAGES_THRESHOLD: u32 = 32;

/// The run of skippable pages from a block on: heap's `lazy_scan_skip`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkipRange {
    /// The first block from `next` on that must be scanned (`rel_pages` if none).
    pub next_unskippable: u32,
    /// Are the blocks before it skipped (the run is at least SKIP_PAGES_THRESHOLD long)?
    pub skip: bool,
}

/// Which pages from `next` on VACUUM may skip: those all-visible in the map (all-frozen
/// for an aggressive VACUUM), never the last page (its tuples decide whether the table
/// can be truncated), none with DISABLE_PAGE_SKIPPING (`skip_with_vm` false), and only in
/// runs of SKIP_PAGES_THRESHOLD pages or more. `status(blk)` is the map's (all-visible,
/// all-frozen) for a block.
pub fn skip_range(
    next: u32,
    rel_pages: u32,
    aggressive: bool,
    skip_with_vm: bool,
    mut status: impl FnMut(u32) -> (bool, bool),
) -> SkipRange {
    let mut blk = next;
    while blk < rel_pages {
        let (all_visible, all_frozen) = status(blk);
        if !all_visible || blk == rel_pages - 1 || !skip_with_vm || (aggressive && !all_frozen) {
            break;
        }
        blk += 1;
    }
    SkipRange {
        next_unskippable: blk,
        skip: blk - next >= SKIP_PAGES_THRESHOLD,
    }
}

#[cfg(test)]
mod skip_tests {
    use super::*;

    #[test]
    fn skips_only_long_runs_and_never_the_last_page() {
        let all = |_| (true, false);
        // 100 all-visible pages: 0..99 skipped, the last one scanned
        assert_eq!(
            skip_range(0, 100, false, true, all),
            SkipRange {
                next_unskippable: 99,
                skip: true
            }
        );
        // a short run is scanned
        assert_eq!(
            skip_range(0, 20, false, true, all),
            SkipRange {
                next_unskippable: 19,
                skip: false
            }
        );
        // aggressive: all-visible but not all-frozen pages are not skippable
        assert_eq!(skip_range(0, 100, true, false, all).next_unskippable, 0);
        assert_eq!(
            skip_range(0, 100, true, true, all),
            SkipRange {
                next_unskippable: 0,
                skip: false
            }
        );
        assert!(skip_range(0, 100, true, true, |_| (true, true)).skip);
        // DISABLE_PAGE_SKIPPING
        assert_eq!(
            skip_range(0, 100, false, false, all),
            SkipRange {
                next_unskippable: 0,
                skip: false
            }
        );
        // a page not all-visible ends the run
        let r = skip_range(10, 100, false, true, |b| (b != 50, false));
        assert_eq!(
            r,
            SkipRange {
                next_unskippable: 50,
                skip: true
            }
        );
        assert_eq!(
            skip_range(100, 100, false, true, all),
            SkipRange {
                next_unskippable: 100,
                skip: false
            }
        );
    }
}
